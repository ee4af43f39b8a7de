# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_backup_copy and cloudtower_backup_verify against a simulator serving real iSCSI (tgtd).

The snapshot, LUN snapshot and manifest modules make the snapshot manifests as the vm_backup role does; the copy
module reads the LUNs over the simulator's portal with qemu-img. Byte identity is proved with the simulator's own
digest of the LUN snapshot against the same digest of the backup converted back to raw by qemu-img.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils import repository as repo
from ansible_collections.smartx.cloudtower.plugins.module_utils import transports
from ansible_collections.smartx.cloudtower.plugins.module_utils import volume_export
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import iscsi
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import CloudTowerClient, ConnectionSettings
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_backup_copy as copy_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_backup_manifest as manifest_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_backup_verify as verify_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_lun_snapshot_info as lun_info_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_info as vm_info_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_snapshot as snapshot_module
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import (
    PASSWORD,
    TASK_SECONDS,
    USERNAME,
    call_module,
    run_module,
    start_simulator,
)

from ansible_collections.smartx.cloudtower.tests.simulator.ctsim import dataplane_deps  # pylint: disable=import-error
from ansible_collections.smartx.cloudtower.tests.simulator.ctsim.volumes_data import sparse_digest  # pylint: disable=import-error

REASON = dataplane_deps.portal_unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
VMS = ("db-01", "web-01")
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def portal_sim():
    sim = start_simulator(iscsi_portal="127.0.0.1:0", api_version="4.6.0")
    yield sim
    sim.stop()


def portal_of(sim):
    return sim.dataplane.portal.address


def take_backup(sim, capsys, tmp_path, name, vms=VMS):
    """The snapshot manifests of one backup of vms, as the role writes them: [path]."""
    records = run_module(vm_info_module, sim, capsys, where={"name_in": list(vms)}).result["vms"]
    snapshots = run_module(snapshot_module, sim, capsys, vms=list(vms), name=name + "-{vm_name}", consistent_type="crash").result
    ids = [r["snapshot"]["id"] for r in snapshots["results"]]
    luns = run_module(lun_info_module, sim, capsys, vm_snapshot_ids=ids).result["lun_snapshots"]
    options = dict(backup_dir=str(tmp_path / "manifests"), cloudtower_host=sim.url, vms=records,
                   snapshot_results=snapshots["results"], lun_snapshots=luns)
    written = call_module(manifest_module, capsys, options)
    return [m["path"] for m in written["manifests"]], luns


def copy(sim, capsys, repository, manifests, check_mode=False, **options):
    # These tests are about the iSCSI transport (auto would pick export on 4.6); test_export_... sets its own.
    options.setdefault("transport", "iscsi")
    return run_module(copy_module, sim, capsys, check_mode=check_mode, repository=str(repository), manifests=manifests,
                      iscsi_portal=portal_of(sim), host_label="unit", **options)


def raw_digest(path, tmp_path):
    """The simulator's digest of what a restore of path reads (qemu-img converts the chain to raw)."""
    raw = tmp_path / ("restore-%s.raw" % os.path.basename(os.path.dirname(path)))
    subprocess.run(["qemu-img", "convert", "-O", "raw", path, str(raw)], check=True)
    try:
        return sparse_digest(str(raw))
    finally:
        raw.unlink()


def disk_files(run):
    backups = [b for b in run.result["backups"] if b["status"] == "copied"]
    return [os.path.join(b["path"], "disk-0.qcow2") for b in backups]


def test_full_then_incremental_backups_are_byte_identical_and_small(portal_sim, capsys, tmp_path):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    repository = tmp_path / "repo"
    manifests, luns = take_backup(portal_sim, capsys, tmp_path, "b1")
    first = copy(portal_sim, capsys, repository, manifests)
    assert not first.result.get("failed"), first.result.get("msg")
    assert [b["status"] for b in first.result["backups"]] == ["copied", "copied"]
    # Accepted, not sent: a delete refused with ResourceLocked (the clone's lock lingers a moment) is sent again.
    assert first.accepted.count("create-iscsi-target") == 1
    assert first.accepted.count("clone-iscsi-lun-from-snapshot") == first.accepted.count("delete-iscsi-lun") == len(luns)
    for lun in luns:
        backup = next(b for b in first.result["backups"] if b["vm"]["id"] == lun["vm"]["id"])
        path = os.path.join(backup["path"], "disk-%s.qcow2" % lun["disk"]["index"])
        assert raw_digest(path, tmp_path) == portal_sim.volume_digest(lun["id"])["digest"]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
        assert stat.S_IMODE(os.stat(backup["path"]).st_mode) == 0o750
        manifest = json.load(open(os.path.join(backup["path"], "manifest.json")))
        assert manifest["repository"]["complete"] is True
    # No clone is left in the backup target; it is open to this host only.
    state = portal_sim.state()
    target = next(t for t in state["iscsi_targets"] if t["name"] == "smartx-cloudtower-backup-unit")
    assert not [lun for lun in state["iscsi_luns"] if (lun.get("iscsi_target") or {}).get("id") == target["id"]]
    assert target["ip_whitelist"] == "127.0.0.1" and target["iqn_whitelist"].endswith(":backup-unit")

    # A guest writes 16 MiB; the next backup stores about that much, backed by the first.
    db_volume = next(lun for lun in luns if lun["vm"]["name"] == "db-01")["iscsi_lun"]["id"]
    portal_sim.write_volume(db_volume, {"offset": 512 * MIB, "pattern": "guest-write", "length": 16 * MIB})
    manifests, luns = take_backup(portal_sim, capsys, tmp_path, "b2")
    second = copy(portal_sim, capsys, repository, manifests)
    assert not second.result.get("failed"), second.result.get("msg")
    db = next(b for b in second.result["backups"] if b["vm"]["name"] == "db-01")
    manifest = json.load(open(os.path.join(db["path"], "manifest.json")))
    entry = manifest["disks"][0]["backup"]
    assert entry["backing"].startswith("../") and entry["chain_depth"] == 1
    assert 16 * MIB <= entry["stored_size"] <= 32 * MIB
    lun = next(lun for lun in luns if lun["vm"]["name"] == "db-01" and lun["disk"]["index"] == 0)
    assert raw_digest(os.path.join(db["path"], "disk-0.qcow2"), tmp_path) == portal_sim.volume_digest(lun["id"])["digest"]

    # Verify reads every backup of db-01 through its chain; a flipped byte is caught.
    ok = call_module(verify_module, capsys, dict(repository=str(repository), vm="db-01", backup="all"))
    assert not ok.get("failed"), ok.get("msg")
    assert [b["status"] for b in ok["backups"]] == ["ok", "ok"]
    first_db = os.path.join(os.path.dirname(db["path"]), "b1-db-01", "disk-0.qcow2")
    with open(first_db, "r+b") as stream:
        stream.seek(os.path.getsize(first_db) - 4096)
        stream.write(b"\xff" * 16)
    bad = call_module(verify_module, capsys, dict(repository=str(repository), vm="db-01", backup="all"))
    assert bad["failed"] and "db-01" in bad["msg"] and "disk 0" in bad["msg"]
    assert [b["status"] for b in bad["backups"]] == ["failed", "failed"]


def test_check_apply_again_check_through_the_request_log(portal_sim, capsys, tmp_path):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    repository = tmp_path / "repo"
    manifests, luns = take_backup(portal_sim, capsys, tmp_path, "c1", vms=("web-01",))
    planned = copy(portal_sim, capsys, repository, manifests, check_mode=True)
    assert planned.result["changed"] and [b["status"] for b in planned.result["backups"]] == ["planned"]
    assert planned.sent == [] and planned.requested == []  # check mode does not even read
    assert not os.path.exists(repository / "cluster-a")
    applied = copy(portal_sim, capsys, repository, manifests)
    assert applied.result["changed"] and [b["status"] for b in applied.result["backups"]] == ["copied"]
    assert sorted(set(applied.accepted)) == ["clone-iscsi-lun-from-snapshot", "create-iscsi-target", "delete-iscsi-lun"]
    assert applied.accepted.count("clone-iscsi-lun-from-snapshot") == len(luns)
    again = copy(portal_sim, capsys, repository, manifests)
    assert [b["status"] for b in again.result["backups"]] == ["exists"] and not again.result["changed"]
    assert again.sent == [] and again.result["succeeded_vm_ids"] == [luns[0]["vm"]["id"]]
    checked = copy(portal_sim, capsys, repository, manifests, check_mode=True)
    assert [b["status"] for b in checked.result["backups"]] == ["exists"] and not checked.result["changed"]
    assert checked.sent == []


def test_leftover_clones_and_temporary_files_are_removed(portal_sim, capsys, tmp_path):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    repository = tmp_path / "repo"
    manifests, luns = take_backup(portal_sim, capsys, tmp_path, "d1", vms=("web-01",))
    copy(portal_sim, capsys, repository, manifests)
    # An interrupted run: a clone left in our target, a half-written file in a backup directory.
    target = next(t for t in portal_sim.state()["iscsi_targets"] if t["name"] == "smartx-cloudtower-backup-unit")
    leftover = run_module(lun_info_module, portal_sim, capsys, names=[luns[0]["name"]]).result["lun_snapshots"][0]
    client = CloudTowerClient(ConnectionSettings(portal_sim.url, USERNAME, PASSWORD))
    client.call("clone-iscsi-lun-from-snapshot", [{"iscsi_target_id": target["id"], "name": "smartx-cloudtower-backup-old",
                                                   "snapshot_id": leftover["id"]}])
    manifests, dummy = take_backup(portal_sim, capsys, tmp_path, "d2", vms=("web-01",))
    vm_dir = next(os.path.join(root, d) for root, dirs, dummy in os.walk(repository) for d in dirs if d.startswith("web-01-"))
    os.makedirs(os.path.join(vm_dir, "d2-web-01"), exist_ok=True)
    stale = os.path.join(vm_dir, "d2-web-01", ".disk-0.qcow2.0badcafe.tmp")
    open(stale, "w").close()
    run = copy(portal_sim, capsys, repository, manifests)
    assert not run.result.get("failed"), run.result.get("msg")
    assert [lun["name"] for lun in run.result["leftovers_removed"]] == ["smartx-cloudtower-backup-old"]
    assert stale in run.result["temporary_files_removed"] and not os.path.exists(stale)


def test_a_failing_clone_fails_only_its_vm_and_names_disk_step_and_request(portal_sim, capsys, tmp_path):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    repository = tmp_path / "repo"
    manifests, dummy = take_backup(portal_sim, capsys, tmp_path, "e1")
    portal_sim.set_faults({"http_errors": [{"status": 500, "nth": 1, "endpoints": ["clone-iscsi-lun-from-snapshot"]}]})
    run = copy(portal_sim, capsys, repository, manifests, parallel_disks=1)
    portal_sim.set_faults({})
    assert run.result["failed"]
    statuses = sorted(b["status"] for b in run.result["backups"])
    assert statuses == ["copied", "failed"]
    failure = run.result["failed_vms"][0]
    assert failure["step"] == "clone" and failure["disk"] == 0 and "x-tower-request-id" in failure["message"]
    failed = next(b for b in run.result["backups"] if b["status"] == "failed")
    assert not os.path.exists(os.path.join(failed["path"], "manifest.json"))


def test_a_copy_that_does_not_verify_is_not_kept_and_its_clone_is_deleted_all_the_same(portal_sim, capsys, tmp_path, monkeypatch):
    # The clone is deleted beside the verification (copy_disk): a verification that fails must still see it gone
    # before the module returns, and the file must never get its final name.
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    repository = tmp_path / "repo"
    manifests, dummy = take_backup(portal_sim, capsys, tmp_path, "v1", vms=("web-01",))
    monkeypatch.setattr(transports, "check_image", lambda runner, path: "qemu-img check: 1 corruption(s), 0 error(s)")
    run = copy(portal_sim, capsys, repository, manifests)
    assert run.result["failed"]
    failure = run.result["failed_vms"][0]
    assert failure["step"] == "verify" and failure["disk"] == 0 and "1 corruption(s)" in failure["message"]
    backup = run.result["backups"][0]
    assert backup["status"] == "failed"
    assert not [name for name in ("disk-0.qcow2", "manifest.json") if os.path.exists(os.path.join(backup["path"], name))]
    assert [lun for lun in portal_sim.state()["iscsi_luns"] if lun["name"].startswith("smartx-cloudtower-backup-")] == []
    assert "delete-iscsi-lun" in run.sent and run.result["clones_not_deleted"] == []


def wait_for(probe, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.02)
    return None


def test_a_copy_killed_mid_read_claims_nothing_and_the_next_run_cleans_up_but_not_a_live_run(portal_sim, capsys, tmp_path):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    repository = tmp_path / "repo"
    manifests, luns = take_backup(portal_sim, capsys, tmp_path, "k1", vms=("db-01",))
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(repository=str(repository), manifests=manifests, host_label="unit",
                                                            iscsi_portal=portal_of(portal_sim), parallel_disks=1,
                                                            transport="iscsi")}))
    # The credentials go through the environment (readable by this user only), never a file or the command line.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), CLOUDTOWER_HOST=portal_sim.url, CLOUDTOWER_USERNAME=USERNAME,
               CLOUDTOWER_PASSWORD=PASSWORD)
    # The portal drops the read after a moment and refuses reconnects for a while: the copy is caught mid-read.
    portal_sim.set_dataplane_faults({"iscsi_drops": [{"after_seconds": 0.5, "refuse_seconds": 30, "next": 1}]})
    module = "ansible_collections.smartx.cloudtower.plugins.modules.cloudtower_backup_copy"
    with subprocess.Popen([sys.executable, "-m", module, str(args)], env=env, start_new_session=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        try:
            temporary = wait_for(lambda: glob.glob(str(repository / "*" / "*" / "*" / ".*.tmp")), 60)
        finally:
            os.killpg(child.pid, signal.SIGKILL)  # the module and its qemu-img, as a killed job would lose them
            child.wait()
    portal_sim.set_dataplane_faults({})
    assert temporary, "the copy never started writing: %s" % child.stderr.read()[-2000:]
    assert not glob.glob(str(repository / "**" / "manifest.json"), recursive=True)
    killed_clones = [lun["name"] for lun in portal_sim.state()["iscsi_luns"] if lun["name"].startswith(iscsi.BACKUP_PREFIX)]
    assert len(killed_clones) == 1

    # Another run of this host, alive: its clone and its temporary file must outlive the next run's cleanup.
    registry = repo.RunRegistry()
    live = registry.start()
    try:
        target = next(t for t in portal_sim.state()["iscsi_targets"] if t["name"] == "smartx-cloudtower-backup-unit")
        vm_id = luns[0]["vm"]["id"]
        client = CloudTowerClient(ConnectionSettings(portal_sim.url, USERNAME, PASSWORD))
        client.call("clone-iscsi-lun-from-snapshot", [{"iscsi_target_id": target["id"], "name": iscsi.clone_name(vm_id, 7, live),
                                                       "snapshot_id": luns[0]["id"]}])
        live_file = os.path.join(os.path.dirname(temporary[0]), ".disk-7.qcow2.%s.tmp" % live)
        open(live_file, "w").close()
        run = copy(portal_sim, capsys, repository, manifests)
        assert not run.result.get("failed"), run.result.get("msg")
        assert [lun["name"] for lun in run.result["leftovers_removed"]] == killed_clones
        assert [lun["name"] for lun in run.result["clones_of_live_runs"]] == [iscsi.clone_name(vm_id, 7, live)]
        assert set(temporary) <= set(run.result["temporary_files_removed"]) and os.path.exists(live_file)
        assert not [path for path in temporary if os.path.exists(path)]
    finally:
        registry.finish(live)
    backup = run.result["backups"][0]
    assert backup["status"] == "copied"
    assert raw_digest(os.path.join(backup["path"], "disk-0.qcow2"), tmp_path) == portal_sim.volume_digest(luns[0]["id"])["digest"]


def test_chap_is_set_on_the_target_and_its_secret_stays_off_command_lines_logs_and_results(portal_sim, capsys, tmp_path, monkeypatch):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    secret = "chap-" + os.urandom(5).hex()  # 15 characters
    commands = []
    real_popen = subprocess.Popen

    def spy(argv, *args, **kwargs):
        commands.append([a.decode() if isinstance(a, bytes) else str(a) for a in argv])  # run_command passes bytes
        return real_popen(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)  # subprocess.run goes through Popen too
    repository = tmp_path / "repo"
    manifests, luns = take_backup(portal_sim, capsys, tmp_path, "h1", vms=("web-01",))
    run = copy(portal_sim, capsys, repository, manifests, chap_name="backup-unit", chap_secret=secret)
    assert not run.result.get("failed"), run.result.get("msg")
    target = next(t for t in portal_sim.state()["iscsi_targets"] if t["name"] == "smartx-cloudtower-backup-unit")
    assert target["chap_enabled"] and target["chap_name"] == "backup-unit"
    backup = run.result["backups"][0]
    assert raw_digest(os.path.join(backup["path"], "disk-0.qcow2"), tmp_path) == portal_sim.volume_digest(luns[0]["id"])["digest"]
    reads = [argv for argv in commands if "--image-opts" in argv and any("driver=iscsi" in a for a in argv)]
    assert reads and all(any(a.startswith("secret,id=chap0,file=/dev/fd/") for a in argv) for argv in reads)
    # (The in-process simulator's own tgtadm calls, the cluster's side, are not the backup host's commands.)
    ours = [argv for argv in commands if os.path.basename(argv[0]).startswith("qemu")]
    assert ours and not [argv for argv in ours if any(secret in a for a in argv)]
    assert secret not in json.dumps(run.result) and secret not in json.dumps(portal_sim.requests())
    assert not [p for p in glob.glob(str(tmp_path / "**" / "*"), recursive=True) if os.path.isfile(p) and secret.encode() in open(p, "rb").read()]
    # The same CHAP again: nothing to change. Without CHAP, the target is set back to the whitelist alone.
    manifests, luns = take_backup(portal_sim, capsys, tmp_path, "h2", vms=("web-01",))
    again = copy(portal_sim, capsys, repository, manifests, chap_name="backup-unit", chap_secret=secret)
    assert not again.result.get("failed") and "update-iscsi-target" not in again.sent and again.result["targets"] == []
    manifests, luns = take_backup(portal_sim, capsys, tmp_path, "h3", vms=("web-01",))
    plain = copy(portal_sim, capsys, repository, manifests)
    assert [t["action"] for t in plain.result["targets"]] == ["restricted"] and not plain.result.get("failed")
    assert not next(t for t in portal_sim.state()["iscsi_targets"] if t["name"] == "smartx-cloudtower-backup-unit")["chap_enabled"]
    half = copy(portal_sim, capsys, repository, manifests, chap_name="backup-unit")
    assert half.result["failed"] and half.result["error"]["option"] == "chap_secret" and half.sent == []


def test_export_copies_each_disk_from_its_volume_snapshot_resumes_a_dropped_download_and_leaves_no_volume(portal_sim, capsys, tmp_path):
    """auto on 4.6 is export: a temporary volume rebuilt from each disk's VM volume snapshot, exported as QCOW2 and
    downloaded (one download dropped mid-file and resumed), the increment rebased on the previous backup - an iSCSI
    one - and every temporary volume deleted, a dead run's leftover too, a live run's not."""
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    repository = tmp_path / "repo"
    manifests, luns = take_backup(portal_sim, capsys, tmp_path, "e1", vms=("db-01",))
    assert not copy(portal_sim, capsys, repository, manifests).result.get("failed")
    db_volume = luns[0]["iscsi_lun"]["id"]
    portal_sim.write_volume(db_volume, {"offset": 256 * MIB, "pattern": "guest-write", "length": 4 * MIB})
    manifests, luns = take_backup(portal_sim, capsys, tmp_path, "e2", vms=("db-01",))
    client = CloudTowerClient(ConnectionSettings(portal_sim.url, USERNAME, PASSWORD))
    cluster_id = portal_sim.state("vms")["vms"][0]["cluster"]["id"]
    registry = repo.RunRegistry()
    live = registry.start()
    dead = "0badc0de"
    for token in (dead, live):
        client.call("create-vm-volume", [{"cluster_id": cluster_id, "name": volume_export.temporary_volume_name("x", 0, token),
                                          "size": MIB, "sharing": False, "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}])
    portal_sim.set_dataplane_faults({"download_truncations": [{"after_bytes": 65536, "next": 1}]})
    try:
        run = copy(portal_sim, capsys, repository, manifests, transport="auto")
        events = portal_sim.dataplane_faults()["events"]
    finally:
        registry.finish(live)
        portal_sim.set_dataplane_faults({})
    assert not run.result.get("failed"), run.result.get("msg")
    assert run.result["transport"] == "export"
    assert [v["name"] for v in run.result["leftovers_removed"]] == [volume_export.temporary_volume_name("x", 0, dead)]
    assert [v["name"] for v in run.result["clones_of_live_runs"]] == [volume_export.temporary_volume_name("x", 0, live)]
    assert "clone-iscsi-lun-from-snapshot" not in run.accepted
    for operation in ("rebuild-vm-volume", "export-vm-volume"):
        assert run.accepted.count(operation) == len(luns)
    backup = run.result["backups"][0]
    manifest = json.load(open(os.path.join(backup["path"], "manifest.json")))
    assert manifest["repository"]["transport"] == "export"
    for disk in manifest["disks"]:
        lun = next(lun for lun in luns if lun["disk"]["index"] == disk["index"])
        assert disk["backup"]["transport"] == "export" and disk["backup"]["backing"].startswith("../e1-db-01/")
        assert raw_digest(os.path.join(backup["path"], disk["backup"]["file"]), tmp_path) == portal_sim.volume_digest(lun["id"])["digest"]
    assert manifest["disks"][0]["backup"]["stored_size"] <= 8 * MIB
    assert [event["kind"] for event in events] == ["download_truncate"]
    ours = [v["name"] for v in portal_sim.state("vm_volumes")["vm_volumes"] if v["name"].startswith(iscsi.BACKUP_PREFIX)]
    assert ours == [volume_export.temporary_volume_name("x", 0, live)]
    assert not glob.glob(str(repository / "**" / ".*.tmp"), recursive=True)


def test_export_is_refused_before_any_change_where_cloudtower_has_none(portal_sim, capsys, tmp_path):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS, api_version="1.10.0")
    try:
        manifests, _luns = take_backup(portal_sim, capsys, tmp_path, "x1", vms=("db-01",))
        portal_sim.clear_requests()
        run = copy(portal_sim, capsys, tmp_path / "repo", manifests, transport="export")
        assert run.result["failed"] and "transport" in run.result["msg"] and "export" in run.result["msg"]
        assert not [r for r in portal_sim.requests() if r["mutating"]]
    finally:
        portal_sim.reset(state="demo", task_seconds=TASK_SECONDS, api_version="4.6.0")


def test_an_export_whose_md5_differs_is_refused_and_its_temporary_volume_deleted(portal_sim, capsys, tmp_path, monkeypatch):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    manifests, _luns = take_backup(portal_sim, capsys, tmp_path, "m1", vms=("web-01",))
    monkeypatch.setattr(volume_export, "listed_md5", lambda _export_file: "0" * 32)
    run = copy(portal_sim, capsys, tmp_path / "repo", manifests, transport="export", fail_on_error=False)
    failure = run.result["failed_vms"][0]
    assert (failure["step"], run.result["backups"][0]["status"]) == ("read", "failed") and "md5" in failure["message"]
    assert not glob.glob(str(tmp_path / "repo" / "**" / "manifest.json"), recursive=True)
    assert not glob.glob(str(tmp_path / "repo" / "**" / ".*.export.tmp"), recursive=True)
    assert not [v for v in portal_sim.state("vm_volumes")["vm_volumes"] if v["name"].startswith(iscsi.BACKUP_PREFIX)]


def test_a_failed_rebuild_fails_its_vm_at_the_clone_step_and_the_other_vm_is_copied(portal_sim, capsys, tmp_path):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    manifests, _luns = take_backup(portal_sim, capsys, tmp_path, "f1")
    portal_sim.set_faults({"task_failures": [{"operations": ["rebuild-vm-volume"], "nth": 1}]})
    try:
        run = copy(portal_sim, capsys, tmp_path / "repo", manifests, transport="export", fail_on_error=False, parallel_disks=1)
    finally:
        portal_sim.set_faults({})
    assert [b["status"] for b in run.result["backups"]].count("copied") == 1
    failure = run.result["failed_vms"][0]
    assert failure["step"] == "clone" and "x-tower-request-id" in failure["message"]
    assert not [v for v in portal_sim.state("vm_volumes")["vm_volumes"] if v["name"].startswith(iscsi.BACKUP_PREFIX)]
