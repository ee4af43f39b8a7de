# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for CloudTower's asynchronous tasks, many at a time.

One ``get-tasks`` query with ``id_in`` per round, however many tasks are
pending; the interval starts short (most tasks end in seconds) and backs off
to a cap so a ten-minute task costs a bounded number of polls. Only SUCCESSED
and FAILED are final: PAUSED is not, and a task id that is not visible yet is
pending, never done.
"""

from __future__ import annotations

import time

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import tasks as api_tasks
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError, TaskFailedError, TaskTimeoutError
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import fetch_by_ids
from ansible_collections.smartx.cloudtower.plugins.module_utils.retry import Backoff, Deadline, sleep_within

FINAL_STATUSES = frozenset(("SUCCESSED", "FAILED"))
# Large enough for a whole backup batch in one request, small enough for any proxy.
IDS_PER_QUERY = 500


class WaitOutcome:
    """What became of each task: succeeded, failed, or still unfinished."""

    def __init__(self, tasks_by_id, order):
        self.tasks = [tasks_by_id.get(i) or {"id": i, "status": None} for i in order]
        self.succeeded = [t for t in self.tasks if t.get("status") == "SUCCESSED"]
        self.failed = [t for t in self.tasks if t.get("status") == "FAILED"]
        self.unfinished = [t for t in self.tasks if t.get("status") not in FINAL_STATUSES]

    def by_id(self):
        return {t["id"]: t for t in self.tasks}

    def raise_for_failures(self, context=None):
        if self.failed:
            raise TaskFailedError(self.failed, self.succeeded, context=context)


class TaskWaiter:
    """Polls get-tasks until every task is final or wait_timeout runs out."""

    def __init__(self, client, timeout, initial_interval=0.1, factor=1.25, max_interval=5.0,
                 sleep=time.sleep, clock=time.monotonic, rng=None):
        self._client = client
        self.timeout = timeout
        self._schedule = dict(initial=initial_interval, factor=factor, cap=max_interval, jitter=0.1, rng=rng)
        self._sleep = sleep
        self._clock = clock
        self.polls = 0

    def wait(self, task_ids, context=None):
        """Wait for all tasks; raise TaskFailedError or TaskTimeoutError, else return the final tasks."""
        outcome = self.wait_outcome(task_ids)
        if outcome.unfinished:
            finished = [t for t in outcome.tasks if t not in outcome.unfinished]
            raise TaskTimeoutError(self.timeout, outcome.unfinished, finished)
        outcome.raise_for_failures(context)
        return outcome.tasks

    def wait_outcome(self, task_ids):
        """Wait without raising, so a batch can report each member's fate."""
        order = list(dict.fromkeys(task_ids))
        known = {}
        deadline = Deadline(self.timeout, clock=self._clock)
        backoff = Backoff(**self._schedule)
        pending = list(order)
        while pending:
            # At the deadline we still take one last look, so a task that
            # ended in the final interval is not reported as a timeout.
            time_left = sleep_within(deadline, backoff.next_delay(), sleep=self._sleep)
            for task in self._fetch(pending):
                known[task["id"]] = task
            pending = [i for i in pending if (known.get(i) or {}).get("status") not in FINAL_STATUSES]
            if not time_left:
                break
        return WaitOutcome(known, order)

    def _fetch(self, ids):
        self.polls += 1
        tasks = []
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start:start + IDS_PER_QUERY]
            tasks.extend(self._client.call(api_tasks.READ, {"where": {"id_in": chunk}}) or [])
        return tasks

    def snapshot(self, task_ids):
        """The tasks as they are now, without waiting (for wait: false)."""
        order = list(dict.fromkeys(task_ids))
        return WaitOutcome({t["id"]: t for t in self._fetch(order)}, order).tasks if order else []


def busy(record):
    """CloudTower marks a resource CREATING/UPDATING/DELETING while a task works on it."""
    return bool(record and record.get("entityAsyncStatus"))


def wait_until_idle(client, operation, ids, timeout, sleep=time.sleep, clock=time.monotonic, raise_on_timeout=True):
    """{id: record} once none of the records is busy, all of them read in one query per round.

    CloudTower keeps a resource locked a little after its task ends; before 3.3
    a call on it then is accepted and its task fails (JOB_RESOURCE_IS_LOCKED),
    so the next step of a chain on the same resource must wait for this.
    Records that no longer exist are simply absent from the result. With raise_on_timeout false, a record
    still busy at the deadline is returned as last read instead of failing the wait.
    """
    deadline = Deadline(timeout, clock=clock)
    backoff = Backoff(initial=0.1, factor=1.5, cap=2.0, jitter=0.1)
    pending = list(dict.fromkeys(ids))
    records = {}
    while pending:
        fetched = {r["id"]: r for r in fetch_by_ids(client, operation, pending)}
        for gone in set(pending) - set(fetched):
            # A record deleted meanwhile (a failed create rolled back) must not stay busy in its last reading.
            records.pop(gone, None)
        records.update(fetched)
        still_busy = [records[i] for i in pending if busy(records.get(i))]
        if not still_busy:
            break
        if not sleep_within(deadline, backoff.next_delay(), sleep=sleep):
            if not raise_on_timeout:
                # The caller reports each record still busy (busy() tells which) as its own outcome.
                break
            raise CloudTowerError(
                "Timed out after %ss (wait_timeout) waiting for %d resource(s) to be idle: %s" % (
                    timeout, len(still_busy), "; ".join(describe_busy(r) for r in still_busy)),
                endpoint=operation, busy_ids=[r["id"] for r in still_busy], wait_timeout=timeout)
        pending = [r["id"] for r in still_busy]
    return records


def describe_busy(record):
    return "%s (id %s) is %s" % (record.get("name") or "?", record["id"], record.get("entityAsyncStatus"))
