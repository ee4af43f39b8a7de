# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options of the modules that wait for CloudTower's asynchronous tasks."""

    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until CloudTower's tasks have finished, then return the resources as they are afterwards.
      - With V(false) the module returns as soon as CloudTower accepted the request, with the task ids in
        RV(tasks), to be waited for later with M(smartx.cloudtower.cloudtower_task_info).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the tasks before failing. The failure lists each unfinished task with its status
        and progress; the tasks keep running in CloudTower.
      - Polls start every 0.1 seconds and back off by a quarter each time to every 5 seconds, all tasks in one query.
      - Must be a positive number; any other value is refused before any request is sent.
    type: int
    default: 600
"""
