# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloudtower_vm target's scenarios, played in-process against the simulator.

The cases and their judgement live in the target's vm_scenario lookup
(tests/integration/targets/cloudtower_vm/lookup_plugins/vm_scenario.py). The cloudtower_vm and cloudtower_vm_api_1_8
targets play them through Ansible (a module process per step, about 0.3 CPU-s each); here the same cases run the
modules' main() in-process, each step with the simulator's requests it caused, the shape setup_simulator's
simulator_run returns, and the same judge must find no problem. The core scenario also runs here on API 1.10.0.
"""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_task_info
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_info
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_snapshot
from ansible_collections.smartx.cloudtower.tests.integration.targets.cloudtower_vm.lookup_plugins import (  # pylint: disable=import-error
    vm_scenario as scenario,
)
from ansible_collections.smartx.cloudtower.tests.integration.targets.setup_simulator.action_plugins.simulator_run import (  # pylint: disable=import-error
    Verdict,
)
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import play_case, start_simulator

MODULES = {
    "cloudtower_vm": cloudtower_vm,
    "cloudtower_vm_info": cloudtower_vm_info,
    "cloudtower_vm_snapshot": cloudtower_vm_snapshot,
    "cloudtower_task_info": cloudtower_task_info,
}


def play_scenario(capsys, name, api_version):
    """Every part of the scenario in order (a later part's options come from the earlier runs), then the judge."""
    sim = start_simulator()
    try:
        sim.reset(**dict(scenario.RESET, api_version=api_version))
        runs = []
        for index in range(3):
            parts = scenario.cases(name, api_version, runs)
            if index >= len(parts):
                break
            runs += [play_case(sim, capsys, case, MODULES) for case in parts[index]]
        return runs, scenario.judge(name, api_version, runs, sim.state("vm_snapshots")["vm_snapshots"])
    finally:
        sim.stop()


@pytest.mark.parametrize("api_version", ["1.8.0", "1.10.0", "4.6.0"])
def test_the_core_scenario_passes_its_judgement(capsys, api_version):
    runs, problems = play_scenario(capsys, "core", api_version)
    assert len(runs) == 12 + (0 if scenario.deletes_snapshots(api_version) else 1)
    assert problems == []


def test_the_full_scenario_passes_its_judgement(capsys):
    runs, problems = play_scenario(capsys, "full", "4.6.0")
    assert len(runs) == 23
    assert problems == []


def test_the_judge_finds_a_second_apply_that_changes():
    """The judgement can fail: an idempotent case whose second apply sends a mutation is a problem."""
    result = {"changed": True, "actions": [{"operation": "update-vm-basic-info"}], "changes": {"vcpu": {}}, "tasks": [],
              "diff": {"before": {}, "after": {}}}
    request = {"endpoint": "update-vm-basic-info", "mutating": True, "status": 200}
    steps = [{"step": step, "result": dict(result, changed=step == "check" or index in (1, 2)), "requests": [request] if index in (1, 2) else [],
              "mutations": [request] if index in (1, 2) else []} for index, step in enumerate(scenario.IDEMPOTENT)]
    verdict = Verdict("update")
    scenario.judge_idempotent(verdict, {"steps": steps})
    assert [problem for problem in verdict.problems if problem.startswith("update: again: changed=True")] != []
