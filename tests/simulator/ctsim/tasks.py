"""Asynchronous tasks: PENDING -> EXECUTING (or PAUSED) -> SUCCESSED | FAILED, driven by the clock.

Nothing runs in the background: every request first calls advance(now), which replays the task events that
fell due since the previous request, in time order, applying their effects. A task holds a lock on the
resources it changes until shortly after it ends; the same moment clears their entityAsyncStatus.
"""

import heapq
import json
import math

from .store import iso_timestamp

# Failed tasks stop half-way through their execution time.
FAILURE_POINT = 0.5


class TaskFailure(Exception):
    """Raised by a task effect to end its task FAILED with a CloudTower error code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def camel_case(endpoint):
    head, *rest = endpoint.split("-")
    return head + "".join(word.capitalize() for word in rest)


class TaskPlan:
    """What one task does: its description, the resource it concerns, and its effects."""

    def __init__(self, endpoint, description, resource_type, resource_id, on_success, on_failure=None):
        self.endpoint = endpoint
        self.description = description
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.on_success = on_success
        self.on_failure = on_failure
        self.cluster_id = None
        self.args = {}
        self.vm_name = None
        self.locks = ()
        # [(table, id, entityAsyncStatus)] shown while the task runs.
        self.busy = ()
        # (code, message) decided before the task starts (locked resource, duplicate name...).
        self.failure = None
        # True when the failure is a precondition: the task neither locks nor marks anything.
        self.fails_before_start = False
        self.extra_seconds = 0.0


class TaskEngine:
    """Schedules and replays task events. `config` supplies the current settings and faults, which
    /__sim/settings and /__sim/faults may replace at any time."""

    def __init__(self, store, config):
        self.store = store
        self.config = config
        self.events = []
        self.event_sequence = 0
        self.locks = {}
        self.active = {}
        self.plans = {}

    def submit(self, plan, now, user_id):
        """Create the task (visible at once) and schedule its life; returns the task entity."""
        settings = self.config.settings
        duration = settings["task_durations"].get(plan.endpoint, settings["task_seconds"]) + plan.extra_seconds
        pending = duration * min(1.0, settings["task_pending_fraction"])
        start_at = now + pending
        outcome = self._outcome(plan)
        task = self._new_task(plan, now, user_id)
        task["_start_at"], task["_outcome"] = start_at, outcome
        if outcome[0] == "fail":
            end_at = start_at if plan.fails_before_start else start_at + (duration - pending) * FAILURE_POINT
        elif outcome[0] == "hang":
            end_at = math.inf if outcome[2] is None else start_at + outcome[2] + (duration - pending)
        else:
            end_at = now + duration
        task["_end_at"] = end_at
        if not plan.fails_before_start:
            self._occupy(plan, task, now)
        self.active[task["id"]] = task
        self.plans[task["id"]] = plan
        self._schedule(start_at, "start", task["id"])
        if end_at != math.inf:
            self._schedule(end_at, "finish", task["id"])
        if outcome[0] == "hang" and outcome[2] is not None:
            self._schedule(start_at + outcome[2], "resume", task["id"])
        return task

    def _outcome(self, plan):
        if plan.failure is not None:
            return ("fail",) + tuple(plan.failure)
        fault = self.config.faults.task_fault(plan.endpoint, plan.vm_name)
        return fault or ("succeed",)

    def _new_task(self, plan, now, user_id):
        task_id = self.store.ids.cuid(now)
        task = {
            "id": task_id, "description": plan.description, "status": "PENDING", "progress": 0.0,
            "local_created_at": iso_timestamp(now), "started_at": None, "finished_at": None,
            "resource_id": plan.resource_id, "resource_type": plan.resource_type,
            "resource_mutation": camel_case(plan.endpoint), "error_code": None, "error_message": None,
            "resource_rollbacked": None, "resource_rollback_error": None, "resource_rollback_retry_count": None,
            "internal": False, "args": plan.args, "steps": [], "key": None, "type": None,
            "snapshot": json.dumps({"id": plan.resource_id, "typename": plan.resource_type}),
            "user": user_id, "cluster": plan.cluster_id, "_endpoint": plan.endpoint,
        }
        return self.store.insert("tasks", task, now)

    def _occupy(self, plan, task, now):
        for entity_id in plan.locks:
            self.locks[entity_id] = task["id"]
        for table, entity_id, status in plan.busy:
            if self.store.get(table, entity_id) is not None:
                self.store.update(table, entity_id, {"entityAsyncStatus": status}, now)

    def _schedule(self, when, kind, task_id):
        self.event_sequence += 1
        heapq.heappush(self.events, (when, self.event_sequence, kind, task_id))

    def lock_holder(self, entity_id):
        return self.locks.get(entity_id)

    def advance(self, now):
        while self.events and self.events[0][0] <= now:
            when, _sequence, kind, task_id = heapq.heappop(self.events)
            {"start": self._start, "resume": self._resume, "finish": self._finish, "release": self._release}[kind](task_id, when)
        for task in self.active.values():
            if task["status"] == "EXECUTING":
                span = task["_end_at"] - task["_start_at"]
                progress = (now - task["_start_at"]) / span if span and span != math.inf else 0.5
                task["progress"] = round(min(0.99, max(0.0, progress)), 4)

    def _start(self, task_id, when):
        task = self.active.get(task_id)
        if task is None:
            return
        outcome = task["_outcome"]
        task["status"] = outcome[1] if outcome[0] == "hang" else "EXECUTING"
        task["started_at"] = iso_timestamp(when)
        if task["status"] == "PAUSED":
            task["progress"] = 0.5

    def _resume(self, task_id, _when):
        task = self.active.get(task_id)
        if task is not None:
            task["status"] = "EXECUTING"

    def _finish(self, task_id, when):
        task = self.active.pop(task_id, None)
        if task is None:
            return
        plan = self.plans.pop(task_id)
        outcome = task["_outcome"]
        if task["started_at"] is None:
            task["started_at"] = iso_timestamp(when)
        if outcome[0] == "fail":
            self._fail(task, plan, outcome[1], outcome[2], when)
        else:
            try:
                plan.on_success(when)
                task["status"], task["progress"] = "SUCCESSED", 1.0
            except TaskFailure as failure:
                self._fail(task, plan, failure.code, failure.message, when)
        task["finished_at"] = iso_timestamp(when)
        task["_updated"] = when
        if not plan.fails_before_start:
            self._schedule(when + self.config.settings["async_status_linger_seconds"], "release", task_id)
            self.plans[task_id] = plan

    def _fail(self, task, plan, code, message, when):
        task["status"], task["error_code"], task["error_message"] = "FAILED", code, message
        task["progress"] = FAILURE_POINT if not plan.fails_before_start else 0.0
        if plan.on_failure is not None:
            task["resource_rollbacked"] = bool(plan.on_failure(when))

    def _release(self, task_id, when):
        plan = self.plans.pop(task_id, None)
        if plan is None:
            return
        for entity_id in plan.locks:
            if self.locks.get(entity_id) == task_id:
                del self.locks[entity_id]
        for table, entity_id, _status in plan.busy:
            if self.store.get(table, entity_id) is not None:
                self.store.update(table, entity_id, {"entityAsyncStatus": None}, when)
