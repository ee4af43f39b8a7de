#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_backup_verify
short_description: Verify VM backups in a backup repository, reading every disk through its backing chain
version_added: 0.1.0
description:
  - Checks backups written by M(smartx.cloudtower.cloudtower_backup_copy) (or the P(smartx.cloudtower.vm_backup#role)
    role with C(vm_backup_repository)) and reports per VM and disk.
  - "For each disk of a backup: its file exists and still has the sha256 the manifest recorded; every file of its
    backing chain exists and passes C(qemu-img check); and the disk's content, read through the chain with
    C(qemu-img convert), has the digest the manifest recorded (C(sha256-sparse-64k-v1): sha256 over the disk's size
    and every non-zero 64 KiB block with its offset, so it costs time for the data, not for the size)."
  - Give O(manifest) (one backup), O(manifests) (several), or O(repository) and O(vm) (with O(backup)).
  - Needs C(qemu-img) on the host the task runs on. Sends no request to CloudTower; it works when the cluster is gone.
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
attributes:
  check_mode:
    support: full
    details: Only reads, so it runs the same in check mode.
  diff_mode:
    support: none
options:
  manifest:
    description:
      - Path of a backup's C(manifest.json) in the repository, or of the backup's directory.
      - Give this, O(manifests), or O(repository) and O(vm).
    type: path
  manifests:
    description:
      - Paths of several backups' C(manifest.json) (or directories), verified in one task.
    type: list
    elements: path
  repository:
    description: The backup repository directory. Requires O(vm).
    type: path
  vm:
    description:
      - Name or id of the VM whose backups to verify in O(repository). A name that two VMs in the repository share is
        refused, naming their directories; give the id then.
    type: str
  backup:
    description:
      - Which backups of O(vm) to verify - V(latest), V(all) (oldest first), or the name of one backup (its snapshot's
        name).
    type: str
    default: latest
  fail_on_error:
    description: Fail the task when a backup does not verify. With V(false) the problems are only reported.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Verify the newest backup of db-01
  smartx.cloudtower.cloudtower_backup_verify:
    repository: /srv/backup-repository
    vm: db-01

- name: Verify every backup of a VM, reporting without failing
  smartx.cloudtower.cloudtower_backup_verify:
    repository: /srv/backup-repository
    vm: clvnj6kqo0004iz7kecvn77ju
    backup: all
    fail_on_error: false
  register: verified

- name: Verify one backup by its manifest
  smartx.cloudtower.cloudtower_backup_verify:
    manifest: /srv/backup-repository/cluster-a/db-01-clvnj6kqo0004iz7kecvn77ju/ansible-backup-db-01-20250101T010000Z/manifest.json
"""

RETURN = r"""
backups:
  description: One entry per backup verified.
  returned: always
  type: list
  elements: dict
  contains:
    vm:
      description: C({id, name}) of the VM (null when the manifest could not be read).
      type: dict
    backup:
      description: The backup's name.
      type: str
    path:
      description: The backup's directory.
      type: str
    status:
      description: V(ok) or V(failed).
      type: str
    disks:
      description: C({index, file, status, problems}) per disk.
      type: list
      elements: dict
    problems:
      description: Every problem found, each naming the disk.
      type: list
      elements: str
    message:
      description: The problems in one line; null when the backup verified.
      type: str
  sample: [{"vm": {"id": "clvnj", "name": "db-01"}, "backup": "b1", "path": "/srv/repo/cluster-a/db-01-clvnj/b1",
            "status": "ok", "problems": [], "disks": [{"index": 0, "file": "disk-0.qcow2", "status": "ok", "problems": []}]}]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.repository import MANIFEST_NAME, RunRegistry
from ansible_collections.smartx.cloudtower.plugins.module_utils.verify import manifests_of, verify_backup


def manifest_file(option, value):
    path = os.path.join(value, MANIFEST_NAME) if os.path.isdir(value) else value
    if not os.path.isfile(path):
        raise InputError(option, value, "is not a file (nor a backup directory holding %s)" % MANIFEST_NAME)
    return path


def manifest_paths(params):
    if params.get("manifest"):
        return [manifest_file("manifest", params["manifest"])]
    if params.get("manifests") is not None:
        return [manifest_file("manifests", value) for value in params["manifests"]]
    if not params.get("vm"):
        raise InputError("vm", params.get("vm"), "is required with repository")
    if not os.path.isdir(params["repository"]):
        raise InputError("repository", params["repository"], "is not a directory")
    return manifests_of(params["repository"], params["vm"], params["backup"])


def describe(backups):
    failed = [b for b in backups if b["status"] != "ok"]
    return "; ".join("%s backup %s: %s" % ((b["vm"] or {}).get("name") or "?", b["backup"], ", ".join(b["problems"])) for b in failed)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            manifest=dict(type="path"),
            manifests=dict(type="list", elements="path"),
            repository=dict(type="path"),
            vm=dict(type="str"),
            backup=dict(type="str", default="latest"),
            fail_on_error=dict(type="bool", default=True),
        ),
        required_one_of=[("manifest", "manifests", "repository")],
        mutually_exclusive=[("manifest", "manifests", "repository"), ("manifest", "vm"), ("manifests", "vm")],
        supports_check_mode=True,
    )
    try:
        paths = manifest_paths(module.params)
    except InputError as error:
        module.fail_json(msg=error.message, **error.to_result())
    if paths and module.get_bin_path("qemu-img") is None:
        module.fail_json(msg="cloudtower_backup_verify needs qemu-img on this host (Debian: qemu-utils)")
    registry = RunRegistry()
    token = registry.start() if paths else None
    try:
        backups = [verify_backup(module.run_command, path, token) for path in paths]
    finally:
        registry.finish(token)
    problems = describe(backups)
    if problems and module.params["fail_on_error"]:
        module.fail_json(msg="%d of %d backup(s) did not verify: %s" % (sum(b["status"] != "ok" for b in backups), len(backups), problems),
                         backups=backups, changed=False)
    module.exit_json(changed=False, backups=backups)


if __name__ == "__main__":
    main()
