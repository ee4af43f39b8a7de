# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_vm and cloudtower_vm_info run in-process against the CloudTower simulator, on every API version.

The simulator validates every request body against the version's shapes (1.8 wants vcpu and disk
indexes, only 4.6 knows memory_unit...), so these tests catch a body one version refuses.
"""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm as vm_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_info as vm_info_module
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import run_module

VERSIONS = ("1.8.0", "1.10.0", "4.6.0")
NEW_VM = dict(name="unit-vm", cluster="cluster-b", vcpu=2, memory="1GiB",
              disks=[{"size": "4GiB"}, {"type": "cdrom"}], state="running")


def run(module, sim, capsys, check_mode=False, **options):
    """One module run with --diff; .result, .requested and .sent (mutating endpoints)."""
    return run_module(module, sim, capsys, check_mode=check_mode, diff=True, **options)


@pytest.mark.parametrize("api_version", VERSIONS)
def test_create_is_idempotent_on_every_version(simulator, capsys, api_version):
    simulator.reset(state="demo", api_version=api_version, task_seconds=0.05)

    predicted = run(vm_module, simulator, capsys, check_mode=True, **NEW_VM)
    assert predicted.result["changed"] and predicted.result["vm"] is None and predicted.sent == []
    assert [a["operation"] for a in predicted.result["actions"]] == ["create-vm"]

    created = run(vm_module, simulator, capsys, **NEW_VM)
    assert created.sent == ["create-vm"]
    assert created.result["vm"]["status"] == "RUNNING" and created.result["vm"]["entityAsyncStatus"] is None
    assert int(created.result["vm"]["memory"]) == 1024 ** 3
    assert created.result["diff"]["after"] == predicted.result["diff"]["after"]

    again = run(vm_module, simulator, capsys, **NEW_VM)
    assert not again.result["changed"] and again.sent == [] and again.result["not_applied"] == []
    # the cluster filters the VM query itself; disks given: the comparison reads the VM's disks and their volumes
    assert again.requested == ["login", "get-vms", "get-vm-disks", "get-vm-volumes"]


@pytest.mark.parametrize("api_version", ("1.8.0", "4.6.0"))
def test_update_and_power_off_in_one_task(simulator, capsys, api_version):
    simulator.reset(state="demo", api_version=api_version, task_seconds=0.05)
    options = dict(name="web-02", cluster="cluster-a", memory="8GiB", vcpu=4, state="stopped")

    first = run(vm_module, simulator, capsys, **options)
    # the VM is shut down first, then updated while stopped
    assert first.sent == ["shutdown-vm", "update-vm-basic-info"]
    assert first.result["changes"]["status"] == {"before": "RUNNING", "after": "STOPPED"}
    assert first.result["vm"]["vcpu"] == 4 and first.result["vm"]["cpu"] == {"sockets": 2, "cores": 2}

    again = run(vm_module, simulator, capsys, **options)
    assert not again.result["changed"] and again.sent == []


def test_a_vm_busy_with_an_earlier_task_is_decided_from_the_state_that_task_leaves(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=1.0)
    stopping = run(vm_module, simulator, capsys, name="web-02", state="stopped", wait=False)
    assert stopping.sent == ["shutdown-vm"] and stopping.result["tasks"][0]["status"] in ("PENDING", "EXECUTING")

    # Still RUNNING while the shutdown runs: deciding now would change nothing and leave it stopped.
    running = run(vm_module, simulator, capsys, name="web-02", state="running")
    assert running.sent == ["start-vm"]
    assert running.result["changes"] == {"status": {"before": "STOPPED", "after": "RUNNING"}}
    assert running.result["vm"]["status"] == "RUNNING"


@pytest.mark.parametrize("api_version", ("1.8.0", "4.6.0"))
def test_a_shutdown_that_outlasts_shutdown_timeout_ends_stopped_with_force(simulator, capsys, api_version):
    # 1.8 accepts the power-off while the shutdown task holds the VM and fails it as locked; 4.6 refuses it as
    # ResourceLocked until the shutdown ends. Either way the VM must end stopped, without a failure.
    simulator.reset(state="demo", api_version=api_version, task_seconds=0.05)
    simulator.set_faults({"task_hangs": [{"operations": ["shutdown-vm"], "next": 1, "seconds": 2}]})
    stopped = run(vm_module, simulator, capsys, name="web-02", state="stopped", force=True, shutdown_timeout=1)
    assert stopped.result["changed"] and not stopped.result.get("failed")
    assert stopped.result["vm"]["status"] == "STOPPED"
    assert stopped.sent[:2] == ["shutdown-vm", "poweroff-vm"]
    assert stopped.result["actions"][0]["fell_back"]


def test_ambiguous_name_fails_listing_the_ids(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    refused = run(vm_module, simulator, capsys, name="web-dup", state="absent", force=True)
    assert refused.result["failed"] and refused.sent == []
    assert refused.result["error"]["type"] == "ambiguous"
    assert len(refused.result["error"]["candidates"]) == 2
    assert all(candidate in refused.result["msg"] for candidate in refused.result["error"]["candidates"])


def test_info_filters_and_query(simulator, capsys):
    simulator.reset(state="demo", api_version="1.8.0", task_seconds=0.05)
    listed = run(vm_info_module, simulator, capsys, cluster="cluster-a", status=["STOPPED"], name_starts_with="db", query="[].name")
    assert listed.result["query_result"] == ["db-02"]
    assert listed.result["count"] == 1
    assert listed.requested == ["login", "get-clusters", "get-vms"]
