# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloudtower_vm_snapshot target's scenario, played in-process against the simulator on each API version.

The cases and their judgement live in the target's vm_snapshot_scenario lookup
(tests/integration/targets/cloudtower_vm_snapshot/lookup_plugins/vm_snapshot_scenario.py). The target plays them
through Ansible on API 4.6.0 (a module process per step, about 0.3 CPU-s each); here the same cases run the modules'
main() in-process, each step with the simulator's requests it caused, the shape setup_simulator's simulator_run
returns, and the same judge must find no problem. API 1.8.0 (plain-string errors, no ResourceLocked) is played
only here: the request shapes and error bodies differ, Ansible's wiring of the module does not.
"""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_task_info
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_snapshot
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_snapshot_info
from ansible_collections.smartx.cloudtower.tests.integration.targets.cloudtower_vm_snapshot.lookup_plugins import (  # pylint: disable=import-error
    vm_snapshot_scenario as scenario,
)
from ansible_collections.smartx.cloudtower.tests.integration.targets.setup_simulator.action_plugins.simulator_run import (  # pylint: disable=import-error
    Verdict,
)
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import play_case, start_simulator

MODULES = {
    "cloudtower_vm_snapshot": cloudtower_vm_snapshot,
    "cloudtower_vm_snapshot_info": cloudtower_vm_snapshot_info,
    "cloudtower_task_info": cloudtower_task_info,
}


def state_of(sim):
    return scenario.scenario_state(dict(sim.state("vms"), **sim.state("vm_snapshots")))


@pytest.mark.parametrize("api_version", ["1.8.0", "4.6.0"])
def test_the_target_scenario_passes_its_judgement(capsys, api_version):
    sim = start_simulator()
    try:
        reset = scenario.RESET
        sim.reset(state=reset["state"], api_version=api_version, task_seconds=reset["task_seconds"], vms=reset["vms"])
        state = state_of(sim)
        runs = [play_case(sim, capsys, case, MODULES) for case in scenario.cases(state)]
        wait = scenario.case("wait", scenario.wait_args(runs), module="cloudtower_task_info")
        runs.append(play_case(sim, capsys, wait, MODULES))
        problems = scenario.judge(state, runs)
    finally:
        sim.stop()
    assert len(runs) == 22
    assert problems == []


def test_the_judge_finds_a_check_mode_that_sends_a_mutation():
    """The judgement can fail: a check-mode step with a mutating request, and a case missing, are problems."""
    state = {"vms": [{"id": "vm-1", "name": "web-01"}, {"id": "vm-2", "name": "web-02"}],
             "vm_snapshots": [{"id": "snap-1", "name": "pre-patch-2024-04"}]}
    assert scenario.judge(state, [])[0].startswith("the runs are of []")
    result = {"changed": True, "actions": [{"operation": "create-vm-snapshot"}], "results": [], "deleted": [], "diff": {"after": {}}}
    request = {"endpoint": "create-vm-snapshot", "mutating": True, "status": 200}
    steps = [{"step": step, "result": dict(result, changed=step == "check" or index == 1, actions=result["actions"] if index < 2 else []),
              "requests": [request] if index < 2 else [], "mutations": [request] if index < 2 else []}
             for index, step in enumerate(scenario.IDEMPOTENT)]
    verdict = Verdict("single")
    scenario.judge_idempotent(verdict, {"steps": steps})
    assert [problem for problem in verdict.problems if "check mode did not predict" in problem] != []
