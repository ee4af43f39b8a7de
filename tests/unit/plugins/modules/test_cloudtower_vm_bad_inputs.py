# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_vm refuses bad input with the option, the value and the reason, before any mutating request.

In-process against the simulator's 4.6 demo state (a VLAN of another cluster, a shared name, a running VM are
all there); the bad_input integration target proves the same judgement through Ansible.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm as vm_module
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import PASSWORD, run_module

# (label, options, every part the message must contain)
CASES = [
    ('unknown cluster',
     {'name': 'it-bad', 'cluster': 'no-such-cluster', 'vcpu': 1, 'memory': '1GiB'},
     ["'cluster'", 'no-such-cluster', 'no cluster']),
    ('ambiguous name', {'name': 'web-dup', 'cluster': 'cluster-a', 'state': 'running'}, ["'name'", 'web-dup', '2 VMs share this name']),
    ('invalid memory string', {'name': 'it-bad', 'cluster': 'cluster-a', 'vcpu': 1, 'memory': '4 gigs'}, ["'memory'", '4 gigs']),
    ('negative disk size',
     {'name': 'it-bad', 'cluster': 'cluster-a', 'vcpu': 1, 'memory': '1GiB', 'disks': [{'size': '10GiB'}, {'size': '-10GiB'}]},
     ["'disks[1].size'", '-10GiB']),
    ('vcpu conflicting with sockets x cores',
     {'name': 'it-bad', 'cluster': 'cluster-a', 'vcpu': 6, 'cpu_sockets': 2, 'cpu_cores': 4, 'memory': '1GiB'},
     ["'vcpu'", '6', '2 x 4 = 8']),
    ('disks with clone_from', {'name': 'it-bad', 'clone_from': 'web-02', 'disks': [{'size': '1GiB'}]}, ["'disks'", 'clone_from']),
    ('delete_snapshots with recycle_bin',
     {'name': 'web-02', 'state': 'absent', 'delete_snapshots': True, 'recycle_bin': True},
     ["'delete_snapshots'", 'recycle_bin']),
    ('delete_snapshots without state absent', {'name': 'web-02', 'delete_snapshots': True}, ["'delete_snapshots'", 'state: absent']),
    ('id and name together', {'id': 'cmg6y13w6055h0958o1afczt5', 'name': 'web-02'}, ['mutually exclusive', 'id|name']),
    ('unknown id to create', {'id': 'cmg6y13w6055h0958o1afczt5', 'state': 'running'}, ["'id'", 'cmg6y13w6055h0958o1afczt5']),
    ('unknown VLAN',
     {'name': 'it-bad', 'cluster': 'cluster-a', 'vcpu': 1, 'memory': '1GiB', 'nics': [{'vlan': 'vm-network'}, {'vlan': 'no-such-vlan'}]},
     ["'nics[1].vlan'", 'no-such-vlan', 'no VLAN']),
    ('VLAN of another cluster',
     {'name': 'it-bad', 'cluster': 'cluster-b', 'vcpu': 1, 'memory': '1GiB', 'nics': [{'vlan': 'vm-network'}]},
     ["'nics[0].vlan'", 'vm-network', 'cluster cluster-b']),
    ('unknown host', {'name': 'it-bad', 'cluster': 'cluster-a', 'vcpu': 1, 'memory': '1GiB', 'host': 'node-b1'}, ["'host'", 'node-b1']),
    ('missing memory to create', {'name': 'it-bad', 'cluster': 'cluster-a', 'vcpu': 1}, ["'memory'", 'required to create']),
    ('unknown clone source', {'name': 'it-bad', 'clone_from': 'no-such-vm'}, ["'clone_from'", 'no-such-vm']),
    ('unknown snapshot', {'name': 'it-bad', 'cluster': 'cluster-a', 'from_snapshot': 'no-such-snapshot'}, ["'from_snapshot'", 'no-such-snapshot']),
    ('bad MAC address',
     {'name': 'it-bad', 'cluster': 'cluster-a', 'vcpu': 1, 'memory': '1GiB', 'nics': [{'vlan': 'vm-network', 'mac_address': '52:54:00:zz:00:01'}]},
     ["'nics[0].mac_address'", '52:54:00:zz:00:01']),
    ('rename to a name another VM has', {'name': 'web-01', 'cluster': 'cluster-a', 'new_name': 'web-02'}, ["'new_name'", 'web-02', 'ambiguous']),
    ('deleting a running VM without force', {'name': 'web-01', 'cluster': 'cluster-a', 'state': 'absent'}, ["'force'", 'RUNNING', 'web-01']),
    ('non-positive shutdown_timeout', {'name': 'web-01', 'state': 'stopped', 'shutdown_timeout': 0}, ["'shutdown_timeout'", '0']),
]


@pytest.fixture(scope="module")
def demo_sim(simulator):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    return simulator


@pytest.mark.parametrize("label, options, parts", CASES, ids=[case[0].replace(" ", "_") for case in CASES])
def test_bad_input_fails_clearly_before_any_mutating_request(demo_sim, capsys, label, options, parts):
    run = run_module(vm_module, demo_sim, capsys, **options)
    assert run.result.get("failed"), "%s was accepted: %s" % (label, json.dumps(run.result)[:300])
    assert not run.result.get("changed")
    assert [part for part in parts if part not in run.result["msg"]] == []
    assert run.sent == []
    assert PASSWORD not in json.dumps(run.result)
