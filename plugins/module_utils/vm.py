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
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_spec import format_size

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
    """Host of a VM that is not running (nor started by the task), firmware and guest OS that differ from the VM's.

    A running VM is migrated and a VM the task starts starts on the host (vm_devices.placement_changes); a stopped
    or suspended VM keeps its host until it runs.
    """
    drift = []
    host = (vm.get("host") or {})
    if refs.host and host.get("id") != refs.host["id"] and not will_start and vm.get("status") != "RUNNING":
        drift.append(not_applied("host", spec.host, host.get("name"),
                                 "the VM is %s: only a running VM is migrated, and a stopped one starts on the host when "
                                 "the task starts it" % vm.get("status")))
    if spec.firmware and vm.get("firmware") != spec.firmware:
        drift.append(not_applied("firmware", spec.firmware, vm.get("firmware"), "the firmware of an existing VM cannot be changed"))
    if spec.guest_os_type and vm.get("guest_os_type") != spec.guest_os_type:
        drift.append(not_applied("guest_os_type", spec.guest_os_type, vm.get("guest_os_type"),
                                 "the guest OS type of an existing VM is not changed"))
    return drift


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
