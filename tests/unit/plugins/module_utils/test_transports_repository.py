# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The data path without CloudTower: increments, digests, chains and the repository's rules, on local files.

qemu-img reads a raw file here where it reads an iSCSI LUN in a backup (the same --image-opts, another driver).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils import repository as repo
from ansible_collections.smartx.cloudtower.plugins.module_utils import transports
from ansible_collections.smartx.cloudtower.plugins.module_utils.copy_progress import ProgressBoard
from ansible_collections.smartx.cloudtower.plugins.module_utils.verify import verify_backup

MIB = 1024 * 1024
SIZE = 4 * 1024 * MIB
needs_qemu = pytest.mark.skipif(shutil.which("qemu-img") is None or shutil.which("qemu-io") is None,
                                reason="qemu-img and qemu-io (Debian qemu-utils) are not installed")


def run(argv):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def raw_disk(path, writes):
    """A sparse raw disk of SIZE bytes with writes [(offset, bytes)]."""
    with open(path, "wb") as stream:
        stream.truncate(SIZE)
        for offset, data in writes:
            stream.seek(offset)
            stream.write(data)
    return str(path)


def opts(path):
    return "driver=raw,file.driver=file,file.filename=%s" % path


def test_block_ranges_merge_and_widen_to_whole_blocks():
    assert transports.block_ranges([(70000, 70001), (0, 10), (65536, 65537)]) == [(0, 131072)]
    assert transports.block_ranges([(0, 1), (3 * 65536, 3 * 65536 + 1)]) == [(0, 65536), (196608, 262144)]


def test_the_digest_ignores_layout_and_sees_every_byte(tmp_path):
    a = raw_disk(tmp_path / "a.raw", [(MIB, b"x" * 100)])
    b = raw_disk(tmp_path / "b.raw", [(MIB, b"x" * 100), (2 * MIB, bytes(65536))])  # written zeros, same bytes
    c = raw_disk(tmp_path / "c.raw", [(MIB, b"x" * 99 + b"y")])
    assert transports.sparse_digest_of_raw(a, SIZE) == transports.sparse_digest_of_raw(b, SIZE)
    assert transports.sparse_digest_of_raw(a, SIZE) != transports.sparse_digest_of_raw(c, SIZE)


@needs_qemu
def test_an_increment_stores_what_changed_and_reads_back_identical(tmp_path):
    data = os.urandom(8 * MIB)
    first = raw_disk(tmp_path / "first.raw", [(0, data)])
    # The guest writes 2 MiB far away and zeroes the first MiB of what was there.
    second = raw_disk(tmp_path / "second.raw", [(0, data), (3000 * MIB, os.urandom(2 * MIB)), (0, bytes(MIB))])
    (tmp_path / "b1").mkdir()
    (tmp_path / "b2").mkdir()
    base = str(tmp_path / "b1" / "disk-0.qcow2")
    assert transports.read_lun(run, opts(first), base) is None
    increment = str(tmp_path / "b2" / ".disk-0.qcow2.tmp")
    digest = transports.read_lun(run, opts(second), increment, backing="../b1/disk-0.qcow2")
    assert digest == transports.sparse_digest_of_raw(second, SIZE)
    assert transports.logical_digest(run, increment, SIZE) == digest
    assert 2 * MIB <= repo.stored_size(increment) <= 3 * MIB
    assert run(["qemu-img", "compare", second, increment])[0] == 0
    chain = transports.image_info(run, increment)
    assert chain[0]["backing-filename"] == "../b1/disk-0.qcow2" and len(chain) == 2
    assert sorted(os.listdir(tmp_path / "b2")) == [".disk-0.qcow2.tmp"]  # the raw copies and the patch are gone


def test_chains_follow_the_newest_complete_backup_and_full_every(tmp_path):
    disk = {"index": 0, "vm_volume_local_id": "v0"}

    def backup(name, taken, depth, complete=True):
        directory = tmp_path / name
        directory.mkdir()
        entry = dict(disk, backup={"file": "disk-0.qcow2", "chain_depth": depth})
        manifest = {"backup": {"snapshot_taken_at": taken}, "disks": [entry],
                    "repository": {"format": repo.REPOSITORY_FORMAT, "complete": complete}}
        (directory / repo.MANIFEST_NAME).write_text(json.dumps(manifest))

    assert repo.chain_plan([], disk, True, 0) == {"backing": None, "backing_backup": None, "depth": 0}
    backup("b1", "2025-01-01", 0)
    backup("b2", "2025-01-02", 1)
    backup("b3", "2025-01-03", 2, complete=False)  # killed before its manifest was complete: never a backing file
    backups = repo.complete_backups(str(tmp_path))
    assert [os.path.basename(d) for d, _m in backups] == ["b1", "b2"]
    assert repo.chain_plan(backups, disk, True, 0) == {"backing": "../b2/disk-0.qcow2", "backing_backup": "b2", "depth": 2}
    assert repo.chain_plan(backups, disk, True, 2)["backing"] is None  # a third file would exceed full_every 2
    assert repo.chain_plan(backups, disk, False, 0)["backing"] is None
    assert repo.chain_plan(backups, {"index": 0, "vm_volume_local_id": "other"}, True, 0)["backing"] is None


def test_directories_get_their_mode_and_temporary_files_go(tmp_path):
    target = tmp_path / "repo" / "cluster" / "vm-1" / "b1"
    repo.make_directories(str(target), 0o750)
    assert oct(os.stat(tmp_path / "repo").st_mode & 0o777) == oct(0o750)
    registry = repo.RunRegistry(str(tmp_path / "runs"))
    dead, live = registry.start(), registry.start()
    os.close(registry.held.pop(dead))  # as if its process had been killed: its lock file stays, no one holds it
    assert oct(os.stat(tmp_path / "runs").st_mode & 0o777) == oct(0o700)
    for name in (".disk-0.qcow2.tmp", ".disk-0.qcow2.%s.tmp" % dead, ".disk-2.qcow2.%s.tmp.new.tmp" % dead,
                 ".disk-1.qcow2.%s.tmp" % live, "disk-1.qcow2"):
        (target / name).write_text("x")
    other = repo.RunRegistry(str(tmp_path / "runs"))  # another run of the host sees the same locks
    assert repo.remove_temporary_files(str(tmp_path / "repo" / "cluster" / "vm-1"), other) == [
        str(target / name) for name in (".disk-0.qcow2.%s.tmp" % dead, ".disk-0.qcow2.tmp", ".disk-2.qcow2.%s.tmp.new.tmp" % dead)]
    assert sorted(os.listdir(target)) == [".disk-1.qcow2.%s.tmp" % live, "disk-1.qcow2"]
    assert sorted(os.listdir(tmp_path / "runs")) == ["%s.lock" % live]  # the dead run's lock went with its files
    registry.finish(live)
    assert not other.is_alive(live) and os.listdir(tmp_path / "runs") == []


def test_a_killed_run_is_dead_to_the_others_at_once(tmp_path):
    """flock dies with its process, SIGKILL included: what a killed run left is a leftover for the next run."""
    script = ("import sys, time; from ansible_collections.smartx.cloudtower.plugins.module_utils.repository import RunRegistry; "
              "print(RunRegistry(sys.argv[1]).start(), flush=True); time.sleep(60)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    with subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env) as child:
        token = child.stdout.readline().strip()
        registry = repo.RunRegistry(str(tmp_path))
        assert registry.is_alive(token)
        child.kill()
        child.wait()
    assert not registry.is_alive(token) and not registry.is_alive("not-a-token")


def test_verify_refuses_a_manifest_that_is_not_a_repository_backup(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"format": "something else"}))
    result = verify_backup(run, str(path))
    assert result["status"] == "failed" and "not a repository backup manifest" in result["message"]


@needs_qemu
def test_progress_is_heard_per_phase_and_written_for_the_role(tmp_path):
    lun = raw_disk(tmp_path / "lun.raw", [(0, os.urandom(8 * MIB)), (3000 * MIB, os.urandom(MIB))])
    (tmp_path / "b1").mkdir()
    board = ProgressBoard(str(tmp_path / "progress.json"), interval=0.05)
    board.add("d0", "db-01", 0, SIZE)
    board.start()
    heard = []

    def progress(phase, percent):
        heard.append((phase, percent))
        board.reporter("d0")(phase, percent)

    output = str(tmp_path / "b1" / "disk-0.qcow2")
    transports.read_lun(run, opts(lun), output, progress=progress)
    assert heard and {phase for phase, _p in heard} == {"reading"} and heard[-1][1] == 100.0
    board.write()  # what the writer thread writes every interval; written here so as not to race it
    running = json.loads((tmp_path / "progress.json").read_text())
    assert running["finished"] is False
    assert running["lines"][1].startswith("db-01 disk 0: reading 4.0 GiB of 4.0 GiB (100.0%), ") and running["lines"][1].endswith("/s")
    board.done("d0", "copied")
    board.finish()
    final = json.loads((tmp_path / "progress.json").read_text())
    assert final["finished"] is True and final["lines"][1] == "db-01 disk 0: copied (4.0 GiB)"
    assert final["summary"].startswith("1 disk(s): 1 copied, 0 running, 0 waiting, 0 failed")
    assert oct(os.stat(tmp_path / "progress.json").st_mode & 0o777) == oct(0o600)
    # A failing command still fails as it would without progress, naming its step.
    with pytest.raises(transports.CopyError) as failed:
        transports.read_lun(run, opts(tmp_path / "absent.raw"), str(tmp_path / "b1" / "x.qcow2"), progress=progress)
    assert failed.value.step == "read" and "qemu-img convert exited 1" in failed.value.message
