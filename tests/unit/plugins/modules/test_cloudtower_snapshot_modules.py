# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_vm_snapshot, cloudtower_vm_snapshot_info and cloudtower_lun_snapshot_info against the simulator.

Each test runs a module's main() in-process against the CloudTower simulator
(tests/simulator) over real HTTP, and checks the result and the requests sent.
"""

from __future__ import annotations

import time

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils import snapshot_batch
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_lun_snapshot_info as lun_info_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_snapshot as snapshot_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_snapshot_info as info_module
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import TASK_SECONDS, run_module


def reset(sim, api_version="4.6.0", task_seconds=TASK_SECONDS, **config):
    sim.reset(state="demo", api_version=api_version, task_seconds=task_seconds, **config)


@pytest.fixture
def sim(simulator):
    reset(simulator)
    return simulator


def run(module, sim, capsys, check_mode=False, diff=False, **options):
    """(result, endpoints requested, mutating endpoints CloudTower accepted) of one module run."""
    done = run_module(module, sim, capsys, check_mode=check_mode, diff=diff, **options)
    return done.result, done.requested, done.accepted


def wait_idle(sim, limit=5.0):
    """Until no VM or snapshot shows an entityAsyncStatus, as between two tasks of a play."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        state = sim.state()
        if not any(r.get("entityAsyncStatus") for r in state["vms"] + state["vm_snapshots"]):
            return
        time.sleep(0.02)
    raise AssertionError("the simulator still shows busy resources after %ss" % limit)


def vms_named(sim, names):
    rows = sim.state("vms")["vms"]
    return [next(v for v in rows if v["name"] == n) for n in names]


# ----- cloudtower_vm_snapshot: batches --------------------------------------------------------------
def test_a_batch_of_twenty_vms_is_one_create_request_and_idempotent(simulator, capsys):
    reset(simulator, vms=34)
    options = dict(where={"name_starts_with": "vm-"}, name="nightly-{vm_name}")
    check, _sent, mutations = run(snapshot_module, simulator, capsys, check_mode=True, **options)
    assert check["changed"] and mutations == []
    assert [r["status"] for r in check["results"]] == ["would_create"] * 20

    applied, sent, mutations = run(snapshot_module, simulator, capsys, **options)
    assert applied["changed"] and mutations == ["create-vm-snapshot"]
    assert len(applied["actions"]) == 1 and len(applied["actions"][0]["task_ids"]) == 20
    assert {r["status"] for r in applied["results"]} == {"created"}
    assert [s["name"] for s in applied["snapshots"]] == ["nightly-vm-%05d" % n for n in range(14, 34)]
    assert all(s["vm_disks"] and s["vm"]["id"] == r["vm"]["id"] for s, r in zip(applied["snapshots"], applied["results"]))
    assert set(applied["results_by_vm_id"]) == {r["vm"]["id"] for r in applied["results"]}
    # reads, one create, then only task polls and the re-read (repeated while CloudTower still shows CREATING)
    assert sent[:4] == ["login", "get-vms", "get-vm-snapshots", "create-vm-snapshot"]
    assert set(sent[4:]) == {"get-tasks", "get-vm-snapshots"} and len(sent) <= 12

    again, sent, mutations = run(snapshot_module, simulator, capsys, **options)
    assert not again["changed"] and mutations == [] and len(sent) == 3
    assert {r["status"] for r in again["results"]} == {"exists"}
    assert [s["id"] for s in again["snapshots"]] == [s["id"] for s in applied["snapshots"]]
    check_again, _sent, mutations = run(snapshot_module, simulator, capsys, check_mode=True, **options)
    assert not check_again["changed"] and mutations == []


@pytest.mark.parametrize("options", [dict(vm="db-01"), dict(vm="db-01", cluster="cluster-a"), dict(vms=["db-01", "app-01"])])
def test_a_no_change_run_reads_only_the_snapshots(sim, capsys, options):
    name = "manual-before-upgrade" if "vm" in options else "n-{vm_name}"
    if "vms" in options:
        created, _sent, _mutations = run(snapshot_module, sim, capsys, name=name, **options)
        assert [r["status"] for r in created["results"]] == ["created", "created"]
        wait_idle(sim)
    result, sent, mutations = run(snapshot_module, sim, capsys, name=name, **options)
    assert not result["changed"] and mutations == [] and sent == ["login", "get-vm-snapshots"]
    wanted = [options["vm"]] if "vm" in options else options["vms"]
    assert [(r["vm"]["name"], r["status"]) for r in result["results"]] == [(vm, "exists") for vm in wanted]
    vm_ids = [vm["id"] for vm in vms_named(sim, wanted)]
    assert [r["vm"]["id"] for r in result["results"]] == vm_ids
    # The full records, as when the VMs are read first: the manifest needs their disks.
    assert all(s["vm_disks"] and s["local_id"] and s["cluster"]["id"] for s in result["snapshots"])


def test_a_no_change_run_by_vm_id_reads_only_the_snapshots(sim, capsys):
    db01 = vms_named(sim, ["db-01"])[0]
    result, sent, _mutations = run(snapshot_module, sim, capsys, vm=db01["id"], name="manual-before-upgrade")
    assert not result["changed"] and sent == ["login", "get-vm-snapshots"]
    assert result["results"][0]["vm"] == {"id": db01["id"], "name": "db-01"}


def test_a_snapshot_named_for_another_vm_is_not_taken_for_this_ones(sim, capsys):
    # db-01 holds backup-20240501T010000; asked of web-01 in the same cluster, the name is refused as before.
    result, sent, mutations = run(snapshot_module, sim, capsys, vm="web-01", name="backup-20240501T010000")
    assert result["failed"] and mutations == [] and "db-01" in result["msg"]
    assert sent == ["login", "get-vm-snapshots", "get-vms"]


def test_creating_costs_no_more_reads_than_before(sim, capsys):
    result, sent, _mutations = run(snapshot_module, sim, capsys, vms=["web-01", "db-01"], name="c-{vm_name}")
    assert result["changed"] and sent[:4] == ["login", "get-vm-snapshots", "get-vms", "create-vm-snapshot"]


def test_ids_with_a_vm_name_template_are_resolved_first(sim, capsys):
    ids = [vm["id"] for vm in vms_named(sim, ["web-01", "db-01"])]
    created, sent, _mutations = run(snapshot_module, sim, capsys, vms=ids, name="i-{vm_name}")
    assert sent[:4] == ["login", "get-vms", "get-vm-snapshots", "create-vm-snapshot"]
    wait_idle(sim)
    again, sent, _mutations = run(snapshot_module, sim, capsys, vms=ids, name="i-{vm_name}")
    assert not again["changed"] and sent == ["login", "get-vms", "get-vm-snapshots"]
    assert [s["id"] for s in again["snapshots"]] == [s["id"] for s in created["snapshots"]]


def test_an_ambiguous_vm_name_is_refused_unless_one_of_its_vms_holds_the_snapshot(sim, capsys):
    # Two VMs are named web-dup; the first holds checkpoint. A snapshot name is unique within a cluster,
    # so the one that holds it is the VM meant; any other name would need one of them picked, and fails.
    holder = vms_named(sim, ["web-dup"])[0]
    held, sent, _mutations = run(snapshot_module, sim, capsys, vm="web-dup", name="checkpoint")
    assert not held["changed"] and held["results"][0]["status"] == "exists" and held["results"][0]["vm"]["id"] == holder["id"]
    refused, sent, mutations = run(snapshot_module, sim, capsys, vm="web-dup", name="another")
    assert refused["failed"] and mutations == [] and refused["error"]["type"] == "ambiguous"
    assert sent == ["login", "get-vm-snapshots", "get-vms"]


def test_one_failed_vm_does_not_hide_the_others(simulator, capsys):
    reset(simulator, faults={"task_failures": [{"vm_name": "web-02", "operations": ["create-vm-snapshot"],
                                                "error_code": "SVT_SERVICE_NOT_CONNECTED", "error_message": "VMTools is not connected"}]})
    result, _sent, mutations = run(snapshot_module, simulator, capsys, vms=["web-01", "web-02", "db-01"], name="b-{vm_name}")
    assert result["failed"] and mutations == ["create-vm-snapshot"]
    assert [r["status"] for r in result["results"]] == ["created", "failed", "created"]
    assert [s["name"] for s in result["snapshots"]] == ["b-web-01", "b-db-01"]
    failure = result["failures"][0]
    assert failure["vm"]["name"] == "web-02" and failure["error_code"] == "SVT_SERVICE_NOT_CONNECTED" and failure["task_id"]
    assert "web-02" in result["msg"] and "VMTools is not connected" in result["msg"] and "1 of the requested" in result["msg"]
    # What was sent, and under which request id, so that CloudTower's support can find it.
    assert "Snapshot 'b-{vm_name}' of VMs web-01, web-02, db-01" in result["msg"]
    assert "create-vm-snapshot (x-tower-request-id: " in result["msg"] and failure["task_id"] in result["msg"]
    assert result["results"][1]["request"]["operation"] == "create-vm-snapshot" and result["results"][1]["request"]["request_id"]


def test_a_vm_locked_past_retry_timeout_does_not_keep_the_others_from_their_snapshots(simulator, capsys):
    reset(simulator, faults={"locks": [{"vm": "db-01", "seconds": 60}]})
    result, _sent, accepted = run(snapshot_module, simulator, capsys, vms=["web-01", "db-01", "app-01"], name="l-{vm_name}",
                                  retry_timeout=0.5)
    assert result["failed"] and accepted == ["create-vm-snapshot"]
    assert [(r["vm"]["name"], r["status"]) for r in result["results"]] == [("web-01", "created"), ("db-01", "failed"), ("app-01", "created")]
    assert "db-01" in result["msg"] and "locked" in result["msg"] and "x-tower-request-id" in result["msg"]


def test_names_without_a_placeholder_are_refused_before_any_request(sim, capsys):
    result, sent, _mutations = run(snapshot_module, sim, capsys, vms=["web-01", "db-01"], name="nightly")
    assert result["failed"] and sent == []
    assert "option 'name'" in result["msg"] and "{vm_name}" in result["msg"]


def test_a_name_held_by_another_vm_in_the_cluster_is_refused_naming_it(sim, capsys):
    result, _sent, mutations = run(snapshot_module, sim, capsys, vm="web-01", name="backup-20240501T010000")
    assert result["failed"] and mutations == []
    assert "db-01" in result["msg"] and "same cluster" in result["msg"]


def blind_to_existing_snapshots_once(monkeypatch):
    """The first snapshot read sees none, as when another run makes the snapshot between our read and our create."""
    real = snapshot_batch.find_snapshots
    calls = []

    def find_snapshots(client, **filters):
        calls.append(filters)
        return [] if len(calls) == 1 else real(client, **filters)
    monkeypatch.setattr(snapshot_batch, "find_snapshots", find_snapshots)


@pytest.mark.parametrize("refusal", ["task", "400"])
def test_a_run_that_loses_a_race_for_the_same_snapshot_reports_it_as_existing(simulator, capsys, monkeypatch, refusal):
    reset(simulator, settings={"snapshot_duplicate_name_error": refusal})
    options = dict(vms=["web-01", "db-01"], name="race-{vm_name}")
    winner, _sent, _mutations = run(snapshot_module, simulator, capsys, vms=["db-01"], name="race-{vm_name}")
    assert winner["changed"] and [r["status"] for r in winner["results"]] == ["created"]
    wait_idle(simulator)

    blind_to_existing_snapshots_once(monkeypatch)
    loser, _sent, accepted = run(snapshot_module, simulator, capsys, **options)
    assert not loser.get("failed"), loser["msg"] if loser.get("failed") else None
    assert [(r["vm"]["name"], r["status"], r["changed"]) for r in loser["results"]] == [
        ("web-01", "created", True), ("db-01", "exists", False)]
    assert loser["results"][1]["snapshot"]["id"] == winner["snapshots"][0]["id"]
    snapshots = [s["name"] for s in simulator.state("vm_snapshots")["vm_snapshots"]]
    assert snapshots.count("race-db-01") == 1 and snapshots.count("race-web-01") == 1
    # The refused batch is sent again without the snapshot that now exists; a failed task is not repeated.
    assert accepted == ["create-vm-snapshot"]


def test_a_duplicate_name_held_by_another_vm_still_fails(simulator, capsys, monkeypatch):
    reset(simulator)
    blind_to_existing_snapshots_once(monkeypatch)
    # backup-20240501T010000 belongs to db-01 in the demo state; web-01 shares its cluster.
    result, _sent, _mutations = run(snapshot_module, simulator, capsys, vm="web-01", name="backup-20240501T010000")
    assert result["failed"] and result["results"][0]["status"] == "failed"
    assert "VM_SNAPSHOT_DUPLICATE_NAME" in result["msg"]


# ----- consistency -----------------------------------------------------------------------------------------
def test_file_system_consistency_without_vmtools_fails_before_any_request_or_falls_back(sim, capsys):
    options = dict(vms=["web-01", "web-02"], name="fs-{vm_name}", consistent_type="file_system")
    refused, _sent, mutations = run(snapshot_module, sim, capsys, **options)
    assert refused["failed"] and mutations == []
    assert "web-02" in refused["msg"] and "NOT_INSTALLED" in refused["msg"] and "web-01 (" not in refused["msg"]

    fallback, _sent, mutations = run(snapshot_module, sim, capsys, fallback_to_crash_consistent=True, **options)
    assert mutations == ["create-vm-snapshot"]
    assert [s["consistent_type"] for s in fallback["snapshots"]] == ["FILE_SYSTEM_CONSISTENT", "CRASH_CONSISTENT"]
    assert any("web-02" in str(w) for w in fallback["warnings"])


# ----- retention ------------------------------------------------------------------------------------------
def test_retention_deletes_only_owned_snapshots_in_one_batch(sim, capsys):
    db01 = vms_named(sim, ["db-01"])[0]
    run(snapshot_module, sim, capsys, vm="db-01", name="backup-new-1")
    wait_idle(sim)
    result, _sent, mutations = run(snapshot_module, sim, capsys, vm="db-01", name="backup-new-2", retention_prefix="backup-", keep_last=2)
    assert mutations == ["create-vm-snapshot", "delete-vm-snapshot"]
    assert [(d["name"], d["status"], d["reason"]) for d in result["deleted"]] == [("backup-20240501T010000", "deleted", "beyond the newest 2")]
    left = sorted(s["name"] for s in sim.state("vm_snapshots")["vm_snapshots"] if (s.get("vm") or {}).get("id") == db01["id"])
    assert left == ["backup-new-1", "backup-new-2", "manual-before-upgrade"]


def test_keep_last_zero_is_refused_when_taking_a_snapshot(sim, capsys):
    result, sent, _mutations = run(snapshot_module, sim, capsys, vm="db-01", name="b-x", retention_prefix="b-", keep_last=0)
    assert result["failed"] and sent == [] and "keep_last" in result["msg"]


# ----- absent and wait: false ---------------------------------------------------------------------------------
def test_absent_by_name_is_idempotent_and_check_mode_sends_nothing(sim, capsys):
    options = dict(state="absent", vm="db-01", name="manual-before-upgrade")
    check, _sent, mutations = run(snapshot_module, sim, capsys, check_mode=True, **options)
    assert check["changed"] and mutations == [] and check["deleted"][0]["status"] == "would_delete"
    applied, _sent, mutations = run(snapshot_module, sim, capsys, **options)
    assert applied["changed"] and mutations == ["delete-vm-snapshot"] and applied["results"][0]["status"] == "deleted"
    again, _sent, mutations = run(snapshot_module, sim, capsys, **options)
    assert not again["changed"] and mutations == [] and again["results"][0]["status"] == "absent"


def test_wait_false_returns_the_tasks_without_waiting_for_them(simulator, capsys):
    reset(simulator, task_seconds=2.0, api_version="4.6.0")
    result, sent, _mutations = run(snapshot_module, simulator, capsys, vm="web-01", name="quick", wait=False)
    assert result["changed"] and result["results"][0]["status"] == "pending"
    assert result["tasks"][0]["status"] in ("PENDING", "EXECUTING") and sent.count("get-tasks") == 1
    assert result["snapshots"][0]["name"] == "quick"


# ----- revert ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("api_version", ["1.8.0", "4.6.0"])
def test_revert_stops_a_running_vm_then_rolls_back_on_every_version(simulator, capsys, api_version):
    reset(simulator, api_version=api_version)
    refused, _sent, mutations = run(snapshot_module, simulator, capsys, state="reverted", vm="web-01", name="pre-patch-2024-04")
    assert refused["failed"] and mutations == [] and "stop_vm" in refused["msg"]
    # Before 3.3, a rollback sent while the VM is still locked by its shutdown is accepted and then fails.
    result, _sent, mutations = run(snapshot_module, simulator, capsys, state="reverted", vm="web-01", name="pre-patch-2024-04", stop_vm=True)
    assert not result.get("failed"), result.get("msg")
    assert mutations == ["shutdown-vm", "rollback-vm"]
    assert result["vm"]["status"] == "STOPPED" and result["vm"]["entityAsyncStatus"] is None
    assert [t["status"] for t in result["tasks"]] == ["SUCCESSED", "SUCCESSED"]


def test_revert_powers_off_with_force_and_reports_a_failed_rollback(simulator, capsys):
    reset(simulator, faults={"task_failures": [{"vm_name": "web-01", "operations": ["rollback-vm"], "error_code": "VM_ROLLBACK_FAILED"}]})
    result, _sent, mutations = run(snapshot_module, simulator, capsys, state="reverted", vm="web-01", name="pre-patch-2024-04",
                                   stop_vm=True, force=True)
    assert mutations == ["poweroff-vm", "rollback-vm"]
    assert result["failed"] and "VM_ROLLBACK_FAILED" in result["msg"]


# ----- the info modules --------------------------------------------------------------------------------------------
def test_snapshot_info_filters_orders_and_projects(sim, capsys):
    result, _sent, mutations = run(info_module, sim, capsys, vms=["db-01", "web-01"], name_prefix="backup-",
                                   order_by="local_created_at_DESC", query="[].name")
    assert mutations == [] and result["count"] == 1 and result["query_result"] == ["backup-20240501T010000"]
    every, _sent, _mutations = run(info_module, sim, capsys, vm="db-01", order_by="local_created_at_DESC")
    assert [s["name"] for s in every["snapshots"]] == ["manual-before-upgrade", "backup-20240501T010000"]


def test_lun_snapshot_info_joins_every_disk_of_many_snapshots_in_three_requests(simulator, capsys):
    reset(simulator, vms=24)
    taken, _sent, _mutations = run(snapshot_module, simulator, capsys, where={"name_starts_with": "vm-"}, name="b-{vm_id}")
    wait_idle(simulator)
    ids = [s["id"] for s in taken["snapshots"]] + [s["id"] for s in simulator.state("vm_snapshots")["vm_snapshots"] if s["name"] == "backup-20240501T010000"]
    result, sent, mutations = run(lun_info_module, simulator, capsys, vm_snapshot_ids=ids, query="[?vm.name=='db-01'].disk.index")
    assert mutations == [] and sent == ["login", "get-vm-snapshots", "get-iscsi-lun-snapshots"]
    # ten generated VMs with one disk each, and db-01 with two disks and a CD-ROM (skipped)
    assert result["count"] == 12 and result["missing"] == [] and result["query_result"] == [0, 1]
    record = result["lun_snapshots"][0]
    assert record["name"] == record["disk"]["snapshot_local_id"] and record["matched_by"] == "name" and record["local_id"]
    assert record["vm_snapshot"] == {"id": ids[0], "name": taken["snapshots"][0]["name"]}


def test_lun_snapshot_info_by_names_or_local_ids(sim, capsys):
    luns = sim.state("iscsi_lun_snapshots")["iscsi_lun_snapshots"][:2]
    result, _sent, _mutations = run(lun_info_module, sim, capsys, names=[luns[0]["name"], luns[1]["local_id"], "nope"], fail_on_missing=False)
    assert [(r["id"], r["matched_by"]) for r in result["lun_snapshots"]] == [(luns[0]["id"], "name"), (luns[1]["id"], "local_id")]
    assert [m["key"] for m in result["missing"]] == ["nope"]
    failed, _sent, _mutations = run(lun_info_module, sim, capsys, names=["nope"])
    assert failed["failed"] and "nope" in failed["msg"]


def test_lun_snapshot_info_refuses_unknown_snapshot_ids(sim, capsys):
    result, _sent, _mutations = run(lun_info_module, sim, capsys, vm_snapshot_ids=["cnotasnapshot0000000000000"])
    assert result["failed"] and "vm_snapshot_ids" in result["msg"] and "cnotasnapshot0000000000000" in result["msg"]
