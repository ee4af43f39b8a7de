# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudTower VMs: operation names, request bodies and reads of a VM and its disks and NICs."""

from __future__ import annotations

import re

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import ApiError, CloudTowerError
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import paginate

READ = "get-vms"
DISKS_READ = "get-vm-disks"
VOLUMES_READ = "get-vm-volumes"
NICS_READ = "get-vm-nics"
CREATE = "create-vm"
CLONE = "clone-vm"
REBUILD = "rebuild-vm-from-snapshot"
CREATE_FROM_TEMPLATE = "create-vm-from-template"
# API 4.6: a VM from a content-library template (api/content_library_vm_templates.py).
CREATE_FROM_CONTENT_LIBRARY_TEMPLATE = "create-vm-from-content-library-template"
CREATING = (CREATE, CLONE, REBUILD, CREATE_FROM_TEMPLATE, CREATE_FROM_CONTENT_LIBRARY_TEMPLATE)
UPDATE_BASIC_INFO = "update-vm-basic-info"
DELETE = "delete-vm"
MOVE_TO_RECYCLE_BIN = "move-vm-to-recycle"
ROLLBACK = "rollback-vm"
ADD_DISK = "add-vm-disk"
START = "start-vm"
SHUTDOWN = "shutdown-vm"
POWEROFF = "poweroff-vm"
RESTART = "restart-vm"
FORCE_RESTART = "force-restart-vm"
RESUME = "resume-vm"
SUSPEND = "suspend-vm"
# Devices, placement and folder of an existing VM (EXPAND_DISK and EJECT_ISO exist from API 1.10 on; ADD_DISK above).
EXPAND_DISK = "expand-vm-disk"
REMOVE_DISK = "remove-vm-disk"
UPDATE_DISK = "update-vm-disk"
EJECT_ISO = "eject-iso-from-vm-cd-rom"
ADD_CD_ROM = "add-vm-cd-rom"
REMOVE_CD_ROM = "remove-vm-cd-rom"
ADD_NIC = "add-vm-nic"
UPDATE_NIC = "update-vm-nic"
REMOVE_NIC = "remove-vm-nic"
MIGRATE = "migrate-vm"
MIGRATE_ACROSS_CLUSTER = "migrate-vm-across-cluster"
ADD_TO_FOLDER = "add-vm-to-folder"
EXPAND_DISK_SINCE = (1, 10)
EJECT_ISO_SINCE = (1, 10)
# The status a forced operation brings the VM to, when it can be told from the status alone.
FORCED_RESULT = {POWEROFF: "STOPPED"}
# delete-vm accepts effect.include_snapshots from CloudTower 2.7 on; older versions refuse the key.
DELETE_EFFECT_SINCE = (2, 7)


def on_vm(vm_id):
    """The body of every operation that acts on one VM and carries no data."""
    return {"where": {"id": vm_id}}


# The executor's name for "the body that acts on this one resource" (see plan.Executor).
by_id = on_vm


def _on_vm_with(vm_id, key, value):
    """on_vm(vm_id), with key set to value when there is one (CloudTower refuses some keys it does not need)."""
    body = on_vm(vm_id)
    if value:
        body[key] = value
    return body


def start_body(vm_id, host_id=None):
    return _on_vm_with(vm_id, "data", {"host_id": host_id} if host_id else None)


def update_body(vm_id, data):
    return {"where": {"id": vm_id}, "data": data}


def expand_disk_body(disk_id, size):
    """expand-vm-disk acts on a disk (VmDiskWhereInput); the size in bytes, without size_unit (4.6 only)."""
    return {"where": {"id": disk_id}, "size": size}


def eject_body(disk_id):
    return {"where": {"id": disk_id}}


def migrate_body(vm_id, host_id):
    return {"where": {"id": vm_id}, "data": {"host_id": host_id}}


def delete_body(vm_id, include_snapshots=False):
    # CloudTower before 2.7 refuses the effect key, so it is only sent when asked for.
    return _on_vm_with(vm_id, "effect", {"include_snapshots": True} if include_snapshots else None)


def add_disk_body(vm_id, mount_disks):
    """add-vm-disk mounting existing volumes on the VM (params as create-vm's mount_disks)."""
    return {"where": {"id": vm_id}, "data": {"vm_disks": {"mount_disks": list(mount_disks)}}}


def rollback_body(vm_id, snapshot_id):
    return {"where": {"id": vm_id}, "data": {"snapshot_id": snapshot_id}}


def read(client, vm_id):
    """The VM as CloudTower shows it now, or None once it is gone."""
    found = client.call(READ, {"where": {"id": vm_id}}) or []
    return found[0] if found else None


def find(client, where):
    """Every VM matching a where clause, all pages."""
    return paginate(client, READ, where=where)


def created_id(operation, replies):
    """The id of the VM a create, clone or rebuild made, from its reply."""
    data = (replies[0] if replies else {}).get("data") or {}
    if not data.get("id"):
        raise CloudTowerError("CloudTower accepted %s but its reply names no VM id" % operation, endpoint=operation)
    return data["id"]


def disks(client, vm_id):
    return paginate(client, DISKS_READ, where={"vm": {"id": vm_id}})


def volume_sizes(client, volume_ids):
    """{volume id: size} of the VM volumes named, in one query."""
    if not volume_ids:
        return {}
    return {v["id"]: v.get("size") for v in paginate(client, VOLUMES_READ, where={"id_in": volume_ids})}


def nics(client, vm_id):
    return paginate(client, NICS_READ, where={"vm": {"id": vm_id}})


def server_version(client):
    """CloudTower's version as a tuple from get-deploys, or None when it cannot be read."""
    try:
        deploys = client.call("get-deploys", {"first": 1}) or []
    except ApiError:
        return None
    text = (deploys[0].get("version") if deploys else None) or ""
    match = re.match(r"^\s*v?(\d+)\.(\d+)", str(text))
    return (int(match.group(1)), int(match.group(2))) if match else None


def refused_delete_effect(error):
    """True when a CloudTower of unknown version refused delete-vm's effect key."""
    return isinstance(error, ApiError) and error.status == 400 and "effect" in (error.api_message or "")
