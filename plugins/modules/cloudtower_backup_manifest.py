#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_backup_manifest
short_description: Write the manifests of a batch of CloudTower VM backups, and run a data mover for every disk
version_added: 0.1.0
description:
  - Writes one JSON manifest per VM backup under O(backup_dir), as C(<backup_dir>/<vm name>-<vm id>/<snapshot name>.json),
    from what a backup run already read from CloudTower - the VMs (M(smartx.cloudtower.cloudtower_vm_info)), their new
    snapshots (M(smartx.cloudtower.cloudtower_vm_snapshot)) and the iSCSI LUN snapshots of their disks
    (M(smartx.cloudtower.cloudtower_lun_snapshot_info)). One task handles the whole batch.
  - "A manifest holds C(vm) (the VM as CloudTower returned it), C(snapshot) (the VM snapshot as CloudTower returned it),
    C(disks) (one entry per disk of type C(DISK): C(index), C(bus), C(boot), C(size), C(path), C(vm_volume_local_id),
    C(snapshot_local_id), C(lun_snapshot) with C(id), C(name) and C(local_id), and C(data_mover)), C(cloudtower.host),
    C(collection_version), C(backup.started_at), C(backup.snapshot_taken_at) and C(written_at)."
  - No secret is written. Keys that look like credentials (containing C(password), C(secret), C(token), ...) are dropped
    at any depth, and credentials in O(cloudtower_host) are removed.
  - Each manifest is written atomically (a temporary file in the same directory, flushed and fsynced, then renamed over
    the manifest), so a reader never sees a partial file.
  - A VM whose snapshot failed, or one of whose disks has no LUN snapshot, gets no manifest and is listed in
    RV(failed_vms); the other VMs' manifests are still written.
  - With O(data_mover_command), runs the command once per disk, at most O(data_mover_parallel) at a time, with the
    disk's identity in environment variables (see O(data_mover_command)). Each outcome is returned in RV(data_mover) and
    recorded in the manifest; a disk whose data mover failed makes its VM fail with stage C(data_mover).
  - Needs no connection to CloudTower and sends no request to it. It runs where the task runs, normally the controller.
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
attributes:
  check_mode:
    support: full
    details:
      - Writes nothing and runs no data mover; RV(manifests) and RV(data_mover) say what a real run would write and run.
      - A VM whose snapshot does not exist yet (V(would_create) in check mode) is reported with the manifest path it
        would get; its disks are not known yet.
  diff_mode:
    support: partial
    details: Lists the manifest files before and after; the content of a rewritten manifest is not shown.
options:
  backup_dir:
    description:
      - Directory the manifests go to. Created when missing, with a sub-directory per VM.
      - Checked before anything is written; the task fails when it is a file or cannot be created or written to.
    type: path
    required: true
  cloudtower_host:
    description:
      - URL of the CloudTower the backups come from, written into each manifest (user information, a trailing C(/)
        and C(/v2/api) are removed). This module never connects to it.
      - Required when O(snapshot_results) is not empty.
      - If not set, the value of the E(CLOUDTOWER_HOST) environment variable is used.
    type: str
  vms:
    description:
      - The VMs as CloudTower returns them, such as RV(smartx.cloudtower.cloudtower_vm_info#module:vms). Matched to
        O(snapshot_results) by id and written as the manifest's C(vm).
      - A VM of O(snapshot_results) without a record here is written as C({id, name}) only.
    type: list
    elements: dict
  snapshot_results:
    description:
      - The per-VM results of a snapshot run, RV(smartx.cloudtower.cloudtower_vm_snapshot#module:results), each with
        C(vm), C(name), C(status), C(task_id), C(error) and C(snapshot).
      - A result whose C(status) is V(created) or V(exists) gets a manifest. V(would_create) (check mode) is reported
        as V(would_write). Any other status (V(failed), V(timed_out), V(pending)) is a failed VM.
      - Without it (or empty), the module only checks O(backup_dir) and O(data_mover_command), which lets a play
        refuse bad values before it takes any snapshot.
    type: list
    elements: dict
  lun_snapshots:
    description:
      - The LUN snapshot records of the snapshots' disks, RV(smartx.cloudtower.cloudtower_lun_snapshot_info#module:lun_snapshots),
        each with C(vm_snapshot), C(disk), C(id), C(name) and C(local_id).
    type: list
    elements: dict
  started_at:
    description:
      - When the backup run started, written as C(backup.started_at), for example V(2025-01-01T01:00:00.000Z).
      - Defaults to the time the module runs.
    type: str
  data_mover_command:
    description:
      - A command run once per disk of each VM whose manifest is written, after the manifest is written, for example
        a ZADP-based copier. It is split into arguments like a shell would but not run through a shell (use
        C(sh -c '...') for shell syntax); arguments are passed as written, without expanding variables.
      - "Its environment holds the disk's identity: E(CLOUDTOWER_LUN_SNAPSHOT_LOCAL_ID) (the ZBS identifier to read),
        E(CLOUDTOWER_LUN_SNAPSHOT_NAME), E(CLOUDTOWER_LUN_SNAPSHOT_ID), E(CLOUDTOWER_DISK_INDEX), E(CLOUDTOWER_DISK_BUS),
        E(CLOUDTOWER_DISK_BOOT), E(CLOUDTOWER_DISK_SIZE) (bytes), E(CLOUDTOWER_DISK_PATH),
        E(CLOUDTOWER_VM_VOLUME_LOCAL_ID), E(CLOUDTOWER_DISK_SNAPSHOT_LOCAL_ID), E(CLOUDTOWER_ISCSI_LUN_ID),
        E(CLOUDTOWER_ISCSI_LUN_NAME), E(CLOUDTOWER_ISCSI_TARGET_NAME), E(CLOUDTOWER_VM_ID), E(CLOUDTOWER_VM_NAME),
        E(CLOUDTOWER_VM_LOCAL_ID), E(CLOUDTOWER_CLUSTER_ID), E(CLOUDTOWER_CLUSTER_NAME), E(CLOUDTOWER_VM_SNAPSHOT_ID),
        E(CLOUDTOWER_VM_SNAPSHOT_NAME), E(CLOUDTOWER_VM_SNAPSHOT_LOCAL_ID), E(CLOUDTOWER_MANIFEST) (the manifest's path),
        E(CLOUDTOWER_BACKUP_DIR) and E(CLOUDTOWER_HOST)."
      - E(CLOUDTOWER_USERNAME), E(CLOUDTOWER_PASSWORD) and E(CLOUDTOWER_TOKEN) are removed from its environment.
      - An exit code other than 0 fails that disk. A disk whose manifest already records a successful run for the same
        LUN snapshot is not run again, so re-running a backup retries only the disks that failed.
      - The program is looked up before anything is written; the task fails when it does not exist.
    type: str
  data_mover_parallel:
    description: How many data mover commands run at the same time.
    type: int
    default: 4
  data_mover_timeout:
    description:
      - Seconds each data mover command may run; it is then killed and its disk fails with status V(timed_out).
      - Processes the command started in the background are not killed.
    type: int
    default: 3600
  manifest_mode:
    description: Permissions of the manifest files, as an octal string.
    type: str
    default: '0640'
  fail_on_error:
    description:
      - Fail the task, after every other VM was handled, when any VM is in RV(failed_vms). With V(false), only report
        them, so a play can go on with the VMs that succeeded and fail later.
    type: bool
    default: true
notes:
  - The C(written_at) field is ignored when comparing a manifest with the one on disk, so running the same backup
    again (same snapshots) rewrites nothing and reports no change.
seealso:
  - module: smartx.cloudtower.cloudtower_vm_snapshot
  - module: smartx.cloudtower.cloudtower_lun_snapshot_info
  - module: smartx.cloudtower.cloudtower_vm_info
"""

EXAMPLES = r"""
- name: Read the VMs to back up
  smartx.cloudtower.cloudtower_vm_info:
    names: [web-01, db-01]
  register: backup_vms

- name: Snapshot them in one request
  smartx.cloudtower.cloudtower_vm_snapshot:
    vms: "{{ backup_vms.vms | map(attribute='id') }}"
    name: "backup-{vm_name}-{{ now(utc=true).strftime('%Y%m%dT%H%M%SZ') }}"
  register: backup_snapshots
  failed_when: backup_snapshots.results is not defined

- name: The LUN snapshots of every disk
  smartx.cloudtower.cloudtower_lun_snapshot_info:
    vm_snapshot_ids: "{{ backup_snapshots.snapshots | map(attribute='id') }}"
    fail_on_missing: false
  register: backup_luns

- name: Write the manifests and copy every disk with a ZADP-based copier
  smartx.cloudtower.cloudtower_backup_manifest:
    backup_dir: /srv/backups/cloudtower
    cloudtower_host: https://cloudtower.example.com
    vms: "{{ backup_vms.vms }}"
    snapshot_results: "{{ backup_snapshots.results }}"
    lun_snapshots: "{{ backup_luns.lun_snapshots }}"
    data_mover_command: /opt/zadp/bin/copy-lun-snapshot --target nfs://backup01/cloudtower
    data_mover_parallel: 8
  register: backup_manifests

- name: Where the manifests are
  ansible.builtin.debug:
    msg: "{{ backup_manifests.manifests | map(attribute='path') }}"

- name: Check a directory and a data mover command before taking any snapshot
  smartx.cloudtower.cloudtower_backup_manifest:
    backup_dir: /srv/backups/cloudtower
    data_mover_command: /opt/zadp/bin/copy-lun-snapshot --target nfs://backup01/cloudtower
"""

RETURN = r"""
manifests:
  description: One entry per VM of O(snapshot_results), in their order.
  returned: always
  type: list
  elements: dict
  contains:
    vm:
      description: The VM, C({id, name}).
      type: dict
    snapshot:
      description: The VM snapshot, C({id, name}).
      type: dict
    path:
      description: Path of the manifest (written, unchanged or that would be written); null when it is not written.
      type: str
    status:
      description:
        - V(written), V(unchanged) (the same manifest was already there), V(would_write) (check mode) or
          V(not_written) (the VM failed before its manifest could be written).
      type: str
    changed:
      description: Whether the manifest was (or in check mode would be) written, or a data mover ran for the VM.
      type: bool
    disks:
      description: Number of disks in the manifest; null when not known (check mode before the snapshot exists).
      type: int
    data_mover:
      description:
        - The VM's data mover outcome over its disks, V(succeeded), V(failed), V(would_run), V(not_run) (no
          O(data_mover_command), or the VM failed earlier) or V(done_before) (every disk succeeded in an earlier run).
      type: str
  sample:
    - vm: {id: cmg6y0x8p04za0958z5g2b6xn, name: web-01}
      snapshot: {id: cmg6y13w6055h0958o1afczt5, name: ansible-backup-web-01-20250101T010000Z}
      path: /srv/backups/cloudtower/web-01-cmg6y0x8p04za0958z5g2b6xn/ansible-backup-web-01-20250101T010000Z.json
      status: written
      changed: true
      disks: 1
      data_mover: succeeded
data_mover:
  description:
    - One entry per disk the data mover ran (or would run) for, each with C(vm), C(snapshot), C(disk_index),
      C(lun_snapshot_local_id), C(manifest), C(status) (V(succeeded), V(failed), V(timed_out) or V(would_run)),
      C(rc), C(stdout) and C(stderr) (their last 2000 characters), C(started_at), C(finished_at) and C(duration) in seconds.
  returned: always
  type: list
  elements: dict
  sample:
    - vm: {id: cmg6y0x8p04za0958z5g2b6xn, name: web-01}
      snapshot: {id: cmg6y13w6055h0958o1afczt5, name: ansible-backup-web-01-20250101T010000Z}
      disk_index: 0
      lun_snapshot_local_id: 7c0c1a4e-3b7d-4e43-8a2f-0b6c8f0e9a11
      manifest: /srv/backups/cloudtower/web-01-cmg6y0x8p04za0958z5g2b6xn/ansible-backup-web-01-20250101T010000Z.json
      status: succeeded
      rc: 0
      stdout: "copied 42949672960 bytes"
      stderr: ""
      started_at: "2025-01-01T01:00:05.120Z"
      finished_at: "2025-01-01T01:03:41.877Z"
      duration: 216.757
failed_vms:
  description:
    - The VMs whose backup failed, each with C(vm), C(snapshot), C(stage) (V(snapshot), V(lun_snapshot), V(manifest) or
      V(data_mover)) and C(message).
  returned: always
  type: list
  elements: dict
  sample:
    - vm: {id: cmg6y0x8p04za0958z5g2b6xn, name: web-02}
      snapshot: {id: null, name: ansible-backup-web-02-20250101T010000Z}
      stage: snapshot
      message: "the snapshot 'ansible-backup-web-02-20250101T010000Z' is failed: The task failed [SIMULATED_TASK_FAILURE]"
succeeded_vm_ids:
  description:
    - Ids of the VMs whose manifest is written (or unchanged, or would be written in check mode) and whose data mover,
      if any, succeeded; the VMs whose older snapshots a retention step may prune.
  returned: always
  type: list
  elements: str
summary:
  description: Counts over the batch.
  returned: always
  type: dict
  contains:
    vms:
      description: Number of VMs in O(snapshot_results).
      type: int
    succeeded:
      description: Number of VMs in RV(succeeded_vm_ids).
      type: int
    failed:
      description: Number of VMs in RV(failed_vms).
      type: int
    manifests_written:
      description: Manifests written (or that would be in check mode).
      type: int
    manifests_unchanged:
      description: Manifests already on disk with the same content.
      type: int
    disks:
      description: Disks in the written or unchanged manifests.
      type: int
    data_mover_succeeded:
      description: Data mover runs that succeeded.
      type: int
    data_mover_failed:
      description: Data mover runs that failed or timed out.
      type: int
  sample: {vms: 3, succeeded: 2, failed: 1, manifests_written: 2, manifests_unchanged: 0, disks: 3,
           data_mover_succeeded: 3, data_mover_failed: 0}
check_mode:
  description:
    - Whether the module ran in check mode, so that later tasks can word their reports (C(ansible_check_mode) only
      reflects C(--check), not a task's C(check_mode)).
  returned: always
  type: bool
  sample: false
backup_dir:
  description: The absolute path of O(backup_dir).
  returned: always
  type: str
  sample: /srv/backups/cloudtower
diff:
  description: With C(--diff), the manifest files that exist before and after.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.smartx.cloudtower.plugins.module_utils.backup_manifest import run_module
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            backup_dir=dict(type="path", required=True),
            cloudtower_host=dict(type="str", fallback=(env_fallback, ["CLOUDTOWER_HOST"])),
            vms=dict(type="list", elements="dict"),
            snapshot_results=dict(type="list", elements="dict"),
            lun_snapshots=dict(type="list", elements="dict"),
            started_at=dict(type="str"),
            data_mover_command=dict(type="str"),
            data_mover_parallel=dict(type="int", default=4),
            data_mover_timeout=dict(type="int", default=3600),
            manifest_mode=dict(type="str", default="0640"),
            fail_on_error=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        run_module(module)
    except CloudTowerError as error:
        fields = error.to_result()
        module.fail_json(msg=error.message, **fields)


if __name__ == "__main__":
    main()
