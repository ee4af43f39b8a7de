# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_vm moving a VM to another cluster with migrate_across_clusters (issue 18, CloudTower API 4.6)."""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm as vm_module
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import request_log, run_module

# web-02 runs in cluster-a on node-a2 with one NIC on vm-network; db-02 is stopped there with one NIC on vm-network.
MOVE = dict(name="web-02", cluster="cluster-b", migrate_across_clusters=True, nics=[{"vlan": "prod-vlan-100"}])


def move(**changes):
    """MOVE with some options changed (None leaves an option out)."""
    task = dict(MOVE)
    task.update(changes)
    return {key: value for key, value in task.items() if value is not None}


def vms_named(sim, name):
    return [vm for vm in sim.state("vms")["vms"] if vm["name"] == name]


def sent_body(sim):
    return [entry for entry in request_log(sim) if entry["endpoint"] == "migrate-vm-across-cluster"][0]["body"]


def test_a_running_vm_moves_live_and_the_rest_of_the_task_applies_in_its_new_cluster(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    task = dict(MOVE, vcpu=4, folder="production", state="running")
    check = run_module(vm_module, simulator, capsys, check_mode=True, diff=True, **task)
    assert check.result["changed"] and check.sent == []
    assert [a["operation"] for a in check.result["actions"]] == ["migrate-vm-across-cluster"]
    assert check.result["diff"] == {"before": {"cluster": "cluster-a"}, "after": {"cluster": "cluster-b"}}
    moved = run_module(vm_module, simulator, capsys, **task)
    assert moved.sent == ["migrate-vm-across-cluster", "update-vm-basic-info", "add-vm-to-folder"], moved.result
    body = sent_body(simulator)
    assert body["data"]["vm_config"]["migrate_type"] == "LIVE_MIGRATE" and body["data"]["vm_config"]["delete_src_vm"] is True
    assert body["data"]["vm_config"]["elf_storage_policy"] == "REPLICA_2_THIN_PROVISION" and "host_id" not in body["data"]
    assert moved.result["changes"]["cluster"] == {"before": "cluster-a", "after": "cluster-b"}
    assert moved.result["vm"]["cluster"]["name"] == "cluster-b" and moved.result["vm"]["folder"]["name"] == "production"
    assert moved.result["vm"]["vcpu"] == 4 and moved.result["vm"]["status"] == "RUNNING"
    assert [vm["cluster"]["name"] for vm in vms_named(simulator, "web-02")] == ["cluster-b"]
    again = run_module(vm_module, simulator, capsys, **task)
    assert not again.result["changed"] and again.sent == []


def test_a_stopped_vm_moves_cold_onto_the_host_given(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    moved = run_module(vm_module, simulator, capsys, **move(name="db-02", host="node-b2", nics=[{"vlan": "prod-vlan-200"}]))
    assert moved.sent == ["migrate-vm-across-cluster"], moved.result
    body = sent_body(simulator)
    assert body["data"]["vm_config"]["migrate_type"] == "COLD_MIGRATE" and body["data"]["host_id"] == moved.result["vm"]["host"]["id"]
    assert moved.result["vm"]["host"]["name"] == "node-b2" and moved.result["vm"]["status"] == "STOPPED"


def test_a_nic_without_a_vlan_in_the_new_cluster_is_refused_before_any_request(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    refused = run_module(vm_module, simulator, capsys, **move(nics=None))
    assert refused.result["failed"] and refused.sent == []
    assert refused.result["error"]["option"] == "cluster" and "vm-network" in refused.result["msg"]
    unknown = run_module(vm_module, simulator, capsys, **move(nics=[{"vlan": "no-such-vlan"}]))
    assert unknown.result["failed"] and unknown.sent == [] and unknown.result["error"]["option"] == "nics[0].vlan"


@pytest.mark.parametrize("api_version", ("1.8.0", "1.10.0"))
def test_before_4_6_the_move_is_refused_naming_the_option(simulator, capsys, api_version):
    simulator.reset(state="demo", api_version=api_version, task_seconds=0.05)
    refused = run_module(vm_module, simulator, capsys, **MOVE)
    assert refused.result["failed"] and refused.sent == []
    assert refused.result["error"]["option"] == "migrate_across_clusters" and "4.6" in refused.result["msg"]
    assert [vm["cluster"]["name"] for vm in vms_named(simulator, "web-02")] == ["cluster-a"]


def test_without_the_option_a_vm_elsewhere_is_another_vm_and_ambiguous_names_are_refused(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    plain = run_module(vm_module, simulator, capsys, check_mode=True, name="web-02", cluster="cluster-b", vcpu=1, memory="1GiB")
    assert [a["operation"] for a in plain.result["actions"]] == ["create-vm"]
    ambiguous = run_module(vm_module, simulator, capsys, **move(name="web-dup"))
    assert ambiguous.result["failed"] and ambiguous.sent == [] and len(ambiguous.result["error"]["candidates"]) == 2
    suspended = run_module(vm_module, simulator, capsys, **move(name="app-02", cluster="cluster-a", nics=[{"vlan": "vm-network"}]))
    assert suspended.result["failed"] and suspended.sent == [] and "SUSPENDED" in suspended.result["msg"]
    no_cluster = run_module(vm_module, simulator, capsys, name="web-02", migrate_across_clusters=True)
    assert no_cluster.result["failed"] and no_cluster.requested == [] and no_cluster.result["error"]["option"] == "migrate_across_clusters"


def test_a_vm_given_by_id_moves_and_is_found_by_name_in_its_new_cluster(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    vm_id = vms_named(simulator, "web-02")[0]["id"]
    moved = run_module(vm_module, simulator, capsys, id=vm_id, cluster="cluster-b", migrate_across_clusters=True,
                       nics=[{"vlan": "prod-vlan-100"}])
    assert moved.sent == ["migrate-vm-across-cluster"] and moved.result["vm"]["cluster"]["name"] == "cluster-b", moved.result
    again = run_module(vm_module, simulator, capsys, id=vm_id, cluster="cluster-b", migrate_across_clusters=True,
                       nics=[{"vlan": "prod-vlan-100"}])
    assert not again.result["changed"] and again.sent == []
