# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moving a repository disk back into CloudTower: the two write paths and the read-back that proves them.

- ``upload`` (CloudTower 4.6): the disk, read through its backing chain, becomes one standalone QCOW2 (qemu-img),
  is sent in chunks with ``upload-elf-file`` (a chunk that fails is resumed from what CloudTower says it holds) and
  becomes a VM volume with ``import-vm-volume``.
- ``iscsi`` (every version whose API exposes the LUN of a new volume to this host): ``create-vm-volume`` makes an
  empty volume of the disk's size, and qemu-img writes the disk into its LUN over libiscsi.

Before writing, every file of the disk's chain is checked against the sha256 its backup recorded. Every byte is read
and written by qemu-img; the read-back digest uses transports.py, so a restored disk is compared with the manifest
exactly as verify compares a backup.
"""

from __future__ import annotations

import os

from ansible_collections.smartx.cloudtower.plugins.module_utils import downloads
from ansible_collections.smartx.cloudtower.plugins.module_utils import repository as repo
from ansible_collections.smartx.cloudtower.plugins.module_utils import transports
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import volumes
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import read_manifest

# How often a refused or dropped chunk is re-sent (after asking CloudTower how far the upload got).
CHUNK_ATTEMPTS = 4


class RestoreError(Exception):
    """A step of one disk's restore failed; step is read, upload, import, create, write or verify."""

    def __init__(self, step, message):
        super().__init__(message)
        self.step = step
        self.message = message


def scratch_path(work_dir, index, purpose):
    return os.path.join(work_dir, ".restore-disk-%s.%s.tmp" % (index, purpose))


def expected_digest(entry):
    return ((entry.get("backup") or {}).get("digest") or {}).get("value")


def chain_files(runner, disk_path):
    """[path] of a disk file and the files below it (its backing chain), top first."""
    try:
        return [image["filename"] for image in transports.image_info(runner, disk_path, step="read")]
    except (transports.CopyError, ValueError, KeyError) as error:
        raise RestoreError("read", getattr(error, "message", None) or str(error))


def recorded_sha256(path):
    """The file_sha256 the manifest beside path recorded for it when it was written and verified, or None."""
    manifest = read_manifest(os.path.join(os.path.dirname(path), repo.MANIFEST_NAME)) or {}
    for entry in manifest.get("disks") or []:
        copy = entry.get("backup") or {}
        if copy.get("file") == os.path.basename(path):
            return copy.get("file_sha256")
    return None


def check_files(files):
    """Every file the disk reads is the file its backup wrote and verified (sha256 of the stored bytes): a changed or
    damaged file is never restored. Costs a hash of what is stored, not a read of the whole disk."""
    for path in files:
        expected = recorded_sha256(path)
        if not expected:
            raise RestoreError("read", "%s: no manifest beside it records its sha256" % path)
        if transports.file_sha256(path) != expected:
            raise RestoreError("read", "%s changed since it was backed up (sha256 differs): the backup is damaged" % path)


def standalone_image(runner, files, index, work_dir):
    """(path, is scratch) of one QCOW2 holding the whole disk: a full backup's own file, or the chain flattened."""
    if len(files) == 1:
        return files[0], False
    image = scratch_path(work_dir, index, "qcow2")
    try:
        transports.run_checked(runner, "read", ["qemu-img", "convert", "-O", "qcow2", files[0], image])
    except transports.CopyError as error:
        raise RestoreError("read", error.message)
    return image, True


def upload_file(client, cluster_id, name, path, progress=None):
    """Upload path with upload-elf-file in CloudTower's chunk size; returns the finished UploadTask.

    The first call names the file and carries no bytes, so CloudTower says the chunk size it wants. A chunk that
    fails is not re-sent blindly: the upload task's current_chunk says what arrived, and the upload goes on from there.
    """
    size = os.path.getsize(path)
    try:
        task = client.upload(volumes.UPLOAD, volumes.upload_fields(cluster_id, name, size), name, b"")
    except CloudTowerError as error:
        raise RestoreError("upload", "upload-elf-file refused %s: %s" % (name, error.message))
    chunk_size = int(task.get("chunk_size") or 0)
    if chunk_size <= 0:
        raise RestoreError("upload", "upload-elf-file answered no chunk size for %s" % name)
    failures = 0
    with open(path, "rb") as stream:
        while task.get("status") != volumes.UPLOAD_DONE:
            if task.get("status") in volumes.UPLOAD_FAILED:
                raise RestoreError("upload", "upload task %s of %s is %s" % (task["id"], name, task["status"]))
            offset = int(task.get("current_chunk") or 0) * chunk_size
            data = os.pread(stream.fileno(), chunk_size, offset)
            if not data:
                raise RestoreError("upload", "upload task %s has %d of %d bytes but is %s" % (task["id"], offset, size, task.get("status")))
            try:
                task = client.upload(volumes.UPLOAD, volumes.upload_fields(cluster_id, name, size, task["id"]), name, data)
            except CloudTowerError as error:
                failures += 1
                if failures >= CHUNK_ATTEMPTS:
                    raise RestoreError("upload", "chunk at byte %d of %s failed %d times (upload task %s): %s" % (
                        offset, name, failures, task["id"], error.message))
                task = volumes.upload_task(client, task["id"])
            if progress is not None:
                progress(min(size, int(task.get("current_chunk") or 0) * chunk_size), size)
    return task


def import_volume(client, waiter, cluster_id, name, upload_task_id, storage_policy):
    """import-vm-volume of a finished upload; returns the new volume's id once its task succeeded."""
    replies = client.mutate(volumes.IMPORT, volumes.import_body(cluster_id, name, upload_task_id, storage_policy))
    volume_id = ((replies[0] if replies else {}).get("data") or {}).get("id")
    if not volume_id:
        raise RestoreError("import", "import-vm-volume of upload %s named no volume" % upload_task_id)
    return volume_id, [r["task_id"] for r in replies if r.get("task_id")]


def create_volume(client, cluster_id, name, size, storage_policy):
    """create-vm-volume of an empty volume; returns (volume id, task ids)."""
    replies = client.mutate(volumes.CREATE, volumes.create_body(cluster_id, name, size, storage_policy))
    volume_id = ((replies[0] if replies else {}).get("data") or {}).get("id")
    if not volume_id:
        raise RestoreError("create", "create-vm-volume of %s named no volume" % name)
    return volume_id, [r["task_id"] for r in replies if r.get("task_id")]


def admits(target, address, iqn):
    """Whether an iSCSI target's whitelists let this host (address, initiator name) in."""
    def listed(whitelist, value):
        entries = [e.strip() for e in str(whitelist or "").split(",") if e.strip()]
        return "*/*" in entries or "*" in entries or value in entries
    return bool(target) and listed(target.get("ip_whitelist"), address) and listed(target.get("iqn_whitelist"), iqn) \
        and not target.get("chap_enabled")


def write_lun(runner, disk_path, image_opts, source_format="qcow2"):
    """Write a disk (read through its chain) into a new, all-zero LUN; zero blocks are skipped, so the cost follows the data."""
    try:
        transports.run_checked(runner, "write", ["qemu-img", "convert", "-n", "--target-is-zero", "-f", source_format, disk_path,
                                                 "--target-image-opts", image_opts])
    except transports.CopyError as error:
        raise RestoreError("write", error.message)


def lun_digest(runner, image_opts, size, index, work_dir):
    """The digest of what a LUN holds now, read back over iSCSI."""
    raw = scratch_path(work_dir, index, "readback")
    try:
        transports.run_checked(runner, "verify", ["qemu-img", "convert", "-O", "raw", "--image-opts", image_opts, raw])
        return transports.sparse_digest_of_raw(raw, size)
    except transports.CopyError as error:
        raise RestoreError("verify", error.message)
    finally:
        if os.path.exists(raw):
            os.unlink(raw)


def export_digest(client, waiter, runner, volume_id, size, index, work_dir, session):
    """The digest of what a volume holds, read back through CloudTower 4.6: export-vm-volume as QCOW2, download the
    file (streaming), convert it to raw with qemu-img and digest that."""
    replies = client.mutate(volumes.EXPORT, volumes.export_body(volume_id))
    export_id = ((replies[0] if replies else {}).get("data") or {}).get("id")
    if not export_id:
        raise RestoreError("verify", "export-vm-volume of %s named no export file" % volume_id)
    waiter.wait([r["task_id"] for r in replies if r.get("task_id")], context="export volume %s to read it back" % volume_id)
    links = client.call(volumes.DOWNLOAD_LINKS, {"where": {"id": export_id}}) or []
    if len(links) != 1 or not links[0].get("link"):
        raise RestoreError("verify", "export file %s of volume %s has %d download links, not one" % (export_id, volume_id, len(links)))
    image, raw = scratch_path(work_dir, index, "export"), scratch_path(work_dir, index, "readback")
    try:
        downloads.download(session, links[0]["link"], image, label="the export of volume %s" % volume_id)
        transports.run_checked(runner, "verify", ["qemu-img", "convert", "-f", "qcow2", "-O", "raw", image, raw])
        return transports.sparse_digest_of_raw(raw, size)
    except (transports.CopyError, downloads.DownloadError) as error:
        raise RestoreError("verify", error.message)
    finally:
        remove_scratch(image, raw)


def remove_scratch(*paths):
    for path in paths:
        if path and os.path.exists(path):
            os.unlink(path)
