# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Task waiters run in-process against a simulated clock, for tasks too long to wait for in a benchmark.

The collection's own TaskWaiter (plugins/module_utils/tasks.py) and the official SDK's wait_tasks run unchanged;
only their clock, their sleep and the get-tasks answer are simulated: a task is EXECUTING until `task_seconds`
of simulated time have passed, then SUCCESSED. Requests take no simulated time, so the figures are the poll
schedule itself: how many get-tasks requests a wait sends, and how late after the task's end it notices.
benchmarks/bench.py checks the model against the real simulator with a real wait of a shorter task.
"""

import random
import statistics
import types


class SimulatedClock:
    def __init__(self):
        self.now = 0.0

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(0.0, seconds)


class EndsAt:
    """Answers get-tasks for tasks that all end at the same simulated moment."""

    def __init__(self, clock, end):
        self.clock = clock
        self.end = end
        self.requests = 0

    def status(self):
        return "SUCCESSED" if self.clock.now >= self.end else "EXECUTING"

    # The collection's client interface.
    def call(self, operation, body=None):
        assert operation == "get-tasks", operation
        self.requests += 1
        return [{"id": task_id, "status": self.status()} for task_id in body["where"]["id_in"]]


def collection_wait(task_seconds, seed, timeout=3600):
    """(polls, seconds late) of the collection's TaskWaiter for one task of task_seconds."""
    # Imported here so that the SDK half of the model runs without the collection importable.
    from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter  # pylint: disable=import-outside-toplevel

    clock = SimulatedClock()
    tasks = EndsAt(clock, task_seconds)
    waiter = TaskWaiter(tasks, timeout, sleep=clock.sleep, clock=clock.time, rng=random.Random(seed))
    outcome = waiter.wait_outcome(["task-1"])
    finished = not outcome.unfinished
    return tasks.requests, (clock.now - task_seconds) if finished else None


def sdk_wait(task_seconds, **kwargs):
    """(polls, seconds late, error) of cloudtower.utils.wait_tasks (cloudtower-sdk) for one task of task_seconds."""
    import cloudtower.utils as sdk_utils  # pylint: disable=import-outside-toplevel

    clock = SimulatedClock()
    tasks = EndsAt(clock, task_seconds)

    class TaskApi:  # the SDK's TaskApi, answering from the simulated task
        def __init__(self, _api_client):
            pass

        def get_tasks(self, get_tasks_request_body):
            ids = get_tasks_request_body.where.id_in
            tasks.requests += 1
            return [types.SimpleNamespace(id=i, status=tasks.status(), error_message=None) for i in ids]

    saved = sdk_utils.TaskApi, sdk_utils.time
    sdk_utils.TaskApi = TaskApi
    sdk_utils.time = types.SimpleNamespace(time=clock.time, sleep=clock.sleep)
    try:
        error = None
        try:
            sdk_utils.wait_tasks(["task-1"], None, **kwargs)
        except Exception as exc:  # pylint: disable=broad-except
            error = "%s: %s" % (type(exc).__name__, str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    finally:
        sdk_utils.TaskApi, sdk_utils.time = saved
    late = clock.now - task_seconds if error is None else None
    return tasks.requests, late, error


def collection_summary(task_seconds, seeds=20):
    """Polls and lateness of the collection's waiter over several jitter seeds."""
    runs = [collection_wait(task_seconds, seed) for seed in range(seeds)]
    polls = [p for p, _late in runs]
    lates = [late for _p, late in runs if late is not None]
    return {
        "task_seconds": task_seconds, "seeds": seeds,
        "polls_min": min(polls), "polls_median": statistics.median(polls), "polls_max": max(polls),
        "late_median": statistics.median(lates) if lates else None, "late_max": max(lates) if lates else None,
        "unfinished": len(runs) - len(lates),
    }


def short_task_lateness(durations, seeds=5):
    """Lateness of the collection's waiter for many short task durations (model only, no HTTP)."""
    lates = []
    for duration in durations:
        for seed in range(seeds):
            lates.append(collection_wait(duration, seed)[1])
    return {"samples": len(lates), "median": statistics.median(lates), "p90": sorted(lates)[int(0.9 * (len(lates) - 1))],
            "max": max(lates)}


if __name__ == "__main__":
    # Run with the directory holding ansible_collections/ on PYTHONPATH, as bench.py is.
    import json

    print(json.dumps({"collection_600s": collection_summary(600.0), "sdk_600s_defaults": sdk_wait(600.0),
                      "sdk_600s_timeout_900": sdk_wait(600.0, timeout=900)}, indent=1))
