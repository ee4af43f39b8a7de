# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloudtower_vm_snapshot scenario: its cases in order, and the judgement of their runs.

One home for what the scenario runs and what it expects, played two ways:
- by the cloudtower_vm_snapshot target on API 4.6.0, each case a loop item of setup_simulator's simulator_run
  (the module in its own process, as Ansible runs it, with the simulator's requests of each step), and
- in-process on API 1.8.0 and 4.6.0 by tests/unit/plugins/modules/test_cloudtower_vm_snapshot_scenario.py, which
  calls the modules' main() against the in-process simulator and hands the judge the same shape of runs.

    query('vm_snapshot_scenario', 'reset', api_version='4.6.0') | first  the body of setup_simulator's reset
    query('vm_snapshot_scenario', 'state', url=cloudtower_sim_url) | first  the VMs' and snapshots' names and ids
                                                                            after it, which the cases and the
                                                                            judgement take ids from
    query('vm_snapshot_scenario', 'cases', state=...)                     the cases, ids filled in
    query('vm_snapshot_scenario', 'wait_args', runs=...) | first          cloudtower_task_info's options for the
                                                                          tasks the wait: false case left running
    query('vm_snapshot_scenario', 'judge', state=..., runs=...)           every problem found, [] when none

A run is {<its loop variable>: case, steps: [{step, result, requests, mutations}, ...]} as simulator_run returns
it; the judge finds the case under run["ansible_loop_var"] (or "item"). Each case with steps check,
apply, apply, check is judged for idempotence (check mode predicts a change and sends no mutating request, the
apply does what check mode predicted, the second apply and check mode change nothing and send nothing), then by
its own expectations.

These were some 90 tasks per API version (an include, a run, a set_fact and two or three asserts per case, the
simulator's admin calls in tasks of their own); the module runs were a third of the target's CPU.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase

from ansible_collections.smartx.cloudtower.tests.integration.targets.setup_simulator.action_plugins.simulator_run import (  # pylint: disable=import-error
    accepted,
    by_name,
    endpoints,
    operations,
    problems_of,
    result_of,
    step_names,
    warning_texts,
)

# Fresh demo state with 20 extra generated VMs (vm-00014 .. vm-00033) for the batch.
RESET = {"state": "demo", "task_seconds": 0.2, "vms": 34}
IDEMPOTENT = ["check", "apply", "apply", "check"]
ROLLBACK_FAULT = {"task_failures": [{"operations": ["rollback-vm"], "vm_name": "db-02", "error_code": "VM_ROLLBACK_FAILED",
                                     "error_message": "The rollback failed (simulated)"}]}
SNAPSHOT_FAULT = {"task_failures": [{"operations": ["create-vm-snapshot"], "vm_name": "web-02",
                                     "error_code": "SVT_SERVICE_NOT_CONNECTED", "error_message": "VMTools is not connected"}]}
RETENTION_DELETED = ["backup-20240501T010000", "backup-20240501T020000", "backup-it-app-01-1", "backup-it-db-01-1"]


def vm_ids(state):
    """VM ids by name, the first VM of each name."""
    ids = {}
    for vm in state["vms"]:
        ids.setdefault(vm["name"], vm["id"])
    return ids


def snapshot_id(state, name):
    return next(snapshot["id"] for snapshot in state["vm_snapshots"] if snapshot["name"] == name)


def case(name, args, steps=None, module="cloudtower_vm_snapshot", before=None, after=None):
    """A case: the module and its options, its steps, and the simulator admin calls around it ([route, body])."""
    return {"name": name, "module": module, "args": args, "steps": steps or ["apply"], "before": before or [], "after": after or []}


def cases(state):
    """Every case, in the order they run; each starts from the state the cases before it left."""
    ids = vm_ids(state)
    return [
        # One VM: check -> apply -> again -> check, then absent by the VM's id.
        case("single", {"vm": "web-01", "name": "it-single"}, IDEMPOTENT),
        case("single absent", {"state": "absent", "vm": ids["web-01"], "name": "it-single"}, IDEMPOTENT),
        # A batch of 20 VMs in one request, matched by where.
        case("batch", {"where": {"name_starts_with": "vm-"}, "name": "it-batch-{vm_name}"}, IDEMPOTENT),
        # File-system consistency: web-01 runs VMTools, web-02 has none installed.
        case("file_system without VMTools", {"vms": ["web-01", "web-02"], "name": "it-fs-{vm_name}", "consistent_type": "file_system"}),
        case("file_system with fallback", {"vms": ["web-01", "web-02"], "name": "it-fs-{vm_name}", "consistent_type": "file_system",
                                           "fallback_to_crash_consistent": True}, IDEMPOTENT),
        case("file_system once web-02 runs VMTools", {"vm": "web-02", "name": "it-fs-web-02-tools", "consistent_type": "file_system"},
             before=[["patch", {"resource": "vms", "id": ids["web-02"], "set": {"vm_tools_status": "RUNNING"}}]]),
        # Retention that leaves foreign snapshots alone. db-01 starts with backup-20240501T010000 and
        # manual-before-upgrade; app-01 with backup-20240501T020000.
        case("backup 1", {"vms": ["db-01", "app-01"], "name": "backup-it-{vm_name}-1"}),
        case("backup 2", {"vms": ["db-01", "app-01"], "name": "backup-it-{vm_name}-2"}),
        case("retention keep_last", {"vms": ["db-01", "app-01"], "name": "backup-it-{vm_name}-3", "retention_prefix": "backup-",
                                     "keep_last": 2}, IDEMPOTENT),
        case("db-01's snapshots left", {"vm": "db-01", "order_by": "name_ASC", "query": "[].name"}, module="cloudtower_vm_snapshot_info"),
        case("prune older_than", {"state": "absent", "vms": ["db-01", "db-02", "web-01"], "retention_prefix": "backup-",
                                  "older_than": "30d"}, IDEMPOTENT),
        case("prune keep_last 1", {"state": "absent", "vms": ["db-01", "app-01"], "retention_prefix": "backup-it-{vm_name}-",
                                   "keep_last": 1}, IDEMPOTENT),
        # Revert. web-01 is RUNNING and has the demo snapshot pre-patch-2024-04; app-02 is SUSPENDED; db-02 STOPPED.
        case("revert without stop_vm", {"state": "reverted", "vm": "web-01", "name": "pre-patch-2024-04"}),
        case("revert", {"state": "reverted", "vm": "web-01", "name": "pre-patch-2024-04", "stop_vm": True}, ["check", "apply"]),
        case("revert again by id", {"state": "reverted", "id": snapshot_id(state, "pre-patch-2024-04")}),
        # One run makes the snapshots the next two reverts go back to.
        case("snapshots of app-02 and db-02", {"vms": ["app-02", "db-02"], "name": "it-{vm_name}"}),
        case("revert the suspended app-02", {"state": "reverted", "vm": "app-02", "name": "it-app-02", "stop_vm": True}),
        case("failed rollback", {"state": "reverted", "vm": "db-02", "name": "it-db-02"},
             before=[["faults", ROLLBACK_FAULT]], after=[["faults", {}]]),
        # One failing VM of a batch, and wait false.
        case("one VM of three fails", {"vms": ["web-01", "web-02", "db-01"], "name": "it-partial-{vm_name}", "retention_prefix": "it-partial-",
                                       "keep_last": 1}, before=[["faults", SNAPSHOT_FAULT]], after=[["faults", {}]]),
        case("the batch completed", {"vms": ["web-01", "web-02", "db-01"], "name": "it-partial-{vm_name}"}),
        case("wait false", {"vms": ["web-01", "db-01"], "name": "it-nowait-{vm_name}", "wait": False}),
    ]


def wait_args(runs):
    """cloudtower_task_info's options that wait for the tasks the wait: false case returned."""
    return {"ids": [task["id"] for task in result_of(by_name(runs), "wait false")["tasks"]], "wait": True}


# ----- judgement ------------------------------------------------------------------------------------------------
def statuses(items):
    return [item["status"] for item in items]


def unique(values):
    """Jinja's unique: the values in the order first seen."""
    return [value for index, value in enumerate(values) if value not in values[:index]]


def judge_idempotent(verdict, run):
    """check mode -> apply -> apply again -> check mode: only the apply sent mutating requests."""
    check, apply, again, check_again = (step["result"] for step in run["steps"])
    mutations = [step["mutations"] for step in run["steps"]]
    verdict.expect(check.get("changed") and len(check["actions"]) > 0 and mutations[0] == [],
                   "check mode did not predict a change without mutating requests: changed=%s mutations=%s"
                   % (check.get("changed"), endpoints(mutations[0])))
    verdict.expect(apply.get("changed"), "the apply did not change: %s" % apply.get("msg"))
    verdict.expect(operations(apply) == operations(check), "the apply did %s, check mode predicted %s" % (operations(apply), operations(check)))
    verdict.expect([r["vm"] for r in apply["results"]] == [r["vm"] for r in check["results"]], "the apply's VMs differ from check mode's")
    verdict.expect([d["id"] for d in apply["deleted"]] == [d["id"] for d in check["deleted"]], "the apply deleted other snapshots than check mode")
    verdict.expect(apply["diff"]["after"] == check["diff"]["after"], "the apply's diff differs from check mode's")
    verdict.expect(accepted(run["steps"][1]["requests"]) == operations(apply),
                   "the apply sent %s for the actions %s" % (accepted(run["steps"][1]["requests"]), operations(apply)))
    verdict.expect(not again.get("changed") and not check_again.get("changed") and again["actions"] == [] and check_again["actions"] == []
                   and mutations[2] + mutations[3] == [],
                   "again changed=%s, check mode again changed=%s, mutations %s"
                   % (again.get("changed"), check_again.get("changed"), endpoints(mutations[2] + mutations[3])))


def judge_refused(verdict, run, parts):
    """Failed clearly, naming every part, before any mutating request."""
    result = run["steps"][0]["result"]
    verdict.expect(result.get("failed") and not result.get("changed") and run["steps"][0]["mutations"] == [],
                   "failed=%s changed=%s mutations=%s" % (result.get("failed"), result.get("changed"), endpoints(run["steps"][0]["mutations"])))
    verdict.expect([part for part in parts if part not in str(result.get("msg"))] == [],
                   "the message %r lacks %s" % (result.get("msg"), [part for part in parts if part not in str(result.get("msg"))]))


def judge_applied(verdict, run):
    """A plain run that must succeed (the ones that prepare a later case)."""
    result = run["steps"][0]["result"]
    verdict.expect(not result.get("failed"), "failed: %s" % result.get("msg"))


def expect_single(verdict, runs, ids):
    run = runs["single"]
    check, apply, again, _check_again = (step["result"] for step in run["steps"])
    key = "web-01 (id %s)" % ids["web-01"]
    verdict.expect(check["results"][0]["status"] == "would_create" and check["snapshots"] == [], "check mode: %s" % check["results"])
    verdict.expect(check["diff"]["before"][key] == [] and check["diff"]["after"][key] == ["it-single"], "check mode's diff: %s" % check["diff"])
    verdict.expect(apply["results"][0]["status"] == "created" and apply["results"][0]["task_id"] == apply["tasks"][0]["id"]
                   and apply["tasks"][0]["status"] == "SUCCESSED", "the apply's result and task: %s %s" % (apply["results"], apply["tasks"]))
    snapshot = apply["snapshots"][0]
    verdict.expect(len(apply["snapshots"]) == 1 and snapshot["name"] == "it-single" and snapshot["vm"]["id"] == ids["web-01"]
                   and snapshot["consistent_type"] == "CRASH_CONSISTENT"
                   and len([disk for disk in snapshot["vm_disks"] if disk["type"] == "DISK"]) == 1,
                   "the snapshot is not as CloudTower shows it after the task, with its disk: %s" % apply["snapshots"])
    verdict.expect(apply["results_by_vm_id"][ids["web-01"]]["snapshot"]["id"] == snapshot["id"], "results_by_vm_id")
    verdict.expect(again["results"][0]["status"] == "exists" and again["snapshots"][0]["id"] == snapshot["id"], "again: %s" % again["results"])
    # The idempotent run costs two requests (log in, the snapshots of that name): the VM is not read.
    idle = endpoints(run["steps"][2]["requests"] + run["steps"][3]["requests"])
    verdict.expect(idle == ["login", "get-vm-snapshots"] * 2, "the idempotent runs requested %s" % idle)


def expect_single_absent(verdict, runs, _ids):
    check, apply, again, _check_again = (step["result"] for step in runs["single absent"]["steps"])
    verdict.expect(statuses(check["deleted"]) == ["would_delete"], "check mode's deleted: %s" % check["deleted"])
    verdict.expect(apply["results"][0]["status"] == "deleted" and apply["deleted"][0]["name"] == "it-single"
                   and apply["deleted"][0]["status"] == "deleted" and apply["snapshots"] == [], "the apply: %s" % apply["results"])
    verdict.expect(again["results"][0]["status"] == "absent", "again: %s" % again["results"])


def expect_batch(verdict, runs, _ids):
    run = runs["batch"]
    check, apply, again, _check_again = (step["result"] for step in run["steps"])
    requests = run["steps"][1]["requests"]
    creates = [request for request in requests if request["endpoint"] == "create-vm-snapshot"]
    names = [snapshot["name"] for snapshot in apply["snapshots"]]
    verdict.expect(len(check["results"]) == 20 and unique(statuses(check["results"])) == ["would_create"], "check mode: %s" % check["results"])
    # One create request for all 20, one batched wait, every VM reported.
    verdict.expect(accepted(requests) == ["create-vm-snapshot"] and len(creates[0]["body"]["data"]) == 20,
                   "the apply sent %s" % endpoints(requests))
    verdict.expect(unique(statuses(apply["results"])) == ["created"] and len(apply["snapshots"]) == 20
                   and names == [result["name"] for result in apply["results"]]
                   and len([name for name in names if re.match(r"^it-batch-vm-000[1-3][0-9]$", name)]) == 20
                   and [snapshot for snapshot in apply["snapshots"] if not snapshot["vm_disks"]] == [],
                   "the apply's snapshots: %s" % names)
    verdict.expect(len(apply["results_by_vm_id"]) == 20 and len(apply["tasks"]) == 20, "results_by_vm_id or tasks short of 20")
    # log in, VMs, same-named snapshots, create, a few polls for all 20 tasks, one re-read
    verdict.expect(len(requests) <= 12, "the apply cost %d requests: %s" % (len(requests), endpoints(requests)))
    verdict.expect(unique(statuses(again["results"])) == ["exists"], "again: %s" % again["results"])
    idle = endpoints(run["steps"][2]["requests"] + run["steps"][3]["requests"])
    verdict.expect(idle == ["login", "get-vms", "get-vm-snapshots"] * 2, "the idempotent runs of 20 VMs requested %s" % idle)


def expect_without_vmtools(verdict, runs, ids):
    run = runs["file_system without VMTools"]
    judge_refused(verdict, run, ["consistent_type", "web-02 (id %s): vm_tools_status NOT_INSTALLED" % ids["web-02"],
                                 "fallback_to_crash_consistent"])
    verdict.expect("web-01 (" not in run["steps"][0]["result"]["msg"], "the error names web-01, which runs VMTools")


def expect_fallback(verdict, runs, _ids):
    check, apply, _again, _check_again = (step["result"] for step in runs["file_system with fallback"]["steps"])
    wanted = ["FILE_SYSTEM_CONSISTENT", "CRASH_CONSISTENT"]
    # The fallback is decided per VM, warned about, and the same in check mode.
    verdict.expect([result["consistent_type"] for result in check["results"]] == wanted, "check mode: %s" % check["results"])
    verdict.expect([snapshot["consistent_type"] for snapshot in apply["snapshots"]] == wanted, "the apply: %s" % apply["snapshots"])
    warnings = warning_texts(apply)
    verdict.expect(len([w for w in warnings if "web-02" in w]) == 1 and not [w for w in warnings if "web-01 (" in w],
                   "the warnings: %s" % warnings)


def expect_with_vmtools(verdict, runs, _ids):
    result = result_of(runs, "file_system once web-02 runs VMTools")
    verdict.expect(result.get("changed") and result["snapshots"][0]["consistent_type"] == "FILE_SYSTEM_CONSISTENT"
                   and result["tasks"][0]["status"] == "SUCCESSED", "not a file-system-consistent snapshot: %s" % result.get("msg"))


def expect_keep_last(verdict, runs, _ids):
    run = runs["retention keep_last"]
    check, apply, again, _check_again = (step["result"] for step in run["steps"])
    # Only the older backup-* snapshots go, in one delete after the new snapshots.
    verdict.expect(sorted(d["name"] for d in check["deleted"]) == RETENTION_DELETED and unique(statuses(check["deleted"])) == ["would_delete"],
                   "check mode's deleted: %s" % check["deleted"])
    verdict.expect(sorted(d["name"] for d in apply["deleted"]) == RETENTION_DELETED and unique(statuses(apply["deleted"])) == ["deleted"]
                   and unique([d["reason"] for d in apply["deleted"]]) == ["beyond the newest 2"], "the apply's deleted: %s" % apply["deleted"])
    verdict.expect(accepted(run["steps"][1]["requests"]) == ["create-vm-snapshot", "delete-vm-snapshot"],
                   "the apply sent %s" % accepted(run["steps"][1]["requests"]))
    verdict.expect(again["deleted"] == [], "again deleted %s" % again["deleted"])


def expect_left(verdict, runs, _ids):
    left = result_of(runs, "db-01's snapshots left")
    # The foreign snapshot is untouched.
    verdict.expect(left.get("query_result") == ["backup-it-db-01-2", "backup-it-db-01-3", "manual-before-upgrade"], "left: %s" % left.get("query_result"))


def expect_prune_older(verdict, runs, ids):
    apply = result_of(runs, "prune older_than", 1)
    # Only db-02's old backup goes; the young backups and web-01's old foreign snapshot stay.
    verdict.expect([d["name"] for d in apply["deleted"]] == ["backup-20240430T010000"] and apply["deleted"][0]["reason"] == "older than 30d"
                   and apply["deleted"][0]["vm"]["id"] == ids["db-02"], "deleted: %s" % apply["deleted"])


def expect_prune_keep_one(verdict, runs, _ids):
    apply = result_of(runs, "prune keep_last 1", 1)
    verdict.expect(sorted(d["name"] for d in apply["deleted"]) == ["backup-it-app-01-2", "backup-it-db-01-2"] and apply["results"] == [],
                   "deleted: %s, results: %s" % (apply["deleted"], apply["results"]))


def expect_revert(verdict, runs, ids, pre_patch_id):
    run = runs["revert"]
    check, real = run["steps"][0]["result"], run["steps"][1]["result"]
    # Check mode planned a graceful shutdown and the rollback; the real run did both and waited.
    verdict.expect(check.get("changed") and operations(check) == ["shutdown-vm", "rollback-vm"] and check["results"][0]["status"] == "would_revert"
                   and check["diff"]["before"]["status"] == "RUNNING" and run["steps"][0]["mutations"] == [], "check mode: %s" % check.get("actions"))
    verdict.expect(real.get("changed") and operations(real) == ["shutdown-vm", "rollback-vm"]
                   and accepted(run["steps"][1]["requests"]) == ["shutdown-vm", "rollback-vm"]
                   and statuses(real["tasks"]) == ["SUCCESSED", "SUCCESSED"], "the revert: %s" % real.get("msg", real.get("actions")))
    verdict.expect(real["results"][0]["status"] == "reverted" and real["vm"]["status"] == "STOPPED" and real["vm"]["entityAsyncStatus"] is None
                   and real["snapshots"][0]["name"] == "pre-patch-2024-04" and real["snapshots"][0]["id"] == pre_patch_id,
                   "after the revert: %s %s" % (real["results"], real["vm"]))
    # A revert is always a change; the VM is stopped now, so it is only rolled back.
    again = result_of(runs, "revert again by id")
    verdict.expect(again.get("changed") and operations(again) == ["rollback-vm"] and again["results"][0]["vm"]["id"] == ids["web-01"],
                   "the second revert: %s" % again.get("msg", again.get("actions")))
    # A suspended VM is powered off (it cannot answer a graceful shutdown).
    suspended = result_of(runs, "revert the suspended app-02")
    verdict.expect(operations(suspended) == ["poweroff-vm", "rollback-vm"] and suspended["vm"]["status"] == "STOPPED",
                   "the suspended VM's revert: %s" % suspended.get("msg", suspended.get("actions")))
    failed = result_of(runs, "failed rollback")
    msg = str(failed.get("msg"))
    verdict.expect(failed.get("failed") and "VM_ROLLBACK_FAILED" in msg and "The rollback failed (simulated)" in msg
                   and failed["error"]["failed_tasks"][0]["error_code"] == "VM_ROLLBACK_FAILED", "the failed rollback: %s" % msg)


def expect_failures(verdict, runs, ids):
    partial = result_of(runs, "one VM of three fails")
    # The others' snapshots are returned, and the failure lists the failed VM with its task error.
    verdict.expect(partial.get("failed") and partial.get("changed") and statuses(partial["results"]) == ["created", "failed", "created"]
                   and [s["name"] for s in partial["snapshots"]] == ["it-partial-web-01", "it-partial-db-01"], "the batch: %s" % partial.get("results"))
    failure = partial["failures"][0]
    verdict.expect(len(partial["failures"]) == 1 and failure["vm"]["id"] == ids["web-02"] and failure["error_code"] == "SVT_SERVICE_NOT_CONNECTED"
                   and failure["error_message"] == "VMTools is not connected" and failure["task_id"] == partial["results"][1]["task_id"],
                   "failures: %s" % partial["failures"])
    verdict.expect("web-02" in partial["msg"] and "VMTools is not connected" in partial["msg"], "the message: %s" % partial["msg"])
    verdict.expect(len(partial["results_by_vm_id"][ids["db-01"]]["snapshot"]["vm_disks"]) > 0, "db-01's snapshot has no disks")
    # Without the fault, the same task completes the batch and changes only web-02.
    completed = result_of(runs, "the batch completed")
    verdict.expect(completed.get("changed") and statuses(completed["results"]) == ["exists", "created", "exists"], "completed: %s" % completed.get("results"))
    # With wait false, the task ids come back at once, pending; they can be waited for later.
    nowait, waited = result_of(runs, "wait false"), result_of(runs, "wait")
    verdict.expect(nowait.get("changed") and unique(statuses(nowait["results"])) == ["pending"] and len(nowait["tasks"]) == 2,
                   "wait false: %s" % nowait.get("results"))
    verdict.expect(unique(statuses(waited["tasks"])) == ["SUCCESSED"], "waited: %s" % waited.get("tasks", waited.get("msg")))


EXPECTATIONS = [expect_single, expect_single_absent, expect_batch, expect_without_vmtools, expect_fallback, expect_with_vmtools,
                expect_keep_last, expect_left, expect_prune_older, expect_prune_keep_one, expect_failures]
REFUSED = {"revert without stop_vm": ["stop_vm", "RUNNING", "web-01"]}
PLAIN = ["backup 1", "backup 2", "snapshots of app-02 and db-02"]


def judge(state, runs):
    """Every problem of the scenario's runs ([] when none): the runs of cases(state), then the wait case."""
    ids, pre_patch_id = vm_ids(state), snapshot_id(state, "pre-patch-2024-04")
    runs = by_name(runs)
    expected = [entry["name"] for entry in cases(state)] + ["wait"]
    if sorted(runs) != sorted(expected):
        return ["the runs are of %s, the scenario's cases are %s" % (sorted(runs), sorted(expected))]
    checks = [(name, lambda verdict, name=name: judge_idempotent(verdict, runs[name]))
              for name in expected if step_names(runs[name]) == IDEMPOTENT]
    checks += [(name, lambda verdict, name=name: judge_refused(verdict, runs[name], REFUSED[name])) for name in REFUSED]
    checks += [(name, lambda verdict, name=name: judge_applied(verdict, runs[name])) for name in PLAIN]
    checks += [(expect.__name__, lambda verdict, expect=expect: expect(verdict, runs, ids)) for expect in EXPECTATIONS]
    checks += [("expect_revert", lambda verdict: expect_revert(verdict, runs, ids, pre_patch_id))]
    return problems_of(checks)


def scenario_state(state):
    """What the cases and the judgement need of the state: the VMs' and the snapshots' names and ids."""
    return {table: [{"id": row["id"], "name": row["name"]} for row in state[table]] for table in ("vms", "vm_snapshots")}


class LookupModule(LookupBase):
    """query('vm_snapshot_scenario', 'reset' | 'state' | 'cases' | 'wait_args' | 'judge', ...): see the module docstring."""

    def run(self, terms, variables=None, **kwargs):
        what = terms[0] if len(terms) == 1 else None
        if what == "reset":
            return [dict(RESET, api_version=kwargs["api_version"])]
        if what == "state":
            # setup_simulator's simulator_admin lookup, the one home of the admin calls.
            admin = lookup_loader.get("simulator_admin", loader=self._loader, templar=self._templar)
            tables = [admin.run(["state?resource=" + table], url=kwargs["url"])[0] for table in ("vms", "vm_snapshots")]
            return [scenario_state(dict(tables[0], **tables[1]))]
        if what == "cases":
            return cases(kwargs["state"])
        if what == "wait_args":
            return [wait_args(kwargs["runs"])]
        if what == "judge":
            return judge(kwargs["state"], kwargs["runs"])
        raise AnsibleError("vm_snapshot_scenario takes one of reset, state, cases, wait_args or judge, got %s" % terms)
