# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The batched task waiter: final states, PAUSED, missing ids, timeouts, failures, poll counts."""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import TaskFailedError, TaskTimeoutError
from ansible_collections.smartx.cloudtower.plugins.module_utils.api.tasks import task_ids_of
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter, wait_until_idle
from ansible_collections.smartx.cloudtower.tests.unit.plugins.module_utils.fakes import FakeClock


class ScriptedTasks:
    """A client whose get-tasks answers from a timeline: {task id: [(from_time, status), ...]}."""

    def __init__(self, clock, timeline, visible_from=None):
        self.clock = clock
        self.timeline = timeline
        self.visible_from = visible_from or {}
        self.queries = []

    def call(self, operation, body):
        assert operation == "get-tasks"
        ids = body["where"]["id_in"]
        self.queries.append(list(ids))
        elapsed = self.clock.now - 1000.0
        tasks = []
        for task_id in ids:
            if elapsed < self.visible_from.get(task_id, 0):
                continue
            status = [s for start, s in self.timeline[task_id] if elapsed >= start][-1]
            task = {"id": task_id, "status": status, "progress": 1.0 if status == "SUCCESSED" else 0.5,
                    "description": "Do %s" % task_id, "error_code": None, "error_message": None}
            if status == "FAILED":
                task.update(error_code="E_BAD", error_message="it broke", resource_rollbacked=True)
            tasks.append(task)
        return tasks


def waiter_for(timeline, timeout=60, visible_from=None):
    clock = FakeClock()
    client = ScriptedTasks(clock, timeline, visible_from)
    return TaskWaiter(client, timeout, sleep=clock.sleep, clock=clock), client, clock


def test_all_tasks_are_polled_in_one_query_per_round():
    waiter, client, dummy = waiter_for({"a": [(0, "EXECUTING"), (1, "SUCCESSED")], "b": [(0, "PENDING"), (2, "SUCCESSED")]})
    tasks = waiter.wait(["a", "b"])
    assert [t["status"] for t in tasks] == ["SUCCESSED", "SUCCESSED"]
    assert all(len(q) <= 2 for q in client.queries)
    assert client.queries[-1] == ["b"], "finished tasks are not polled again"
    assert waiter.polls == len(client.queries)


def test_paused_is_not_final():
    waiter, dummy, clock = waiter_for({"a": [(0, "EXECUTING"), (0.5, "PAUSED"), (3, "EXECUTING"), (4, "SUCCESSED")]})
    assert waiter.wait(["a"])[0]["status"] == "SUCCESSED"
    assert clock.now - 1000 >= 4


def test_a_task_not_visible_yet_is_pending_not_done():
    waiter, dummy, clock = waiter_for({"a": [(0, "SUCCESSED")]}, visible_from={"a": 2.0})
    assert waiter.wait(["a"])[0]["status"] == "SUCCESSED"
    assert clock.now - 1000 >= 2.0


def test_a_task_never_visible_times_out():
    waiter, dummy, dummy = waiter_for({"a": [(0, "SUCCESSED")]}, timeout=3, visible_from={"a": 99})
    with pytest.raises(TaskTimeoutError) as info:
        waiter.wait(["a"])
    assert info.value.unfinished[0]["id"] == "a"
    assert "NOT VISIBLE YET" in info.value.message


def test_timeout_reports_status_and_progress_of_each_unfinished_task():
    waiter, dummy, clock = waiter_for({"a": [(0, "EXECUTING")], "b": [(0, "SUCCESSED")], "c": [(0, "PAUSED")]}, timeout=10)
    with pytest.raises(TaskTimeoutError) as info:
        waiter.wait(["a", "b", "c"])
    error = info.value
    assert [t["id"] for t in error.unfinished] == ["a", "c"]
    assert "EXECUTING at 50%" in error.message and "PAUSED at 50%" in error.message
    assert error.details["finished_task_ids"] == ["b"]
    assert clock.now - 1000 == pytest.approx(10)


def test_failures_report_every_failed_task_with_rollback():
    waiter, dummy, dummy = waiter_for({"a": [(0, "FAILED")], "b": [(0, "SUCCESSED")], "c": [(0, "EXECUTING"), (1, "FAILED")]})
    with pytest.raises(TaskFailedError) as info:
        waiter.wait(["a", "b", "c"], context="Snapshot 3 VMs")
    error = info.value
    assert [t["id"] for t in error.failed] == ["a", "c"]
    assert error.message.startswith("Snapshot 3 VMs: 2 of 3 CloudTower tasks failed")
    assert "it broke [E_BAD]" in error.message and "rolled the resource back" in error.message
    assert error.details["failed_tasks"][0]["error_code"] == "E_BAD"
    assert error.details["succeeded_task_ids"] == ["b"]


def test_wait_outcome_does_not_raise():
    waiter, dummy, dummy = waiter_for({"a": [(0, "FAILED")], "b": [(0, "SUCCESSED")]})
    outcome = waiter.wait_outcome(["a", "b", "a"])
    assert [t["id"] for t in outcome.failed] == ["a"] and [t["id"] for t in outcome.succeeded] == ["b"]
    assert len(outcome.tasks) == 2


def test_short_tasks_are_seen_quickly():
    waiter, client, clock = waiter_for({"a": [(0, "EXECUTING"), (0.3, "SUCCESSED")]})
    waiter.wait(["a"])
    assert clock.now - 1000 < 0.3 + 0.5


def test_ten_minute_task_costs_a_bounded_number_of_polls():
    waiter, client, dummy = waiter_for({"a": [(0, "EXECUTING"), (600, "SUCCESSED")]}, timeout=900)
    waiter.wait(["a"])
    assert len(client.queries) <= 150


def test_large_batches_are_split_into_chunks_per_round():
    ids = ["t%d" % i for i in range(1200)]
    waiter, client, dummy = waiter_for({i: [(0, "SUCCESSED")] for i in ids})
    assert len(waiter.wait(ids)) == 1200
    assert [len(q) for q in client.queries] == [500, 500, 200]
    assert waiter.polls == 1


def test_task_ids_of_skips_synchronous_replies():
    assert task_ids_of([{"task_id": "a", "data": {}}, {"task_id": None, "data": {}}]) == ["a"]


class VanishingRecords:
    """get-vm-snapshots where one record is CREATING on the first read and deleted by the second."""

    def __init__(self):
        self.reads = 0

    def call(self, operation, body):
        self.reads += 1
        if self.reads == 1:
            return [{"id": "s1", "entityAsyncStatus": "CREATING"}, {"id": "s2", "entityAsyncStatus": None}]
        return []


def test_a_record_deleted_while_waiting_for_it_to_be_idle_ends_the_wait():
    clock = FakeClock()
    client = VanishingRecords()
    records = wait_until_idle(client, "get-vm-snapshots", ["s1", "s2"], timeout=60, sleep=clock.sleep, clock=clock)
    assert set(records) == {"s2"} and client.reads == 2
