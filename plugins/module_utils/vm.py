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

import time

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError, InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.plan import Executor, Plan, changed_fields
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_spec import DEFAULT_BUS, format_size

POWER_STATES = ("running", "stopped", "suspended", "restarted")
STATES = ("present", "absent") + POWER_STATES
# The status a new VM is created in; a suspended VM is created running, then suspended.
CREATION_STATUS = {"present": "STOPPED", "stopped": "STOPPED", "running": "RUNNING", "restarted": "RUNNING", "suspended": "RUNNING"}


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
    shutdown = PowerStep(vms.SHUTDOWN, "Shut the VM down gracefully", vms.POWEROFF if force else None)
    restart = PowerStep(vms.RESTART, "Restart the VM gracefully", vms.FORCE_RESTART if force else None)
    start = PowerStep(vms.START, "Start the VM")
    resume = PowerStep(vms.RESUME, "Resume the suspended VM")
    suspend = PowerStep(vms.SUSPEND, "Suspend the VM")
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
    disks = vms.disks(client, vm["id"])
    sizes = vms.volume_sizes(client, [d["vm_volume"]["id"] for d in disks if d.get("vm_volume")])
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
    nics = vms.nics(client, vm["id"])
    nics.sort(key=lambda n: (n.get("order") if n.get("order") is not None else 1 << 30))
    if len(nics) == len(spec.nics) and all(nic_matches(w, n, refs) for w, n in zip(spec.nics, nics)):
        return []
    return [not_applied("nics", [w.describe() for w in spec.nics], [describe_nic(n) for n in nics],
                        "NICs of an existing VM are not added, removed or reconnected by this module")]


def warning_for(drift):
    return "Option '%s' was not applied to the existing VM: %s (VM has %s, task asks for %s)" % (
        drift["option"], drift["reason"], drift["current"], drift["wanted"])


# ----- plans and their execution ------------------------------------------------------------------
class VmPlan(Plan):
    """A Plan with power steps, whose bodies take the VM's id when they are sent (it may not exist yet)."""

    def add_power(self, power_step, start_data=None):
        host_id = (start_data or {}).get("host_id") if power_step.operation == vms.START else None

        def body(vm_id):
            return vms.start_body(vm_id, host_id) if power_step.operation == vms.START else vms.on_vm(vm_id)
        summary = power_step.summary
        if power_step.fallback:
            summary += "; if that fails or takes longer than shutdown_timeout, %s" % power_step.fallback
        return self.add(power_step.operation, body, summary, fallback=power_step.fallback)


class PlanRunner(Executor):
    """The executor on VMs: graceful power operations fall back to forced ones after shutdown_timeout."""

    def __init__(self, module, shutdown_timeout, sleep=time.sleep, clock=time.monotonic, find_lost_creation=None):
        super().__init__(module, vms, fallback_timeout=shutdown_timeout, sleep=sleep, clock=clock,
                         find_lost_creation=find_lost_creation)


# ----- reads --------------------------------------------------------------------------------------
def check_delete_effect_supported(client):
    """Refuse delete_snapshots before any request when CloudTower is older than 2.7.

    Returns the version read (None when unknown: then CloudTower judges the request itself).
    """
    version = vms.server_version(client)
    if version is not None and version < vms.DELETE_EFFECT_SINCE:
        raise InputError(
            "delete_snapshots", True,
            "needs CloudTower 2.7 or later; this CloudTower is %d.%d, whose delete-vm cannot delete snapshots "
            "(they would survive the VM, detached). Delete them first with smartx.cloudtower.cloudtower_vm_snapshot, "
            "or set delete_snapshots: false" % version)
    return version


def explain_refused_effect(error):
    """A clearer error when a CloudTower of unknown version refused delete-vm's effect key."""
    if vms.refused_delete_effect(error):
        return CloudTowerError(
            "CloudTower refused delete_snapshots (delete-vm effect.include_snapshots needs CloudTower 2.7 or later): %s"
            % error.message, endpoint=error.endpoint, status=error.status)
    return error
