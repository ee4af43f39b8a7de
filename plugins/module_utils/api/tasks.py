# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudTower tasks: the operation that reads them and the ids a mutation's reply names."""

from __future__ import annotations

READ = "get-tasks"


def task_ids_of(replies):
    """The task ids of a mutation's reply; null ids mean it completed synchronously."""
    return [r["task_id"] for r in replies if r.get("task_id")]
