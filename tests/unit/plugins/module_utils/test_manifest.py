# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup manifests: joining a run's answers, building, comparing, writing atomically, and the data mover."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
import time

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils import manifest_files
from ansible_collections.smartx.cloudtower.plugins.module_utils.data_mover import DiskJob, data_mover_failure_message, parse_command, run_jobs, run_one
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest import (
    assemble,
    build_manifest,
    carry_over,
    public_host,
    render,
    same_manifest,
    scrub_secrets,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import (
    check_backup_dir,
    manifest_path,
    parse_mode,
    read_manifest,
    safe_path_part,
    write_atomically,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.version import COLLECTION_VERSION

HOST = "https://cloudtower.example.com"
CLUSTER = {"id": "cl-1", "name": "prod"}


def vm_record(vid="vm-1", name="web-01"):
    return {"id": vid, "name": name, "local_id": "uuid-" + vid, "status": "RUNNING", "cluster": CLUSTER,
            "vm_disks": [{"id": "d1"}], "cpu_usage": 12.5, "entityAsyncStatus": None}


def disk(index, key, kind="DISK", size=42949672960):
    return {"index": index, "type": kind, "bus": "VIRTIO" if kind == "DISK" else "IDE", "boot": index, "size": size,
            "path": "/volumes/%s" % key, "snapshot_local_id": key if kind == "DISK" else None,
            "vm_volume_local_id": "vol-%s" % key, "storage_policy_uuid": "REPLICA_2_THIN_PROVISION", "disk_name": None}


def snapshot_record(sid="snap-1", vm=None, name="ansible-backup-web-01-T1", disks=None):
    vm = vm or vm_record()
    return {"id": sid, "name": name, "local_id": "uuid-" + sid, "local_created_at": "2025-01-01T01:00:02.000Z",
            "consistent_type": "CRASH_CONSISTENT", "vm": {"id": vm["id"], "name": vm["name"]}, "cluster": CLUSTER,
            "entityAsyncStatus": "CREATING",
            "vm_disks": disks if disks is not None else [disk(1, "k-%s-1" % sid), disk(0, "k-%s-0" % sid), disk(2, None, "CD_ROM", 0)]}


def result(vm, status="created", snapshot=None, name=None, error=None):
    snapshot = snapshot if snapshot is not None else (snapshot_record(vm=vm) if status in ("created", "exists") else None)
    return {"vm": {"id": vm["id"], "name": vm["name"]}, "name": name or (snapshot or {}).get("name") or "ansible-backup-%s-T1" % vm["name"],
            "status": status, "changed": status == "created", "task_id": "task-" + vm["id"], "error": error, "snapshot": snapshot,
            "consistent_type": "CRASH_CONSISTENT"}


def lun_records(snapshot, matched_by="name"):
    """What cloudtower_lun_snapshot_info returns for the snapshot's DISKs."""
    records = []
    for entry in snapshot["vm_disks"]:
        if entry["type"] != "DISK":
            continue
        records.append({"id": "lun-" + entry["snapshot_local_id"], "name": entry["snapshot_local_id"],
                        "local_id": "zbs-" + entry["snapshot_local_id"], "local_created_at": "2025-01-01T01:00:03.000Z",
                        "unique_size": 0, "iscsi_lun": {"id": "l1", "name": "lun"}, "iscsi_target": {"id": "t1", "name": "target"},
                        "disk": entry, "vm_snapshot": {"id": snapshot["id"], "name": snapshot["name"]}, "vm": snapshot["vm"],
                        "matched_by": matched_by})
    return records


# ----- paths and secrets --------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("web-01", "web-01"),
    ("../etc/passwd", "_etc_passwd"),
    ("a b/c", "a_b_c"),
    ("", "_"),
    (None, "_"),
    ("...", "_"),
    ("数据库", "___"),
])
def test_safe_path_part_never_escapes_the_directory(text, expected):
    assert safe_path_part(text) == expected


def test_manifest_path_uses_vm_name_id_and_snapshot_name(tmp_path):
    path = manifest_path(str(tmp_path), {"id": "cm1", "name": "web/01"}, "ansible-backup-web/01-T1")
    assert path == os.path.join(str(tmp_path), "web_01-cm1", "ansible-backup-web_01-T1.json")


@pytest.mark.parametrize("url, expected", [
    ("https://user:pw@ct.example.com/v2/api", "https://ct.example.com"),
    ("https://ct.example.com/", "https://ct.example.com"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
])
def test_public_host_drops_credentials_and_api_path(url, expected):
    assert public_host(url) == expected


def test_scrub_secrets_drops_credential_keys_at_any_depth():
    data = {"name": "vm", "guest": {"root_password": "x", "users": [{"name": "a", "ssh_private_key": "k", "token": "t"}]},
            "Secret": 1, "api_key": "k"}
    assert scrub_secrets(data) == {"name": "vm", "guest": {"users": [{"name": "a"}]}}


# ----- joining -----------------------------------------------------------------------------------------------
def test_assemble_joins_each_disk_to_its_lun_snapshot_in_index_order():
    vm = vm_record()
    res = result(vm)
    backups = assemble([vm], [res], lun_records(res["snapshot"]))
    assert len(backups) == 1
    backup = backups[0]
    assert backup.failure is None
    assert backup.vm is vm
    assert [(d["index"], lun["local_id"]) for d, lun in backup.disks] == [(0, "zbs-k-snap-1-0"), (1, "zbs-k-snap-1-1")]


def test_assemble_matches_by_local_id_when_only_that_reading_fits():
    vm = vm_record()
    res = result(vm)
    records = lun_records(res["snapshot"])
    for record in records:
        record["disk"] = None
        record["local_id"], record["name"] = record["name"], "other-name"
    backup = assemble([vm], [res], records)[0]
    assert backup.failure is None
    assert all(lun is not None for _d, lun in backup.disks)


def test_assemble_uses_the_stub_when_the_vm_record_is_missing():
    vm = vm_record()
    backup = assemble([], [result(vm)], lun_records(result(vm)["snapshot"]))[0]
    assert backup.vm == {"id": "vm-1", "name": "web-01"}


@pytest.mark.parametrize("status, words", [
    ("failed", "failed"),
    ("timed_out", "did not finish within wait_timeout"),
    ("pending", "had not finished"),
])
def test_a_failed_snapshot_fails_its_vm_at_the_snapshot_stage(status, words):
    ok, bad = vm_record("vm-1", "db-01"), vm_record("vm-2", "web-02")
    good = result(ok)
    failed = result(bad, status=status, error={"code": "SIMULATED_TASK_FAILURE", "message": "The task failed"})
    backups = assemble([ok, bad], [good, failed], lun_records(good["snapshot"]))
    assert backups[0].failure is None
    failure = backups[1].failure
    assert failure["stage"] == "snapshot"
    assert failure["vm"] == {"id": "vm-2", "name": "web-02"}
    assert words in failure["message"] and "SIMULATED_TASK_FAILURE" in failure["message"] and "task-vm-2" in failure["message"]


def test_a_disk_without_lun_snapshot_fails_its_vm():
    vm = vm_record()
    res = result(vm)
    records = [r for r in lun_records(res["snapshot"]) if r["disk"]["index"] != 1]
    backup = assemble([vm], [res], records)[0]
    assert backup.failure["stage"] == "lun_snapshot"
    assert backup.failure["message"] == "no iSCSI LUN snapshot found for disk index 1 (snapshot_local_id k-snap-1-1)"
    assert [lun is None for _disk, lun in backup.disks] == [False, True]


def test_a_planned_snapshot_is_neither_failed_nor_described():
    vm = vm_record()
    backup = assemble([vm], [result(vm, status="would_create")], [])[0]
    assert backup.failure is None and backup.snapshot is None and backup.disks == []


# ----- the manifest -----------------------------------------------------------------------------------------
def built(vm=None, secret=False):
    vm = vm or vm_record()
    if secret:
        vm = dict(vm, admin_password="hunter2")
    res = result(vm)
    backup = assemble([vm], [res], lun_records(res["snapshot"]))[0]
    return backup, build_manifest(backup, "https://admin:pw@ct.example.com/v2/api", "2025-01-01T01:00:00.000Z", "2025-01-01T01:00:09.000Z")


def test_build_manifest_holds_vm_snapshot_disks_host_version_and_times():
    backup, manifest = built()
    assert manifest["format"] == "smartx.cloudtower/vm-backup-manifest"
    assert manifest["collection_version"] == COLLECTION_VERSION
    assert manifest["cloudtower"] == {"host": "https://ct.example.com"}
    assert manifest["vm"]["id"] == "vm-1" and manifest["vm"]["cpu_usage"] == 12.5
    assert manifest["snapshot"]["id"] == "snap-1" and len(manifest["snapshot"]["vm_disks"]) == 3
    assert manifest["backup"]["started_at"] == "2025-01-01T01:00:00.000Z"
    assert manifest["backup"]["snapshot_taken_at"] == "2025-01-01T01:00:02.000Z"
    assert manifest["written_at"] == "2025-01-01T01:00:09.000Z"
    assert [d["index"] for d in manifest["disks"]] == [0, 1]
    first = manifest["disks"][0]
    assert {k: first[k] for k in ("bus", "boot", "size", "snapshot_local_id")} == {
        "bus": "VIRTIO", "boot": 0, "size": 42949672960, "snapshot_local_id": "k-snap-1-0"}
    assert first["lun_snapshot"]["id"] == "lun-k-snap-1-0"
    assert first["lun_snapshot"]["name"] == "k-snap-1-0"
    assert first["lun_snapshot"]["local_id"] == "zbs-k-snap-1-0"
    assert first["data_mover"] is None


def test_build_manifest_writes_no_secret():
    _backup, manifest = built(secret=True)
    text = render(manifest)
    assert "hunter2" not in text and "admin:pw" not in text and "admin_password" not in text


def test_same_manifest_ignores_written_at_and_async_status():
    _backup, first = built()
    _backup, second = built()
    second["written_at"] = "2030-01-01T00:00:00.000Z"
    second["snapshot"] = dict(second["snapshot"], entityAsyncStatus=None)
    assert same_manifest(first, second)
    second["disks"][0]["lun_snapshot"]["local_id"] = "other"
    assert not same_manifest(first, second)


def test_carry_over_keeps_the_first_runs_vm_backup_and_data_mover_for_the_same_snapshot():
    _backup, previous = built()
    previous["disks"][0]["data_mover"] = {"status": "succeeded", "rc": 0}
    _backup, again = built(vm=dict(vm_record(), cpu_usage=99.0))
    again["backup"]["snapshot_status"] = "exists"
    again["backup"]["started_at"] = "2025-02-02T00:00:00.000Z"
    merged = carry_over(again, previous)
    assert merged["vm"]["cpu_usage"] == 12.5
    assert merged["backup"]["snapshot_status"] == "created"
    assert merged["backup"]["started_at"] == "2025-01-01T01:00:00.000Z"
    assert merged["disks"][0]["data_mover"] == {"status": "succeeded", "rc": 0}
    assert merged["disks"][1]["data_mover"] is None
    assert same_manifest(merged, previous)


def test_carry_over_ignores_a_manifest_of_another_snapshot():
    _backup, previous = built()
    previous["snapshot"]["id"] = "older-snapshot"
    previous["vm"] = {"id": "vm-1", "name": "old name"}
    _backup, manifest = built()
    assert carry_over(manifest, previous)["vm"]["name"] == "web-01"


# ----- writing ------------------------------------------------------------------------------------------------
def test_write_atomically_creates_directories_sets_mode_and_leaves_no_temporary(tmp_path):
    path = str(tmp_path / "web-01-vm-1" / "b.json")
    write_atomically(path, '{"a": 1}\n', 0o640)
    assert read_manifest(path) == {"a": 1}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert os.listdir(str(tmp_path / "web-01-vm-1")) == ["b.json"]


def test_write_atomically_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = str(tmp_path / "m.json")
    write_atomically(path, '{"old": true}\n', 0o600)

    def broken_fsync(_fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(manifest_files.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_atomically(path, '{"new": true}\n', 0o600)
    monkeypatch.undo()
    assert read_manifest(path) == {"old": True}
    assert os.listdir(str(tmp_path)) == ["m.json"]


def test_read_manifest_of_missing_or_broken_file_is_none(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert read_manifest(str(tmp_path / "missing.json")) is None
    assert read_manifest(str(broken)) is None


@pytest.mark.parametrize("value, expected", [("0640", 0o640), ("600", 0o600), ("0755", 0o755)])
def test_parse_mode(value, expected):
    assert parse_mode("manifest_mode", value) == expected


@pytest.mark.parametrize("value", ["rw-r-----", "0999", "", "12"])
def test_parse_mode_refuses_what_is_not_octal(value):
    with pytest.raises(InputError) as caught:
        parse_mode("manifest_mode", value)
    assert caught.value.option == "manifest_mode"


# ----- checks before anything is written ------------------------------------------------------------------------
def test_check_backup_dir_accepts_a_directory_to_be_created(tmp_path):
    assert check_backup_dir("backup_dir", str(tmp_path / "a" / "b")) == str(tmp_path / "a" / "b")


def test_check_backup_dir_refuses_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(InputError) as caught:
        check_backup_dir("backup_dir", str(target))
    assert "is not a directory" in caught.value.message and caught.value.option == "backup_dir"
    with pytest.raises(InputError) as caught:
        check_backup_dir("backup_dir", str(target / "below"))
    assert "cannot be created" in caught.value.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_check_backup_dir_refuses_a_read_only_parent(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(InputError) as caught:
            check_backup_dir("backup_dir", str(parent / "x"))
        assert "not writable" in caught.value.message
    finally:
        parent.chmod(0o700)


def test_parse_command_splits_without_a_shell_and_checks_the_program(tmp_path):
    script = tmp_path / "copy"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert parse_command("c", "%s --to 'nfs://b/x y'" % script, lambda name: None) == [str(script), "--to", "nfs://b/x y"]
    assert parse_command("c", "copier -v", lambda name: "/usr/bin/copier") == ["copier", "-v"]
    assert parse_command("c", None, lambda name: None) is None


@pytest.mark.parametrize("command, reason", [
    ("", "must not be empty"),
    ("copy 'unclosed", "cannot be split"),
    ("no-such-copier --x", "not found on PATH"),
    ("/nonexistent/copier", "not an executable file"),
])
def test_parse_command_refuses_what_cannot_run(command, reason):
    with pytest.raises(InputError) as caught:
        parse_command("data_mover_command", command, lambda name: None)
    assert reason in caught.value.message and caught.value.option == "data_mover_command"


# ----- the data mover ---------------------------------------------------------------------------------------------
def job_for(backup_dir):
    vm = vm_record()
    res = result(vm)
    backup = assemble([vm], [res], lun_records(res["snapshot"]))[0]
    manifest = build_manifest(backup, HOST, "2025-01-01T01:00:00.000Z")
    backup.manifest = manifest
    backup.manifest_path = manifest_path(backup_dir, vm, backup.snapshot_name)
    return DiskJob(backup, 0, manifest["disks"][0])


def test_disk_job_environment_names_the_disk_and_holds_no_credential(tmp_path):
    env = job_for(str(tmp_path)).environment(HOST, str(tmp_path))
    assert env["CLOUDTOWER_LUN_SNAPSHOT_LOCAL_ID"] == "zbs-k-snap-1-0"
    assert env["CLOUDTOWER_LUN_SNAPSHOT_NAME"] == "k-snap-1-0"
    assert env["CLOUDTOWER_DISK_SIZE"] == "42949672960"
    assert env["CLOUDTOWER_DISK_INDEX"] == "0"
    assert env["CLOUDTOWER_VM_ID"] == "vm-1" and env["CLOUDTOWER_VM_NAME"] == "web-01"
    assert env["CLOUDTOWER_MANIFEST"].endswith("ansible-backup-web-01-T1.json")
    assert env["CLOUDTOWER_HOST"] == HOST
    assert all(isinstance(v, str) for v in env.values())
    assert not any(name in env for name in ("CLOUDTOWER_PASSWORD", "CLOUDTOWER_TOKEN", "CLOUDTOWER_USERNAME"))


def fake_run_command(rc=0, stdout="", stderr="", delay=0.0, error=None):
    class Process:
        killed = False

        def kill(self):
            self.killed = True

    calls = []

    def run(argv, environment, on_start):
        process = Process()
        on_start(process)
        calls.append((argv, environment, process))
        if error:
            raise error
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not process.killed:
            time.sleep(0.01)
        return (-9 if process.killed else rc), stdout, stderr
    run.calls = calls
    return run


def test_run_one_reports_success_failure_and_output_tail():
    ok = run_one(fake_run_command(0, "copied"), ["copy"], {}, 5)
    assert ok["status"] == "succeeded" and ok["rc"] == 0 and ok["stdout"] == "copied"
    failed = run_one(fake_run_command(3, "x" * 5000, "disk full"), ["copy"], {}, 5)
    assert failed["status"] == "failed" and failed["rc"] == 3 and failed["stderr"] == "disk full"
    assert failed["stdout"].endswith("x" * 2000) and "cut" in failed["stdout"] and len(failed["stdout"]) < 2100


def test_run_one_kills_a_command_that_outlives_its_timeout():
    outcome = run_one(fake_run_command(0, delay=5), ["copy"], {}, 0.1)
    assert outcome["status"] == "timed_out"
    assert outcome["duration"] < 2


def test_run_one_reports_a_command_that_cannot_start():
    outcome = run_one(fake_run_command(error=OSError(2, "No such file or directory")), ["copy"], {}, 5)
    assert outcome["status"] == "failed" and outcome["rc"] is None and "could not start copy" in outcome["stderr"]


def test_run_jobs_runs_every_disk_at_most_parallel_at_a_time(tmp_path):
    running = []
    peak = []
    lock = threading.Lock()

    def run(argv, environment, on_start):
        with lock:
            running.append(1)
            peak.append(len(running))
        time.sleep(0.05)
        with lock:
            running.pop()
        return 0, environment["CLOUDTOWER_DISK_INDEX"], ""

    jobs = [job_for(str(tmp_path)) for _position in range(6)]
    run_jobs(jobs, run, ["copy"], 2, 5, HOST, str(tmp_path))
    assert all(job.outcome["status"] == "succeeded" for job in jobs)
    assert max(peak) == 2


def test_run_jobs_with_a_real_process(tmp_path):
    """The module passes AnsibleModule.run_command; here the same contract with subprocess, end to end."""
    import subprocess  # pylint: disable=import-outside-toplevel

    def run(argv, environment, on_start):
        env = dict(os.environ, **environment)
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        on_start(process)
        stdout, stderr = process.communicate()
        return process.returncode, stdout, stderr

    code = "import os, sys; print(os.environ['CLOUDTOWER_LUN_SNAPSHOT_LOCAL_ID']); sys.exit(int(os.environ['CLOUDTOWER_DISK_INDEX']))"
    job = job_for(str(tmp_path))
    run_jobs([job], run, [sys.executable, "-c", code], 4, 10, HOST, str(tmp_path))
    assert job.outcome["status"] == "succeeded" and job.outcome["stdout"].strip() == "zbs-k-snap-1-0"
    slow = job_for(str(tmp_path))
    run_jobs([slow], run, [sys.executable, "-c", "import time; time.sleep(30)"], 1, 0.3, HOST, str(tmp_path))
    assert slow.outcome["status"] == "timed_out"


def test_data_mover_failure_message_names_each_disk():
    first = DiskJob(None, 0, {"index": 0})
    first.outcome = {"status": "failed", "rc": 2, "stderr": "line 1\ndisk full\n", "stdout": ""}
    second = DiskJob(None, 1, {"index": 1})
    second.outcome = {"status": "timed_out", "rc": -9, "stderr": "", "stdout": ""}
    message = data_mover_failure_message([first, second])
    assert message == "the data mover failed for disk index 0 exited with 2: disk full; disk index 1 timed out"


def test_render_is_stable_json():
    _backup, manifest = built()
    assert json.loads(render(manifest)) == manifest
    assert render(manifest) == render(json.loads(render(manifest)))
