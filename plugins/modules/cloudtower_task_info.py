#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_task_info
short_description: Read CloudTower's asynchronous tasks, and optionally wait for them to finish
version_added: 0.1.0
description:
  - Returns CloudTower tasks selected by id, by ids or by a raw C(where) filter, all pages.
  - With O(wait=true), polls the selected tasks until each one is SUCCESSED or FAILED (PAUSED is not final),
    all of them in one query per round, and fails listing every failed task with its error.
  - Use it after modules run with O(smartx.cloudtower.cloudtower_vm#module:wait=false), to fan work out and wait once.
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
  - smartx.cloudtower.attributes.action_group
  - smartx.cloudtower.connection
  - smartx.cloudtower.info
attributes:
  check_mode:
    support: full
    details: Only reads, so it runs the same in check mode.
  diff_mode:
    support: none
options:
  id:
    description: Id of one task.
    type: str
  ids:
    description: Ids of several tasks.
    type: list
    elements: str
  wait:
    description:
      - Wait until every selected task is SUCCESSED or FAILED.
      - A task id that CloudTower does not show yet counts as pending, never as done.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait when O(wait=true), then fail listing each unfinished task with its status and progress.
    type: int
    default: 600
  fail_on_task_failure:
    description: With O(wait=true), fail when any task ended FAILED. With V(false), report them in RV(failed_tasks) only.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Start snapshots without waiting
  smartx.cloudtower.cloudtower_vm_snapshot:
    vms: "{{ groups['cloudtower_running'] }}"
    name: "nightly-{vm_name}"
    wait: false
  register: started

- name: Wait for all of them at once
  smartx.cloudtower.cloudtower_task_info:
    ids: "{{ started.tasks | map(attribute='id') }}"
    wait: true
    wait_timeout: 1800

- name: The failed tasks of the last hundred
  smartx.cloudtower.cloudtower_task_info:
    where:
      status: FAILED
    order_by: local_created_at_DESC
    limit: 100
    query: "[].{id: id, what: description, error: error_message}"
  register: failures
"""

RETURN = r"""
tasks:
  description: The selected tasks as CloudTower returns them, after waiting when O(wait=true).
  returned: always
  type: list
  elements: dict
  sample:
    - id: cmg6y13w6055h0958o1afczt5
      description: Creates a snapshot nightly-web-1 for VM web-1
      status: SUCCESSED
      progress: 1
      error_code: null
      error_message: null
count:
  description: Number of tasks in RV(tasks).
  returned: always
  type: int
  sample: 1
by_status:
  description: How many of the tasks are in each status.
  returned: always
  type: dict
  sample: {SUCCESSED: 9, FAILED: 1}
failed_tasks:
  description: The tasks that ended FAILED, with their errors.
  returned: always
  type: list
  elements: dict
missing_ids:
  description: Requested ids CloudTower does not show (yet).
  returned: always
  type: list
  elements: str
query_result:
  description: The result of O(query) applied to RV(tasks).
  returned: when O(query) is given
  type: raw
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import tasks as api_tasks
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError, TaskFailedError, TaskTimeoutError
from ansible_collections.smartx.cloudtower.plugins.module_utils.info import InfoQuery, info_argument_spec
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import values_of
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter


def count_by_status(tasks):
    counts = {}
    for task in tasks:
        counts[task["status"]] = counts.get(task["status"], 0) + 1
    return counts


def report(info, tasks, ids, **extra):
    visible = [t for t in tasks if t.get("status")]
    seen = {t["id"] for t in visible}
    return info.result(
        "tasks",
        visible,
        by_status=count_by_status(visible),
        failed_tasks=[t for t in visible if t["status"] == "FAILED"],
        missing_ids=[i for i in ids if i not in seen],
        **extra
    )


def wait_for(module, info, ids):
    waiter = TaskWaiter(module.client, module.params["wait_timeout"])
    try:
        final = waiter.wait(ids, context="Waiting for tasks")
    except TaskFailedError as error:
        final = error.failed + error.succeeded
        if module.params["fail_on_task_failure"]:
            module.fail_from_error(error, **report(info, final, ids))
    except TaskTimeoutError as error:
        module.fail_from_error(error, **report(info, error.unfinished, ids))
    module.exit_json(**report(info, final, ids, polls=waiter.polls))


def run(module):
    params = module.params
    info = InfoQuery(params, warn=module.warn)
    ids = values_of(params, "id", "ids")
    if params["wait"] and params["wait_timeout"] <= 0:
        raise InputError("wait_timeout", params["wait_timeout"], "must be a positive number of seconds")
    if params["wait"] and not ids and not params.get("where"):
        raise InputError("wait", True, "needs id, ids or where to select the tasks to wait for")
    if params["wait"] and ids and not params.get("where"):
        # Waiting by id must not depend on the tasks being visible yet.
        wait_for(module, info, ids)
    id_clause = {"id_in": ids} if ids else {}
    tasks = info.fetch(module.client, api_tasks.READ, id_clause)
    if params["wait"]:
        wait_for(module, info, [t["id"] for t in tasks])
    module.exit_json(**report(info, tasks, ids))


def main():
    spec = dict(
        id=dict(type="str"),
        ids=dict(type="list", elements="str"),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=600),
        fail_on_task_failure=dict(type="bool", default=True),
    )
    spec.update(info_argument_spec())
    module = CloudTowerModule(argument_spec=spec, supports_check_mode=True, non_blank=("id", "ids", "order_by", "fields"))
    module.run(run)


if __name__ == "__main__":
    main()
