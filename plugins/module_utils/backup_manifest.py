# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup batch's last step behind cloudtower_backup_manifest: one manifest per VM, then the data mover per disk.

Joins what the run read (manifest.py), writes each manifest atomically (manifest_files.py), runs the data mover
under a per-VM lock (data_mover.py, movers.py), and reports what became of each VM.
"""

from __future__ import annotations

import os

from ansible_collections.smartx.cloudtower.plugins.module_utils.data_mover import (
    CREDENTIAL_ENVIRONMENT,
    DiskJob,
    data_mover_failure_message,
    parse_command,
    recorded_outcome,
    run_jobs,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest import (
    assemble,
    build_manifest,
    carry_over,
    failure_summary,
    render,
    same_manifest,
    utc_timestamp,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import (
    check_backup_dir,
    manifest_path,
    parse_mode,
    read_manifest,
    write_atomically,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.movers import MoverGuard, MoverLock

PENDING = {"status": "pending"}


class Options:
    """The module's options, checked before anything is written or run."""

    def __init__(self, module):
        params = module.params
        # Really written to (outside check mode) when this is the check before any snapshot (no snapshot_results).
        self.backup_dir = check_backup_dir("backup_dir", params["backup_dir"],
                                           probe=not module.check_mode and not params.get("snapshot_results"))
        self.mode = parse_mode("manifest_mode", params["manifest_mode"])
        self.argv = parse_command("data_mover_command", params.get("data_mover_command"), module.get_bin_path)
        if params["data_mover_parallel"] < 1:
            raise InputError("data_mover_parallel", params["data_mover_parallel"], "must be at least 1")
        if params["data_mover_timeout"] < 1:
            raise InputError("data_mover_timeout", params["data_mover_timeout"], "must be a positive number of seconds")
        self.parallel = params["data_mover_parallel"]
        self.timeout = params["data_mover_timeout"]
        self.results = params.get("snapshot_results") or []
        self.host = params.get("cloudtower_host")
        if self.results and not self.host:
            raise InputError("cloudtower_host", self.host, "is required with snapshot_results: it is written into every manifest "
                                                           "(set it or CLOUDTOWER_HOST)")
        self.started_at = params.get("started_at") or utc_timestamp()


class ManifestRun:
    """Writes the batch's manifests and runs the data mover; collects what happened to each VM."""

    def __init__(self, module, options):
        self.module = module
        self.options = options
        self.check_mode = module.check_mode
        self.backups = assemble(module.params.get("vms"), options.results, module.params.get("lun_snapshots"))
        self.jobs = []
        self.before = []
        self.after = []

    # ----- manifests -------------------------------------------------------------------------------------
    def plan_manifest(self, backup):
        options = self.options
        backup.manifest_path = manifest_path(options.backup_dir, backup.vm, backup.snapshot_name)
        if backup.failure:
            backup.manifest_path = None
            backup.manifest_status = "not_written"
            return
        exists = os.path.exists(backup.manifest_path)
        if exists:
            self.before.append(backup.manifest_path)
        self.after.append(backup.manifest_path)
        if backup.snapshot is None:
            backup.manifest_status = "would_write"
            return
        previous = read_manifest(backup.manifest_path) if exists else None
        manifest = carry_over(build_manifest(backup, options.host, options.started_at), previous)
        for position, entry in enumerate(manifest["disks"]):
            if options.argv and (entry.get("data_mover") or {}).get("status") != "succeeded":
                entry["data_mover"] = dict(PENDING)
                self.jobs.append(DiskJob(backup, position, entry))
        backup.manifest = manifest
        if previous is not None and same_manifest(previous, manifest):
            backup.manifest_status = "unchanged"
            backup.manifest = previous
            return
        backup.manifest_status = "would_write" if self.check_mode else self.write(backup, "written")

    def write(self, backup, status):
        try:
            write_atomically(backup.manifest_path, render(backup.manifest), self.options.mode)
        except OSError as error:
            backup.fail("manifest", "could not write %s under backup_dir %s: %s" % (backup.manifest_path, self.options.backup_dir, error))
            return "not_written"
        return status

    # ----- data mover ---------------------------------------------------------------------------------------
    def run_data_mover(self):
        jobs = [job for job in self.jobs if not job.backup.failure]
        self.jobs = jobs
        if self.check_mode or not jobs:
            return
        for name in CREDENTIAL_ENVIRONMENT:
            os.environ.pop(name, None)
        jobs = self.lock_vm_directories(jobs)
        try:
            # The movers end with the play: signals to the module and the death of ansible-playbook stop them.
            with MoverGuard() as self.guard:
                run_jobs(jobs, self.run_command, self.options.argv, self.options.parallel, self.options.timeout,
                         self.options.host, self.options.backup_dir)
        finally:
            for lock in self.locks.values():
                lock.release()
        for backup in {id(job.backup): job.backup for job in jobs}.values():
            own = self.jobs_of(backup)
            for job in own:
                backup.manifest["disks"][job.position]["data_mover"] = recorded_outcome(job.outcome)
            backup.manifest["written_at"] = utc_timestamp()
            self.write(backup, "written")
            failed = [job for job in own if job.outcome["status"] != "succeeded"]
            if failed:
                backup.fail("data_mover", data_mover_failure_message(failed))

    def lock_vm_directories(self, jobs):
        """The jobs of the VMs whose directory no mover of an earlier run still holds; those VMs fail instead.

        A mover of a killed run that is somehow still alive holds its VM's lock (it inherited it): its
        half-written output is no result, and a second copy must not start beside it.
        """
        self.locks = {}
        for backup in {id(job.backup): job.backup for job in jobs}.values():
            lock = MoverLock(os.path.dirname(backup.manifest_path))
            if lock.acquire():
                self.locks[backup.manifest_path] = lock
            else:
                backup.fail("data_mover", "a data mover of an earlier run still runs for this VM (it holds %s); its output is not a "
                                          "result, and no second one is started: stop it, or let it finish, and run the backup "
                                          "again" % lock.path)
        kept = [job for job in jobs if job.backup.manifest_path in self.locks]
        for job in jobs:
            if job not in kept:
                job.outcome = {"status": "failed", "rc": None, "stdout": "", "stderr": job.backup.failure["message"],
                               "started_at": None, "finished_at": None, "duration": None}
        return kept

    def run_command(self, argv, environment, on_start):
        lock = self.locks.get(environment.get("CLOUDTOWER_MANIFEST"))
        return self.guard.run(argv, environment, on_start, pass_fds=[lock.fd] if lock else [])

    # ----- the result -----------------------------------------------------------------------------------------
    def data_mover_state(self, backup):
        if not self.options.argv:
            return "not_run"
        if backup.manifest_status == "not_written":
            return "not_run"
        if backup.snapshot is None or self.check_mode:
            return "would_run" if backup.snapshot is None or self.jobs_of(backup) else "done_before"
        own = self.jobs_of(backup)
        if not own:
            return "done_before"
        return "succeeded" if all(job.outcome["status"] == "succeeded" for job in own) else "failed"

    def jobs_of(self, backup):
        return [job for job in self.jobs if job.backup is backup]

    def manifest_entry(self, backup):
        ran = bool(self.jobs_of(backup))
        written = backup.manifest_status in ("written", "would_write")
        return {
            "vm": backup.stub,
            "snapshot": {"id": (backup.snapshot or {}).get("id"), "name": backup.snapshot_name},
            "path": backup.manifest_path,
            "status": backup.manifest_status,
            "changed": written or ran,
            "disks": len(backup.manifest["disks"]) if backup.manifest else None,
            "data_mover": self.data_mover_state(backup),
        }

    def job_entry(self, job):
        entry = job.describe()
        if self.check_mode:
            entry.update(status="would_run", rc=None, stdout="", stderr="", started_at=None, finished_at=None, duration=None)
        else:
            entry.update(job.outcome)
        return entry

    def result(self):
        manifests = [self.manifest_entry(b) for b in self.backups]
        movers = [self.job_entry(j) for j in self.jobs]
        failed = [b.failure for b in self.backups if b.failure]
        succeeded = [b.vm["id"] for b in self.backups if not b.failure and b.manifest_status != "not_written"]
        result = dict(
            changed=any(m["changed"] for m in manifests),
            check_mode=self.check_mode,
            backup_dir=self.options.backup_dir,
            manifests=manifests,
            data_mover=movers,
            failed_vms=failed,
            succeeded_vm_ids=succeeded,
            summary=dict(
                vms=len(self.backups),
                succeeded=len(succeeded),
                failed=len(failed),
                manifests_written=sum(1 for m in manifests if m["status"] in ("written", "would_write")),
                manifests_unchanged=sum(1 for m in manifests if m["status"] == "unchanged"),
                disks=sum(m["disks"] or 0 for m in manifests if m["status"] != "not_written"),
                data_mover_succeeded=sum(1 for m in movers if m["status"] == "succeeded"),
                data_mover_failed=sum(1 for m in movers if m["status"] in ("failed", "timed_out")),
            ),
        )
        if self.module._diff:
            result["diff"] = {"before": {"manifests": sorted(self.before)}, "after": {"manifests": sorted(set(self.after))}}
        return result

    def run(self):
        for backup in self.backups:
            self.plan_manifest(backup)
        self.run_data_mover()
        return self.result()


def run_module(module):
    options = Options(module)
    result = ManifestRun(module, options).run()
    if result["failed_vms"] and module.params["fail_on_error"]:
        message = "%d of %d VM backup(s) failed: %s" % (len(result["failed_vms"]), result["summary"]["vms"], failure_summary(result["failed_vms"]))
        module.fail_json(msg=message, **result)
    module.exit_json(**result)
