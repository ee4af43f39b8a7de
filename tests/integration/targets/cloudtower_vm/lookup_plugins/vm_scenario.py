# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloudtower_vm scenarios: their cases in order, and the judgement of their runs.

One home for what the scenarios run and what they expect, played two ways:
- through Ansible by the cloudtower_vm target (core_through_ansible and full on API 4.6.0) and the
  cloudtower_vm_api_1_8 target (core_on_older_api on 1.8.0; both subsets: see CORE_ONLY), each case a loop item
  of setup_simulator's simulator_run (the module in its own process, with the simulator's requests of each step),
  and
- in-process by tests/unit/plugins/modules/test_cloudtower_vm_scenario.py, which calls the modules' main() against
  the in-process simulator and hands the judge the same shape of runs: every core case on 1.8.0, 1.10.0 and 4.6.0,
  and the full scenario on 4.6.0.

core: the path every user takes on one API version: create (disks, a CD-ROM, a NIC, a host), update, rename, every
power transition that has a steady state, and delete (with delete_snapshots where the API has it, refused and
explained where it has not). full (API 4.6.0): clone, rebuild from a snapshot, restart, forced fallbacks, wait:
false, suspended creation, options that cannot change on an existing VM, absent with force and to the recycle bin.
The full scenario runs in parts: a case whose options come from an earlier run's result (task ids to wait for, the
id of the recycled VM) starts a part, and each part gets the runs before it.

    query('vm_scenario', 'reset', api_version='4.6.0') | first          the body of setup_simulator's reset
    query('vm_scenario', 'cases', scenario='core' | 'core_through_ansible' | 'core_on_older_api' | 'full',
          api_version=..., part=0, runs=[...])
                                                                      the cases of that part, options filled in
    query('vm_scenario', 'judge', scenario='core', api_version=..., runs=[...], vm_snapshots=[...])
                                                                      every problem found, [] when none

A run is {<its loop variable>: case, steps: [{step, result, requests, mutations}, ...]} as simulator_run returns it.
vm_snapshots is the simulator's vm_snapshots table after the scenario (what delete_snapshots left).

These were some 230 tasks (an include, a run, a set_fact and three asserts per idempotent case, uri calls to the API
with a retried poll, the request log cleared and read in tasks of their own); the module runs were a third of the
targets' CPU.
"""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.smartx.cloudtower.tests.integration.targets.setup_simulator.action_plugins.simulator_run import (  # pylint: disable=import-error
    accepted,
    by_name,
    endpoints,
    operations,
    problems_of,
    result_of,
    sent,
    step_names,
    warning_texts,
)

RESET = {"state": "demo", "task_seconds": 0.2}
IDEMPOTENT = ["check", "apply", "apply", "check"]
NO_CHANGE = ["check", "apply"]
DELETE_EFFECT_SINCE = (2, 7)
SHUTDOWN_FAILS = {"task_failures": [{"operations": ["shutdown-vm"], "next": 1, "error_code": "JOB_VM_SHUTDOWN_TIMEOUT",
                                     "error_message": "The guest OS did not respond to the shutdown request"}]}
SHUTDOWN_HANGS = {"task_hangs": [{"operations": ["shutdown-vm"], "next": 1, "seconds": 3}]}
POWER = [
    {"state": "stopped", "from": "RUNNING", "status": "STOPPED", "calls": ["shutdown-vm"]},
    {"state": "running", "from": "STOPPED", "status": "RUNNING", "calls": ["start-vm"]},
    {"state": "suspended", "from": "RUNNING", "status": "SUSPENDED", "calls": ["suspend-vm"]},
    {"state": "running", "from": "SUSPENDED", "status": "RUNNING", "calls": ["resume-vm"]},
    {"state": "stopped", "from": "RUNNING", "status": "STOPPED", "calls": ["shutdown-vm"]},
    {"state": "suspended", "from": "STOPPED", "status": "SUSPENDED", "calls": ["start-vm", "suspend-vm"]},
    {"state": "stopped", "from": "SUSPENDED", "status": "STOPPED", "calls": ["resume-vm", "shutdown-vm"]},
]


def version_tuple(text):
    return tuple(int(part) for part in str(text).split(".")[:2])


def deletes_snapshots(api_version):
    return version_tuple(api_version) >= DELETE_EFFECT_SINCE


def case(name, args, steps=None, module="cloudtower_vm", before=None, after=None):
    """A case: the module and its options, its steps, and the simulator admin calls around it ([route, body])."""
    return {"name": name, "module": module, "args": args, "steps": steps or ["apply"], "before": before or [], "after": after or []}


def power_name(index):
    """Unique, by position: the sequence passes some transitions twice."""
    power = POWER[index]
    return "power %d: %s -> %s" % (index + 1, power["from"], power["state"])


def core_cases(api_version):
    renamed = {"name": "it-vm-1-renamed", "cluster": "cluster-a"}
    cases = [
        case("create", {"name": "it-vm-1", "cluster": "cluster-a", "host": "node-a2", "vcpu": 2, "memory": "2GiB",
                        "description": "integration test VM", "guest_os_type": "LINUX",
                        "disks": [{"size": "10GiB"}, {"size": "5GiB", "bus": "SCSI", "storage_policy": "REPLICA_3_THIN_PROVISION",
                                                      "name": "it-vm-1-data"}, {"type": "cdrom"}],
                        "nics": [{"vlan": "vm-network", "model": "E1000", "mac_address": "52:54:00:12:34:56"}], "state": "running"},
             IDEMPOTENT),
        case("update", {"name": "it-vm-1", "cluster": "cluster-a", "vcpu": 4, "cpu_cores": 2, "memory": "4GiB", "ha": False,
                        "description": "updated by the integration test"}, IDEMPOTENT),
        case("rename", {"name": "it-vm-1", "new_name": "it-vm-1-renamed", "cluster": "cluster-a"}, IDEMPOTENT),
    ]
    cases += [case(power_name(index), dict(renamed, state=power["state"]), IDEMPOTENT) for index, power in enumerate(POWER)]
    # Something to delete with the VM (or to survive it).
    cases.append(case("snapshot the VM", {"vm": "it-vm-1-renamed", "name": "it-vm-1-snap"}, module="cloudtower_vm_snapshot"))
    if deletes_snapshots(api_version):
        cases.append(case("delete with snapshots", dict(renamed, state="absent", delete_snapshots=True), IDEMPOTENT))
    else:
        cases.append(case("delete_snapshots refused", dict(renamed, state="absent", delete_snapshots=True)))
        cases.append(case("delete", dict(renamed, state="absent"), IDEMPOTENT))
    return [cases]


def full_cases(runs):
    """The full scenario's parts; the cases of a part may take options from the runs of the parts before it."""
    rebuilt, nowait = {"name": "it-rebuilt-1", "cluster": "cluster-a"}, {"name": "it-nowait-1", "cluster": "cluster-a"}
    parts = [[
        case("clone", {"name": "it-clone-1", "clone_from": "web-02", "vcpu": 4, "state": "stopped"}, IDEMPOTENT),
        case("web-02", {"name": "web-02"}, module="cloudtower_vm_info"),
        case("snapshot web-02", {"vm": "web-02", "name": "it-web-02-snap"}, module="cloudtower_vm_snapshot"),
        case("from_snapshot", dict(rebuilt, from_snapshot="it-web-02-snap", state="running"), IDEMPOTENT),
        # restarted is always a change on a running VM (check mode, then twice for real); a stopped VM is started.
        case("restart it-rebuilt-1", dict(rebuilt, state="restarted"), ["check", "apply", "apply"]),
        case("restart the stopped it-clone-1", {"name": "it-clone-1", "cluster": "cluster-a", "state": "restarted"}),
        # A graceful shutdown that fails (a guest without ACPI) or hangs: without force it is the task's failure,
        # with force the VM is powered off.
        case("stop without force, shutdown fails", dict(rebuilt, state="stopped"), before=[["faults", SHUTDOWN_FAILS]]),
        case("it-rebuilt-1 after the failed stop", {"name": "it-rebuilt-1"}, module="cloudtower_vm_info"),
        case("stop with force, shutdown fails", dict(rebuilt, state="stopped", force=True), before=[["faults", SHUTDOWN_FAILS]]),
        case("start it-rebuilt-1", dict(rebuilt, state="running")),
        case("stop with force, shutdown hangs", dict(rebuilt, state="stopped", force=True, shutdown_timeout=1),
             before=[["faults", SHUTDOWN_HANGS]], after=[["faults", {}]]),
        # wait: false returns the task ids at once; the task stays idempotent while CloudTower works.
        case("create without waiting", dict(nowait, vcpu=1, memory="1GiB", state="running", wait=False)),
        case("create without waiting, again", dict(nowait, vcpu=1, memory="1GiB", wait=False)),
    ]]
    if len(runs) < len(parts[0]):
        return parts
    runs = by_name(runs)
    parts.append([
        case("wait for the create", {"ids": task_ids(runs, "create without waiting"), "wait": True, "wait_timeout": 60},
             module="cloudtower_task_info"),
        case("stop without waiting", dict(nowait, state="stopped", wait=False)),
    ])
    if "stop without waiting" not in runs:
        return parts
    suspended = {"name": "it-suspended-1", "cluster": "cluster-b"}
    recycled = result_of(runs, "create without waiting")["vm"]["id"]
    web01 = {"name": "web-01", "cluster": "cluster-a"}
    parts.append([
        case("wait for the shutdown", {"ids": task_ids(runs, "stop without waiting"), "wait": True, "wait_timeout": 60},
             module="cloudtower_task_info"),
        case("create suspended", dict(suspended, cpu_sockets=1, cpu_cores=2, memory="1GiB", nics=[{"vlan": "default"}], state="suspended"),
             IDEMPOTENT),
        # Options CloudTower cannot change on an existing VM are compared, reported and warned about, never applied;
        # disks and NICs that match the VM's are no change (their reconciliation is the target cloudtower_vm_devices).
        # web-01: BIOS, LINUX, one 40GiB disk, on vm-network, on node-a1.
        case("not applied", dict(web01, firmware="UEFI", guest_os_type="WINDOWS", disks=[{"size": "40GiB"}], nics=[{"vlan": "vm-network"}]),
             NO_CHANGE),
        case("applied already", dict(web01, firmware="BIOS", guest_os_type="LINUX", host="node-a1", disks=[{"size": "40GiB"}],
                                     nics=[{"vlan": "vm-network"}]), NO_CHANGE),
        case("absent with force", dict(suspended, state="absent", force=True), IDEMPOTENT),
        case("recycle bin", dict(nowait, state="absent", recycle_bin=True), IDEMPOTENT),
        case("recycle bin by id", {"id": recycled, "state": "absent", "recycle_bin": True}, NO_CHANGE),
        case("delete from the recycle bin", {"id": recycled, "state": "absent"}, IDEMPOTENT),
    ])
    return parts


# The core cases played through Ansible (CORE_LEFT_OUT, CORE_ONLY). In-process
# (tests/unit/plugins/modules/test_cloudtower_vm_scenario.py) every core case runs on every version; through
# Ansible, where each step is a module process (about 0.35 CPU-s):
# - core_through_ansible (API 4.6.0): every case but the power transitions 2 to 5; transitions 1, 6 and 7
#   (RUNNING -> stopped -> suspended -> stopped) send each power operation (shutdown, start, suspend, resume), also
#   the two-step ones, and the transitions left out are their single steps with other inputs;
# - core_on_older_api (API 1.8.0): the cases whose requests or refusals differ by version, and the ones they need.
CORE_LEFT_OUT = {"core_through_ansible": [power_name(index) for index in (1, 2, 3, 4)]}
CORE_ONLY = {"core_on_older_api": ["create", "rename", power_name(0), "snapshot the VM", "delete_snapshots refused", "delete",
                                   "delete with snapshots"]}


def in_core_subset(scenario, name):
    return name not in CORE_LEFT_OUT.get(scenario, []) and name in CORE_ONLY.get(scenario, [name])


def cases(scenario, api_version, runs):
    """The scenario's parts: core, a subset of it played through Ansible (see above), or full."""
    if scenario in CORE_LEFT_OUT or scenario in CORE_ONLY:
        return [[entry for entry in part if in_core_subset(scenario, entry["name"])] for part in core_cases(api_version)]
    return core_cases(api_version) if scenario == "core" else full_cases(runs)


# ----- judgement ------------------------------------------------------------------------------------------------
def task_ids(runs, name):
    return [task["id"] for task in result_of(runs, name)["tasks"]]


def judge_idempotent(verdict, run):
    """Check mode must predict the apply exactly (same steps, same changed fields, same --diff); the second apply
    and check mode change nothing and send no mutating request."""
    check, apply, again, check_again = (step["result"] for step in run["steps"])
    mutations = [step["mutations"] for step in run["steps"]]
    verdict.expect(check.get("changed") and len(check["actions"]) > 0 and mutations[0] == [],
                   "check mode: changed=%s, mutations=%s" % (check.get("changed"), endpoints(mutations[0])))
    verdict.expect(apply.get("changed") and operations(apply) == operations(check) and sorted(apply["changes"]) == sorted(check["changes"])
                   and len(mutations[1]) > 0 and [m for m in mutations[1] if m.get("status") != 200] == []
                   and check["diff"]["before"] == apply["diff"]["before"] and check["diff"]["after"] == apply["diff"]["after"],
                   "apply: actions=%s, diff=%s; check mode: actions=%s, diff=%s; mutations=%s; msg=%s"
                   % (apply.get("actions"), apply.get("diff"), check.get("actions"), check.get("diff"), endpoints(mutations[1]), apply.get("msg")))
    verdict.expect(not again.get("changed") and again["actions"] == [] and again["changes"] == {} and again["tasks"] == [] and mutations[2] == []
                   and not check_again.get("changed") and check_again["actions"] == [] and mutations[3] == [],
                   "again: changed=%s, actions=%s, mutations=%s; check mode again: changed=%s, mutations=%s; the idempotent run's requests: %s"
                   % (again.get("changed"), again.get("actions"), endpoints(mutations[2]), check_again.get("changed"), endpoints(mutations[3]),
                      endpoints(run["steps"][2]["requests"])))


def judge_no_change(verdict, run):
    """Check mode, then apply: neither changes anything or sends a mutating request; the same report."""
    check, result = run["steps"][0]["result"], run["steps"][1]["result"]
    verdict.expect(not check.get("changed") and not result.get("changed") and result["actions"] == []
                   and check["not_applied"] == result["not_applied"] and run["steps"][0]["mutations"] + run["steps"][1]["mutations"] == [],
                   "changed=%s/%s, actions=%s, mutations=%s, msg=%s" % (check.get("changed"), result.get("changed"), result.get("actions"),
                                                                        endpoints(run["steps"][0]["mutations"] + run["steps"][1]["mutations"]),
                                                                        result.get("msg")))


def judge_applied(verdict, run):
    """A run that must succeed (it prepares a later case)."""
    result = run["steps"][-1]["result"]
    verdict.expect(not result.get("failed"), "failed: %s" % result.get("msg"))


def expect_create(verdict, runs):
    check, apply, again, _check_again = (step["result"] for step in runs["create"]["steps"])
    verdict.expect(accepted(runs["create"]["steps"][1]["requests"]) == ["create-vm"], "sent %s" % accepted(runs["create"]["steps"][1]["requests"]))
    verdict.expect(check["vm"] is None and check["changes"]["exists"] == {"before": False, "after": True} and check["diff"]["before"] == {}
                   and check["diff"]["after"]["memory"] == 2147483648, "check mode: %s %s" % (check.get("changes"), check.get("diff")))
    vm = apply["vm"]
    # The VM was created as asked, and the second run found every option applied.
    verdict.expect(vm["name"] == "it-vm-1" and vm["status"] == "RUNNING" and vm["vcpu"] == 2 and vm["cpu"] == {"sockets": 2, "cores": 1}
                   and int(vm["memory"]) == 2147483648 and vm["host"]["name"] == "node-a2" and len(vm["vm_disks"]) == 3
                   and len(vm["vm_nics"]) == 1 and vm["entityAsyncStatus"] is None, "the VM: %s" % vm)
    verdict.expect(len(apply["tasks"]) == 1 and apply["tasks"][0]["status"] == "SUCCESSED" and apply["diff"]["after"]["status"] == "RUNNING",
                   "tasks %s" % apply["tasks"])
    verdict.expect(again["vm"]["id"] == vm["id"] and again["not_applied"] == [], "again: %s, not applied %s" % (again["vm"], again["not_applied"]))


def expect_update(verdict, runs):
    check, apply, _again, _check_again = (step["result"] for step in runs["update"]["steps"])
    # Exactly the changed fields were updated, in place.
    verdict.expect(accepted(runs["update"]["steps"][1]["requests"]) == ["update-vm-basic-info"]
                   and sorted(apply["changes"]) == ["cpu_cores", "description", "ha", "memory", "vcpu"]
                   and apply["changes"]["vcpu"] == {"before": 2, "after": 4}
                   and apply["changes"]["memory"] == {"before": 2147483648, "after": 4294967296}
                   and check["diff"]["after"]["memory"] == 4294967296, "changes %s" % apply.get("changes"))
    vm = apply["vm"]
    verdict.expect(vm["vcpu"] == 4 and vm["cpu"] == {"sockets": 2, "cores": 2} and int(vm["memory"]) == 4294967296 and vm["ha"] is False
                   and vm["status"] == "RUNNING", "the VM: %s" % vm)


def expect_rename(verdict, runs):
    apply, again = result_of(runs, "rename", 1), result_of(runs, "rename", 2)
    # The VM was renamed, and the second run found it by its new name.
    verdict.expect(accepted(runs["rename"]["steps"][1]["requests"]) == ["update-vm-basic-info"]
                   and apply["changes"] == {"name": {"before": "it-vm-1", "after": "it-vm-1-renamed"}} and apply["vm"]["name"] == "it-vm-1-renamed"
                   and again["vm"]["id"] == result_of(runs, "create", 1)["vm"]["id"], "rename: %s" % apply.get("changes"))


def expect_power(verdict, runs, index):
    power, run = POWER[index], runs[power_name(index)]
    check, apply = run["steps"][0]["result"], run["steps"][1]["result"]
    # The transition used exactly power["calls"].
    verdict.expect(accepted(run["steps"][1]["requests"]) == power["calls"] and operations(apply) == power["calls"]
                   and apply["changes"]["status"] == {"before": power["from"], "after": power["status"]}
                   and check["diff"]["after"]["status"] == power["status"] and apply["vm"]["status"] == power["status"]
                   and set(task["status"] for task in apply["tasks"]) == {"SUCCESSED"},
                   "sent %s, actions %s, changes %s" % (accepted(run["steps"][1]["requests"]), apply.get("actions"), apply.get("changes")))


def expect_delete(verdict, runs, api_version, vm_snapshots):
    left = [snapshot for snapshot in vm_snapshots if snapshot["name"] == "it-vm-1-snap"]
    if deletes_snapshots(api_version):
        apply = result_of(runs, "delete with snapshots", 1)
        # The VM and its snapshot are gone.
        verdict.expect(accepted(runs["delete with snapshots"]["steps"][1]["requests"]) == ["delete-vm"]
                       and apply["changes"] == {"exists": {"before": True, "after": False}} and apply["vm"] is None and apply["diff"]["after"] == {}
                       and left == [], "delete: %s, snapshots left %s" % (apply.get("changes"), left))
        return
    refused = runs["delete_snapshots refused"]["steps"][0]
    msg = str(refused["result"].get("msg"))
    # Refused with an explanation; when CloudTower tells its version (get-deploys answers), nothing is even sent.
    tells_version = any(r["endpoint"] == "get-deploys" and r.get("status") == 200 for r in refused["requests"])
    verdict.expect(refused["result"].get("failed") and "delete_snapshots" in msg and "2.7" in msg and accepted(refused["requests"]) == []
                   and (not tells_version or sent(refused["requests"]) == []), "%s / %s" % (msg, endpoints(refused["mutations"])))
    apply = result_of(runs, "delete", 1)
    # The VM is gone, its snapshot survives detached.
    verdict.expect(accepted(runs["delete"]["steps"][1]["requests"]) == ["delete-vm"] and apply["vm"] is None
                   and len(left) == 1 and left[0]["vm"] is None, "delete: %s, snapshots left %s" % (apply.get("changes"), left))


def judge_core(api_version, vm_snapshots):
    """The core scenario's expectations: (the cases each needs, a function of (verdict, runs by name))."""
    powers = [([power_name(index)], lambda verdict, runs, index=index: expect_power(verdict, runs, index)) for index in range(len(POWER))]
    deleted = ["delete with snapshots"] if deletes_snapshots(api_version) else ["delete_snapshots refused", "delete"]
    return [(["create"], expect_create), (["update"], expect_update), (["create", "rename"], expect_rename)] + powers + [
        (deleted, lambda verdict, runs: expect_delete(verdict, runs, api_version, vm_snapshots))]


def expect_clone_and_rebuild(verdict, runs):
    check, apply = result_of(runs, "clone"), result_of(runs, "clone", 1)
    # The clone is a new stopped VM in the source's cluster.
    verdict.expect(accepted(runs["clone"]["steps"][1]["requests"]) == ["clone-vm"] and apply["actions"][0]["operation"] == "clone-vm"
                   and apply["vm"]["name"] == "it-clone-1" and apply["vm"]["status"] == "STOPPED" and apply["vm"]["vcpu"] == 4
                   and apply["vm"]["cpu"] == {"sockets": 2, "cores": 2} and apply["vm"]["cluster"]["name"] == "cluster-a"
                   and check["diff"]["after"]["vcpu"] == 4, "the clone: %s" % apply.get("vm", apply.get("msg")))
    web02 = result_of(runs, "web-02")["vms"][0]
    check, apply = result_of(runs, "from_snapshot"), result_of(runs, "from_snapshot", 1)
    # The rebuilt VM has the snapshot's configuration.
    verdict.expect(accepted(runs["from_snapshot"]["steps"][1]["requests"]) == ["rebuild-vm-from-snapshot"] and apply["vm"]["name"] == "it-rebuilt-1"
                   and apply["vm"]["status"] == "RUNNING" and apply["vm"]["vcpu"] == web02["vcpu"] and apply["vm"]["memory"] == web02["memory"]
                   and check["diff"]["after"]["vcpu"] == web02["vcpu"], "the rebuilt VM: %s" % apply.get("vm", apply.get("msg")))


def expect_restarts(verdict, runs):
    run = runs["restart it-rebuilt-1"]
    for step, calls in zip(run["steps"], [[], ["restart-vm"], ["restart-vm"]]):
        result = step["result"]
        verdict.expect(result.get("changed") and len(result["actions"]) == 1 and sent(step["requests"]) == calls, "%s: sent %s, changed=%s"
                       % (step["step"], sent(step["requests"]), result.get("changed")))
        if step["step"] == "apply":
            verdict.expect(result["changes"] == {"restarted": {"before": False, "after": True}} and result["vm"]["status"] == "RUNNING",
                           "restart: %s" % result.get("changes"))
    step = runs["restart the stopped it-clone-1"]["steps"][0]
    result = step["result"]
    # Restarting a stopped VM starts it: a status change, not a restart.
    verdict.expect(result.get("changed") and len(result["actions"]) == 1 and sent(step["requests"]) == ["start-vm"]
                   and result["changes"] == {"status": {"before": "STOPPED", "after": "RUNNING"}} and result["vm"]["status"] == "RUNNING",
                   "restart of a stopped VM: sent %s, changes %s" % (sent(step["requests"]), result.get("changes")))


def expect_forced(verdict, runs):
    failed = result_of(runs, "stop without force, shutdown fails")
    # The failure names the task error and the option that would help; the VM still runs.
    verdict.expect(failed.get("failed") and failed.get("changed") and "did not respond to the shutdown request" in str(failed.get("msg"))
                   and failed["error"]["type"] == "task_failed" and failed["actions"][0]["operation"] == "shutdown-vm",
                   "stop without force: %s" % failed.get("msg"))
    verdict.expect(result_of(runs, "it-rebuilt-1 after the failed stop")["vms"][0]["status"] == "RUNNING", "the VM no longer runs")
    step = runs["stop with force, shutdown fails"]["steps"][0]
    forced = step["result"]
    # Shutdown, then power-off.
    verdict.expect(forced.get("changed") and sent(step["requests"]) == ["shutdown-vm", "poweroff-vm"]
                   and forced["actions"][0]["fallback"] == "poweroff-vm" and forced["actions"][0]["fell_back"]
                   and len(forced["actions"][0]["task_ids"]) == 2 and [t["status"] for t in forced["tasks"]] == ["FAILED", "SUCCESSED"]
                   and forced["vm"]["status"] == "STOPPED", "stop with force: sent %s, %s" % (sent(step["requests"]), forced.get("actions")))
    step = runs["stop with force, shutdown hangs"]["steps"][0]
    hung = step["result"]
    # The power-off was tried after the timeout, and the VM ended stopped either way.
    verdict.expect(hung.get("changed") and hung["actions"][0]["fell_back"] and "poweroff-vm" in sent(step["requests"])
                   and hung["vm"]["status"] == "STOPPED", "stop with force, shutdown hangs: sent %s, %s" % (sent(step["requests"]), hung.get("actions")))


def expect_nowait(verdict, runs):
    created = result_of(runs, "create without waiting")
    # The create task is returned unfinished, and so is the VM.
    verdict.expect(created.get("changed") and len(created["tasks"]) == 1 and created["tasks"][0]["id"] == created["actions"][0]["task_ids"][0]
                   and created["tasks"][0]["status"] in ["PENDING", "EXECUTING"] and created["vm"]["entityAsyncStatus"] == "CREATING",
                   "create without waiting: %s %s" % (created.get("tasks"), created.get("vm")))
    step = runs["create without waiting, again"]["steps"][0]
    # Running the task again while CloudTower creates the VM finds it and changes nothing.
    verdict.expect(not step["result"].get("changed") and step["result"]["vm"]["id"] == created["vm"]["id"] and step["mutations"] == [],
                   "again: changed=%s, sent %s" % (step["result"].get("changed"), endpoints(step["mutations"])))
    waited = result_of(runs, "wait for the create")
    verdict.expect(waited["tasks"][0]["status"] == "SUCCESSED" and waited["tasks"][0]["id"] == created["tasks"][0]["id"], "waited: %s" % waited.get("tasks"))
    stopped = result_of(runs, "stop without waiting")
    # The shutdown task is returned as it was (the last step is not waited for).
    verdict.expect(stopped.get("changed") and len(stopped["tasks"]) == 1 and stopped["tasks"][0]["status"] in ["PENDING", "EXECUTING"],
                   "stop without waiting: %s" % stopped.get("tasks"))
    verdict.expect(not result_of(runs, "wait for the shutdown").get("failed"), "the wait for the shutdown failed")


def expect_suspended_and_not_applied(verdict, runs):
    check, apply = result_of(runs, "create suspended"), result_of(runs, "create suspended", 1)
    # It was created running, then suspended.
    verdict.expect(accepted(runs["create suspended"]["steps"][1]["requests"]) == ["create-vm", "suspend-vm"] and apply["vm"]["status"] == "SUSPENDED"
                   and apply["vm"]["cluster"]["name"] == "cluster-b" and check["diff"]["after"]["status"] == "SUSPENDED" and len(apply["tasks"]) == 2,
                   "create suspended: %s" % apply.get("vm", apply.get("msg")))
    result = result_of(runs, "not applied", 1)
    warnings = warning_texts(result)
    # Each differing option is reported with a warning.
    verdict.expect(sorted(item["option"] for item in result["not_applied"]) == ["firmware", "guest_os_type"]
                   and [item for item in result["not_applied"] if item["option"] == "firmware"][0]["current"] == "BIOS"
                   and len([w for w in warnings if "not applied" in w]) == 2, "not applied: %s, warnings %s" % (result["not_applied"], warnings))
    verdict.expect(result_of(runs, "applied already", 1)["not_applied"] == [], "applied already: %s" % result_of(runs, "applied already", 1)["not_applied"])


def expect_absent(verdict, runs):
    check, apply = result_of(runs, "absent with force"), result_of(runs, "absent with force", 1)
    # Powered off, then deleted.
    verdict.expect(accepted(runs["absent with force"]["steps"][1]["requests"]) == ["poweroff-vm", "delete-vm"]
                   and apply["changes"]["status"] == {"before": "SUSPENDED", "after": "STOPPED"}
                   and apply["changes"]["exists"] == {"before": True, "after": False} and apply["vm"] is None and check["diff"]["after"] == {},
                   "absent with force: %s" % apply.get("changes"))
    check, apply, again = (result_of(runs, "recycle bin", step) for step in range(3))
    # In the recycle bin, and no longer found by name.
    verdict.expect(accepted(runs["recycle bin"]["steps"][1]["requests"]) == ["move-vm-to-recycle"]
                   and apply["changes"] == {"in_recycle_bin": {"before": False, "after": True}} and apply["vm"]["in_recycle_bin"]
                   and check["diff"]["after"]["in_recycle_bin"] and again["vm"] is None, "recycle bin: %s" % apply.get("changes"))
    apply = result_of(runs, "delete from the recycle bin", 1)
    # By id, without recycle_bin, it is deleted for good.
    verdict.expect(accepted(runs["delete from the recycle bin"]["steps"][1]["requests"]) == ["delete-vm"] and apply["vm"] is None,
                   "delete from the recycle bin: %s" % apply.get("changes"))
    verdict.expect(apply["vm"] is None and result_of(runs, "recycle bin", 1)["vm"]["id"] == result_of(runs, "create without waiting")["vm"]["id"],
                   "the recycled VM is not it-nowait-1")


FULL = [expect_clone_and_rebuild, expect_restarts, expect_forced, expect_nowait, expect_suspended_and_not_applied, expect_absent]
PREPARING = ["snapshot the VM", "web-02", "snapshot web-02", "start it-rebuilt-1", "it-rebuilt-1 after the failed stop",
             "wait for the create", "wait for the shutdown"]


def all_cases(scenario, api_version, runs):
    """Every case of the scenario, the later parts' options taken from runs."""
    parts = cases(scenario, api_version, runs)
    return [entry for part in parts for entry in part]


def judge(scenario, api_version, runs, vm_snapshots=None):
    """Every problem of the scenario's runs ([] when none)."""
    expected = [entry["name"] for entry in all_cases(scenario, api_version, runs)]
    runs_by_name = by_name(runs)
    if sorted(runs_by_name) != sorted(expected):
        return ["the runs are of %s, the scenario's cases are %s" % (sorted(runs_by_name), sorted(expected))]
    checks = [(name, lambda verdict, name=name: judge_idempotent(verdict, runs_by_name[name]))
              for name in expected if step_names(runs_by_name[name]) == IDEMPOTENT]
    checks += [(name, lambda verdict, name=name: judge_no_change(verdict, runs_by_name[name]))
               for name in expected if step_names(runs_by_name[name]) == NO_CHANGE]
    checks += [(name, lambda verdict, name=name: judge_applied(verdict, runs_by_name[name])) for name in PREPARING if name in runs_by_name]
    if scenario == "full":
        expectations = FULL
    else:
        expectations = [expect for needs, expect in judge_core(api_version, vm_snapshots or []) if set(needs) <= set(expected)]
    checks += [("%s %s" % (scenario, index), lambda verdict, expect=expect: expect(verdict, runs_by_name)) for index, expect in enumerate(expectations)]
    return problems_of(checks)


class LookupModule(LookupBase):
    """query('vm_scenario', 'reset' | 'cases' | 'judge', ...): see the module docstring."""

    def run(self, terms, variables=None, **kwargs):
        what = terms[0] if len(terms) == 1 else None
        if what == "reset":
            return [dict(RESET, api_version=kwargs["api_version"])]
        if what == "cases":
            parts = cases(kwargs["scenario"], kwargs["api_version"], kwargs.get("runs") or [])
            return parts[kwargs.get("part", 0)]
        if what == "judge":
            return judge(kwargs["scenario"], kwargs["api_version"], kwargs["runs"], kwargs.get("vm_snapshots"))
        raise AnsibleError("vm_scenario takes one of reset, cases or judge, got %s" % terms)
