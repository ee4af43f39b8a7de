# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup manifests: what one VM's backup is made of, written so that a restore can trust it.

A manifest joins three answers of CloudTower that a backup run already holds:
the VM (``get-vms``), its new VM snapshot (the ``results`` of
cloudtower_vm_snapshot) and the iSCSI LUN snapshot of each of its disks (the
``lun_snapshots`` of cloudtower_lun_snapshot_info). Building, comparing and
writing manifests, and running a data mover once per disk, live here so the
module stays a thin shell and all of it is unit-tested without Ansible.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
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
UNSAFE_PATH_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]")
OUTPUT_TAIL = 2000
# Environment variables a data mover must not inherit from the module's own environment.
CREDENTIAL_ENVIRONMENT = ("CLOUDTOWER_PASSWORD", "CLOUDTOWER_TOKEN", "CLOUDTOWER_USERNAME")


def utc_timestamp(moment=None):
    """CloudTower's timestamp form, 2024-05-01T10:00:00.000Z."""
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


# ----- names and paths ----------------------------------------------------------------------------
def safe_path_part(text):
    """A file-name-safe form of a VM or snapshot name: no separators, no leading dot, never empty."""
    cleaned = UNSAFE_PATH_CHARACTERS.sub("_", text or "").lstrip(".")
    return cleaned or "_"


def vm_directory(backup_dir, vm):
    """<backup_dir>/<vm name>-<vm id>: the id keeps two VMs of the same name apart."""
    return os.path.join(backup_dir, "%s-%s" % (safe_path_part(vm.get("name")), safe_path_part(vm["id"])))


def manifest_path(backup_dir, vm, snapshot_name):
    return os.path.join(vm_directory(backup_dir, vm), safe_path_part(snapshot_name) + ".json")


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


def read_manifest(path):
    """The manifest at path, or None when there is none (or it cannot be read as JSON)."""
    try:
        with open(path, "r", encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def render(manifest):
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_atomically(path, text, mode):
    """Write text to path so that a reader sees the old file or the new one, never a part.

    A temporary file in the same directory is written, flushed and fsynced, then
    renamed over path; the directory is fsynced so the rename survives a crash.
    """
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    replaced = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            os.fchmod(stream.fileno(), mode)
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
        replaced = True
    finally:
        if not replaced and os.path.exists(temporary):
            os.unlink(temporary)
    sync_directory(directory)


def sync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # Some file systems cannot fsync a directory; the rename itself is still atomic.
    finally:
        os.close(fd)


def parse_mode(option, value):
    """File permissions from an octal string such as 0640."""
    text = str(value)
    if not re.match(r"^0?[0-7]{3,4}$", text):
        raise InputError(option, value, "must be octal permissions such as '0640'")
    return int(text, 8)


# ----- checks before anything is written ----------------------------------------------------------------
def nearest_existing(path):
    current = os.path.abspath(path)
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def check_backup_dir(option, path, probe=False):
    """Refuse a backup directory that is a file, or that cannot be created or written to.

    Permission bits do not tell everything (root may write anywhere by them, yet not under /proc, nor on a
    read-only mount): with probe, the directory is created and a file is written and removed in it, so the
    refusal comes before the first snapshot rather than after it.
    """
    if not path or not str(path).strip():
        raise InputError(option, path, "must name a directory (an empty value would mean the current directory)")
    absolute = os.path.abspath(path)
    existing = nearest_existing(absolute)
    if existing == absolute and not os.path.isdir(absolute):
        raise InputError(option, path, "exists and is not a directory")
    if not os.path.isdir(existing):
        raise InputError(option, path, "cannot be created: %s is not a directory" % existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(option, path, "is not writable: no write permission on %s" % existing)
    if probe:
        probe_directory(option, path, absolute, existing)
    return absolute


def probe_directory(option, path, absolute, existing):
    """Create absolute, write and remove a file in it, then remove the directories made for this: nothing stays."""
    made = []
    parent = absolute
    while parent != existing:
        made.append(parent)
        parent = os.path.dirname(parent)
    try:
        for directory in reversed(made):
            os.mkdir(directory)
        handle, probe_path = tempfile.mkstemp(prefix=".write-probe-", dir=absolute)
        os.close(handle)
        os.unlink(probe_path)
    except OSError as error:
        raise InputError(option, path, "cannot be written to: %s" % (error.strerror or error))
    finally:
        for directory in made:
            try:
                os.rmdir(directory)
            except OSError:
                pass


def parse_command(option, command, find_program):
    """argv of the data mover command (split like a shell would, but never run through one).

    find_program(name) returns the path of a program on PATH, or None.
    """
    if command is None:
        return None
    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise InputError(option, command, "cannot be split into arguments: %s" % error)
    if not argv:
        raise InputError(option, command, "must not be empty")
    program = argv[0]
    if os.sep in program:
        if not (os.path.isfile(program) and os.access(program, os.X_OK)):
            raise InputError(option, command, "runs %s, which is not an executable file" % program)
    elif find_program(program) is None:
        raise InputError(option, command, "runs %s, which is not found on PATH" % program)
    return argv


# ----- the data mover -------------------------------------------------------------------------------------
class DiskJob:
    """One run of the data mover for one disk of one VM."""

    def __init__(self, backup, position, entry):
        self.backup = backup
        self.position = position
        self.entry = entry
        self.outcome = None

    def environment(self, cloudtower_host, backup_dir):
        """What the data mover knows about its disk: every value as an environment variable."""
        vm = self.backup.vm
        snapshot = self.backup.snapshot or {}
        lun = self.entry.get("lun_snapshot") or {}
        values = {
            "CLOUDTOWER_HOST": public_host(cloudtower_host),
            "CLOUDTOWER_BACKUP_DIR": backup_dir,
            "CLOUDTOWER_MANIFEST": self.backup.manifest_path,
            "CLOUDTOWER_VM_ID": vm.get("id"),
            "CLOUDTOWER_VM_NAME": vm.get("name"),
            "CLOUDTOWER_VM_LOCAL_ID": vm.get("local_id"),
            "CLOUDTOWER_CLUSTER_ID": (snapshot.get("cluster") or vm.get("cluster") or {}).get("id"),
            "CLOUDTOWER_CLUSTER_NAME": (snapshot.get("cluster") or vm.get("cluster") or {}).get("name"),
            "CLOUDTOWER_VM_SNAPSHOT_ID": snapshot.get("id"),
            "CLOUDTOWER_VM_SNAPSHOT_NAME": snapshot.get("name"),
            "CLOUDTOWER_VM_SNAPSHOT_LOCAL_ID": snapshot.get("local_id"),
            "CLOUDTOWER_DISK_INDEX": self.entry.get("index"),
            "CLOUDTOWER_DISK_BUS": self.entry.get("bus"),
            "CLOUDTOWER_DISK_BOOT": self.entry.get("boot"),
            "CLOUDTOWER_DISK_SIZE": self.entry.get("size"),
            "CLOUDTOWER_DISK_PATH": self.entry.get("path"),
            "CLOUDTOWER_VM_VOLUME_LOCAL_ID": self.entry.get("vm_volume_local_id"),
            "CLOUDTOWER_DISK_SNAPSHOT_LOCAL_ID": self.entry.get("snapshot_local_id"),
            "CLOUDTOWER_LUN_SNAPSHOT_ID": lun.get("id"),
            "CLOUDTOWER_LUN_SNAPSHOT_NAME": lun.get("name"),
            "CLOUDTOWER_LUN_SNAPSHOT_LOCAL_ID": lun.get("local_id"),
            "CLOUDTOWER_ISCSI_LUN_ID": (lun.get("iscsi_lun") or {}).get("id"),
            "CLOUDTOWER_ISCSI_LUN_NAME": (lun.get("iscsi_lun") or {}).get("name"),
            "CLOUDTOWER_ISCSI_TARGET_NAME": (lun.get("iscsi_target") or {}).get("name"),
        }
        return {k: environment_value(v) for k, v in values.items()}

    def describe(self):
        lun = self.entry.get("lun_snapshot") or {}
        return {"vm": self.backup.stub, "snapshot": {"id": (self.backup.snapshot or {}).get("id"), "name": self.backup.snapshot_name},
                "disk_index": self.entry.get("index"), "lun_snapshot_local_id": lun.get("local_id"), "manifest": self.backup.manifest_path}


def environment_value(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def tail(text, limit=OUTPUT_TAIL):
    text = text or ""
    return text if len(text) <= limit else "[... %d characters cut ...]\n%s" % (len(text) - limit, text[-limit:])


def run_one(run_command, argv, environment, timeout):
    """(outcome dict) of one data mover run; a hung command is killed after timeout seconds.

    run_command(argv, environ_update, before_communicate_callback) is
    AnsibleModule.run_command with handle_exceptions=False.
    """
    started = time.monotonic()
    started_at = utc_timestamp()
    timer_box = {}
    timed_out = threading.Event()

    def arm_timer(process):
        def kill():
            timed_out.set()
            try:
                process.kill()
            except OSError:
                pass
        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer_box["timer"] = timer
        timer.start()

    try:
        rc, stdout, stderr = run_command(argv, environment, arm_timer)
    except OSError as error:
        rc, stdout, stderr = None, "", "could not start %s: %s" % (argv[0], error)
    finally:
        if "timer" in timer_box:
            timer_box["timer"].cancel()
    if timed_out.is_set():
        status = "timed_out"
    elif rc == 0:
        status = "succeeded"
    else:
        status = "failed"
    return {"status": status, "rc": rc, "stdout": tail(stdout), "stderr": tail(stderr), "started_at": started_at,
            "finished_at": utc_timestamp(), "duration": round(time.monotonic() - started, 3)}


def run_jobs(jobs, run_command, argv, parallel, timeout, cloudtower_host, backup_dir):
    """Run every job, at most `parallel` at a time; each job's outcome is set in place."""
    if not jobs:
        return

    def work(job):
        job.outcome = run_one(run_command, argv, job.environment(cloudtower_host, backup_dir), timeout)

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(jobs)))) as pool:
        for future in [pool.submit(work, job) for job in jobs]:
            future.result()


def recorded_outcome(outcome):
    """What a manifest keeps of a data mover run: no output, which may be long or sensitive."""
    return {k: outcome.get(k) for k in ("status", "rc", "started_at", "finished_at", "duration")}


def data_mover_failure_message(failed_jobs):
    parts = []
    for job in failed_jobs:
        outcome = job.outcome
        reason = "timed out" if outcome["status"] == "timed_out" else "exited with %s" % outcome["rc"]
        last_line = (outcome.get("stderr") or outcome.get("stdout") or "").strip().splitlines()[-1:]
        parts.append("disk index %s %s%s" % (job.entry.get("index"), reason, (": " + last_line[0]) if last_line else ""))
    return "the data mover failed for %s" % "; ".join(parts)


def failure_summary(failures):
    """One line naming each failed VM, its stage and the reason."""
    return "; ".join("%s [%s]: %s" % (vm_label(f["vm"]), f["stage"], f["message"]) for f in failures)
