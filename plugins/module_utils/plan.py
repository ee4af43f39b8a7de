# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Step/Plan model and the one executor every stateful module runs its mutations through.

A reconciler reads the resource, compares only the fields it manages and writes down the mutations it
needs as a Plan of Steps. The Executor then either reports the plan (check mode: nothing is sent, and
``changed`` is exactly "the plan is not empty") or sends it step by step on an idle resource, waiting for
each step's tasks with the batched waiter, and falling back from a graceful operation to a forced one where
a step says so. Decisions are the same in both modes, so check mode cannot lie, and ``describe()`` reports
what was (or would be) sent.

The executor knows nothing of CloudTower's operation names: it is given an API module (``api/vms.py``...)
that names the resource's read operation (READ, read), the operations that create one (CREATING, created_id),
what a forced operation leaves the resource as (FORCED_RESULT), and the body that acts on one resource (by_id).
"""

from __future__ import annotations

import time

from ansible_collections.smartx.cloudtower.plugins.module_utils.api.tasks import task_ids_of
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import (
    CloudTowerError,
    TaskFailedError,
    TaskTimeoutError,
    TransportError,
    task_summary,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter, wait_until_idle


class Step:
    """One mutation: the operation, its body (or a function of the resource id) and a sentence for humans.

    fallback names the forced operation to send when the graceful one fails or outlasts the fallback timeout.
    """

    def __init__(self, operation, body, summary, changes=None, fallback=None):
        self.operation = operation
        self.body = body
        self.summary = summary
        self.changes = changes or {}
        self.fallback = fallback
        self.fell_back = False
        self.replies = []
        self.task_ids = []

    def body_for(self, resource_id):
        # Steps after a create need the new resource's id, which only the create's reply gives.
        return self.body(resource_id) if callable(self.body) else self.body

    def describe(self):
        entry = {"operation": self.operation, "summary": self.summary}
        if self.changes:
            entry["changes"] = self.changes
        if self.task_ids:
            entry["task_ids"] = self.task_ids
        if self.fallback:
            entry["fallback"] = self.fallback
        if self.fell_back:
            entry["fell_back"] = True
        return entry


class Plan:
    """The ordered steps that bring a resource to the desired state."""

    def __init__(self):
        self.steps = []

    def add(self, operation, body, summary, changes=None, fallback=None):
        step = Step(operation, body, summary, changes, fallback)
        self.steps.append(step)
        return step

    def __bool__(self):
        return bool(self.steps)

    def __len__(self):
        return len(self.steps)

    def sent(self):
        """True once any step reached CloudTower (a failure after it leaves something changed)."""
        return any(step.replies for step in self.steps)

    def describe(self):
        return [s.describe() for s in self.steps]


def changed_fields(current, desired, normalisers=None):
    """{field: {"before", "after"}} for every desired field that differs.

    A desired value of None means "not managed", so it never counts as a change.
    normalisers map a field to a function that puts both sides into one form
    (e.g. memory as bytes) before comparing.
    """
    normalisers = normalisers or {}
    changes = {}
    for field, wanted in desired.items():
        if wanted is None:
            continue
        have = (current or {}).get(field)
        norm = normalisers.get(field, lambda v: v)
        if norm(have) != norm(wanted):
            changes[field] = {"before": have, "after": wanted}
    return changes


def predicted_after(before, changes):
    """before with the planned changes applied: the after side of a check-mode diff."""
    after = dict(before or {})
    for field, change in changes.items():
        after[field] = change["after"]
    return after


def diff_of(module, before, after):
    """The --diff payload, only when the user asked for it."""
    if not module._diff:
        return None
    return {"before": before or {}, "after": after or {}}


class Executor:
    """Sends a Plan's steps in order, each on an idle resource, waiting for the tasks between them.

    CloudTower keeps a resource busy (entityAsyncStatus) while its task runs and shortly after: from 3.3 a
    call on a busy resource is refused with ResourceLocked (the client retries it), before 3.3 it is accepted
    and its task fails. So every step after the first waits for the resource to be idle, and so does the
    final read. In check mode nothing is sent and the resource is returned as read.
    """

    def __init__(self, module, api, fallback_timeout=None, sleep=time.sleep, clock=time.monotonic, find_lost_creation=None):
        self.module = module
        self.api = api
        self.fallback_timeout = fallback_timeout
        self.tasks = []
        self.resource_id = None
        self.final = None
        # find_lost_creation(step) -> the resource a create whose reply was lost made, or None (the failure stands).
        self.find_lost_creation = find_lost_creation
        self._sleep = sleep
        self._clock = clock

    def run(self, plan, resource=None):
        """Run the plan on resource (None to create one); returns the resource as CloudTower shows it afterwards."""
        if self.module.check_mode or not plan:
            return resource
        self.resource_id = resource["id"] if resource else None
        wait = self.module.params.get("wait", True)
        if resource and resource.get("entityAsyncStatus"):
            self.wait_until_idle()
        for index, step in enumerate(plan.steps):
            last = index == len(plan.steps) - 1
            if index:
                self.wait_until_idle()
            self._send(step)
            if step.fallback:
                self._wait_or_fall_back(step)
            elif step.task_ids and (wait or not last):
                self._wait(step.task_ids, step.summary)
            elif step.task_ids:
                self.tasks.extend(self.module.waiter.snapshot(step.task_ids))
        self.final = self.wait_until_idle() if wait else self.read()
        return self.final

    def read(self):
        return self.api.read(self.module.client, self.resource_id)

    def wait_until_idle(self):
        """The resource once CloudTower no longer marks it busy (None once it is gone), within wait_timeout."""
        timeout = self.module.params.get("wait_timeout") or 600
        return wait_until_idle(self.module.client, self.api.READ, [self.resource_id], timeout,
                               sleep=self._sleep, clock=self._clock).get(self.resource_id)

    def _send(self, step):
        try:
            step.replies = self.module.client.mutate(step.operation, step.body_for(self.resource_id))
        except TransportError as error:
            found = None
            if step.operation in self.api.CREATING and error.may_have_reached_server and self.find_lost_creation:
                found = self.find_lost_creation(step)
            if found is None:
                raise
            # CloudTower made the resource though its reply was lost: carry on with it (its task is not known,
            # so the resource itself is waited for until idle).
            step.replies = [{"task_id": None, "data": found}]
            step.lost_reply = error.message
        step.task_ids = task_ids_of(step.replies)
        if step.operation in self.api.CREATING:
            self.resource_id = self.api.created_id(step.operation, step.replies)

    def send_and_wait(self, step):
        """Send one step on the resource self.resource_id and wait for its tasks."""
        self._send(step)
        if step.task_ids:
            self._wait(step.task_ids, step.summary)

    def _wait(self, task_ids, context):
        try:
            self.tasks.extend(self.module.waiter.wait(task_ids, context=context))
        except TaskFailedError as error:
            # Keep the failed tasks for the report; the caller decides whether the failure stands.
            self.tasks.extend(error.failed + error.succeeded)
            raise

    def _wait_or_fall_back(self, step):
        """Wait for a graceful operation up to the fallback timeout; on failure or timeout send the forced one."""
        waiter = TaskWaiter(self.module.client, self.fallback_timeout, sleep=self._sleep, clock=self._clock)
        graceful = list(step.task_ids)
        position = len(self.tasks)
        try:
            self.tasks.extend(waiter.wait(graceful, context=step.summary))
            return
        except TaskFailedError:
            # The failed task's lock lingers briefly. (A timed-out task still runs: waiting for it would defeat
            # the fallback timeout.)
            self.wait_until_idle()
        except TaskTimeoutError:
            pass
        step.fell_back = True
        try:
            self._send_forced(step)
        except CloudTowerError:
            # The graceful task still holds the resource: from 3.3 the forced call is refused as locked (retried by
            # the client), before 3.3 it is accepted and its task fails as locked; and once the graceful operation
            # has done the job after all, the forced one is refused as pointless. Decide again on the idle resource.
            resource = self.wait_until_idle()
            if not _has_status(resource, self.api.FORCED_RESULT.get(step.fallback)):
                self._send_forced(step)
        finally:
            # Report the graceful tasks as they ended, not as they were when the timeout struck.
            self.tasks[position:position] = self.module.waiter.snapshot(graceful)

    def _send_forced(self, step):
        forced = Step(step.fallback, self.api.by_id, "Forced %s after %s did not succeed" % (step.fallback, step.operation))
        self._send(forced)
        step.task_ids = step.task_ids + forced.task_ids
        if forced.task_ids:
            self._wait(forced.task_ids, forced.summary)

    def task_summaries(self):
        return [task_summary(t) for t in self.tasks]


def _has_status(resource, status):
    return status is not None and bool(resource) and resource.get("status") == status
