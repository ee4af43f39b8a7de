# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module case of the bad_input corpus, run in-process against the simulator.

The corpus lives in the bad_input integration target (tests/integration/targets/bad_input/vars/main.yml). Through
Ansible each case costs a whole module process (about half a CPU-second); here it costs a call of the same main().
The target keeps the role cases and one case of each module, which prove the wiring through Ansible; this test
runs every module case with the target's judgement: the run fails, the message names the option and the value,
no mutating request is sent, and the password is nowhere in the result.

All cases run in ONE test, against one simulator, and the findings of every case are reported together:
ansible-test runs each unit test in a fork of its own, so a module-scoped fixture (the simulator, its demo state
and the name clashes the corpus sets up) was built again for every case: about 0.9 s of waiting and 0.2 CPU-s per
case, where the case itself costs a few milliseconds.
"""

from __future__ import annotations

import json
import os

import pytest
import yaml

from ansible.release import __version__ as ansible_version

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_backup_manifest
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_backup_report
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_backup_restore
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
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import (
    PASSWORD,
    USERNAME,
    call_module,
    request_log,
    start_simulator,
)

ANSIBLE_CORE = tuple(int(part) for part in ansible_version.split(".")[:2])
CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "integration", "targets", "bad_input", "vars", "main.yml")

# The corpus names modules by short names, as bad_input's integration target does; vm_info_conn is
# cloudtower_vm_info with connection options of the case's own.
MODULES = {
    "vm": cloudtower_vm,
    "vm_snapshot": cloudtower_vm_snapshot,
    "vm_info": cloudtower_vm_info,
    "vm_info_conn": cloudtower_vm_info,
    "backup_manifest": cloudtower_backup_manifest,
    "lun_snapshot_info": cloudtower_lun_snapshot_info,
    "vm_snapshot_info": cloudtower_vm_snapshot_info,
    "task_info": cloudtower_task_info,
    "vm_template": cloudtower_vm_template,
    "vm_template_info": cloudtower_vm_template_info,
    "cluster_info": cloudtower_cluster_info,
    "host_info": cloudtower_host_info,
    "vlan_info": cloudtower_vlan_info,
    "backup_restore": cloudtower_backup_restore,
    "backup_report": cloudtower_backup_report,
}


def corpus():
    with open(CORPUS, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def module_cases():
    return [case for case in corpus()["bad_input_cases"] if not case["module"].startswith("role_")]


def field(record, dotted):
    for part in dotted.split("."):
        record = (record or {}).get(part)
    return record


def connection(sim):
    return dict(cloudtower_host=sim.url, cloudtower_username=USERNAME, cloudtower_password=PASSWORD)


def make_name_clashes(sim, capsys):
    """The corpus's bad_input_setup: the ambiguous names its candidates cases refuse."""
    for step in corpus()["bad_input_setup"]:
        if "patch" in step:
            matches = [record for record in sim.state(step["patch"])[step["patch"]]
                       if all(field(record, key) == value for key, value in step["where"].items())]
            assert len(matches) == 1, "bad_input_setup %s matches %d records" % (step, len(matches))
            sim.patch(step["patch"], matches[0]["id"], step["set"])
        else:
            result = call_module(MODULES[step["module"]], capsys, dict(connection(sim), **step["args"]))
            assert result.get("changed") and not result.get("failed"), result


def case_id(case):
    return "%s-%s-%s" % (case["module"], case["option"], case["why"].replace(" ", "_"))


def rendered(value, scratch):
    """The corpus's two scratch paths, as the target's set_fact names them."""
    if isinstance(value, dict):
        return {key: rendered(item, scratch) for key, item in value.items()}
    if isinstance(value, list):
        return [rendered(item, scratch) for item in value]
    if isinstance(value, str):
        return value.replace("{{ bad_input_dir }}", scratch["dir"]).replace("{{ bad_input_file }}", scratch["file"])
    return value


def refused_by_old_core_type_check(message):
    """ansible-core before 2.19 refuses a value of the wrong type itself, naming the option but not the value."""
    return ANSIBLE_CORE < (2, 19) and " and we were unable to convert to " in message


@pytest.fixture
def scratch(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("not a directory\n")
    return {"dir": str(tmp_path), "file": str(path)}


def test_the_corpus_has_module_cases_of_every_module():
    assert sorted({case["module"] for case in module_cases()}) == sorted(MODULES)


def problems_of_case(sim, capsys, case):
    """What is wrong with one case's run: [] when it failed clearly, naming option and value, and sent nothing."""
    # The case's own connection options (vm_info_conn) win over the simulator's; cloudtower_backup_manifest
    # reads manifests and files, and takes no login (it is not in the modules' connection group).
    args = connection(sim)
    if case["module"] == "backup_manifest":
        args = {}
    if case["module"] == "vm_info_conn":
        args["name"] = "web-01"
    args.update(case["args"])
    sim.clear_requests()
    result = call_module(MODULES[case["module"]], capsys, args)
    message = str(result.get("msg", ""))
    problems = []
    if not result.get("failed"):
        problems.append("accepted: %s" % json.dumps(result)[:500])
    if case["option"] not in message:
        problems.append("the message does not name the option: %s" % message)
    if case["value"] is not None and not refused_by_old_core_type_check(message) and str(case["value"]) not in message:
        problems.append("the message does not name the value: %s" % message)
    sent = [entry["endpoint"] for entry in request_log(sim) if entry.get("mutating")]
    if sent:
        problems.append("sent %s" % sent)
    if PASSWORD in json.dumps(result):
        problems.append("the password is in the result")
    if "candidates" in case:
        candidates = result.get("error", {}).get("candidates", [])
        if len(candidates) != case["candidates"] or not all(candidate in message for candidate in candidates):
            problems.append("expected %d candidates named in the message, got %s: %s" % (case["candidates"], candidates, message))
    return ["%s: %s" % (case_id(case), problem) for problem in problems]


def test_every_invalid_input_fails_naming_option_and_value_and_changes_nothing(scratch, capsys):
    sim = start_simulator()
    try:
        sim.reset(state="demo", api_version="4.6.0", task_seconds=0.1)
        make_name_clashes(sim, capsys)
        cases = module_cases()
        findings = [problem for case in cases for problem in problems_of_case(sim, capsys, rendered(case, scratch))]
    finally:
        sim.stop()
    assert len(cases) >= 100
    assert findings == [], "\n".join(findings)
