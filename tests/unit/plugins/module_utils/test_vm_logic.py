# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_vm's decisions: comparison, power transitions, drift of creation-only options, and the plan runner."""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import ApiError, CloudTowerError, InputError, TaskFailedError
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm import (
    PlanRunner,
    PowerStep,
    VmPlan,
    basic_info_changes,
    check_delete_effect_supported,
    explain_refused_effect,
    managed_view,
    placement_drift,
    power_changes,
    power_steps,
    update_data,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_spec import References, VmSpec
from ansible_collections.smartx.cloudtower.tests.unit.plugins.module_utils.fakes import FakeClock

GIB = 1024 ** 3


def spec(**overrides):
    base = dict(name="web-1", new_name=None, description=None, cluster=None, host=None, folder=None, firmware=None,
                guest_os_type=None, ha=None, vcpu=None, cpu_sockets=None, cpu_cores=None, memory=None, clone_from=None,
                from_snapshot=None, disks=None, nics=None)
    base.update(overrides)
    return VmSpec(base)


def a_vm(**overrides):
    vm = {"id": "vm-1", "name": "web-1", "description": "", "vcpu": 4, "cpu": {"sockets": 2, "cores": 2},
          "memory": 4 * GIB, "ha": True, "status": "RUNNING", "in_recycle_bin": False, "firmware": "BIOS",
          "guest_os_type": "LINUX", "host": {"id": "host-1", "name": "node-1"}, "folder": None,
          "cluster": {"id": "c-1", "name": "c1"}}
    vm.update(overrides)
    return vm


# ----- comparison ------------------------------------------------------------------------------------
def test_nothing_asked_nothing_changed():
    assert basic_info_changes(a_vm(), spec()) == {}


def test_same_values_in_other_forms_are_no_change():
    # memory as a double (API 1.8) and as a unit string; vcpu alone keeps the topology
    vm = a_vm(memory=4294967296.0)
    assert basic_info_changes(vm, spec(memory="4GiB", vcpu=4, ha=True, description="")) == {}


def test_only_the_differing_fields_are_reported():
    changes = basic_info_changes(a_vm(), spec(memory="8GiB", vcpu=4, description="front", new_name="web-01"))
    assert changes == {
        "memory": {"before": 4 * GIB, "after": 8 * GIB},
        "description": {"before": "", "after": "front"},
        "name": {"before": "web-1", "after": "web-01"},
    }


def test_a_topology_change_sends_the_whole_topology():
    vm = a_vm()
    changes = basic_info_changes(vm, spec(cpu_sockets=4))
    assert changes == {"vcpu": {"before": 4, "after": 8}, "cpu_sockets": {"before": 2, "after": 4}}
    assert update_data(changes, vm) == {"vcpu": 8, "cpu_sockets": 4, "cpu_cores": 2}


def test_managed_view():
    assert managed_view(a_vm()) == {"name": "web-1", "description": "", "vcpu": 4, "cpu_sockets": 2, "cpu_cores": 2,
                                    "memory": 4 * GIB, "ha": True, "status": "RUNNING", "in_recycle_bin": False}
    assert managed_view(None) == {}


# ----- power ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status, target, operations", [
    ("RUNNING", "running", []),
    ("STOPPED", "running", ["start-vm"]),
    ("SUSPENDED", "running", ["resume-vm"]),
    ("RUNNING", "stopped", ["shutdown-vm"]),
    ("STOPPED", "stopped", []),
    ("SUSPENDED", "stopped", ["resume-vm", "shutdown-vm"]),
    ("RUNNING", "suspended", ["suspend-vm"]),
    ("STOPPED", "suspended", ["start-vm", "suspend-vm"]),
    ("SUSPENDED", "suspended", []),
    ("RUNNING", "restarted", ["restart-vm"]),
    ("STOPPED", "restarted", ["start-vm"]),
    ("SUSPENDED", "restarted", ["resume-vm", "restart-vm"]),
])
def test_power_transitions_never_ask_for_the_state_the_vm_is_in(status, target, operations):
    assert [s.operation for s in power_steps(status, target, force=False)] == operations


def test_force_adds_fallbacks_to_graceful_operations_only():
    steps = power_steps("SUSPENDED", "stopped", force=True)
    assert [(s.operation, s.fallback) for s in steps] == [("resume-vm", None), ("shutdown-vm", "poweroff-vm")]
    assert power_steps("RUNNING", "restarted", force=True)[0].fallback == "force-restart-vm"
    assert power_steps("RUNNING", "stopped", force=False)[0].fallback is None


@pytest.mark.parametrize("status", ["UNKNOWN", "DELETED"])
def test_unknown_status_is_refused(status):
    with pytest.raises(CloudTowerError) as error:
        power_steps(status, "running", force=True)
    assert status in error.value.message


def test_power_changes():
    assert power_changes("RUNNING", "running") == {}
    assert power_changes("STOPPED", "running") == {"status": {"before": "STOPPED", "after": "RUNNING"}}
    assert power_changes("RUNNING", "restarted") == {"restarted": {"before": False, "after": True}}
    assert power_changes("STOPPED", "restarted") == {"status": {"before": "STOPPED", "after": "RUNNING"}}


# ----- creation-only options on an existing VM ---------------------------------------------------------------
def test_placement_drift_lists_what_differs():
    refs = References()
    refs.host = {"id": "host-2"}
    drift = placement_drift(spec(host="node-2", firmware="UEFI", guest_os_type="LINUX"), a_vm(status="STOPPED"), refs, will_start=False)
    assert [d["option"] for d in drift] == ["host", "firmware"]
    assert drift[1] == {"option": "firmware", "wanted": "UEFI", "current": "BIOS", "reason": "the firmware of an existing VM cannot be changed"}


def test_a_host_used_to_start_the_vm_or_migrated_to_is_no_drift():
    refs = References()
    refs.host = {"id": "host-2"}
    assert placement_drift(spec(host="node-2"), a_vm(status="STOPPED"), refs, will_start=True) == []
    assert placement_drift(spec(host="node-2"), a_vm(status="RUNNING"), refs, will_start=False) == []


# ----- delete_snapshots and the CloudTower version ------------------------------------------------------------
class VersionClient:
    def __init__(self, reply):
        self.reply = reply

    def call(self, operation, body):
        assert operation == "get-deploys"
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


def test_delete_snapshots_refused_before_2_7():
    with pytest.raises(InputError) as error:
        check_delete_effect_supported(VersionClient([{"id": "d", "version": "1.8.0"}]))
    assert error.value.option == "delete_snapshots"
    assert "1.8" in error.value.message


@pytest.mark.parametrize("reply, expected", [
    ([{"id": "d", "version": "4.6.0"}], (4, 6)),
    ([{"id": "d", "version": "2.7.1-rc1"}], (2, 7)),
    ([], None),
    (ApiError("get-deploys", 404, "Not Found"), None),
])
def test_delete_snapshots_allowed_from_2_7_or_when_unknown(reply, expected):
    assert check_delete_effect_supported(VersionClient(reply)) == expected


def test_a_refused_effect_key_is_explained():
    error = explain_refused_effect(ApiError("delete-vm", 400, "property body.effect should not exist"))
    assert "delete_snapshots" in error.message and "2.7" in error.message
    other = ApiError("delete-vm", 400, "VM_NOT_FOUND")
    assert explain_refused_effect(other) is other


# ----- the plan runner -------------------------------------------------------------------------------------------
class ScriptedClient:
    """A tiny CloudTower: one task per mutation, task statuses scripted per operation, a VM that can stay busy.

    busy_reads: how many get-vms reads after each task still show the VM busy (entityAsyncStatus).
    refuse: operations answered with HTTP 400 (as CloudTower refuses a power-off of a stopped VM).
    """

    def __init__(self, outcomes=None, busy_reads=0, refuse=(), status_after=None):
        self.outcomes = outcomes or {}
        self.busy_reads = busy_reads
        self.refuse = refuse
        self.status_after = status_after or {}
        self.sent = []
        self.by_task = {}
        self.reads = []
        self.busy_left = 0
        self.vm = {"id": "vm-1", "status": "RUNNING", "entityAsyncStatus": None}

    def mutate(self, operation, body):
        if operation in self.refuse:
            self.sent.append((operation, body))
            raise ApiError(operation, 400, "PRECHECK_VMS_STATE_UNMATCH")
        self.sent.append((operation, body))
        task_id = "task-%d" % len(self.sent)
        outcome = self.outcomes.get(operation, "SUCCESSED")
        # a list scripts one outcome per call of the operation
        self.by_task[task_id] = (operation, outcome.pop(0) if isinstance(outcome, list) else outcome)
        if operation in ("create-vm", "clone-vm"):
            self.vm = {"id": "new-vm", "status": "STOPPED", "entityAsyncStatus": None}
        if self.by_task[task_id][1] == "SUCCESSED" and operation in self.status_after:
            self.vm["status"] = self.status_after[operation]
        self.busy_left = self.busy_reads
        return [{"task_id": task_id, "data": {"id": self.vm["id"]}}]

    def call(self, operation, body):
        if operation == "get-vms":
            where = body["where"]
            self.reads.append(where["id"] if "id" in where else where["id_in"][0])
            busy = self.busy_left > 0
            self.busy_left -= 1
            return [dict(self.vm, entityAsyncStatus="UPDATING" if busy else None)]
        assert operation == "get-tasks"
        return [{"id": i, "status": self.by_task[i][1], "description": self.by_task[i][0],
                 "error_message": "guest did not stop" if self.by_task[i][1] == "FAILED" else None}
                for i in body["where"]["id_in"]]


class RunnerModule:
    check_mode = False

    def __init__(self, client, wait=True):
        self.client = client
        self.params = {"wait": wait, "wait_timeout": 5}
        self.waiter = TaskWaiter(client, 5, sleep=lambda s: None)


def runner_for(client, wait=True):
    return PlanRunner(RunnerModule(client, wait), shutdown_timeout=5, sleep=lambda s: None)


def test_steps_after_a_create_use_the_new_vms_id():
    client = ScriptedClient()
    plan = VmPlan()
    plan.add("create-vm", [{"name": "x"}], "Create")
    plan.add_power(PowerStep("suspend-vm", "Suspend"))
    runner = runner_for(client)
    assert runner.run(plan)["id"] == "new-vm"
    assert client.sent[1] == ("suspend-vm", {"where": {"id": "new-vm"}})
    assert [t["status"] for t in runner.tasks] == ["SUCCESSED", "SUCCESSED"]


def test_each_step_and_the_final_read_wait_for_an_idle_vm():
    client = ScriptedClient(busy_reads=2)
    plan = VmPlan()
    plan.add("update-vm-basic-info", lambda vm_id: {"where": {"id": vm_id}, "data": {"vcpu": 2}}, "Update")
    plan.add_power(PowerStep("start-vm", "Start"))
    final = runner_for(client).run(plan, {"id": "vm-1", "entityAsyncStatus": None})
    # two busy reads then an idle one, before the start and after it
    assert client.reads == ["vm-1"] * 6
    assert final["entityAsyncStatus"] is None


def test_a_vm_that_stays_busy_fails_within_wait_timeout():
    client = ScriptedClient()
    client.busy_left = 10 ** 6
    clock = FakeClock()
    plan = VmPlan()
    plan.add_power(PowerStep("start-vm", "Start"))
    runner = PlanRunner(RunnerModule(client), shutdown_timeout=5, sleep=clock.sleep, clock=clock)
    with pytest.raises(CloudTowerError) as error:
        runner.run(plan, {"id": "vm-1", "entityAsyncStatus": "UPDATING"})
    assert "is UPDATING" in error.value.message and "wait_timeout" in error.value.message
    assert client.sent == []
    assert sum(clock.sleeps) == pytest.approx(5.0)


def test_a_failed_graceful_shutdown_falls_back_to_poweroff_with_force():
    client = ScriptedClient({"shutdown-vm": "FAILED"})
    plan = VmPlan()
    plan.add_power(PowerStep("shutdown-vm", "Shut down", "poweroff-vm"))
    runner_for(client).run(plan, {"id": "vm-1"})
    assert [call[0] for call in client.sent] == ["shutdown-vm", "poweroff-vm"]
    assert plan.describe()[0]["fell_back"] is True
    assert plan.describe()[0]["task_ids"] == ["task-1", "task-2"]


def test_a_refused_poweroff_of_a_vm_that_stopped_meanwhile_is_success():
    client = ScriptedClient({"shutdown-vm": "FAILED"}, refuse=("poweroff-vm",))
    client.vm["status"] = "STOPPED"  # the guest finished shutting down after all
    plan = VmPlan()
    plan.add_power(PowerStep("shutdown-vm", "Shut down", "poweroff-vm"))
    assert runner_for(client).run(plan, {"id": "vm-1"})["status"] == "STOPPED"


def test_a_refused_poweroff_of_a_vm_still_running_is_the_failure():
    client = ScriptedClient({"shutdown-vm": "FAILED"}, refuse=("poweroff-vm",))
    plan = VmPlan()
    plan.add_power(PowerStep("shutdown-vm", "Shut down", "poweroff-vm"))
    with pytest.raises(ApiError):
        runner_for(client).run(plan, {"id": "vm-1"})


def test_a_hung_shutdown_then_a_locked_poweroff_ends_well_when_the_shutdown_completes():
    # API < 3.3: the power-off is accepted while the shutdown task holds the VM, and fails as locked
    client = ScriptedClient({"shutdown-vm": "EXECUTING", "poweroff-vm": "FAILED"})
    plan = VmPlan()
    plan.add_power(PowerStep("shutdown-vm", "Shut down", "poweroff-vm"))
    clock = FakeClock()
    runner = PlanRunner(RunnerModule(client), shutdown_timeout=1, sleep=clock.sleep, clock=clock)
    client.status_after["poweroff-vm"] = "STOPPED"
    client.vm["status"] = "STOPPED"  # the hung shutdown completed meanwhile
    assert runner.run(plan, {"id": "vm-1"})["status"] == "STOPPED"
    assert [call[0] for call in client.sent] == ["shutdown-vm", "poweroff-vm"]
    # the graceful task is reported first, re-read after the fallback
    assert [t["id"] for t in runner.tasks] == ["task-1", "task-2"]


def test_a_locked_poweroff_is_sent_again_once_the_vm_is_idle_and_still_running():
    client = ScriptedClient({"shutdown-vm": "EXECUTING", "poweroff-vm": ["FAILED", "SUCCESSED"]}, status_after={"poweroff-vm": "STOPPED"})
    plan = VmPlan()
    plan.add_power(PowerStep("shutdown-vm", "Shut down", "poweroff-vm"))
    clock = FakeClock()
    runner = PlanRunner(RunnerModule(client), shutdown_timeout=1, sleep=clock.sleep, clock=clock)
    assert runner.run(plan, {"id": "vm-1"})["status"] == "STOPPED"
    assert [call[0] for call in client.sent] == ["shutdown-vm", "poweroff-vm", "poweroff-vm"]
    assert plan.describe()[0]["task_ids"] == ["task-1", "task-2", "task-3"]


def test_a_failed_graceful_shutdown_without_force_is_the_failure():
    client = ScriptedClient({"shutdown-vm": "FAILED"})
    plan = VmPlan()
    plan.add_power(PowerStep("shutdown-vm", "Shut down"))
    with pytest.raises(TaskFailedError) as error:
        runner_for(client).run(plan, {"id": "vm-1"})
    assert "guest did not stop" in error.value.message
    assert [call[0] for call in client.sent] == ["shutdown-vm"]


def test_wait_false_still_waits_for_all_but_the_last_step():
    client = ScriptedClient()
    plan = VmPlan()
    plan.add("update-vm-basic-info", {"where": {"id": "vm-1"}, "data": {"vcpu": 2}}, "Update")
    plan.add_power(PowerStep("start-vm", "Start"))
    runner = runner_for(client, wait=False)
    runner.run(plan, {"id": "vm-1"})
    # both tasks are reported: the first waited for, the last as it was at return
    assert [t["id"] for t in runner.tasks] == ["task-1", "task-2"]
