# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_vm's labels in-process against the simulator: created when missing, attached, purged, never twice."""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm as vm_module
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import run_module

VERSIONS = ("1.8.0", "1.10.0", "4.6.0")
WEB = dict(name="web-01", cluster="cluster-a")


def run(sim, capsys, check_mode=False, **options):
    return run_module(vm_module, sim, capsys, check_mode=check_mode, diff=True, **options)


def labels_of(sim, vm_name):
    """{(key, value)} of the labels attached to a VM, read from the labels' side."""
    state = sim.state("labels")
    return {(label["key"], label["value"] or "") for label in state["labels"] if vm_name in [vm["name"] for vm in label["vms"]]}


@pytest.mark.parametrize("api_version", VERSIONS)
def test_labels_are_created_attached_and_purged_idempotently(simulator, capsys, api_version):
    simulator.reset(state="demo", api_version=api_version, task_seconds=0.05)
    # A label that already exists (on another VM) is attached, not created again.
    assert run(simulator, capsys, name="db-01", labels=[{"key": "team", "value": "ops"}]).sent == ["create-label", "add-labels-to-resources"]
    wanted = dict(WEB, labels=[{"key": "env", "value": "prod"}, {"key": "team", "value": "ops"}])

    check = run(simulator, capsys, check_mode=True, **wanted)
    assert check.result["changed"] and check.sent == []
    assert [a["operation"] for a in check.result["actions"]] == ["create-label", "add-labels-to-resources"]
    assert check.result["diff"]["before"]["labels"] == []
    assert check.result["diff"]["after"]["labels"] == [{"key": "env", "value": "prod"}, {"key": "team", "value": "ops"}]

    applied = run(simulator, capsys, **wanted)
    assert applied.sent == ["create-label", "add-labels-to-resources"]
    assert labels_of(simulator, "web-01") == {("env", "prod"), ("team", "ops")}
    assert len(simulator.state("labels")["labels"]) == 2

    again = run(simulator, capsys, **wanted)
    assert not again.result["changed"] and again.sent == []
    # 4.6 shows each label's key and value on the VM: nothing more is read. Before, one get-labels resolves the ids.
    assert again.requested == ["login", "get-vms"] + ([] if api_version == "4.6.0" else ["get-labels"])
    assert not run(simulator, capsys, check_mode=True, **wanted).result["changed"]

    # Purging detaches what is not declared, from this VM only.
    purge = dict(WEB, labels=[{"key": "env", "value": "prod"}], purge_labels=True)
    purged = run(simulator, capsys, **purge)
    assert purged.sent == ["remove-labels-from-resources"]
    assert purged.result["changes"]["labels"] == {"before": [{"key": "env", "value": "prod"}, {"key": "team", "value": "ops"}],
                                                  "after": [{"key": "env", "value": "prod"}]}
    assert labels_of(simulator, "web-01") == {("env", "prod")}
    assert labels_of(simulator, "db-01") == {("team", "ops")}
    assert run(simulator, capsys, **purge).sent == []


def test_an_ambiguous_label_is_refused_naming_both_ids(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    run(simulator, capsys, name="db-01", labels=[{"key": "env", "value": "prod"}, {"key": "env", "value": "staging"}])
    ids = {label["value"]: label["id"] for label in simulator.state("labels")["labels"]}
    # CloudTower refuses a second env=prod on create; a renamed label still makes one.
    simulator.patch("labels", ids["staging"], {"value": "prod"})
    refused = run(simulator, capsys, labels=[{"key": "env", "value": "prod"}], **WEB)
    assert refused.result["failed"] and refused.sent == []
    assert "labels[0]" in refused.result["msg"] and ids["prod"] in refused.result["msg"] and ids["staging"] in refused.result["msg"]
    # The VM that already carries one of them is satisfied: nothing to choose.
    assert run(simulator, capsys, name="db-01", labels=[{"key": "env", "value": "prod"}]).sent == []


@pytest.mark.parametrize("labels, option", [
    ([{"key": "  "}], "labels[0].key"),
    ([{"key": "env", "value": "prod"}, {"key": "env", "value": "prod"}], "labels[1]"),
])
def test_bad_labels_are_refused_before_any_request(simulator, capsys, labels, option):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    refused = run(simulator, capsys, labels=labels, **WEB)
    assert refused.result["failed"] and refused.sent == [] and option in refused.result["msg"]


def test_a_new_vm_gets_its_labels(simulator, capsys):
    simulator.reset(state="demo", api_version="1.10.0", task_seconds=0.05)
    options = dict(name="labelled-vm", cluster="cluster-b", vcpu=1, memory="1GiB", disks=[{"size": "1GiB"}], state="stopped",
                   labels=[{"key": "env", "value": "test"}])
    created = run(simulator, capsys, **options)
    assert created.sent == ["create-vm", "create-label", "add-labels-to-resources"]
    assert labels_of(simulator, "labelled-vm") == {("env", "test")}
    assert run(simulator, capsys, **options).sent == []
