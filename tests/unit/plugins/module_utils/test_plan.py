# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan executor: comparison, check mode that sends nothing, waits between steps."""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.plan import Executor, Plan, changed_fields, diff_of, predicted_after


class RecordingClient:
    def __init__(self):
        self.sent = []

    def mutate(self, operation, body):
        self.sent.append(operation)
        return [{"task_id": "task-%d" % len(self.sent), "data": {"id": "x"}}]

    def call(self, operation, body):
        # The executor's idle checks and final read: the resource is never busy here.
        return [{"id": "x", "entityAsyncStatus": None}]


class RecordingWaiter:
    def __init__(self):
        self.waited = []
        self.looked = []

    def wait(self, ids, context=None):
        self.waited.append(list(ids))
        return [{"id": i, "status": "SUCCESSED"} for i in ids]

    def snapshot(self, ids):
        self.looked.append(list(ids))
        return [{"id": i, "status": "PENDING"} for i in ids]


class FakeModule:
    def __init__(self, check_mode=False, wait=True, diff=False):
        self.check_mode = check_mode
        self.params = {"wait": wait}
        self._diff = diff
        self.client = RecordingClient()
        self.waiter = RecordingWaiter()


def two_step_plan():
    plan = Plan()
    plan.add("update-vm-basic-info", {"where": {"id": "x"}, "data": {"vcpu": 4}}, "Set vcpu to 4", {"vcpu": {"before": 2, "after": 4}})
    plan.add("start-vm", {"where": {"id": "x"}}, "Start the VM")
    return plan


def test_changed_fields_only_compares_managed_fields():
    current = {"vcpu": 2, "memory": 4096, "name": "a", "description": ""}
    desired = {"vcpu": 2, "memory": "4KiB", "name": None, "description": "web"}
    changes = changed_fields(current, desired, normalisers={"memory": lambda v: 4096 if v == "4KiB" else v})
    assert changes == {"description": {"before": "", "after": "web"}}
    assert predicted_after(current, changes)["description"] == "web"


def test_check_mode_sends_nothing_but_reports_the_plan():
    module = FakeModule(check_mode=True)
    plan = two_step_plan()
    assert Executor(module, vms).run(plan, {"id": "x"}) == {"id": "x"}
    assert module.client.sent == [] and module.waiter.waited == []
    assert [s["operation"] for s in plan.describe()] == ["update-vm-basic-info", "start-vm"]
    assert bool(plan)


def test_steps_run_in_order_and_each_is_waited_for():
    module = FakeModule()
    executor = Executor(module, vms)
    executor.run(two_step_plan(), {"id": "x"})
    tasks = executor.tasks
    assert module.client.sent == ["update-vm-basic-info", "start-vm"]
    assert module.waiter.waited == [["task-1"], ["task-2"]]
    assert [t["status"] for t in tasks] == ["SUCCESSED", "SUCCESSED"]


def test_without_wait_only_the_last_step_is_left_running():
    module = FakeModule(wait=False)
    executor = Executor(module, vms)
    executor.run(two_step_plan(), {"id": "x"})
    tasks = executor.tasks
    assert module.waiter.waited == [["task-1"]] and module.waiter.looked == [["task-2"]]
    assert tasks[-1]["status"] == "PENDING"


def test_empty_plan_is_no_change():
    module = FakeModule()
    assert not Plan()
    executor = Executor(module, vms)
    assert executor.run(Plan(), {"id": "x"}) == {"id": "x"} and executor.tasks == [] and module.client.sent == []


def test_diff_only_under_diff_mode():
    assert diff_of(FakeModule(diff=False), {"a": 1}, {"a": 2}) is None
    assert diff_of(FakeModule(diff=True), None, {"a": 2}) == {"before": {}, "after": {"a": 2}}
