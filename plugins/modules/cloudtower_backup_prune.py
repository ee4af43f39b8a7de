#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_backup_prune
short_description: Prune VM backups in a backup repository without breaking a chain, and mark manifests of deleted snapshots
version_added: 0.1.0
description:
  - Applies a retention policy (O(keep_last) and/or O(older_than)) to the complete backups of each VM in O(vms) in a
    backup repository written by M(smartx.cloudtower.cloudtower_backup_copy), among the backups whose names start with
    O(retention_prefix) - the same policy as the snapshots' (M(smartx.cloudtower.cloudtower_vm_snapshot) with
    O(smartx.cloudtower.cloudtower_vm_snapshot#module:state=absent)).
  - "A pruned backup that a kept backup builds on (its disk file is the kept one's backing file) is merged into it
    first: C(qemu-img commit) writes the kept increment into the pruned file, the result is checked against the kept
    backup's recorded digest, and it replaces the kept backup's file in one rename. The kept backup reads the same
    bytes at every moment, and its manifest then records its new backing file (C(backing), C(backing_backup)),
    sha256, stored size, C(chain_depth) and C(merged). The cost follows the size of the kept increment."
  - A pruned backup stops being a backup first (its C(manifest.json) goes, a marker C(.pruning.json) says what is left
    to do), so a run killed at any point leaves no manifest claiming it, and the next run finishes the merge and the
    deletion (RV(resumed)).
  - "With O(deleted_snapshots) (the RV(smartx.cloudtower.cloudtower_vm_snapshot#module:deleted) list of a retention
    run), the snapshot manifests in O(backup_dir) and the repository manifests of those snapshots are marked: their
    C(backup.snapshot_status) becomes V(deleted) and C(snapshot_deleted) says when and why. No manifest is left
    pointing at a snapshot that is gone without saying so."
  - Needs C(qemu-img) on the host the task runs on when a merge is needed. Sends no request to CloudTower.
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
attributes:
  check_mode:
    support: full
    details: Writes and deletes nothing; RV(pruned) and RV(marked) list what a real run would prune and mark.
  diff_mode:
    support: none
options:
  repository:
    description: The backup repository directory. Without it only manifests in O(backup_dir) are marked.
    type: path
  backup_dir:
    description: The directory of the snapshot manifests (the P(smartx.cloudtower.vm_backup#role) role's C(vm_backup_dir)).
    type: path
  vms:
    description:
      - Ids (or names) of the VMs whose repository backups the policy applies to. A VM without backups in O(repository)
        is skipped.
    type: list
    elements: str
    default: []
  retention_prefix:
    description:
      - Only backups whose names (their snapshots' names) start with this are counted or pruned. C({vm_name}) and
        C({vm_id}) are replaced per VM.
    type: str
    default: ansible-backup-
  keep_last:
    description:
      - Keep the newest O(keep_last) complete backups of each VM, pruning the older ones.
      - With O(older_than) too, a backup is pruned only when it is both beyond the newest O(keep_last) and older than
        O(older_than).
    type: int
  older_than:
    description: Prune the backups older than this, such as V(7d), V(12h), V(1d12h), V(2w) or a number of seconds.
    type: str
  deleted_snapshots:
    description:
      - Snapshots deleted by retention, as M(smartx.cloudtower.cloudtower_vm_snapshot) returns them in
        RV(smartx.cloudtower.cloudtower_vm_snapshot#module:deleted) (each with C(id), C(name) and C(vm)). The manifests
        of those with C(status) V(deleted) or V(absent) (in check mode also V(would_delete)) are marked.
    type: list
    elements: dict
    default: []
  file_mode:
    description: Permissions of the files the merges write, as an octal string.
    type: str
    default: "0640"
  fail_on_error:
    description: Fail the task when a backup could not be pruned. With V(false) it is only listed in RV(failures).
    type: bool
    default: true
notes:
  - Backups are pruned oldest first. When one cannot be pruned, the newer ones of that VM wait for the next run.
  - Do not run two prunes of the same VM's backups, or a prune beside a copy of that VM, at the same time.
"""

EXAMPLES = r"""
- name: Keep the newest 7 backups of each VM in the repository
  smartx.cloudtower.cloudtower_backup_prune:
    repository: /srv/backup-repository
    vms: [clvnj0000miz7k837a5rw7, clvnk0000miz7k837b9ab2]
    keep_last: 7

- name: Delete old snapshots, then prune the repository and mark the manifests of the deleted snapshots
  block:
    - name: Delete the snapshots
      smartx.cloudtower.cloudtower_vm_snapshot:
        state: absent
        vms: [web-01]
        retention_prefix: ansible-backup-
        older_than: 30d
      register: pruned_snapshots

    - name: Prune the repository by the same policy
      smartx.cloudtower.cloudtower_backup_prune:
        repository: /srv/backup-repository
        backup_dir: /srv/backups/cloudtower
        vms: "{{ pruned_snapshots.results | map(attribute='vm.id') | list }}"
        older_than: 30d
        deleted_snapshots: "{{ pruned_snapshots.deleted }}"
"""

RETURN = r"""
pruned:
  description: The backups pruned (in check mode, those that would be), oldest first per VM.
  returned: always
  type: list
  elements: dict
  contains:
    vm:
      description: The VM's directory in the repository (C(<vm name>-<vm id>)).
      type: str
    backup:
      description: The backup's name.
      type: str
    path:
      description: Its directory (deleted).
      type: str
    reason:
      description: Why the policy pruned it, such as C(beyond the newest 7).
      type: str
    merged_into:
      description: C({disk, into}) for each disk merged into the kept backup C(into) that built on it.
      type: list
      elements: dict
  sample: [{"vm": "db-01-clvnj", "backup": "ansible-backup-db-01-T1", "path": "/srv/repo/c/db-01-clvnj/ansible-backup-db-01-T1",
            "reason": "beyond the newest 2", "merged_into": [{"disk": 0, "into": "ansible-backup-db-01-T2"}]}]
resumed:
  description: Directories of prunes an interrupted run had started, finished by this run.
  returned: always
  type: list
  elements: str
marked:
  description: Manifests now saying (in check mode, that would say) that their snapshot was deleted, with C(path) and C(snapshot).
  returned: always
  type: list
  elements: dict
failures:
  description: Backups that could not be pruned, with C(path) and C(message); they are left for the next run.
  returned: always
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import parse_mode
from ansible_collections.smartx.cloudtower.plugins.module_utils.repository import RunRegistry, find_vm_directories
from ansible_collections.smartx.cloudtower.plugins.module_utils.repository_retention import Pruner, mark_deleted_snapshots
from ansible_collections.smartx.cloudtower.plugins.module_utils.retention import RetentionPolicy, utc_now
from ansible_collections.smartx.cloudtower.plugins.module_utils.snapshots import expand_name


def policy_of(params, check_mode):
    """The retention policy, or None when there is nothing to apply it to; InputError naming the option."""
    if params["keep_last"] is None and params["older_than"] is None:
        if params["vms"]:
            raise InputError("vms", params["vms"], "needs keep_last or older_than: without them nothing would be pruned")
        return None
    policy = RetentionPolicy.from_params(params, creating=False)
    if not params["vms"]:
        return None
    if not params["repository"]:
        raise InputError("repository", params["repository"], "is required with vms")
    if not os.path.isdir(params["repository"]):
        if check_mode:
            return None  # A first backup in check mode: the repository is made by the real run.
        raise InputError("repository", params["repository"], "is not a directory")
    return policy


def vm_of(directory):
    """{id, name} of a repository VM directory <vm name>-<vm id> (for the prefix's placeholders)."""
    name, _sep, vm_id = os.path.basename(directory).rpartition("-")
    return {"id": vm_id, "name": name}


def prune(module, policy, token):
    pruner = Pruner(module.run_command, parse_mode("file_mode", module.params["file_mode"]), module.check_mode, token)
    now = utc_now()
    outcome = {"pruned": [], "resumed": [], "failures": []}
    for vm in module.params["vms"]:
        for directory in find_vm_directories(module.params["repository"], vm):
            prefix = expand_name(policy.prefix, vm_of(directory))
            found = pruner.prune_vm(directory, policy, now, prefix)
            for key, items in found.items():
                outcome[key].extend(dict(item, vm=os.path.basename(directory)) if isinstance(item, dict) else item for item in items)
    return outcome


def run(module):
    params = module.params
    for option in ("repository", "backup_dir"):
        if params[option] is not None and not params[option].strip():
            raise InputError(option, params[option], "must not be empty")
    policy = policy_of(params, module.check_mode)
    outcome = {"pruned": [], "resumed": [], "failures": []}
    if policy:
        registry = RunRegistry()
        token = registry.start()
        try:
            outcome = prune(module, policy, token)
        finally:
            registry.finish(token)
    outcome["marked"] = mark_deleted_snapshots(params["backup_dir"], params["repository"], params["deleted_snapshots"], module.check_mode)
    changed = bool(outcome["pruned"] or outcome["resumed"] or outcome["marked"])
    if outcome["failures"] and params["fail_on_error"]:
        module.fail_json(msg="%d backup(s) could not be pruned: %s" % (len(outcome["failures"]), "; ".join(
            "%s: %s" % (f["path"], f["message"]) for f in outcome["failures"])), changed=changed, **outcome)
    module.exit_json(changed=changed, **outcome)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            repository=dict(type="path"),
            backup_dir=dict(type="path"),
            vms=dict(type="list", elements="str", default=[]),
            retention_prefix=dict(type="str", default="ansible-backup-"),
            keep_last=dict(type="int"),
            older_than=dict(type="str"),
            deleted_snapshots=dict(type="list", elements="dict", default=[]),
            file_mode=dict(type="str", default="0640"),
            fail_on_error=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        run(module)
    except InputError as error:
        module.fail_json(msg=error.message, **error.to_result())


if __name__ == "__main__":
    main()
