# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM decisions of cloudtower_vm: power transitions, comparison, drift of creation-only options, and the runner.

CloudTower fails a power operation on a VM already in the target state (start on RUNNING, shutdown
on STOPPED...), so every transition is chosen from the status just read, and a VM already where the
task wants it gets no request at all. Steps that follow a create need the new VM's id, which only
the create's reply gives: their bodies are functions of that id, called when the step is sent.
"""

from __future__ import annotations

import re
import time

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import (
    ApiError,
    CloudTowerError,
    InputError,
    TaskFailedError,
    TaskTimeoutError,
    TransportError,
    task_summary,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import paginate
from ansible_collections.smartx.cloudtower.plugins.module_utils.reconcile import Plan, Step, changed_fields
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter, task_ids_of, wait_until_idle
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_spec import DEFAULT_BUS, format_size

POWER_STATES = ("running", "stopped", "suspended", "restarted")
STATES = ("present", "absent") + POWER_STATES
# The status a new VM is created in; a suspended VM is created running, then suspended.
CREATION_STATUS = {"present": "STOPPED", "stopped": "STOPPED", "running": "RUNNING", "restarted": "RUNNING", "suspended": "RUNNING"}
CREATING_OPERATIONS = ("create-vm", "clone-vm", "rebuild-vm-from-snapshot")
# The status a forced operation brings the VM to, when it can be told from the status alone.
FALLBACK_RESULT = {"poweroff-vm": "STOPPED"}
# delete-vm accepts effect.include_snapshots from CloudTower 2.7 on; older versions refuse the key.
DELETE_EFFECT_SINCE = (2, 7)


def _as_bytes(value):
    return None if value is None else int(float(value))


NORMALISERS = {"memory": _as_bytes}


def basic_info(vm):
    """The fields update-vm-basic-info can change, as the VM has them."""
    cpu = vm.get("cpu") or {}
    return {
        "name": vm.get("name"),
        "description": vm.get("description"),
        "vcpu": vm.get("vcpu"),
        "cpu_sockets": cpu.get("sockets"),
        "cpu_cores": cpu.get("cores"),
        "memory": _as_bytes(vm.get("memory")),
        "ha": vm.get("ha"),
    }


def managed_view(vm):
    """What --diff shows of a VM: the managed fields and the power status."""
    if not vm:
        return {}
    view = basic_info(vm)
    view["status"] = vm.get("status")
    view["in_recycle_bin"] = vm.get("in_recycle_bin")
    return view


def desired_basic_info(spec, vm):
    """{field: wanted value or None (not managed)} for an existing VM."""
    cpu = vm.get("cpu") or {}
    topology = spec.topology((cpu.get("sockets") or 1, cpu.get("cores") or 1))
    vcpu, sockets, cores = topology or (None, None, None)
    return {
        "name": spec.new_name,
        "description": spec.description,
        "vcpu": vcpu,
        "cpu_sockets": sockets,
        "cpu_cores": cores,
        "memory": spec.memory,
        "ha": spec.ha,
    }


def basic_info_changes(vm, spec):
    """{field: {before, after}} of what update-vm-basic-info must change."""
    return changed_fields(basic_info(vm), desired_basic_info(spec, vm), NORMALISERS)


def update_data(changes, vm):
    """The data of update-vm-basic-info: the changed fields, and the whole CPU topology if any part of it changed."""
    data = {field: change["after"] for field, change in changes.items()}
    if any(field in changes for field in ("vcpu", "cpu_sockets", "cpu_cores")):
        current = basic_info(vm)
        for field in ("vcpu", "cpu_sockets", "cpu_cores"):
            data.setdefault(field, current[field])
    return data


def describe_changes(changes):
    """'vcpu 2 -> 4, memory 4GiB -> 8GiB' for a step summary."""
    parts = []
    for field, change in changes.items():
        before, after = change["before"], change["after"]
        if field == "memory":
            before, after = format_size(before) if before is not None else None, format_size(after)
        parts.append("%s %s -> %s" % (field, _short(before), _short(after)))
    return ", ".join(parts)


def _short(value):
    return repr(value) if isinstance(value, str) else str(value)


# ----- power ------------------------------------------------------------------------------------
class PowerStep:
    """One power operation, with the forced operation to fall back on when force is set."""

    def __init__(self, operation, summary, fallback=None):
        self.operation = operation
        self.summary = summary
        self.fallback = fallback


def power_steps(status, target, force):
    """The operations that take a VM from status to target, [] when it is already there.

    A graceful shutdown or restart may fail or hang (a guest without ACPI); with force the forced
    variant follows. A suspended guest cannot react to ACPI, so it is resumed first.
    """
    shutdown = PowerStep("shutdown-vm", "Shut the VM down gracefully", "poweroff-vm" if force else None)
    restart = PowerStep("restart-vm", "Restart the VM gracefully", "force-restart-vm" if force else None)
    start = PowerStep("start-vm", "Start the VM")
    resume = PowerStep("resume-vm", "Resume the suspended VM")
    suspend = PowerStep("suspend-vm", "Suspend the VM")
    table = {
        ("RUNNING", "running"): [], ("STOPPED", "running"): [start], ("SUSPENDED", "running"): [resume],
        ("RUNNING", "stopped"): [shutdown], ("STOPPED", "stopped"): [], ("SUSPENDED", "stopped"): [resume, shutdown],
        ("RUNNING", "suspended"): [suspend], ("STOPPED", "suspended"): [start, suspend], ("SUSPENDED", "suspended"): [],
        ("RUNNING", "restarted"): [restart], ("STOPPED", "restarted"): [start], ("SUSPENDED", "restarted"): [resume, restart],
    }
    if (status, target) not in table:
        raise CloudTowerError(
            "Cannot make the VM %s: CloudTower reports its status as %s, so no power operation can be chosen safely; "
            "check the VM in CloudTower" % (target, status), status=status)
    return table[(status, target)]


def power_changes(status, target):
    """The changes entry of a power transition."""
    if target == "restarted" and status != "STOPPED":
        return {"restarted": {"before": False, "after": True}}
    after = {"running": "RUNNING", "restarted": "RUNNING", "stopped": "STOPPED", "suspended": "SUSPENDED"}[target]
    return {} if after == status else {"status": {"before": status, "after": after}}


# ----- drift of the options CloudTower cannot change on an existing VM -----------------------------
def not_applied(option, wanted, current, reason):
    return {"option": option, "wanted": wanted, "current": current, "reason": reason}


def placement_drift(spec, vm, refs, will_start):
    """Host, folder, firmware and guest OS the task names that differ from the VM's."""
    drift = []
    host = (vm.get("host") or {})
    if refs.host and host.get("id") != refs.host["id"] and not will_start:
        drift.append(not_applied("host", spec.host, host.get("name"),
                                 "the module does not migrate VMs; the host only applies when it creates or starts the VM"))
    folder = vm.get("folder") or {}
    if refs.folder and folder.get("id") != refs.folder["id"]:
        drift.append(not_applied("folder", spec.folder, folder.get("name"), "the folder of an existing VM is not changed"))
    if spec.firmware and vm.get("firmware") != spec.firmware:
        drift.append(not_applied("firmware", spec.firmware, vm.get("firmware"), "the firmware of an existing VM cannot be changed"))
    if spec.guest_os_type and vm.get("guest_os_type") != spec.guest_os_type:
        drift.append(not_applied("guest_os_type", spec.guest_os_type, vm.get("guest_os_type"),
                                 "the guest OS type of an existing VM is not changed"))
    return drift


def current_disks(client, vm):
    """The VM's disks in boot order, each with its volume's size."""
    disks = paginate(client, "get-vm-disks", where={"vm": {"id": vm["id"]}})
    volume_ids = [d["vm_volume"]["id"] for d in disks if d.get("vm_volume")]
    sizes = {}
    if volume_ids:
        sizes = {v["id"]: v.get("size") for v in paginate(client, "get-vm-volumes", where={"id_in": volume_ids})}
    for disk in disks:
        volume = disk.get("vm_volume") or {}
        disk["_size"] = _as_bytes(sizes.get(volume.get("id")))
    return sorted(disks, key=lambda d: (d.get("boot") if d.get("boot") is not None else 1 << 30))


def disk_matches(wanted, disk, refs):
    if wanted.is_cdrom:
        image = (disk.get("elf_image") or {}).get("id")
        return disk.get("type") == "CD_ROM" and image == (refs.images[wanted.image]["id"] if wanted.image else None)
    if disk.get("type") != "DISK" or disk.get("bus") != (wanted.bus or DEFAULT_BUS):
        return False
    if wanted.volume:
        return (disk.get("vm_volume") or {}).get("id") == refs.volumes[wanted.volume]["id"]
    return disk.get("_size") == wanted.size


def describe_disk(disk):
    if disk.get("type") == "CD_ROM":
        image = disk.get("elf_image") or {}
        return "CD-ROM (%s)" % ("image %s" % (image.get("name") or image.get("id")) if image else "empty")
    size = disk.get("_size")
    return "%s disk of %s" % (disk.get("bus"), format_size(size) if size is not None else "unknown size")


def disk_drift(client, spec, vm, refs):
    if spec.disks is None:
        return []
    disks = current_disks(client, vm)
    if len(disks) == len(spec.disks) and all(disk_matches(w, d, refs) for w, d in zip(spec.disks, disks)):
        return []
    return [not_applied("disks", [w.describe() for w in spec.disks], [describe_disk(d) for d in disks],
                        "disks of an existing VM are not added, removed or resized by this module")]


def nic_matches(wanted, nic, refs):
    if (nic.get("vlan") or {}).get("id") != refs.vlans[wanted.vlan]["id"]:
        return False
    if wanted.model and nic.get("model") != wanted.model:
        return False
    if wanted.mac_address and (nic.get("mac_address") or "").lower() != wanted.mac_address:
        return False
    return wanted.enabled is None or bool(nic.get("enabled")) == wanted.enabled


def describe_nic(nic):
    vlan = nic.get("vlan") or {}
    return "NIC on VLAN %s, %s, MAC %s" % (vlan.get("name") or vlan.get("id"), nic.get("model"), nic.get("mac_address"))


def nic_drift(client, spec, vm, refs):
    if spec.nics is None:
        return []
    nics = paginate(client, "get-vm-nics", where={"vm": {"id": vm["id"]}})
    nics.sort(key=lambda n: (n.get("order") if n.get("order") is not None else 1 << 30))
    if len(nics) == len(spec.nics) and all(nic_matches(w, n, refs) for w, n in zip(spec.nics, nics)):
        return []
    return [not_applied("nics", [w.describe() for w in spec.nics], [describe_nic(n) for n in nics],
                        "NICs of an existing VM are not added, removed or reconnected by this module")]


def warning_for(drift):
    return "Option '%s' was not applied to the existing VM: %s (VM has %s, task asks for %s)" % (
        drift["option"], drift["reason"], drift["current"], drift["wanted"])


# ----- plans and their execution ------------------------------------------------------------------
class VmStep(Step):
    """A Step whose body may depend on the VM's id, and which may fall back to a forced operation."""

    def __init__(self, operation, body, summary, changes=None, fallback=None):
        super().__init__(operation, body, summary, changes)
        self.fallback = fallback
        self.fell_back = False

    def body_for(self, vm_id):
        return self.body(vm_id) if callable(self.body) else self.body

    def describe(self):
        entry = super().describe()
        if self.fallback:
            entry["fallback"] = self.fallback
        if self.fell_back:
            entry["fell_back"] = True
        return entry


class VmPlan(Plan):
    def add(self, operation, body, summary, changes=None, fallback=None):
        step = VmStep(operation, body, summary, changes, fallback)
        self.steps.append(step)
        return step

    def add_power(self, power_step, start_data=None):
        def body(vm_id):
            request = {"where": {"id": vm_id}}
            if power_step.operation == "start-vm" and start_data:
                request["data"] = start_data
            return request
        summary = power_step.summary
        if power_step.fallback:
            summary += "; if that fails or takes longer than shutdown_timeout, %s" % power_step.fallback
        return self.add(power_step.operation, body, summary, fallback=power_step.fallback)


def where_id(vm_id):
    return {"where": {"id": vm_id}}


class PlanRunner:
    """Sends a VmPlan's steps in order, each on an idle VM, waiting for the tasks between them.

    CloudTower keeps a VM busy (entityAsyncStatus) while its task runs and shortly after: from 3.3 a call
    on a busy VM is refused with ResourceLocked (the client retries it), before 3.3 it is accepted and its
    task fails. So every step after the first waits for the VM to be idle, and so does the final read.
    """

    def __init__(self, module, shutdown_timeout, sleep=time.sleep, clock=time.monotonic, find_lost_creation=None):
        self.module = module
        self.shutdown_timeout = shutdown_timeout
        self.tasks = []
        self.vm_id = None
        self.final_vm = None
        # find_lost_creation(step) -> the VM a create whose reply was lost made, or None (then the failure stands).
        self.find_lost_creation = find_lost_creation
        self._sleep = sleep
        self._clock = clock

    def run(self, plan, vm=None):
        """Run the plan on vm (None to create one); returns the VM as CloudTower shows it afterwards."""
        self.vm_id = vm["id"] if vm else None
        wait = self.module.params.get("wait", True)
        if vm and vm.get("entityAsyncStatus"):
            self.wait_until_idle()
        for index, step in enumerate(plan.steps):
            last = index == len(plan.steps) - 1
            if index:
                self.wait_until_idle()
            self._send(step)
            if step.fallback:
                self._wait_or_fall_back(step)
            elif step.task_ids and (wait or not last):
                self._wait(step.task_ids, step.summary)
            elif step.task_ids:
                self.tasks.extend(self.module.waiter.snapshot(step.task_ids))
        self.final_vm = self.wait_until_idle() if wait else read_vm(self.module.client, self.vm_id)
        return self.final_vm

    def wait_until_idle(self):
        """The VM once CloudTower no longer marks it busy (None once it is gone), within wait_timeout."""
        timeout = self.module.params.get("wait_timeout") or 600
        return wait_until_idle(self.module.client, "get-vms", [self.vm_id], timeout, sleep=self._sleep, clock=self._clock).get(self.vm_id)

    def _send(self, step):
        try:
            step.replies = self.module.client.mutate(step.operation, step.body_for(self.vm_id))
        except TransportError as error:
            found = None
            if step.operation in CREATING_OPERATIONS and error.may_have_reached_server and self.find_lost_creation:
                found = self.find_lost_creation(step)
            if found is None:
                raise
            # CloudTower made the VM though its reply was lost: carry on with it (its task is not known, so the
            # VM itself is waited for until idle).
            step.replies = [{"task_id": None, "data": found}]
            step.lost_reply = error.message
        step.task_ids = task_ids_of(step.replies)
        if step.operation in CREATING_OPERATIONS:
            self.vm_id = created_vm_id(step)

    def send_and_wait(self, step):
        """Send one step on the VM self.vm_id and wait for its tasks."""
        self._send(step)
        if step.task_ids:
            self._wait(step.task_ids, step.summary)

    def _wait(self, task_ids, context):
        try:
            self.tasks.extend(self.module.waiter.wait(task_ids, context=context))
        except TaskFailedError as error:
            # Keep the failed tasks for the report; the caller decides whether the failure stands.
            self.tasks.extend(error.failed + error.succeeded)
            raise

    def _wait_or_fall_back(self, step):
        """Wait for a graceful operation up to shutdown_timeout; on failure or timeout send the forced one."""
        waiter = TaskWaiter(self.module.client, self.shutdown_timeout, sleep=self._sleep, clock=self._clock)
        graceful = list(step.task_ids)
        position = len(self.tasks)
        try:
            self.tasks.extend(waiter.wait(graceful, context=step.summary))
            return
        except TaskFailedError:
            # The failed task's lock lingers briefly. (A timed-out task still runs: waiting for it would defeat
            # shutdown_timeout.)
            self.wait_until_idle()
        except TaskTimeoutError:
            pass
        step.fell_back = True
        try:
            self._send_forced(step)
        except CloudTowerError:
            # The graceful task still holds the VM: from 3.3 the forced call is refused as locked (retried by the
            # client), before 3.3 it is accepted and its task fails as locked; and once the graceful operation has
            # stopped the VM after all, a power-off is refused as pointless. Decide again on the idle VM.
            vm = self.wait_until_idle()
            if not _has_status(vm, FALLBACK_RESULT.get(step.fallback)):
                self._send_forced(step)
        finally:
            # Report the graceful tasks as they ended, not as they were when the timeout struck.
            self.tasks[position:position] = self.module.waiter.snapshot(graceful)

    def _send_forced(self, step):
        forced = VmStep(step.fallback, where_id, "Forced %s after %s did not succeed" % (step.fallback, step.operation))
        self._send(forced)
        step.task_ids = step.task_ids + forced.task_ids
        if forced.task_ids:
            self._wait(forced.task_ids, forced.summary)

    def task_summaries(self):
        return [task_summary(t) for t in self.tasks]


def _has_status(vm, status):
    return status is not None and bool(vm) and vm.get("status") == status


def created_vm_id(step):
    data = (step.replies[0] if step.replies else {}).get("data") or {}
    if not data.get("id"):
        raise CloudTowerError("CloudTower accepted %s but its reply names no VM id" % step.operation, endpoint=step.operation)
    return data["id"]


# ----- reads --------------------------------------------------------------------------------------
def read_vm(client, vm_id):
    """The VM as CloudTower shows it now, or None once it is gone."""
    found = client.call("get-vms", {"where": {"id": vm_id}}) or []
    return found[0] if found else None


def server_version(client):
    """CloudTower's version as a tuple from get-deploys, or None when it cannot be read."""
    try:
        deploys = client.call("get-deploys", {"first": 1}) or []
    except ApiError:
        return None
    text = (deploys[0].get("version") if deploys else None) or ""
    match = re.match(r"^\s*v?(\d+)\.(\d+)", str(text))
    return (int(match.group(1)), int(match.group(2))) if match else None


def check_delete_effect_supported(client):
    """Refuse delete_snapshots before any request when CloudTower is older than 2.7.

    Returns the version read (None when unknown: then CloudTower judges the request itself).
    """
    version = server_version(client)
    if version is not None and version < DELETE_EFFECT_SINCE:
        raise InputError(
            "delete_snapshots", True,
            "needs CloudTower 2.7 or later; this CloudTower is %d.%d, whose delete-vm cannot delete snapshots "
            "(they would survive the VM, detached). Delete them first with smartx.cloudtower.cloudtower_vm_snapshot, "
            "or set delete_snapshots: false" % version)
    return version


def explain_refused_effect(error):
    """A clearer error when a CloudTower of unknown version refused delete-vm's effect key."""
    if isinstance(error, ApiError) and error.status == 400 and "effect" in (error.api_message or ""):
        return CloudTowerError(
            "CloudTower refused delete_snapshots (delete-vm effect.include_snapshots needs CloudTower 2.7 or later): %s"
            % error.message, endpoint=error.endpoint, status=error.status)
    return error
