# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The data mover: one run of the user's command per disk of a backup, in parallel, bounded in time, with
what it knows about its disk in its environment and never a credential.
"""

from __future__ import annotations

import os
import shlex
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest import public_host, utc_timestamp

OUTPUT_TAIL = 2000
# Environment variables a data mover must not inherit from the module's own environment.
CREDENTIAL_ENVIRONMENT = ("CLOUDTOWER_PASSWORD", "CLOUDTOWER_TOKEN", "CLOUDTOWER_USERNAME")


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
