# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudTower VM volumes as a restore writes them: uploads and imports (4.6), empty volumes and their LUNs (every
version), exports to read one back (4.6). The one place that spells these operations and their bodies."""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.api.vms import VOLUMES_READ
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError

READ = VOLUMES_READ
CREATE = "create-vm-volume"
DELETE = "delete-vm-volume"
UPLOAD = "upload-elf-file"
IMPORT = "import-vm-volume"
EXPORT = "export-vm-volume"
DOWNLOAD_LINKS = "get-export-file-download-links"
UPLOAD_TASKS = "get-upload-tasks"
# Upload and import came with CloudTower 4.x (the 1.8 and 1.10 specs have neither); 4.6 is the version we know.
UPLOAD_SINCE = (4, 6)
DEFAULT_STORAGE_POLICY = "REPLICA_2_THIN_PROVISION"
UPLOAD_DONE = "SUCCESSED"
UPLOAD_FAILED = ("FAILED",)


def by_id(volume_id):
    return {"where": {"id": volume_id}}


def read(client, volume_id):
    found = client.call(READ, by_id(volume_id)) or []
    return found[0] if found else None


def find_named(client, cluster_id, name):
    """Volumes of the cluster with this name (a restore names its volumes, so a re-run finds them)."""
    return client.call(READ, {"where": {"name": name, "cluster": {"id": cluster_id}}}) or []


def create_body(cluster_id, name, size, storage_policy):
    return [{"cluster_id": cluster_id, "name": name, "size": int(size), "sharing": False, "elf_storage_policy": storage_policy}]


def import_body(cluster_id, name, upload_task_id, storage_policy):
    return [{"cluster_id": cluster_id, "name": name, "upload_task_id": upload_task_id, "storage_policy": storage_policy}]


def delete_body(volume_ids):
    return {"where": {"id_in": list(volume_ids)}}


def export_body(volume_id, file_type="QCOW2"):
    return {"where": {"id": volume_id}, "data": {"type": file_type}}


def upload_fields(cluster_id, name, size, upload_task_id=None):
    """The form fields of an upload-elf-file call: the first names the file, the later ones the upload task."""
    if upload_task_id:
        return {"upload_task_id": upload_task_id}
    return {"name": name, "size": str(int(size)), "size_unit": "B", "cluster_id": cluster_id}


def upload_task(client, task_id):
    found = client.call(UPLOAD_TASKS, {"where": {"id": task_id}}) or []
    if not found:
        raise CloudTowerError("upload task %s is gone from CloudTower" % task_id, endpoint=UPLOAD_TASKS)
    return found[0]


def lun_of(client, volume):
    """(LUN, target) backing a volume, as get-iscsi-luns/targets show them; None when CloudTower names none."""
    lun_stub = volume.get("lun") or {}
    if not lun_stub.get("id"):
        return None, None
    luns = client.call("get-iscsi-luns", {"where": {"id": lun_stub["id"]}}) or []
    if not luns or not (luns[0].get("iscsi_target") or {}).get("id"):
        return None, None
    targets = client.call("get-iscsi-targets", {"where": {"id": luns[0]["iscsi_target"]["id"]}}) or []
    return luns[0], (targets[0] if targets else None)


def volume_target(client, cluster_id):
    """The cluster's internal iSCSI target, where CloudTower puts the LUNs of new VM volumes; None when not listed."""
    found = client.call("get-iscsi-targets", {"where": {"cluster": {"id": cluster_id}, "internal": True}}) or []
    return found[0] if found else None
