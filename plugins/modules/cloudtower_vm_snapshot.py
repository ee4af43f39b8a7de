#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_vm_snapshot
short_description: Take, delete, prune and roll back to CloudTower VM snapshots, for one VM or many at once
version_added: 0.1.0
description:
  - Takes a snapshot of one VM (O(vm)) or of many (O(vms), or O(where) over VMs). All snapshots of a run are
    created in one C(create-vm-snapshot) request and waited for in one batched wait, so snapshotting 200 VMs costs
    about what snapshotting one does.
  - Idempotent by VM and snapshot name. CloudTower wants snapshot names unique within a cluster, so with O(vms) or
    O(where) the O(name) must contain C({vm_name}) or C({vm_id}), which is expanded for each VM. A name that
    another VM's snapshot already has in the same cluster is an error, reported before any change, unless
    O(name_collision=append_vm_id).
  - A snapshot of that name still being created (or deleted) by an earlier run, as one with O(wait=false) or
    whose wait timed out leaves it, is not done; the module waits for it within O(wait_timeout) and reports how
    it ended (V(exists) once idle, V(timed_out) if still busy, or, should its task fail and CloudTower remove it,
    takes it again). With O(wait=false) it is reported V(pending).
  - File-system-consistent snapshots need VMTools running in the guest. CloudTower accepts the request without them
    and then fails the task, so the module reads each VM's C(vm_tools_status) first and either refuses or, with
    O(fallback_to_crash_consistent=true), takes crash-consistent snapshots of those VMs with a warning.
  - Deletes snapshots by name (for one VM or many) or by id with O(state=absent).
  - Prunes old snapshots with O(keep_last) and/or O(older_than), only among the snapshots whose names start with
    O(retention_prefix), in one batched delete.
  - Rolls a VM back to a snapshot with O(state=reverted).
  - When one VM of a batch fails, the others' results are still returned, and the module then fails listing each
    failed VM with its task id and CloudTower's error.
  - Runs that ensure the same snapshot at the same moment (several hosts, or two pipelines) make it once; CloudTower
    refuses the second name with C(VM_SNAPSHOT_DUPLICATE_NAME), and the run that lost the race reports the
    snapshot the other made as V(exists), unchanged.
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
  - smartx.cloudtower.attributes.action_group
  - smartx.cloudtower.connection
  - smartx.cloudtower.wait
attributes:
  check_mode:
    support: full
    details:
      - Makes the same reads and decisions as a real run and sends no mutating request; C(changed), RV(results),
        RV(deleted) and RV(actions) say what a real run would do.
  diff_mode:
    support: full
    details:
      - For each VM, the names of the snapshots in the module's scope (the named one and those matching
        O(retention_prefix)) before and after; for O(state=reverted), the VM's power state and the snapshot
        it is rolled back to.
options:
  state:
    description:
      - V(present) takes the snapshot when the VM has none of that name, then applies the retention options.
      - V(absent) deletes the snapshot named O(name) (of each selected VM) or with id O(id), and/or prunes by the
        retention options.
      - V(reverted) rolls the VM back to the snapshot. A revert always reports a change, as CloudTower shows nothing
        that proves a VM is still as its snapshot left it.
    type: str
    choices: [present, absent, reverted]
    default: present
  vm:
    description:
      - Name or id of the VM. A name shared by several VMs is an error listing their ids, with one exception
        under O(state=present) - when exactly one of them already has the snapshot O(name), that snapshot is
        reported (V(exists)), as a snapshot name is unique within a cluster.
      - With O(state=present) the snapshots are read first, so a run that finds every snapshot sends one request
        (plus the login when no token is given); the VMs are read only when a snapshot is missing.
      - Mutually exclusive with O(vms) and O(where).
    type: str
  vms:
    description:
      - Names or ids of several VMs, resolved in one query. Each one must match exactly one VM (with the
        exception described under O(vm)).
      - Not allowed with O(state=reverted).
    type: list
    elements: str
  where:
    description:
      - A raw CloudTower C(where) filter over VMs (Prisma syntax) selecting the VMs to act on, for example
        C(status=RUNNING) written as a mapping. An empty mapping selects every VM. Combined with O(cluster) by AND.
      - Not allowed with O(state=reverted).
    type: dict
  cluster:
    description: Name or id of the cluster that O(vm), O(vms) and O(where) are restricted to.
    type: str
  name:
    description:
      - Name of the snapshot. Placeholders C({vm_name}) and C({vm_id}) are replaced by each VM's name and id; no
        other placeholder is accepted.
      - Required with O(state=present), where it must contain a placeholder when O(vms) or O(where) is used.
    type: str
  id:
    description:
      - Id of the snapshot, for O(state=absent) or O(state=reverted). Mutually exclusive with O(name).
      - With O(vm), the snapshot must belong to that VM.
    type: str
  consistent_type:
    description:
      - V(crash) takes a crash-consistent snapshot (CloudTower's C(CRASH_CONSISTENT)).
      - V(file_system) takes a file-system-consistent one (C(FILE_SYSTEM_CONSISTENT)), which needs VMTools running in
        the guest; see O(fallback_to_crash_consistent).
      - Only used when a snapshot is created; the consistency of an existing snapshot of that name is not compared.
    type: str
    choices: [crash, file_system]
    default: crash
  fallback_to_crash_consistent:
    description:
      - With O(consistent_type=file_system), take crash-consistent snapshots of the VMs whose VMTools are not running,
        with a warning naming them, instead of failing before any change.
    type: bool
    default: false
  name_collision:
    description:
      - What to do, with O(state=present), when O(name) gives two selected VMs of one cluster the same snapshot name
        (VM names are not unique, and C({vm_name}) then repeats), or a name another VM's snapshot already has in
        the cluster. CloudTower wants snapshot names unique within a cluster.
      - V(fail) refuses the task before any change, naming the VMs.
      - V(append_vm_id) appends C(-<vm id>) to those names only, so every selected VM is snapshotted; the other names
        stay as O(name) gives them, and the same VMs get the same names on every run.
    type: str
    choices: [fail, append_vm_id]
    default: fail
  keep_last:
    description:
      - Keep only the newest O(keep_last) snapshots of each selected VM whose names start with O(retention_prefix);
        delete the older ones. The snapshot this task takes counts as the newest.
      - With O(older_than) too, a snapshot is deleted only when it is beyond the newest O(keep_last) B(and) older than
        O(older_than), so O(keep_last) is a floor.
      - At least V(1) with O(state=present); V(0) with O(state=absent) deletes every snapshot matching the prefix.
    type: int
  older_than:
    description:
      - Delete each selected VM's snapshots whose names start with O(retention_prefix) and that are older than this,
        for example V(7d), V(12h), V(1d12h), V(2w) or a number of seconds.
      - Age is measured from the snapshot's C(local_created_at) to the clock of the host the module runs on.
    type: str
  retention_prefix:
    description:
      - Retention (O(keep_last), O(older_than)) only ever considers the snapshots whose names start with this, so
        snapshots made by people or by other tools are never deleted. Required with O(keep_last) or O(older_than).
      - May contain C({vm_name}) and C({vm_id}), expanded per VM.
      - Snapshots that are being created or deleted, and snapshots of deleted VMs, are never deleted by retention.
      - With O(state=present), when a VM's new snapshot fails, none of its snapshots are deleted.
    type: str
  stop_vm:
    description:
      - With O(state=reverted), stop a running or suspended VM before the rollback, since CloudTower can only roll
        back a stopped VM. Without it, a VM that is not stopped is an error before any change.
      - The VM stays stopped after the rollback.
    type: bool
    default: false
  force:
    description:
      - O(force) has one meaning in every module of this collection. O(force=true) allows a forced power operation
        (power off, forced restart), which loses the guest's unsaved state, where the task needs the VM stopped or
        restarted. Without it only graceful operations are sent, and a VM that is not where the task needs it fails
        the task with an explanation, before anything is sent.
      - With O(stop_vm=true), power the VM off instead of shutting it down gracefully. The rollback discards the
        guest's current state anyway, so nothing is lost that the rollback would keep.
      - A suspended VM cannot answer a graceful shutdown, so it is always powered off.
    type: bool
    default: false
notes:
  - With O(wait=false) and retention options, the module still waits for the new snapshots before deleting old
    ones (CloudTower locks a VM while its snapshot task runs), but not for the deletions.
  - Names are compared exactly. CloudTower keeps a snapshot of a deleted VM (with no VM), and its name still counts
    in the cluster.
seealso:
  - module: smartx.cloudtower.cloudtower_vm_snapshot_info
  - module: smartx.cloudtower.cloudtower_lun_snapshot_info
  - module: smartx.cloudtower.cloudtower_task_info
"""

EXAMPLES = r"""
- name: Crash-consistent snapshot of one VM (no change when it already exists)
  smartx.cloudtower.cloudtower_vm_snapshot:
    vm: web-1
    name: before-upgrade

- name: Nightly snapshots of every running VM of a cluster, in one request, keeping a week of them
  smartx.cloudtower.cloudtower_vm_snapshot:
    cluster: prod
    where:
      status: RUNNING
    name: "nightly-{vm_name}-{{ now(utc=true).strftime('%Y%m%d') }}"
    consistent_type: file_system
    fallback_to_crash_consistent: true
    retention_prefix: "nightly-{vm_name}-"
    keep_last: 7
    wait_timeout: 1800
  register: nightly

- name: The new snapshots, keyed by VM id
  ansible.builtin.debug:
    msg: "{{ nightly.results_by_vm_id | dict2items | map(attribute='value.snapshot.id') }}"

- name: Prune without taking a snapshot (snapshots not named backup-* are never touched)
  smartx.cloudtower.cloudtower_vm_snapshot:
    state: absent
    vms: [db-1, db-2]
    retention_prefix: backup-
    older_than: 30d
    keep_last: 3

- name: Delete one snapshot by name
  smartx.cloudtower.cloudtower_vm_snapshot:
    state: absent
    vm: web-1
    name: before-upgrade

- name: Roll web-1 back, powering it off first
  smartx.cloudtower.cloudtower_vm_snapshot:
    state: reverted
    vm: web-1
    name: before-upgrade
    stop_vm: true
    force: true
"""

RETURN = r"""
snapshots:
  description:
    - With O(state=present), the snapshot of each selected VM as CloudTower shows it after the task, with its
      C(vm_disks), re-read once CloudTower no longer shows it busy; with O(wait=false), as CloudTower answered the
      request. Existing snapshots are as read.
    - With O(state=reverted), the snapshot rolled back to. With O(state=absent), an empty list.
    - In check mode, only the snapshots that already exist.
  returned: always
  type: list
  elements: dict
  sample:
    - id: cmg6y13w6055h0958o1afczt5
      name: nightly-web-1-20250101
      local_id: 2f3c8b0e-2a51-4d43-9d61-4f1e47f2a1c0
      local_created_at: "2025-01-01T01:00:02.000Z"
      consistent_type: CRASH_CONSISTENT
      vm: {id: cmg6y0x8p04za0958z5g2b6xn, name: web-1}
      cluster: {id: cmg6xz2dd0001095816zxv6yq, name: prod}
      vm_disks:
        - {type: DISK, index: 0, bus: VIRTIO, boot: 0, size: 42949672960, path: "iscsi://...",
           snapshot_local_id: 5e1bb8b4-93b8-4a3f-bb12-3d0f5a3cd5d2, vm_volume_local_id: 8a3c1d2e-8f0b-4a4e-9c38-5f1b4c7e2d11}
results:
  description: One entry per selected VM, in the order the VMs were selected.
  returned: always
  type: list
  elements: dict
  contains:
    vm:
      description: The VM, C({id, name}).
      type: dict
    name:
      description: The snapshot name for this VM, placeholders expanded.
      type: str
    status:
      description:
        - V(created), V(exists), V(deleted), V(absent) (nothing to delete), V(reverted), V(failed), V(timed_out),
          V(pending) (O(wait=false)), or in check mode V(would_create), V(would_delete), V(would_revert).
      type: str
    changed:
      description: Whether this VM's snapshot was (or in check mode would be) created, deleted or rolled back to.
      type: bool
    consistent_type:
      description: With O(state=present), the consistency used or to be used (after any fallback).
      type: str
    task_id:
      description: The CloudTower task of this VM's change, or null.
      type: str
    request:
      description:
        - C({operation, request_id}) of the request that created this VM's snapshot (its C(x-tower-request-id)),
          for CloudTower's support; only for snapshots this run created.
      type: dict
    error:
      description: C({code, message}) of the failed or unfinished task, or null.
      type: dict
    snapshot:
      description: The snapshot as in RV(snapshots), or null.
      type: dict
  sample:
    - vm: {id: cmg6y0x8p04za0958z5g2b6xn, name: web-1}
      name: nightly-web-1-20250101
      status: created
      changed: true
      consistent_type: CRASH_CONSISTENT
      task_id: cmg6y13wq055j0958dki2c5fo
      error: null
      snapshot: {id: cmg6y13w6055h0958o1afczt5, name: nightly-web-1-20250101}
results_by_vm_id:
  description: RV(results) keyed by VM id.
  returned: always
  type: dict
failures:
  description: The members of the batch that failed or did not finish, with their task id and CloudTower's error.
  returned: when any task failed or timed out
  type: list
  elements: dict
  sample:
    - vm: {id: cmg6y0x8p04za0958z5g2b6xn, name: web-1}
      name: nightly-web-1-20250101
      status: failed
      task_id: cmg6y13wq055j0958dki2c5fo
      error_code: SVT_SERVICE_NOT_CONNECTED
      error_message: VMTools is not connected
deleted:
  description:
    - The snapshots deleted (in check mode, those that would be), each with C(id), C(name), C(local_id),
      C(local_created_at), C(consistent_type), C(vm), C(cluster), and C(reason), C(status), C(task_id) and C(error).
    - C(status) is V(deleted), V(failed), V(timed_out), V(pending), V(would_delete), V(skipped) (not deleted because
      that VM's new snapshot failed) or V(absent) (deleted by someone else meanwhile).
  returned: always
  type: list
  elements: dict
  sample:
    - id: cmg6y13w6055h0958o1afczt5
      name: nightly-web-1-20241224
      local_created_at: "2024-12-24T01:00:02.000Z"
      vm: {id: cmg6y0x8p04za0958z5g2b6xn, name: web-1}
      reason: beyond the newest 7
      status: deleted
      task_id: cmg6y2b0v05a30958l6dl9s8e
      error: null
vm:
  description: With O(state=reverted), the VM as CloudTower shows it after the rollback, re-read once CloudTower no
    longer shows it busy (C(entityAsyncStatus) null); with O(wait=false), as read before the rollback.
  returned: when O(state=reverted)
  type: dict
tasks:
  description: The CloudTower tasks started, each with C(id), C(description), C(status), C(progress), C(error_code) and
    C(error_message); with O(wait=false), as they were when the module returned.
  returned: always
  type: list
  elements: dict
actions:
  description: The mutating requests sent (in check mode, planned), in order, each with C(operation), C(summary) and,
    once sent, C(task_ids).
  returned: always
  type: list
  elements: dict
  sample:
    - operation: create-vm-snapshot
      summary: Create 20 snapshots in one request
      task_ids: [cmg6y13wq055j0958dki2c5fo]
diff:
  description: Under C(--diff), before and after as described in the diff_mode attribute.
  returned: when diff mode is on
  type: dict
"""

import json

from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule, name_list
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import values_of
from ansible_collections.smartx.cloudtower.plugins.module_utils.snapshot_batch import run_module


def main():
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent", "reverted"], default="present"),
        vm=dict(type="str"),
        vms=dict(type="list", elements="str"),
        where=dict(type="dict"),
        cluster=dict(type="str"),
        name=dict(type="str"),
        id=dict(type="str"),
        consistent_type=dict(type="str", choices=["crash", "file_system"], default="crash"),
        fallback_to_crash_consistent=dict(type="bool", default=False),
        name_collision=dict(type="str", choices=["fail", "append_vm_id"], default="fail"),
        keep_last=dict(type="int"),
        older_than=dict(type="str"),
        retention_prefix=dict(type="str"),
        stop_vm=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
    )
    module = CloudTowerModule(
        argument_spec=argument_spec,
        waits=True,
        non_blank=("vm", "vms", "cluster", "name", "id", "older_than", "retention_prefix"),
        supports_check_mode=True,
        mutually_exclusive=[("vm", "vms", "where"), ("name", "id")],
    )
    module.subject = subject_of(module.params)
    module.run(run_module)


def subject_of(params):
    """'snapshot 'nightly-{vm_name}' of VMs web-01, db-01', for failure messages."""
    vms = values_of(params, "vm", "vms")
    if vms:
        target = "%s %s" % ("VMs" if len(vms) > 1 else "VM", name_list(vms))
    else:
        target = "the VMs matching where %s" % json.dumps(params["where"], sort_keys=True) if params.get("where") is not None else None
    what = "Snapshot %r" % params["name"] if params.get("name") else ("Snapshot %s" % params["id"] if params.get("id") else "Snapshots")
    return "%s of %s" % (what, target) if target else what


if __name__ == "__main__":
    main()
