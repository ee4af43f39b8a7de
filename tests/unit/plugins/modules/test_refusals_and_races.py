# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 19, in-process against the simulator: refusals come before the first mutation (the request log proves
it), a snapshot still being created is not taken for done, and a lost create reply or a race of creators leaves
exactly one VM.
"""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils import vm_reconciler
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_lun_snapshot_info as lun_info_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_task_info as task_info_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm as vm_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_info as vm_info_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_snapshot as snapshot_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_snapshot_info as snapshot_info_module
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import PASSWORD, USERNAME, Run, call_module, request_log, run_module


@pytest.fixture
def sim(simulator):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    return simulator


def refused(done, option, *words):
    """The run failed naming option (and words), with error.option set for the roles, and sent no mutation."""
    result = done.result
    assert result.get("failed"), result
    assert done.sent == [], done.sent
    assert "'%s'" % option in result["msg"], result["msg"]
    assert result["error"]["option"] == option
    for word in words:
        assert word in result["msg"], result["msg"]


# ----- item 2: wait_timeout is judged before anything is sent ---------------------------------------------------
@pytest.mark.parametrize("options", [
    dict(vm="web-01", name="never"),
    dict(vm="web-01", state="absent", name="pre-patch-2024-04"),
    dict(vms=["db-01"], state="absent", retention_prefix="backup-", keep_last=1),
    dict(vm="db-01", state="reverted", name="manual-before-upgrade", stop_vm=True, force=True),
])
@pytest.mark.parametrize("timeout", [0, -30])
def test_a_wait_timeout_that_is_not_positive_is_refused_before_any_request(sim, capsys, options, timeout):
    done = run_module(snapshot_module, sim, capsys, wait_timeout=timeout, **options)
    refused(done, "wait_timeout", str(timeout))
    assert done.requested == []


def test_cloudtower_vm_refuses_a_bad_wait_timeout_before_any_request(sim, capsys):
    done = run_module(vm_module, sim, capsys, name="web-02", state="stopped", wait_timeout=0)
    refused(done, "wait_timeout")
    assert done.requested == []


# ----- item 3 and the audit: blank names are refused ----------------------------------------------------------------
@pytest.mark.parametrize("module, options, option", [
    (vm_module, dict(name="", cluster="cluster-a", vcpu=1, memory="1GiB"), "name"),
    (vm_module, dict(name="   ", cluster="cluster-a", vcpu=1, memory="1GiB"), "name"),
    (vm_module, dict(name="web-02", new_name=""), "new_name"),
    (vm_module, dict(name="web-02", new_name=" "), "new_name"),
    (vm_module, dict(id="", state="absent"), "id"),
    (vm_module, dict(name="new-vm", cluster="", vcpu=1, memory="1GiB"), "cluster"),
    (vm_module, dict(name="new-vm", cluster="cluster-a", clone_from=""), "clone_from"),
    (vm_module, dict(name="new-vm", cluster="cluster-a", from_snapshot=" "), "from_snapshot"),
    (vm_module, dict(name="web-02", host=""), "host"),
    (vm_module, dict(name="web-02", folder=""), "folder"),
    (vm_module, dict(name="new-vm", cluster="cluster-b", vcpu=1, memory="1GiB", nics=[{"vlan": ""}]), "nics[0].vlan"),
    (vm_module, dict(name="new-vm", cluster="cluster-b", vcpu=1, memory="1GiB", disks=[{"volume": " "}]), "disks[0].volume"),
    (vm_module, dict(name="new-vm", cluster="cluster-b", vcpu=1, memory="1GiB", disks=[{"type": "cdrom", "image": ""}]),
     "disks[0].image"),
    (snapshot_module, dict(vm="", name="snap"), "vm"),
    (snapshot_module, dict(vms=["web-01", ""], name="snap-{vm_name}"), "vms"),
    (snapshot_module, dict(vm="web-01", name=" "), "name"),
    (snapshot_module, dict(vm="web-01", name="snap", cluster=""), "cluster"),
    (snapshot_module, dict(vm="web-01", state="absent", id=""), "id"),
    (snapshot_module, dict(vm="web-01", state="absent", retention_prefix="  ", keep_last=1), "retention_prefix"),
    (snapshot_module, dict(vm="web-01", state="absent", retention_prefix="b-", older_than=""), "older_than"),
    (vm_info_module, dict(name=""), "name"),
    (vm_info_module, dict(names=["web-01", " "]), "names"),
    (vm_info_module, dict(cluster=""), "cluster"),
    (snapshot_info_module, dict(vm=""), "vm"),
    (snapshot_info_module, dict(name_prefix=""), "name_prefix"),
    (lun_info_module, dict(vm="", vm_snapshot_name="x"), "vm"),
    (lun_info_module, dict(vm_snapshot_ids=[""]), "vm_snapshot_ids"),
    (task_info_module, dict(id=" "), "id"),
])
def test_blank_names_are_refused_before_any_request(sim, capsys, module, options, option):
    done = run_module(module, sim, capsys, **options)
    refused(done, option, "empty or blank")
    assert done.requested == []
    assert not [vm for vm in sim.state("vms")["vms"] if not vm["name"].strip()]


def test_a_description_may_still_be_emptied(sim, capsys):
    done = run_module(vm_module, sim, capsys, name="web-02", description="")
    assert not done.result.get("failed"), done.result.get("msg")


# ----- item 5: user info in cloudtower_host ---------------------------------------------------------------------
def run_with_host(module, sim, capsys, host, **options):
    """run_module, with cloudtower_host given rather than the simulator's URL."""
    sim.clear_requests()
    result = call_module(module, capsys, dict(options, cloudtower_host=host, cloudtower_username=USERNAME, cloudtower_password=PASSWORD))
    log = request_log(sim)
    return Run(result, [r["endpoint"] for r in log], [r["endpoint"] for r in log if r.get("mutating")], [])


@pytest.mark.parametrize("host", ["http://ct-admin:{pw}@{hostport}", "https://ct-admin:{pw}@{hostport}/",
                                  "http://u:p@ss:{pw}@{hostport}"])
def test_user_info_in_the_host_url_is_refused_naming_the_option_and_never_printed(sim, capsys, host):
    url = host.format(pw="url-secret-9z", hostport=sim.url.split("://", 1)[1])
    done = run_with_host(vm_info_module, sim, capsys, url, name="web-01")
    result = done.result
    assert result.get("failed") and "'cloudtower_host'" in result["msg"], result
    assert "user name or password" in result["msg"] and "cloudtower_username" in result["msg"]
    assert done.requested == []
    printed = str(result)
    assert "url-secret-9z" not in printed and "u:p@ss" not in printed and PASSWORD not in printed


def test_user_info_for_an_unreachable_host_is_not_printed_either(sim, capsys):
    done = run_with_host(vm_info_module, sim, capsys, "https://admin:url-secret-9z@127.0.0.1:9", name="web-01", retry_timeout=0)
    assert done.result.get("failed") and "url-secret-9z" not in str(done.result)
    assert done.result["error"]["option"] == "cloudtower_host"


# ----- item 1: a snapshot still being created is not done ---------------------------------------------------------
def snapshot_named(sim, name):
    return [s for s in sim.state("vm_snapshots")["vm_snapshots"] if s["name"] == name]


def test_a_snapshot_still_being_created_is_waited_for_not_taken_as_done(sim, capsys):
    sim.reset(state="demo", api_version="4.6.0", task_seconds=1.0)
    first = run_module(snapshot_module, sim, capsys, vm="web-01", name="nightly-{vm_name}", wait=False)
    assert first.result["results"][0]["status"] == "pending"

    again = run_module(snapshot_module, sim, capsys, vm="web-01", name="nightly-{vm_name}")
    entry = again.result["results"][0]
    assert not again.result.get("failed"), again.result["msg"]
    assert entry["status"] == "exists" and not again.result["changed"] and again.sent == []
    # Reported once CloudTower shows it done, with its disks' LUN snapshots in place.
    assert entry["snapshot"]["entityAsyncStatus"] is None
    luns = run_module(lun_info_module, sim, capsys, vm_snapshot_ids=[entry["snapshot"]["id"]])
    assert not luns.result.get("failed"), luns.result.get("msg")


def test_a_snapshot_whose_earlier_task_fails_is_made_again_and_its_outcome_reported(sim, capsys):
    sim.reset(state="demo", api_version="4.6.0", task_seconds=1.0)
    sim.set_faults({"task_failures": [{"vm_name": "web-01", "operations": ["create-vm-snapshot"], "share": 1.0,
                                       "error_code": "ZBS_IO_ERROR", "error_message": "simulated"}]})
    first = run_module(snapshot_module, sim, capsys, vm="web-01", name="nightly-{vm_name}", wait=False)
    assert first.result["results"][0]["status"] == "pending"
    sim.set_faults({})

    again = run_module(snapshot_module, sim, capsys, vm="web-01", name="nightly-{vm_name}")
    assert not again.result.get("failed"), again.result["msg"]
    assert again.result["results"][0]["status"] == "created" and again.result["changed"]
    # On a loaded machine the VM can still be locked by the failed task's rollback: a ResourceLocked refusal is
    # sent again by the client, so what counts is what CloudTower accepted.
    assert again.accepted == ["create-vm-snapshot"]
    assert len(snapshot_named(sim, "nightly-web-01")) == 1


def test_a_snapshot_still_busy_after_wait_timeout_is_reported_timed_out(sim, capsys):
    sim.reset(state="demo", api_version="4.6.0", task_seconds=5.0)
    run_module(snapshot_module, sim, capsys, vm="web-01", name="slow-{vm_name}", wait=False)
    again = run_module(snapshot_module, sim, capsys, vm="web-01", name="slow-{vm_name}", wait_timeout=1)
    assert again.result.get("failed") and again.result["results"][0]["status"] == "timed_out"
    assert "slow-web-01" in again.result["msg"] and "wait_timeout" in again.result["msg"]
    assert again.sent == []


def test_with_wait_false_a_snapshot_still_being_created_is_pending(sim, capsys):
    sim.reset(state="demo", api_version="4.6.0", task_seconds=2.0)
    run_module(snapshot_module, sim, capsys, vm="web-01", name="nowait-{vm_name}", wait=False)
    again = run_module(snapshot_module, sim, capsys, vm="web-01", name="nowait-{vm_name}", wait=False)
    assert again.result["results"][0]["status"] == "pending" and not again.result["changed"] and again.sent == []


# ----- item 6: a lost create reply, and creators racing for one VM ----------------------------------------------------
NEW_VM = dict(name="race-vm", cluster="cluster-b", vcpu=1, memory="1GiB", state="present")


def vms_called(sim, name):
    return [vm for vm in sim.state("vms")["vms"] if vm["name"] == name and not vm.get("in_recycle_bin")]


def test_a_create_whose_reply_was_lost_finds_the_vm_it_made(sim, capsys):
    # The server carries the create out but answers after request_timeout: the reply is lost.
    sim.set_faults({"latency": [{"ms": 1500, "endpoints": ["create-vm"]}]})
    lost = run_module(vm_module, sim, capsys, request_timeout=0.5, **NEW_VM)
    sim.set_faults({})
    assert not lost.result.get("failed"), lost.result["msg"]
    assert lost.result["changed"] and lost.result["vm"]["name"] == "race-vm"
    assert len(vms_called(sim, "race-vm")) == 1

    again = run_module(vm_module, sim, capsys, **NEW_VM)
    assert not again.result["changed"] and again.sent == []
    assert len(vms_called(sim, "race-vm")) == 1


def test_a_rerun_right_after_a_lost_reply_makes_no_second_vm(sim, capsys, monkeypatch):
    sim.reset(state="demo", api_version="4.6.0", task_seconds=0.3)
    first = run_module(vm_module, sim, capsys, **NEW_VM)
    assert first.sent == ["create-vm"]
    # A second run that did not see the first one's VM (its create had not reached CloudTower when it looked).
    real_find = vm_reconciler.VM.find
    calls = []

    def blind_find(client, option, value, scope=None):
        calls.append(option)
        return None if len(calls) == 1 else real_find(client, option, value, scope)
    monkeypatch.setattr(vm_reconciler.VM, "find", blind_find)
    second = run_module(vm_module, sim, capsys, **NEW_VM)
    assert not second.result.get("failed"), second.result["msg"]
    survivors = vms_called(sim, "race-vm")
    assert len(survivors) == 1 and second.result["vm"]["id"] == survivors[0]["id"] == first.result["vm"]["id"]
    assert second.result["changed"]


# ----- item 8: same-named VMs in one batch ------------------------------------------------------------------------
def test_same_named_vms_get_their_id_appended_only_where_names_collide_and_keep_it(sim, capsys):
    options = dict(where={"name_in": ["web-dup", "db-01"]}, name="b-{vm_name}-T1", name_collision="append_vm_id")
    dups = sorted(vm["id"] for vm in sim.state("vms")["vms"] if vm["name"] == "web-dup")
    first = run_module(snapshot_module, sim, capsys, **options)
    assert not first.result.get("failed"), first.result["msg"]
    names = sorted(r["name"] for r in first.result["results"])
    assert names == sorted(["b-db-01-T1"] + ["b-web-dup-T1-%s" % vm_id for vm_id in dups])
    assert first.sent == ["create-vm-snapshot"]

    again = run_module(snapshot_module, sim, capsys, **options)
    assert not again.result["changed"] and again.sent == []
    assert sorted(r["name"] for r in again.result["results"]) == names


def test_same_named_vms_are_still_refused_by_default_before_any_request(sim, capsys):
    done = run_module(snapshot_module, sim, capsys, where={"name": "web-dup"}, name="b-{vm_name}-T1")
    refused(done, "name", "web-dup")
