# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM volume's bytes out of CloudTower over HTTP (4.6): export-vm-volume, then a checked, resumable download.

export-vm-volume exports a volume's CURRENT content. A backup wants a snapshot's, so the export transport first
rebuilds a temporary volume from the disk's VM volume snapshot (rebuild-vm-volume), exports that and deletes it
again. The temporary volumes carry BACKUP_PREFIX and the run's token in their names, like the iSCSI transport's
cloned LUNs, so a later run finds what an interrupted one left and deletes it.

CloudTower 4.6 has no operation that deletes an export file (the spec has export, list and links only): the files
CloudTower keeps expire on its side; what this host downloaded is removed as soon as it has been read.
"""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils import downloads
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import volumes
from ansible_collections.smartx.cloudtower.plugins.module_utils.api.iscsi import BACKUP_PREFIX
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError

VOLUME_SNAPSHOTS = "get-vm-volume-snapshots"
REBUILD = "rebuild-vm-volume"
EXPORT_FILES = "get-vm-export-files"
EXPORT_SINCE = (4, 6)
EXPORT_FORMAT = "QCOW2"


def has_export(version):
    """Whether a CloudTower of this version (a tuple, or None when unknown) can export a snapshot's disk."""
    return version is not None and tuple(version) >= EXPORT_SINCE


def frozen_disk(manifest, disk):
    """The VM snapshot's own record of a manifest disk (its vm_disks entry), or {}."""
    for frozen in (manifest.get("snapshot") or {}).get("vm_disks") or []:
        if frozen.get("index") == disk.get("index") and frozen.get("snapshot_local_id") == disk.get("snapshot_local_id"):
            return frozen
    return {}


def snapshot_keys(disk, frozen):
    """What identifies a disk's VM volume snapshot, most certain first: [(field, value)].

    The VM snapshot's frozen disk names it (vm_volume_snapshot_uuid = its local_id); failing that, the ZBS snapshot
    behind the disk's LUN snapshot (zbs_snapshot_uuid) or the snapshot name the disk records (snapshot_local_id).
    """
    keys = [("local_id", frozen.get("vm_volume_snapshot_uuid")),
            ("zbs_snapshot_uuid", (disk.get("lun_snapshot") or {}).get("local_id")),
            ("name", disk.get("snapshot_local_id"))]
    return [(field, value) for field, value in keys if value]


def find_volume_snapshots(client, disks):
    """{id(disk): (VmVolumeSnapshot, matched_by)} for [(disk, frozen disk)], in one request; a disk without one is
    left out."""
    keys = [snapshot_keys(disk, frozen) for disk, frozen in disks]
    wanted = {}
    for disk_keys in keys:
        for field, value in disk_keys:
            wanted.setdefault(field, set()).add(value)
    if not wanted:
        return {}
    where = {"OR": [{field + "_in": sorted(values)} for field, values in sorted(wanted.items())]}
    found = client.call(VOLUME_SNAPSHOTS, {"where": where}) or []
    matches = {}
    for (disk, _frozen), disk_keys in zip(disks, keys):
        for field, value in disk_keys:
            hits = [snapshot for snapshot in found if snapshot.get(field) == value]
            if len(hits) == 1:
                matches[id(disk)] = (hits[0], field)
                break
    return matches


def temporary_volume_name(vm_id, disk_index, token):
    """The temporary volume's name: the prefix marks it as ours, the token tells one run's from another's."""
    return "%s%s-disk%s-%s" % (BACKUP_PREFIX, vm_id, disk_index, token)


def token_of(name):
    return name.rsplit("-", 1)[-1]


class VolumeExporter:
    """The API side of one disk's export: rebuild, export, links; and the cleanup of temporary volumes."""

    def __init__(self, client, waiter):
        self.client = client
        self.waiter = waiter

    def start_rebuild(self, volume_snapshot_id, name, description):
        """rebuild-vm-volume: (the new volume's id, task ids). The id comes first, so a rebuild whose task fails or
        outlasts the wait still has its volume deleted."""
        replies = self.client.mutate(REBUILD, [{"name": name, "description": description, "volume_snapshot_id": volume_snapshot_id}])
        volume_id = ((replies[0] if replies else {}).get("data") or {}).get("id")
        if not volume_id:
            raise CloudTowerError("rebuild-vm-volume of volume snapshot %s named no volume" % volume_snapshot_id)
        return volume_id, [r["task_id"] for r in replies if r.get("task_id")]

    def wait(self, task_ids, context):
        return self.waiter.wait(task_ids, context=context)

    def export(self, volume_id, context):
        """export-vm-volume as QCOW2 and wait; returns the export file (its files list sizes and md5s)."""
        replies = self.client.mutate(volumes.EXPORT, volumes.export_body(volume_id, EXPORT_FORMAT))
        export_id = ((replies[0] if replies else {}).get("data") or {}).get("id")
        if not export_id:
            raise CloudTowerError("export-vm-volume of %s named no export file" % volume_id)
        self.waiter.wait([r["task_id"] for r in replies if r.get("task_id")], context=context)
        found = self.client.call(EXPORT_FILES, {"where": {"id": export_id}}) or []
        if not found or len(found[0].get("files") or []) != 1:
            raise CloudTowerError("export file %s of volume %s lists %s files, not one" % (
                export_id, volume_id, len(found[0].get("files") or []) if found else "no"))
        return found[0]

    def link(self, export_file):
        """The one download link of an export file (it carries the file's secret: never shown)."""
        links = self.client.call(volumes.DOWNLOAD_LINKS, {"where": {"id": export_file["id"]}}) or []
        if len(links) != 1 or not links[0].get("link"):
            raise CloudTowerError("export file %s has %d download links, not one" % (export_file["id"], len(links)))
        return links[0]["link"]

    def find_temporary_volumes(self, cluster_id):
        """Every volume of the cluster whose name carries our prefix: temporary volumes of export runs."""
        where = {"cluster": {"id": cluster_id}, "name_starts_with": BACKUP_PREFIX}
        return self.client.call(volumes.READ, {"where": where}) or []

    def delete(self, volume_ids, context="delete temporary volumes"):
        if not volume_ids:
            return []
        replies = self.client.mutate(volumes.DELETE, volumes.delete_body(volume_ids))
        return self.waiter.wait([r["task_id"] for r in replies if r.get("task_id")], context=context)


def listed_md5(export_file):
    """The md5 CloudTower lists for an export file's one file, or None (it leaves it empty for large files)."""
    return (export_file["files"][0].get("md5") or "").lower() or None


def download_export(session, link, export_file, path, label, progress=None, check_md5=True):
    """Download an export file's one file into path, checked against the size (and, with check_md5, the md5)
    CloudTower lists for it. Returns the downloader's result (size, digests, resumed).

    Without check_md5 the caller checks listed_md5 itself (downloads.file_digest), e.g. while qemu-img reads the file:
    on a small backup host hashing beside the download costs download speed, beside qemu-img it costs nothing.
    """
    md5 = listed_md5(export_file)
    return downloads.download(session, link, path, label=label, expected_size=export_file["files"][0].get("fileSize"),
                              expected={"md5": md5} if (md5 and check_md5) else None, progress=progress)
