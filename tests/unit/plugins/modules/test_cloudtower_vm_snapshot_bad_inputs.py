# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_vm_snapshot refuses bad input with the option, the value and the reason, before any mutating request.

In-process against the simulator's 4.6 demo state (db-01's snapshot manual-before-upgrade, the two web-dup VMs);
the bad_input integration target proves the same judgement through Ansible. {db_01_id} and {db_01_snapshot_id}
in a case stand for db-01's id and the id of its snapshot manual-before-upgrade.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_snapshot as snapshot_module
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import PASSWORD, run_module

# (label, options, every part the message must contain)
CASES = [
    ('several VMs, one name', {'vms': ['web-01', 'db-01'], 'name': 'nightly'}, ["option 'name'", "'nightly'", '{vm_name} or {vm_id}']),
    ('where without a placeholder', {'where': {'status': 'RUNNING'}, 'name': 'nightly'}, ["option 'name'", '{vm_name} or {vm_id}']),
    ('unknown placeholder', {'vm': 'web-01', 'name': 'n-{vmname}'}, ["option 'name'", '{vmname}']),
    ('same name for two VMs of one cluster', {'where': {'name': 'web-dup'}, 'name': 'n-{vm_name}'}, ["option 'name'", "'n-web-dup'", 'use {vm_id}']),
    ("name held by another VM's snapshot in the cluster",
     {'vm': 'web-01', 'name': 'manual-before-upgrade'},
     ["option 'name'", 'held by snapshot', "db-01 (id {db_01_id})"]),
    ('ambiguous VM name', {'vm': 'web-dup', 'name': 'x'}, ["option 'vm'", "'web-dup'", '2 VMs share this name']),
    ('unknown VM', {'vms': ['web-01', 'no-such-vm'], 'name': 'x-{vm_id}'}, ["option 'vms'", "'no-such-vm'", 'no VM']),
    ('unknown cluster', {'vm': 'web-01', 'cluster': 'no-such-cluster', 'name': 'x'}, ["option 'cluster'", "'no-such-cluster'"]),
    ('id with state=present', {'vm': 'web-01', 'id': 'abc'}, ["option 'id'"]),
    ('retention without a prefix', {'vm': 'web-01', 'name': 'x', 'keep_last': 3}, ["option 'retention_prefix'", 'keep_last or older_than']),
    ('keep_last 0 when taking a snapshot',
     {'vm': 'web-01', 'name': 'x', 'keep_last': 0, 'retention_prefix': 'x'},
     ["option 'keep_last'", 'at least 1']),
    ('bad duration', {'vm': 'web-01', 'name': 'x', 'older_than': '7 days', 'retention_prefix': 'x'}, ["option 'older_than'", "'7 days'"]),
    ('reverted for several VMs', {'state': 'reverted', 'vms': ['web-01'], 'name': 'x'}, ["option 'vms'", 'state=reverted']),
    ('revert to a missing snapshot',
     {'state': 'reverted', 'vm': 'web-01', 'name': 'no-such-snapshot', 'stop_vm': True},
     ["option 'name'", "'no-such-snapshot'", 'web-01']),
    ("absent by id of another VM's snapshot", {'state': 'absent', 'vm': 'web-01', 'id': '{db_01_snapshot_id}'}, ["option 'id'", 'db-01']),
    ('stop_vm outside state=reverted', {'vm': 'web-01', 'name': 'x', 'stop_vm': True}, ["option 'stop_vm'", 'state=reverted']),
]


@pytest.fixture(scope="module")
def demo_sim(simulator):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    return simulator


def demo_ids(sim):
    state = sim.state()
    db_01 = [vm["id"] for vm in state["vms"] if vm["name"] == "db-01"][0]
    snapshot = [s["id"] for s in state["vm_snapshots"] if s["name"] == "manual-before-upgrade" and s["vm"]["id"] == db_01][0]
    return {"db_01_id": db_01, "db_01_snapshot_id": snapshot}


def with_ids(value, ids):
    if isinstance(value, dict):
        return {key: with_ids(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [with_ids(item, ids) for item in value]
    return value.format(**ids) if isinstance(value, str) and "{db_01" in value else value


@pytest.mark.parametrize("label, options, parts", CASES, ids=[case[0].replace(" ", "_") for case in CASES])
def test_bad_input_fails_clearly_before_any_mutating_request(demo_sim, capsys, label, options, parts):
    ids = demo_ids(demo_sim)
    run = run_module(snapshot_module, demo_sim, capsys, **with_ids(options, ids))
    assert run.result.get("failed"), "%s was accepted: %s" % (label, json.dumps(run.result)[:300])
    assert not run.result.get("changed")
    assert [part for part in with_ids(parts, ids) if part not in run.result["msg"]] == []
    assert run.sent == []
    assert PASSWORD not in json.dumps(run.result)
