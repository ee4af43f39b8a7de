# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM snapshots: naming, target VMs, batched reads and the per-VM outcome of a batch.

Shared by cloudtower_vm_snapshot, cloudtower_vm_snapshot_info and
cloudtower_lun_snapshot_info. CloudTower wants snapshot names unique within a
CLUSTER, so a snapshot of many VMs needs one name per VM: a name template with
``{vm_name}`` or ``{vm_id}``, expanded here.
"""

from __future__ import annotations

import re

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError, blamed_on, describe_task
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import looks_like_id, resolve_cluster_scope, resolve_vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import validate_where, values_of, where_and

PLACEHOLDERS = ("{vm_name}", "{vm_id}")
# The backup role's placeholder, fixed once per run (every VM of a batch shares it) before the VM placeholders.
TIMESTAMP = "{timestamp}"
PLACEHOLDER_PATTERN = re.compile(r"\{[^{}]*\}")
CONSISTENT_TYPES = {"crash": "CRASH_CONSISTENT", "file_system": "FILE_SYSTEM_CONSISTENT"}


# ----- names ---------------------------------------------------------------
def has_vm_placeholder(template):
    return any(p in template for p in PLACEHOLDERS)


def expand_timestamp(template, stamp):
    """The template with the batch's time filled in; the VM placeholders are left for expand_name."""
    return template.replace(TIMESTAMP, stamp)


def expand_name(template, vm):
    """The template with this VM's placeholders filled in (plain replace: other text is kept as is)."""
    return template.replace("{vm_name}", vm.get("name") or "").replace("{vm_id}", vm["id"])


def name_before_resolving(template, value):
    """The name template gives the VM that value names or identifies, when the value alone tells it; else None.

    A value shaped like an id is read as the VM's id, any other as its name: a guess that only decides whether
    snapshots can be looked up before the VMs, since every snapshot found is checked against its own VM.
    """
    is_id = looks_like_id(value)
    if ("{vm_name}" in template and is_id) or ("{vm_id}" in template and not is_id):
        return None
    return template.replace("{vm_name}", value).replace("{vm_id}", value)


def named_for_its_vm(template, snapshot):
    """The snapshot carries the name the template gives its own VM."""
    vm = snapshot.get("vm")
    return bool(vm) and snapshot.get("name") == expand_name(template, vm)


def validate_name_template(option, template, many, with_timestamp=False):
    """Refuse, before any request, a template that cannot give one unique name per VM.

    with_timestamp: the template may hold {timestamp} too (the backup role's names, expanded by expand_timestamp).
    """
    if template is None:
        return
    if not template.strip():
        raise InputError(option, template, "must not be empty")
    known = PLACEHOLDERS + ((TIMESTAMP,) if with_timestamp else ())
    unknown = [p for p in PLACEHOLDER_PATTERN.findall(template) if p not in known]
    if unknown:
        raise InputError(option, template, "has unknown placeholder(s) %s; the placeholders are %s" % (
            ", ".join(unknown), " and ".join(known)))
    if many and not has_vm_placeholder(template):
        raise InputError(
            option,
            template,
            "must contain {vm_name} or {vm_id} when several VMs are (or may be) selected: CloudTower wants "
            "snapshot names unique within a cluster, so each VM needs its own name",
        )


def vm_label(vm):
    """'web-1 (id cm...)' for messages; VM names are not unique, ids are."""
    if not vm:
        return "a deleted VM"
    return "%s (id %s)" % (vm.get("name"), vm.get("id"))


def vm_stub(record):
    return {"id": record["id"], "name": record.get("name")} if record else None


def cluster_id_of(record):
    return (record.get("cluster") or {}).get("id")


def vm_id_of(snapshot):
    return (snapshot.get("vm") or {}).get("id")


def refuse_colliding_names(option, template, planned):
    """Two VMs of one cluster whose names expand to the same snapshot name (same VM name, {vm_name} template)."""
    seen = {}
    for vm, name in planned:
        key = (cluster_id_of(vm), name)
        if key in seen:
            raise InputError(option, template, "gives the same snapshot name %r to VMs %s and %s of one cluster; "
                                               "CloudTower needs names unique within a cluster: use {vm_id}"
                             % (name, vm_label(seen[key]), vm_label(vm)))
        seen[key] = vm


def refuse_names_held_by_other_vms(option, template, planned, existing):
    """A name already used in the VM's cluster by another VM's snapshot would make the task fail: say so now."""
    conflicts = []
    for vm, name in planned:
        for snapshot in existing:
            if snapshot.get("name") == name and cluster_id_of(snapshot) == cluster_id_of(vm) and vm_id_of(snapshot) != vm["id"]:
                conflicts.append("%r is held by snapshot %s of %s" % (name, snapshot["id"], vm_label(snapshot.get("vm"))))
    if conflicts:
        raise InputError(option, template, "names a snapshot that another VM's snapshot already has in the same cluster "
                                           "(CloudTower wants names unique within a cluster): %s" % "; ".join(conflicts))


# ----- consistency ------------------------------------------------------------
def tools_running(vm):
    return vm.get("vm_tools_status") == "RUNNING"


def choose_consistency(vms, wanted, fallback):
    """{vm id: CloudTower consistent_type} and warnings, or an InputError before any request.

    CloudTower accepts FILE_SYSTEM_CONSISTENT for a VM without running VMTools
    and then fails the task, so the decision is made here from vm_tools_status.
    """
    api_value = CONSISTENT_TYPES[wanted]
    chosen = {vm["id"]: api_value for vm in vms}
    if wanted != "file_system":
        return chosen, []
    without_tools = [vm for vm in vms if not tools_running(vm)]
    if not without_tools:
        return chosen, []
    listing = ", ".join("%s: vm_tools_status %s" % (vm_label(vm), vm.get("vm_tools_status")) for vm in without_tools)
    if not fallback:
        raise InputError("consistent_type", wanted, "needs VMTools running in the guest, and they are not in %s. Start VMTools, "
                                                    "or set fallback_to_crash_consistent: true to take crash-consistent snapshots "
                                                    "of those VMs instead" % listing)
    for vm in without_tools:
        chosen[vm["id"]] = CONSISTENT_TYPES["crash"]
    return chosen, ["VMTools are not running in %s: taking crash-consistent snapshots of them instead of file-system-consistent "
                    "ones (fallback_to_crash_consistent)" % listing]


# ----- which VMs -----------------------------------------------------------------
def selects_many_vms(params):
    """vms or where stand for a group of VMs, whatever their count today."""
    return bool(params.get("vms")) or params.get("where") is not None


def select_vms(client, params):
    """The VMs named by vm / vms (name or id) or matched by where, scoped by cluster; one query."""
    values = values_of(params, "vm", "vms")
    if values:
        option = "vm" if params.get("vm") else "vms"
        return resolve_vms(client, option, values, cluster_option="cluster", cluster=params.get("cluster"))
    if params.get("where") is not None:
        user_where = validate_where("where", params["where"])
        scope, _text = resolve_cluster_scope(client, "cluster", params.get("cluster"))
        with blamed_on("where", params["where"]):
            return vms.find(client, where_and(scope, user_where))
    return []


def snapshots_by_vm(snapshots):
    grouped = {}
    for snapshot in snapshots:
        grouped.setdefault(vm_id_of(snapshot), []).append(snapshot)
    return grouped


def snapshot_summary(snapshot):
    """The fields that identify a snapshot in reports of deletions."""
    keys = ("id", "name", "local_id", "local_created_at", "consistent_type")
    summary = {k: snapshot.get(k) for k in keys}
    summary["vm"] = vm_stub(snapshot.get("vm"))
    summary["cluster"] = snapshot.get("cluster")
    return summary


# ----- the fate of each member of a batch ----------------------------------------------
def task_error(task):
    """{code, message} of a failed or unfinished task, None when it succeeded."""
    if not task or task.get("status") == "SUCCESSED":
        return None
    if task.get("status") == "FAILED":
        return {"code": task.get("error_code"), "message": task.get("error_message") or describe_task(task)}
    return {"code": None, "message": "not finished within wait_timeout: %s" % describe_task(task)}


def status_from_task(task, done_status, waited):
    """The per-VM status a batch member ends in, given its task."""
    if task is None:
        return done_status
    status = task.get("status")
    if status == "SUCCESSED":
        return done_status
    if status == "FAILED":
        return "failed"
    return "timed_out" if waited else "pending"


# ----- VM snapshot disks -> iSCSI LUN snapshots ---------------------------------------
def data_disks(vm_snapshot):
    """The snapshot's DISK entries in index order; CD_ROM entries have no LUN snapshot."""
    disks = [d for d in vm_snapshot.get("vm_disks") or [] if d.get("type") == "DISK"]
    return sorted(disks, key=lambda d: (d.get("index") is None, d.get("index")))


def lun_snapshot_keys(vm_snapshots):
    """Every DISK's snapshot_local_id, the key of its LUN snapshot."""
    keys = []
    for vm_snapshot in vm_snapshots:
        keys.extend(d["snapshot_local_id"] for d in data_disks(vm_snapshot) if d.get("snapshot_local_id"))
    return list(dict.fromkeys(keys))


class LunSnapshotIndex:
    """LUN snapshots by name and by local_id; a name match wins, being the documented reading."""

    def __init__(self, lun_snapshots):
        self.by_name = {}
        self.by_local_id = {}
        for lun_snapshot in lun_snapshots:
            self.by_name.setdefault(lun_snapshot.get("name"), lun_snapshot)
            self.by_local_id.setdefault(lun_snapshot.get("local_id"), lun_snapshot)

    def match(self, key):
        """(lun snapshot, "name" | "local_id") or (None, None)."""
        if key in self.by_name:
            return self.by_name[key], "name"
        if key in self.by_local_id:
            return self.by_local_id[key], "local_id"
        return None, None


def join_disks_to_lun_snapshots(vm_snapshots, lun_snapshots):
    """(records, missing): one record per DISK of each VM snapshot, joined to its LUN snapshot.

    A record is the LUN snapshot's fields plus disk (the snapshot's disk entry),
    vm_snapshot {id, name}, vm {id, name} and matched_by. missing lists the
    DISKs no LUN snapshot matches, with the reason.
    """
    index = LunSnapshotIndex(lun_snapshots)
    records = []
    missing = []
    for vm_snapshot in vm_snapshots:
        owner = {"vm_snapshot": vm_stub(vm_snapshot), "vm": vm_stub(vm_snapshot.get("vm"))}
        for disk in data_disks(vm_snapshot):
            key = disk.get("snapshot_local_id")
            lun_snapshot, matched_by = index.match(key) if key else (None, None)
            if lun_snapshot is None:
                reason = "no LUN snapshot is named %r or has it as local_id" % key if key else "the disk has no snapshot_local_id"
                missing.append(dict(owner, disk=disk, key=key, reason=reason))
                continue
            record = dict(lun_snapshot)
            record.update(owner, disk=disk, matched_by=matched_by)
            records.append(record)
    return records, missing


def join_keys_to_lun_snapshots(keys, lun_snapshots):
    """(records, missing) for LUN snapshots asked for by name or local_id, with no VM snapshot to join."""
    index = LunSnapshotIndex(lun_snapshots)
    records = []
    missing = []
    for key in keys:
        lun_snapshot, matched_by = index.match(key)
        if lun_snapshot is None:
            missing.append(dict(vm_snapshot=None, vm=None, disk=None, key=key, reason="no LUN snapshot is named %r or has it as local_id" % key))
            continue
        record = dict(lun_snapshot)
        record.update(vm_snapshot=None, vm=None, disk=None, matched_by=matched_by)
        records.append(record)
    return records, missing


def describe_missing(missing):
    """One line per unmatched DISK (or name), for the failure message."""
    lines = []
    for entry in missing:
        disk = entry.get("disk")
        if disk is None:
            lines.append(entry["reason"])
            continue
        lines.append("disk index %s (%s, vm_volume_local_id %s) of VM snapshot %s of %s: %s" % (
            disk.get("index"), disk.get("path") or disk.get("disk_name"), disk.get("vm_volume_local_id"),
            vm_label(entry["vm_snapshot"]), vm_label(entry["vm"]), entry["reason"]))
    return "; ".join(lines)
