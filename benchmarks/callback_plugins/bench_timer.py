# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper (not part of the collection's content): writes each task's wall time to a JSON file.

Enabled only by benchmarks/bench.py (ANSIBLE_CALLBACK_PLUGINS + ANSIBLE_CALLBACKS_ENABLED), so the figures
of benchmarks/README.md can say which task of a playbook the time went to.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: Record the wall time of every task (benchmarks only)
description:
  - Writes a JSON list of C({task, action, start, end, seconds, items, changed, failed}) to the file named by
    C(BENCH_TIMER_FILE). C(start) is when the task was queued, C(end) when its (last) result arrived.
options: {}
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._records = []
        self._current = None

    def _close_current(self):
        if self._current is not None:
            self._current.setdefault("end", time.time())
            self._current["seconds"] = round(self._current["end"] - self._current["start"], 4)
            self._records.append(self._current)
            self._current = None

    def _result_arrived(self, result, failed=False):
        if self._current is not None:
            self._current["end"] = time.time()
            self._current["changed"] = self._current["changed"] or bool(result._result.get("changed"))
            self._current["failed"] = self._current["failed"] or failed

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close_current()
        self._current = {"task": task.get_name(), "action": task.action, "start": time.time(), "items": 0,
                         "changed": False, "failed": False}

    def v2_runner_item_on_ok(self, result):
        if self._current is not None:
            self._current["items"] += 1

    def v2_runner_on_ok(self, result):
        self._result_arrived(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result_arrived(result, failed=not ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._result_arrived(result)

    def v2_playbook_on_stats(self, stats):
        self._close_current()
        path = os.environ.get("BENCH_TIMER_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as stream:
                json.dump(self._records, stream, indent=1)
