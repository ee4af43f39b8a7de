# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module case of the check_mode_audit target, played in order in-process against the simulator.

The cases live in tests/integration/targets/check_mode_audit/vars/main.yml and are played against one demo state,
each real run leaving the state the next case starts from. Each case runs in check mode (no mutating request,
`changed` as the case expects) and then, unless the case says otherwise, for real: the real run must decide the
same and send exactly the operations check mode announced. The target keeps the roles and one case of each
module, which prove the wiring of Ansible's --check; a module process per case costs half a CPU-second there.
"""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_auth
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_cluster_info
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_host_info
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_lun_snapshot_info
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_task_info
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vlan_info
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_info
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_snapshot
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_snapshot_info
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_template
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_template_info
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import PASSWORD, run_module, start_simulator

CASES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "integration", "targets", "check_mode_audit", "vars",
                     "main.yml")
MODULES = {
    "auth": cloudtower_auth,
    "vm": cloudtower_vm,
    "vm_info": cloudtower_vm_info,
    "vm_snapshot": cloudtower_vm_snapshot,
    "vm_snapshot_info": cloudtower_vm_snapshot_info,
    "lun_snapshot_info": cloudtower_lun_snapshot_info,
    "task_info": cloudtower_task_info,
    "cluster_info": cloudtower_cluster_info,
    "host_info": cloudtower_host_info,
    "vlan_info": cloudtower_vlan_info,
    "vm_template": cloudtower_vm_template,
    "vm_template_info": cloudtower_vm_template_info,
}
SNAPSHOT_ID = re.compile(r"^\{\{ audit_snapshot_ids\['([^']+)'\] \}\}$")


def audit_file():
    with open(CASES, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def cases_of(version):
    return [case for case in audit_file()["audit_module_cases"] if version in case.get("versions", [version])]


def with_snapshot_ids(value, ids):
    """The one template the cases use: a demo snapshot's id by its name."""
    if isinstance(value, dict):
        return {key: with_snapshot_ids(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [with_snapshot_ids(item, ids) for item in value]
    match = SNAPSHOT_ID.match(value) if isinstance(value, str) else None
    return ids[match.group(1)] if match else value


def demo_snapshot_ids(sim):
    return {snapshot["name"]: snapshot["id"] for snapshot in sim.state("vm_snapshots")["vm_snapshots"]}


def announced(result):
    return [action["operation"] for action in result.get("actions", [])]


def audit(sim, capsys, case, ids):
    """The problems of one case: its check-mode run, then (unless real is false) its real run."""
    label = case["label"]
    module, args = MODULES[case["module"]], with_snapshot_ids(case["args"], ids)
    predicted = run_module(module, sim, capsys, check_mode=True, diff=True, **args)
    problems = []
    if predicted.result.get("failed"):
        return ["%s: check mode failed: %s" % (label, predicted.result.get("msg"))]
    if predicted.sent:
        problems.append("%s: check mode sent mutating requests %s" % (label, predicted.sent))
    if "changed" in case and bool(predicted.result.get("changed")) != case["changed"]:
        problems.append("%s: check mode predicted changed=%s, expected %s" % (label, predicted.result.get("changed"), case["changed"]))
    if not case.get("real", True):
        return problems
    real = run_module(module, sim, capsys, diff=True, **args)
    if real.result.get("failed"):
        return problems + ["%s: the real run failed: %s" % (label, real.result.get("msg"))]
    if bool(real.result.get("changed")) != bool(predicted.result.get("changed")):
        problems.append("%s: check mode said changed=%s, the real run changed=%s"
                        % (label, predicted.result.get("changed"), real.result.get("changed")))
    if "actions" in predicted.result and announced(predicted.result) != real.sent:
        problems.append("%s: check mode announced %s, the real run sent %s" % (label, announced(predicted.result), real.sent))
    return problems


def test_the_cases_cover_every_module():
    assert sorted({case["module"] for case in audit_file()["audit_module_cases"]}) == sorted(MODULES)


@pytest.mark.parametrize("version", audit_file()["audit_api_versions"])
def test_check_mode_sends_nothing_and_predicts_every_real_run(capsys, version):
    sim = start_simulator()
    try:
        sim.reset(state="demo", api_version=version, task_seconds=0.1, settings={"async_status_linger_seconds": 0.05})
        ids = demo_snapshot_ids(sim)
        problems = []
        cases = cases_of(version)
        for case in cases:
            problems += audit(sim, capsys, case, ids)
    finally:
        sim.stop()
    assert len(cases) >= 40
    assert problems == []
    assert PASSWORD not in json.dumps(problems)
