# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find -> compare -> plan -> (create | update | delete) -> wait, for every stateful module.

A module reads the resource, compares only the fields it manages, and writes
down the mutations it needs as a Plan. The Reconciler then either reports the
plan (check mode: nothing is sent, and ``changed`` is exactly "the plan is not
empty") or sends it step by step, waiting between steps because CloudTower
locks a resource while its task runs. Decisions are the same in both modes, so
check mode cannot lie.
"""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import task_ids_of


class Step:
    """One mutation: the operation, its body and a sentence for humans."""

    def __init__(self, operation, body, summary, changes=None):
        self.operation = operation
        self.body = body
        self.summary = summary
        self.changes = changes or {}
        self.replies = []
        self.task_ids = []

    def describe(self):
        entry = {"operation": self.operation, "summary": self.summary}
        if self.changes:
            entry["changes"] = self.changes
        if self.task_ids:
            entry["task_ids"] = self.task_ids
        return entry


class Plan:
    """The ordered steps that bring a resource to the desired state."""

    def __init__(self):
        self.steps = []

    def add(self, operation, body, summary, changes=None):
        step = Step(operation, body, summary, changes)
        self.steps.append(step)
        return step

    def __bool__(self):
        return bool(self.steps)

    def __len__(self):
        return len(self.steps)

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


class Reconciler:
    """Runs a Plan: nothing in check mode, step by step (waiting between) otherwise."""

    def __init__(self, module):
        self.module = module
        self.tasks = []

    @property
    def check_mode(self):
        return self.module.check_mode

    def execute(self, plan, context=None):
        """Send the plan's steps; returns the tasks (waited for unless wait is false)."""
        if self.check_mode or not plan:
            return []
        wait = self.module.params.get("wait", True)
        for index, step in enumerate(plan.steps):
            step.replies = self.module.client.mutate(step.operation, step.body)
            step.task_ids = task_ids_of(step.replies)
            is_last = index == len(plan.steps) - 1
            # A resource stays locked while its task runs, so every step but the
            # last must finish before the next one is sent, even with wait: false.
            if step.task_ids and (wait or not is_last):
                self.tasks.extend(self.module.waiter.wait(step.task_ids, context=context or step.summary))
            elif step.task_ids:
                self.tasks.extend(self.module.waiter.snapshot(step.task_ids))
        return self.tasks

    def diff(self, before, after):
        """The --diff payload, only when the user asked for it."""
        if not self.module._diff:
            return None
        return {"before": before or {}, "after": after or {}}
