# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Repository retention on local files: chains merged before a backup goes, interrupted prunes finished, manifests
of deleted snapshots marked. qemu-img reads raw files where a backup reads LUNs (the same code path)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils import repository as repo
from ansible_collections.smartx.cloudtower.plugins.module_utils import repository_retention as retention
from ansible_collections.smartx.cloudtower.plugins.module_utils import transports
from ansible_collections.smartx.cloudtower.plugins.module_utils.retention import RetentionPolicy, parse_timestamp
from ansible_collections.smartx.cloudtower.plugins.module_utils.verify import verify_backup
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_backup_prune as prune_module
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import call_module

MIB = 1024 * 1024
SIZE = 1024 * MIB
NOW = parse_timestamp("2025-01-10T00:00:00.000Z")
needs_qemu = pytest.mark.skipif(shutil.which("qemu-img") is None or shutil.which("qemu-io") is None,
                                reason="qemu-img and qemu-io (Debian qemu-utils) are not installed")


def run(argv):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


class Vm:
    """One VM's directory in a repository, backed up from a raw 'LUN' the test writes to."""

    def __init__(self, tmp_path):
        self.directory = str(tmp_path / "repo" / "cluster-a" / "db-01-vm1")
        self.lun = str(tmp_path / "lun.raw")
        with open(self.lun, "wb") as stream:
            stream.truncate(SIZE)
        self.names = []

    def write(self, offset, data):
        with open(self.lun, "r+b") as stream:
            stream.seek(offset)
            stream.write(data)

    def backup(self, day):
        """A complete backup as cloudtower_backup_copy writes it: an increment on the newest one."""
        name = "ansible-backup-db-01-D%02d" % day
        directory = os.path.join(self.directory, name)
        repo.make_directories(directory)
        disk = {"index": 0, "vm_volume_local_id": "v0", "size": SIZE}
        plan = repo.chain_plan(repo.complete_backups(self.directory), disk, True, 0)
        path = os.path.join(directory, "disk-0.qcow2")
        transports.read_lun(run, "driver=raw,file.driver=file,file.filename=%s" % self.lun, path, plan["backing"])
        disk["backup"] = {"file": "disk-0.qcow2", "format": "qcow2", "virtual_size": SIZE, "file_sha256": transports.file_sha256(path),
                          "digest": {"algorithm": transports.DIGEST_ALGORITHM, "value": transports.sparse_digest_of_raw(self.lun, SIZE)},
                          "backing": plan["backing"], "backing_backup": plan["backing_backup"], "chain_depth": plan["depth"],
                          "stored_size": repo.stored_size(path)}
        manifest = {"backup": {"snapshot_name": name, "snapshot_taken_at": "2025-01-%02dT01:00:00.000Z" % day},
                    "vm": {"id": "vm1", "name": "db-01"}, "snapshot": {"id": "snap-%d" % day, "name": name}, "disks": [disk],
                    "repository": {"format": repo.REPOSITORY_FORMAT, "complete": True, "backup": name}}
        repo.write_manifest(directory, manifest)
        self.names.append(name)
        return directory

    def kept(self):
        return [os.path.basename(d) for d, _m in repo.complete_backups(self.directory)]


def three_backups(tmp_path):
    vm = Vm(tmp_path)
    vm.write(0, os.urandom(4 * MIB))
    vm.backup(1)
    vm.write(100 * MIB, os.urandom(2 * MIB))
    vm.write(0, bytes(MIB))  # a block that became zero must stay zero through the merge
    vm.backup(2)
    vm.write(200 * MIB, os.urandom(MIB))
    vm.backup(3)
    return vm


@needs_qemu
def test_keep_last_merges_the_pruned_full_backup_into_the_kept_increment(tmp_path):
    vm = three_backups(tmp_path)
    second = os.path.join(vm.directory, vm.names[1])
    digest_before = repo.read_backup(second)["disks"][0]["backup"]["digest"]["value"]
    outcome = retention.Pruner(run).prune_vm(vm.directory, RetentionPolicy("ansible-backup-", keep_last=2), NOW)
    assert outcome["failures"] == []
    assert [(p["backup"], p["merged_into"]) for p in outcome["pruned"]] == [(vm.names[0], [{"disk": 0, "into": vm.names[1]}])]
    assert vm.kept() == vm.names[1:] and sorted(os.listdir(vm.directory)) == vm.names[1:]
    entry = repo.read_backup(second)["disks"][0]["backup"]
    assert entry["backing"] is None and entry["backing_backup"] is None and entry["chain_depth"] == 0
    assert entry["merged"] == [vm.names[0]] and entry["digest"]["value"] == digest_before
    assert repo.read_backup(os.path.join(vm.directory, vm.names[2]))["disks"][0]["backup"]["chain_depth"] == 1
    # Both kept backups read back exactly as recorded (sha256 of the new file, chain, digest).
    for name in vm.names[1:]:
        assert verify_backup(run, os.path.join(vm.directory, name, repo.MANIFEST_NAME))["status"] == "ok"
    assert oct(os.stat(os.path.join(second, "disk-0.qcow2")).st_mode & 0o777) == oct(0o640)


@needs_qemu
def test_pruning_two_of_three_leaves_one_self_contained_backup(tmp_path):
    vm = three_backups(tmp_path)
    outcome = retention.Pruner(run).prune_vm(vm.directory, RetentionPolicy("ansible-backup-", keep_last=1), NOW)
    assert [p["backup"] for p in outcome["pruned"]] == vm.names[:2] and outcome["failures"] == []
    last = os.path.join(vm.directory, vm.names[2])
    entry = repo.read_backup(last)["disks"][0]["backup"]
    assert entry["backing"] is None and entry["merged"] == vm.names[:2]
    assert verify_backup(run, os.path.join(last, repo.MANIFEST_NAME))["status"] == "ok"
    assert run(["qemu-img", "compare", vm.lun, os.path.join(last, "disk-0.qcow2")])[0] == 0


@needs_qemu
def test_check_mode_and_policies_that_keep_everything_touch_nothing(tmp_path):
    vm = three_backups(tmp_path)
    before = {name: os.listdir(os.path.join(vm.directory, name)) for name in vm.names}
    planned = retention.Pruner(run, check_mode=True).prune_vm(vm.directory, RetentionPolicy("ansible-backup-", keep_last=1), NOW)
    assert [p["backup"] for p in planned["pruned"]] == vm.names[:2]
    assert retention.Pruner(run).prune_vm(vm.directory, RetentionPolicy("ansible-backup-", keep_last=3), NOW)["pruned"] == []
    assert retention.Pruner(run).prune_vm(vm.directory, RetentionPolicy("other-", keep_last=0), NOW)["pruned"] == []
    # older_than 8d on 2025-01-10: only day 1 is older; keep_last 2 alone would prune the same one.
    assert retention.Pruner(run, check_mode=True).prune_vm(
        vm.directory, RetentionPolicy("ansible-backup-", older_than=8 * 86400), NOW)["pruned"][0]["backup"] == vm.names[0]
    assert {name: os.listdir(os.path.join(vm.directory, name)) for name in vm.names} == before


@needs_qemu
@pytest.mark.parametrize("killed_after", ["manifest removed", "commit", "link", "rename"])
def test_a_prune_killed_at_any_step_is_finished_by_the_next_run(tmp_path, killed_after):
    vm = three_backups(tmp_path)
    first, second = (os.path.join(vm.directory, name) for name in vm.names[:2])
    backups = repo.complete_backups(vm.directory)
    pruner = retention.Pruner(run)
    # Carry out the first steps of pruning the first backup by hand, as a run killed there would have left them.
    pruner_finish = pruner.finish
    pruner.finish = lambda directory: None
    pruner.prune(first, backups[0][1], backups)
    pruner.finish = pruner_finish
    dependent = os.path.join(second, "disk-0.qcow2")
    merged = os.path.join(second, ".disk-0.qcow2" + retention.MERGED_SUFFIX)
    if killed_after != "manifest removed":
        transports.run_checked(run, "merge", ["qemu-img", "commit", "-q", "-d", "-f", "qcow2", dependent])
    if killed_after in ("link", "rename"):
        os.link(os.path.join(first, "disk-0.qcow2"), merged)
    if killed_after == "rename":
        os.replace(merged, dependent)
    # Whatever the step, no manifest claims the pruned backup, and the kept ones read back as recorded.
    assert repo.read_backup(first) is None
    # (Killed after the rename, the manifest has yet to record the merged file's sha256: verify says so.)
    for name in vm.names[1:]:
        stale = killed_after == "rename" and name == vm.names[1]
        assert verify_backup(run, os.path.join(vm.directory, name, repo.MANIFEST_NAME))["problems"] == (
            ["disk 0: disk-0.qcow2 changed since it was written (sha256 differs)"] if stale else [])
    outcome = retention.Pruner(run).prune_vm(vm.directory, RetentionPolicy("ansible-backup-", keep_last=2), NOW)
    assert outcome["resumed"] == [first] and outcome["pruned"] == [] and outcome["failures"] == []
    assert sorted(os.listdir(vm.directory)) == vm.names[1:] and not os.path.exists(merged)
    for name in vm.names[1:]:
        assert verify_backup(run, os.path.join(vm.directory, name, repo.MANIFEST_NAME))["status"] == "ok"


@needs_qemu
def test_a_merge_that_does_not_read_back_leaves_the_kept_backup_alone(tmp_path):
    vm = three_backups(tmp_path)
    second = os.path.join(vm.directory, vm.names[1])
    manifest = repo.read_backup(second)
    manifest["disks"][0]["backup"]["digest"]["value"] = "0" * 64  # what the merge result will not match
    repo.write_manifest(second, manifest)
    sha_before = transports.file_sha256(os.path.join(second, "disk-0.qcow2"))
    outcome = retention.Pruner(run).prune_vm(vm.directory, RetentionPolicy("ansible-backup-", keep_last=1), NOW)
    assert [f["backup"] for f in outcome["failures"]] == [vm.names[0]] and "digest differs" in outcome["failures"][0]["message"]
    assert outcome["pruned"] == []  # the second backup waits: it is what the first would merge into
    assert transports.file_sha256(os.path.join(second, "disk-0.qcow2")) == sha_before
    assert os.path.exists(os.path.join(vm.directory, vm.names[0], retention.PRUNE_MARKER))


def test_a_backup_two_backups_build_on_is_not_pruned(tmp_path):
    directory = tmp_path / "vm"
    for name, backing, day in (("b1", None, 1), ("b2", "b1", 2), ("b3", "b1", 3)):
        (directory / name).mkdir(parents=True)
        entry = {"index": 0, "vm_volume_local_id": "v0", "backup": {"file": "disk-0.qcow2", "backing_backup": backing}}
        manifest = {"backup": {"snapshot_name": name, "snapshot_taken_at": "2025-01-0%dT00:00:00.000Z" % day}, "disks": [entry],
                    "repository": {"format": repo.REPOSITORY_FORMAT, "complete": True}}
        repo.write_manifest(str(directory / name), manifest)
    outcome = retention.Pruner(run).prune_vm(str(directory), RetentionPolicy("b", keep_last=2), NOW)
    assert "backing file of 2 backups (b2, b3)" in outcome["failures"][0]["message"]
    # Refused before anything is touched: it stays a complete backup.
    assert [os.path.basename(d) for d, _m in repo.complete_backups(str(directory))] == ["b1", "b2", "b3"]


def test_chain_depths_follow_backing_backups():
    def backup(name, backing):
        return ("/r/" + name, {"disks": [{"index": 0, "vm_volume_local_id": "v", "backup": {"backing_backup": backing}}]})
    assert retention.chain_depths([backup("a", None), backup("b", "a"), backup("c", "b"), backup("d", "gone")]) == {
        ("a", 0): 0, ("b", 0): 1, ("c", 0): 2, ("d", 0): 0}


def test_manifests_of_deleted_snapshots_say_so_once(tmp_path):
    backup_dir, repository = tmp_path / "manifests", tmp_path / "repo"
    snapshot = {"id": "s1", "name": "ansible-backup-db-01-T1", "vm": {"id": "vm1", "name": "db-01"}, "status": "deleted",
                "reason": "beyond the newest 1", "task_id": "t9"}
    other = dict(snapshot, id="s2", name="ansible-backup-db-01-T2", status="failed")
    paths = [backup_dir / "db-01-vm1" / "ansible-backup-db-01-T1.json",
             repository / "cluster-a" / "db-01-vm1" / "ansible-backup-db-01-T1" / repo.MANIFEST_NAME,
             backup_dir / "db-01-vm1" / "ansible-backup-db-01-T2.json"]
    for path, snap in zip(paths, (snapshot, snapshot, other)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"backup": {"snapshot_status": "created"}, "snapshot": {"id": snap["id"], "name": snap["name"]}}))
        os.chmod(path, 0o640)
    deleted = [snapshot, other]
    assert [m["path"] for m in retention.mark_deleted_snapshots(str(backup_dir), str(repository), deleted, check_mode=True)] == [
        str(p) for p in sorted(paths[:2])]
    assert json.loads(paths[0].read_text())["backup"]["snapshot_status"] == "created"  # check mode wrote nothing
    assert len(retention.mark_deleted_snapshots(str(backup_dir), str(repository), deleted)) == 2
    for path in paths[:2]:
        manifest = json.loads(path.read_text())
        assert manifest["backup"]["snapshot_status"] == "deleted" and manifest["snapshot_deleted"]["reason"] == "beyond the newest 1"
        assert oct(os.stat(path).st_mode & 0o777) == oct(0o640)
    assert json.loads(paths[2].read_text())["backup"]["snapshot_status"] == "created"  # its deletion failed
    assert retention.mark_deleted_snapshots(str(backup_dir), str(repository), deleted) == []  # once


@needs_qemu
def test_the_module_prunes_once_and_refuses_bad_input_naming_the_option(tmp_path, capsys):
    vm = three_backups(tmp_path)
    repository = str(tmp_path / "repo")
    args = {"repository": repository, "vms": ["vm1"], "keep_last": 1}
    planned = call_module(prune_module, capsys, dict(args, _ansible_check_mode=True))
    assert planned["changed"] and [p["backup"] for p in planned["pruned"]] == vm.names[:2] and len(vm.kept()) == 3
    done = call_module(prune_module, capsys, args)
    assert done["changed"] and [p["vm"] for p in done["pruned"]] == ["db-01-vm1", "db-01-vm1"] and vm.kept() == vm.names[2:]
    again = call_module(prune_module, capsys, args)
    assert not again["changed"] and again["pruned"] == []
    assert not call_module(prune_module, capsys, dict(args, _ansible_check_mode=True))["changed"]
    for bad, option in (({"keep_last": -1}, "keep_last"), ({"older_than": "soon"}, "older_than"),
                        ({"repository": str(tmp_path / "absent")}, "repository"), ({"retention_prefix": " "}, "retention_prefix")):
        failed = call_module(prune_module, capsys, dict(args, **bad))
        assert failed["failed"] and failed["error"]["option"] == option and option in failed["msg"]
    assert vm.kept() == vm.names[2:]
