# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup manifest format: what one VM's backup is made of, built, compared, parsed and validated.

A manifest joins three answers of CloudTower that a backup run already holds:
the VM (``get-vms``), its new VM snapshot (the ``results`` of
cloudtower_vm_snapshot) and the iSCSI LUN snapshot of each of its disks (the
``lun_snapshots`` of cloudtower_lun_snapshot_info). Writing manifests to disk is
manifest_files.py; running the data mover per disk is data_mover.py.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.snapshots import data_disks, vm_label, vm_stub
from ansible_collections.smartx.cloudtower.plugins.module_utils.version import COLLECTION_VERSION

MANIFEST_FORMAT = "smartx.cloudtower/vm-backup-manifest"
MANIFEST_FORMAT_VERSION = 1
# Rewritten on every write, so ignored when telling whether a manifest changed.
VOLATILE_KEYS = ("written_at",)
# A resource's async status clears shortly after its task; it says nothing about the backup.
TRANSIENT_RECORD_KEYS = ("entityAsyncStatus",)
# Snapshot statuses of cloudtower_vm_snapshot whose snapshot exists and can be described.
SNAPSHOT_READY = ("created", "exists")
SNAPSHOT_PLANNED = ("would_create",)
# Keys that could hold a credential anywhere in what CloudTower returns; never written to disk.
SECRET_KEY_PATTERN = re.compile(r"password|passwd|secret|token|private_key|api_key", re.IGNORECASE)


def utc_timestamp(moment=None):
    """CloudTower's timestamp form, 2024-05-01T10:00:00.000Z."""
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


# ----- names and values ---------------------------------------------------------------------------
def public_host(url):
    """The CloudTower URL without credentials, a trailing slash or /v2/api."""
    if not url:
        return url
    text = re.sub(r"^(https?://)[^/@]*@", r"\1", str(url).strip(), flags=re.IGNORECASE).rstrip("/")
    return text[:-len("/v2/api")] if text.endswith("/v2/api") else text


def scrub_secrets(value):
    """value without any key that looks like it holds a credential, at any depth."""
    if isinstance(value, dict):
        return {k: scrub_secrets(v) for k, v in value.items() if not SECRET_KEY_PATTERN.search(str(k))}
    if isinstance(value, list):
        return [scrub_secrets(v) for v in value]
    return value


# ----- joining what the backup run read ---------------------------------------------------------------
class VmBackup:
    """One VM of a backup run: its record, its snapshot result, its disks and what became of them."""

    def __init__(self, vm, result):
        self.vm = vm
        self.result = result
        self.snapshot = result.get("snapshot") or None
        self.disks = []
        self.failure = None
        self.manifest_path = None
        self.manifest_status = None
        self.manifest = None

    @property
    def snapshot_name(self):
        return (self.snapshot or {}).get("name") or self.result.get("name")

    @property
    def stub(self):
        return vm_stub(self.vm)

    def fail(self, stage, message):
        if self.failure is None:
            self.failure = {"vm": self.stub, "stage": stage, "message": message,
                            "snapshot": {"id": (self.snapshot or {}).get("id"), "name": self.snapshot_name}}


SNAPSHOT_STATUS_WORDS = {
    "failed": "failed",
    "timed_out": "did not finish within wait_timeout",
    "pending": "had not finished when the snapshot module returned (wait: false)",
}


def snapshot_failure_message(result):
    status = result.get("status")
    error = result.get("error") or {}
    detail = error.get("message") or "no error message"
    if error.get("code"):
        detail += " [%s]" % error["code"]
    if result.get("task_id"):
        detail += " (task %s" % result["task_id"]
        if result.get("request"):
            request = result["request"]
            detail += " of %s, x-tower-request-id: %s" % (request.get("operation"), request.get("request_id"))
        detail += ")"
    what = SNAPSHOT_STATUS_WORDS.get(status, "has status %s" % status)
    return "snapshot %r %s: %s" % (result.get("name"), what, detail)


def lun_snapshots_by_vm_snapshot(lun_snapshots):
    grouped = {}
    for record in lun_snapshots or []:
        owner = (record.get("vm_snapshot") or {}).get("id")
        if owner:
            grouped.setdefault(owner, []).append(record)
    return grouped


def match_disk(disk, candidates):
    """The LUN snapshot record of this disk: the one joined to it, by index, else by snapshot_local_id."""
    for record in candidates:
        joined = record.get("disk") or {}
        if joined.get("index") == disk.get("index") and joined.get("snapshot_local_id") == disk.get("snapshot_local_id"):
            return record
    key = disk.get("snapshot_local_id")
    for record in candidates:
        if key and key in (record.get("name"), record.get("local_id")):
            return record
    return None


def assemble(vms, snapshot_results, lun_snapshots):
    """One VmBackup per snapshot result, in the order of the results, each joined to its VM and disks.

    vms are full VM records (a VM without one is described by the stub in its
    result); a disk without a LUN snapshot, or a snapshot that failed, marks
    the VM as failed with the stage and reason.
    """
    records_by_id = {vm["id"]: vm for vm in vms or [] if vm.get("id")}
    luns = lun_snapshots_by_vm_snapshot(lun_snapshots)
    backups = []
    for result in snapshot_results or []:
        stub = result.get("vm") or {}
        backup = VmBackup(records_by_id.get(stub.get("id")) or stub, result)
        backups.append(backup)
        status = result.get("status")
        if status in SNAPSHOT_PLANNED:
            continue
        if status not in SNAPSHOT_READY or not backup.snapshot:
            backup.fail("snapshot", snapshot_failure_message(result))
            continue
        candidates = luns.get(backup.snapshot["id"], [])
        backup.disks = [(disk, match_disk(disk, candidates)) for disk in data_disks(backup.snapshot)]
        missing = ["disk index %s (snapshot_local_id %s)" % (disk.get("index"), disk.get("snapshot_local_id"))
                   for disk, lun in backup.disks if lun is None]
        if missing:
            backup.fail("lun_snapshot", "no iSCSI LUN snapshot found for %s" % ", ".join(missing))
    return backups


# ----- the manifest ------------------------------------------------------------------------------------
def lun_snapshot_entry(lun):
    if lun is None:
        return None
    keys = ("id", "name", "local_id", "local_created_at", "unique_size", "iscsi_lun", "iscsi_target")
    entry = {k: lun.get(k) for k in keys}
    entry["matched_by"] = lun.get("matched_by")
    return entry


def disk_entry(disk, lun, data_mover=None):
    keys = ("index", "bus", "boot", "size", "type", "path", "disk_name", "vm_volume_local_id", "snapshot_local_id", "storage_policy_uuid")
    entry = {k: disk.get(k) for k in keys}
    entry["lun_snapshot"] = lun_snapshot_entry(lun)
    entry["data_mover"] = data_mover
    return entry


def build_manifest(backup, cloudtower_host, started_at, written_at=None):
    """The manifest of one VM's backup, as a JSON-ready dict without secrets."""
    snapshot = backup.snapshot or {}
    result = backup.result
    manifest = {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_FORMAT_VERSION,
        "collection_version": COLLECTION_VERSION,
        "cloudtower": {"host": public_host(cloudtower_host)},
        "backup": {
            "started_at": started_at,
            "snapshot_taken_at": snapshot.get("local_created_at"),
            "snapshot_name": backup.snapshot_name,
            "consistent_type": snapshot.get("consistent_type") or result.get("consistent_type"),
            "snapshot_status": result.get("status"),
            "task_id": result.get("task_id"),
        },
        "written_at": written_at or utc_timestamp(),
        "vm": backup.vm,
        "snapshot": snapshot,
        "disks": [disk_entry(disk, lun) for disk, lun in backup.disks],
    }
    return scrub_secrets(manifest)


def disk_key(entry):
    """What identifies a disk's LUN snapshot across runs (ids change as CloudTower re-syncs, local ids do not)."""
    lun = entry.get("lun_snapshot") or {}
    return (entry.get("index"), entry.get("snapshot_local_id"), lun.get("local_id"))


def carry_over(manifest, previous):
    """Keep what an earlier run wrote for the same snapshot: the VM as read then, the run that took the snapshot
    (its start, task and status), and the data mover outcomes.

    Re-running a backup whose snapshot already exists must not turn the VM's
    record (usage counters, status) into a later read, nor forget which disks
    were already copied.
    """
    if not previous or (previous.get("snapshot") or {}).get("id") != (manifest.get("snapshot") or {}).get("id"):
        return manifest
    for part in ("vm", "backup"):
        if previous.get(part):
            manifest[part] = previous[part]
    earlier = {disk_key(d): d.get("data_mover") for d in previous.get("disks") or []}
    for entry in manifest["disks"]:
        if entry.get("data_mover") is None and earlier.get(disk_key(entry)) is not None:
            entry["data_mover"] = earlier[disk_key(entry)]
    return manifest


def comparable(manifest):
    """The manifest without what changes between two reads of the same backup."""
    data = {k: v for k, v in (manifest or {}).items() if k not in VOLATILE_KEYS}
    for part in ("vm", "snapshot"):
        if isinstance(data.get(part), dict):
            data[part] = {k: v for k, v in data[part].items() if k not in TRANSIENT_RECORD_KEYS}
    return data


def same_manifest(a, b):
    return comparable(a) == comparable(b)


def render(manifest):
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def failure_summary(failures):
    """One line naming each failed VM, its stage and the reason."""
    return "; ".join("%s [%s]: %s" % (vm_label(f["vm"]), f["stage"], f["message"]) for f in failures)


def parse(text):
    """The manifest in text, or None when text is not a JSON object."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def validate(option, value, manifest):
    """manifest if it is a vm_backup manifest naming its snapshot, else an InputError naming option and value."""
    if not isinstance(manifest, dict):
        raise InputError(option, value, "it is not valid JSON (a truncated or damaged file?)")
    snapshot = manifest.get("snapshot") if isinstance(manifest.get("snapshot"), dict) else {}
    if manifest.get("format") != MANIFEST_FORMAT or not snapshot.get("id"):
        raise InputError(option, value, "not a manifest of smartx.cloudtower.vm_backup (format %s, snapshot id %s)" % (
            manifest.get("format") or "missing", snapshot.get("id") or "missing"))
    return manifest
