# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_backup_manifest fed with what the real modules return from the CloudTower simulator.

The VM, snapshot and LUN snapshot modules run in-process against the simulator
(tests/simulator) over HTTP; their results go to cloudtower_backup_manifest as
the vm_backup role passes them, and the manifests on disk are checked against
the simulator's own state.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils import manifest_files
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_backup_manifest as manifest_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_lun_snapshot_info as lun_info_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_info as vm_info_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_snapshot as snapshot_module
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import PASSWORD, TASK_SECONDS, call_module, run_module

VMS = ["db-01", "web-01", "app-01"]


def cloudtower(module, sim, capsys, **options):
    return run_module(module, sim, capsys, **options).result


def write_manifests(capsys, check_mode=False, diff=False, **options):
    return call_module(manifest_module, capsys, dict(options, _ansible_check_mode=check_mode, _ansible_diff=diff))


_BATCH = {}


@pytest.fixture
def outputs(simulator, capsys):
    """(vms, snapshot results, lun snapshots) of one batch of three VMs whose web-01 task fails, as the role reads them.

    Taken once per module (the tests only write manifests from it).
    """
    if not _BATCH:
        simulator.reset(state="demo", task_seconds=TASK_SECONDS)
        simulator.set_faults({"task_failures": [{"operations": ["create-vm-snapshot"], "vm_name": "web-01"}]})
        vms = cloudtower(vm_info_module, simulator, capsys, where={"OR": [{"id_in": VMS}, {"name_in": VMS}]})["vms"]
        snapshots = cloudtower(snapshot_module, simulator, capsys, vms=VMS, name="unit-backup-{vm_name}-T1")
        assert snapshots["failed"] and [r["status"] for r in snapshots["results"]] == ["created", "failed", "created"]
        ids = [r["snapshot"]["id"] for r in snapshots["results"] if r["status"] == "created"]
        luns = cloudtower(lun_info_module, simulator, capsys, vm_snapshot_ids=ids, fail_on_missing=False)
        simulator.set_faults({})
        _BATCH["outputs"] = (vms, snapshots["results"], luns["lun_snapshots"])
    return _BATCH["outputs"]


def base_options(tmp_path, outputs, **extra):
    vms, results, luns = outputs
    options = dict(backup_dir=str(tmp_path / "backups"), cloudtower_host="https://admin:secret@ct.example.com/v2/api", vms=vms,
                   snapshot_results=results, lun_snapshots=luns, started_at="2025-01-01T01:00:00.000Z")
    options.update(extra)
    return options


def copier(tmp_path, body):
    script = tmp_path / "copier.py"
    script.write_text("#!%s\n%s" % (sys.executable, textwrap.dedent(body)))
    script.chmod(0o755)
    return str(script)


def test_manifests_match_the_simulator_and_the_failed_vm_is_reported(tmp_path, capsys, outputs, simulator):
    result = write_manifests(capsys, **base_options(tmp_path, outputs))
    assert result["failed"] and result["changed"]
    assert "1 of 3 VM backup(s) failed" in result["msg"] and "web-01" in result["msg"] and "[snapshot]" in result["msg"]
    assert [m["status"] for m in result["manifests"]] == ["written", "not_written", "written"]
    assert [f["vm"]["name"] for f in result["failed_vms"]] == ["web-01"]
    assert result["summary"] == dict(vms=3, succeeded=2, failed=1, manifests_written=2, manifests_unchanged=0, disks=3,
                                     data_mover_succeeded=0, data_mover_failed=0)
    state = simulator.state()
    lun_by_name = {lun["name"]: lun for lun in state["iscsi_lun_snapshots"]}
    vm_by_id = {vm["id"]: vm for vm in state["vms"]}
    for entry in result["manifests"]:
        if entry["status"] != "written":
            continue
        vm = vm_by_id[entry["vm"]["id"]]
        assert entry["path"] == str(tmp_path / "backups" / ("%s-%s" % (vm["name"], vm["id"])) / (entry["snapshot"]["name"] + ".json"))
        assert stat.S_IMODE(os.stat(entry["path"]).st_mode) == 0o640
        with open(entry["path"]) as stream:
            manifest = json.load(stream)
        assert manifest["vm"]["id"] == vm["id"] and manifest["snapshot"]["id"] == entry["snapshot"]["id"]
        assert manifest["cloudtower"]["host"] == "https://ct.example.com"
        snapshot = next(s for s in state["vm_snapshots"] if s["id"] == entry["snapshot"]["id"])
        disks = [d for d in snapshot["vm_disks"] if d["type"] == "DISK"]
        assert len(manifest["disks"]) == len(disks) == entry["disks"]
        for written in manifest["disks"]:
            lun = lun_by_name[written["snapshot_local_id"]]
            assert written["lun_snapshot"]["local_id"] == lun["local_id"]
            assert written["lun_snapshot"]["id"] == lun["id"] and written["lun_snapshot"]["name"] == lun["name"]
        text = open(entry["path"]).read()
        assert "secret" not in text and PASSWORD not in text


def test_check_mode_writes_nothing_and_predicts_the_real_run(tmp_path, capsys, outputs):
    options = base_options(tmp_path, outputs, fail_on_error=False)
    check = write_manifests(capsys, check_mode=True, diff=True, **options)
    assert check["changed"] and not check.get("failed")
    assert not os.path.exists(options["backup_dir"])
    assert check["diff"]["before"] == {"manifests": []}
    real = write_manifests(capsys, **options)
    assert [m["status"] for m in check["manifests"]] == ["would_write", "not_written", "would_write"]
    assert [m["path"] for m in check["manifests"]] == [m["path"] for m in real["manifests"]]
    assert sorted(check["diff"]["after"]["manifests"]) == sorted(m["path"] for m in real["manifests"] if m["path"])


def test_a_second_run_changes_nothing(tmp_path, capsys, outputs):
    options = base_options(tmp_path, outputs, fail_on_error=False)
    first = write_manifests(capsys, **options)
    before = {m["path"]: os.stat(m["path"]).st_mtime_ns for m in first["manifests"] if m["path"]}
    again = write_manifests(capsys, **{**options, "started_at": "2030-01-01T00:00:00.000Z"})
    assert not again["changed"]
    assert [m["status"] for m in again["manifests"]] == ["unchanged", "not_written", "unchanged"]
    assert {m["path"]: os.stat(m["path"]).st_mtime_ns for m in again["manifests"] if m["path"]} == before
    check = write_manifests(capsys, check_mode=True, **options)
    assert not check["changed"]


def test_a_planned_snapshot_in_check_mode_gets_its_future_path(tmp_path, capsys):
    planned = [{"vm": {"id": "cm-vm-1", "name": "web-01"}, "name": "ansible-backup-web-01-T2", "status": "would_create",
                "changed": True, "task_id": None, "error": None, "snapshot": None}]
    result = write_manifests(capsys, check_mode=True, backup_dir=str(tmp_path), cloudtower_host="https://ct", snapshot_results=planned,
                             data_mover_command=sys.executable)
    assert result["changed"]
    assert result["manifests"][0]["path"] == str(tmp_path / "web-01-cm-vm-1" / "ansible-backup-web-01-T2.json")
    assert result["manifests"][0]["status"] == "would_write" and result["manifests"][0]["data_mover"] == "would_run"
    assert result["succeeded_vm_ids"] == ["cm-vm-1"]
    assert os.listdir(str(tmp_path)) == []


def test_data_mover_runs_per_disk_with_its_identity_and_retries_only_failures(tmp_path, capsys, outputs, monkeypatch):
    monkeypatch.setenv("CLOUDTOWER_PASSWORD", "must-not-leak")
    log = tmp_path / "copies.log"
    command = copier(tmp_path, """
        import json, os, sys
        env = os.environ
        manifest = json.load(open(env["CLOUDTOWER_MANIFEST"]))
        with open(%r, "a") as log:
            log.write(json.dumps({k: env.get(k) for k in ("CLOUDTOWER_VM_NAME", "CLOUDTOWER_DISK_INDEX",
                      "CLOUDTOWER_LUN_SNAPSHOT_LOCAL_ID", "CLOUDTOWER_DISK_SIZE", "CLOUDTOWER_PASSWORD")}) + "\\n")
        assert manifest["disks"][int(env["CLOUDTOWER_DISK_INDEX"])]["data_mover"] == {"status": "pending"}
        if env["CLOUDTOWER_VM_NAME"] == "db-01" and env["CLOUDTOWER_DISK_INDEX"] == "1" and not os.path.exists(%r):
            sys.stderr.write("target full\\n")
            sys.exit(4)
        print("copied", env["CLOUDTOWER_LUN_SNAPSHOT_LOCAL_ID"])
    """ % (str(log), str(tmp_path / "space-freed")))
    options = base_options(tmp_path, outputs, fail_on_error=False, data_mover_command=command, data_mover_parallel=2)
    first = write_manifests(capsys, **options)
    copies = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(copies) == 3 and all(c["CLOUDTOWER_PASSWORD"] is None for c in copies)
    vms, _results, luns = outputs
    expected = sorted((lun["vm"]["name"], str(lun["disk"]["index"]), lun["local_id"], str(lun["disk"]["size"])) for lun in luns)
    assert sorted((c["CLOUDTOWER_VM_NAME"], c["CLOUDTOWER_DISK_INDEX"], c["CLOUDTOWER_LUN_SNAPSHOT_LOCAL_ID"], c["CLOUDTOWER_DISK_SIZE"])
                  for c in copies) == expected
    assert sorted(m["status"] for m in first["data_mover"]) == ["failed", "succeeded", "succeeded"]
    failed = next(m for m in first["data_mover"] if m["status"] == "failed")
    assert failed["rc"] == 4 and failed["stderr"] == "target full\n" and failed["vm"]["name"] == "db-01"
    assert sorted(f["vm"]["name"] for f in first["failed_vms"]) == ["db-01", "web-01"]
    db = next(f for f in first["failed_vms"] if f["vm"]["name"] == "db-01")
    assert db["stage"] == "data_mover" and "disk index 1 exited with 4: target full" in db["message"]
    assert [m["data_mover"] for m in first["manifests"]] == ["failed", "not_run", "succeeded"]
    assert first["succeeded_vm_ids"] == [first["manifests"][2]["vm"]["id"]]
    with open(first["manifests"][0]["path"]) as stream:
        recorded = [d["data_mover"]["status"] for d in json.load(stream)["disks"]]
    assert recorded == ["succeeded", "failed"]

    (tmp_path / "space-freed").write_text("")
    log.write_text("")
    second = write_manifests(capsys, **options)
    assert [(json.loads(line)["CLOUDTOWER_VM_NAME"], json.loads(line)["CLOUDTOWER_DISK_INDEX"]) for line in log.read_text().splitlines()] == [("db-01", "1")]
    assert second["changed"] and [m["data_mover"] for m in second["manifests"]] == ["succeeded", "not_run", "done_before"]
    assert [m["status"] for m in second["manifests"]] == ["written", "not_written", "unchanged"]

    log.write_text("")
    third = write_manifests(capsys, **options)
    assert not third["changed"] and log.read_text() == ""


def test_a_data_mover_that_hangs_is_killed(tmp_path, capsys, outputs):
    command = copier(tmp_path, "import time\ntime.sleep(60)\n")
    result = write_manifests(capsys, **base_options(tmp_path, outputs, data_mover_command=command, data_mover_timeout=1,
                                                    data_mover_parallel=8))
    assert result["failed"]
    assert sorted(m["status"] for m in result["data_mover"]) == ["timed_out"] * 3
    assert all(m["duration"] < 10 for m in result["data_mover"])


@pytest.mark.parametrize("options, option, words", [
    (dict(data_mover_command="/nonexistent/zadp-copy --x"), "data_mover_command", "not an executable file"),
    (dict(data_mover_command="zadp-copy-that-is-not-installed"), "data_mover_command", "not found on PATH"),
    (dict(data_mover_parallel=0), "data_mover_parallel", "at least 1"),
    (dict(manifest_mode="rw-r-----"), "manifest_mode", "octal"),
    (dict(cloudtower_host=None), "cloudtower_host", "is required with snapshot_results"),
])
def test_bad_options_fail_before_anything_is_written(tmp_path, capsys, outputs, monkeypatch, options, option, words):
    monkeypatch.delenv("CLOUDTOWER_HOST", raising=False)
    args = base_options(tmp_path, outputs)
    args.update(options)
    args = {k: v for k, v in args.items() if v is not None}
    result = write_manifests(capsys, **args)
    assert result["failed"] and result["error"]["option"] == option and words in result["msg"]
    assert not os.path.exists(args["backup_dir"])


def test_a_backup_dir_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "not-a-dir"
    target.write_text("")
    result = write_manifests(capsys, backup_dir=str(target))
    assert result["failed"] and result["error"]["option"] == "backup_dir" and "is not a directory" in result["msg"]


def test_preflight_without_results_checks_and_writes_nothing(tmp_path, capsys):
    result = write_manifests(capsys, backup_dir=str(tmp_path / "new"), data_mover_command=sys.executable)
    assert not result["changed"] and result["manifests"] == [] and result["summary"]["vms"] == 0
    assert not os.path.exists(str(tmp_path / "new"))


# ----- issue 19: a manifest directory that cannot be written is refused before any snapshot ------------------------------
@pytest.mark.parametrize("backup_dir", ["/proc/ct-backups", "/proc/self/ct-backups/nested"])
def test_a_directory_that_permission_bits_allow_but_cannot_be_written_is_refused_by_the_check(capsys, backup_dir):
    result = write_manifests(capsys, backup_dir=backup_dir)
    assert result.get("failed") and result["error"]["option"] == "backup_dir", result
    assert backup_dir in result["msg"] and ("cannot be written" in result["msg"] or "not writable" in result["msg"])


@pytest.mark.parametrize("backup_dir", ["", "   "])
def test_an_empty_directory_is_refused_not_taken_for_the_current_one(capsys, tmp_path, monkeypatch, backup_dir):
    monkeypatch.chdir(tmp_path)
    result = write_manifests(capsys, backup_dir=backup_dir)
    assert result.get("failed") and result["error"]["option"] == "backup_dir", result
    assert os.listdir(tmp_path) == []


def test_the_check_writes_in_an_existing_directory_and_leaves_nothing_in_it(capsys, tmp_path):
    result = write_manifests(capsys, backup_dir=str(tmp_path))
    assert not result.get("failed"), result.get("msg")
    assert os.listdir(tmp_path) == []


def test_check_mode_creates_nothing(capsys, tmp_path):
    target = tmp_path / "backups"
    result = write_manifests(capsys, check_mode=True, backup_dir=str(target))
    assert not result.get("failed") and not target.exists()


def test_a_manifest_that_cannot_be_written_names_backup_dir(simulator, capsys, outputs, tmp_path):
    vms, results, luns = outputs
    target = tmp_path / "manifests"
    target.mkdir()
    # A VM's directory is taken by a file: its manifest cannot be written.
    created = next(r for r in results if r["status"] == "created")
    vm = next(v for v in vms if v["id"] == created["vm"]["id"])
    blocker = manifest_files.manifest_path(str(target), vm, created["name"])
    os.makedirs(os.path.dirname(os.path.dirname(blocker)), exist_ok=True)
    with open(os.path.dirname(blocker), "w") as handle:
        handle.write("in the way\n")
    result = write_manifests(capsys, backup_dir=str(target), cloudtower_host=simulator.url, vms=vms, snapshot_results=results,
                             lun_snapshots=luns, fail_on_error=False)
    failures = [f for f in result["failed_vms"] if f["stage"] == "manifest"]
    assert failures and ("under backup_dir %s" % target) in failures[0]["message"]
