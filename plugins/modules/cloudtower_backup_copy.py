#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_backup_copy
short_description: Copy the disks of CloudTower VM backups into a backup repository (iSCSI or export)
version_added: 0.1.0
description:
  - Copies every disk of each VM backup described by a snapshot manifest of M(smartx.cloudtower.cloudtower_backup_manifest)
    into a backup repository (a directory on this host - a local disk, NFS or any mounted file system), as
    C(<repository>/<cluster name>/<vm name>-<vm id>/<backup name>/disk-<index>.qcow2), then writes that backup's
    C(manifest.json) beside them. The backup name is the snapshot's name.
  - "Each disk is read over iSCSI: its LUN snapshot is cloned into an iSCSI target of this collection on the VM's
    cluster (named C(smartx-cloudtower-backup-<host>), created on first use, with an initiator whitelist of this host
    only: its address as the portal sees it and the initiator name C(iqn.2016-02.com.smartx.cloudtower:backup-<host>)),
    read with C(qemu-img convert) over libiscsi, and the clone is deleted afterwards, also after a failure. Clones an
    interrupted run left in the target are deleted first and reported in RV(leftovers_removed); those of another run
    still alive on this host are left alone (RV(clones_of_live_runs))."
  - "With O(transport=export) (CloudTower 4.6 and later; what O(transport=auto) picks there) each disk leaves the
    cluster over HTTPS instead: its VM volume snapshot is rebuilt into a temporary volume (C(rebuild-vm-volume), named
    C(smartx-cloudtower-backup-<vm id>-disk<index>-<run token>)), exported as QCOW2 (C(export-vm-volume)), downloaded
    from its link with C(requests) - streaming, resumed with a Range request after a dropped connection, checked
    against the size and md5 CloudTower lists - and the temporary volume is deleted afterwards, also after a failure.
    Temporary volumes an interrupted run left are deleted by the next run (RV(leftovers_removed)). CloudTower 4.6 has
    no operation to delete an export file; CloudTower expires them."
  - QCOW2 files store no zero blocks. With O(incremental), a disk's new file has the previous complete backup of the
    same disk as its backing file (a relative path, so the repository can be moved) and stores only the clusters that
    changed; O(full_every) bounds the chains.
  - A disk file is written under a temporary name, checked with C(qemu-img check), digested through its chain, and
    only then renamed. The manifest is written last and atomically, only when every disk of the VM is copied, so no
    manifest claims a backup that is not complete. Temporary files of an interrupted run are removed by the next run.
  - Each run holds a lock named by its token (in C(<temporary directory>/smartx.cloudtower-backup-runs-<uid>)) while
    it runs; its temporary files and cloned LUNs carry the token. Another run on the same host removes them only once
    that lock is free (the run ended, or was killed), so concurrent runs never remove each other's work in flight.
  - A VM whose copy fails is listed in RV(failed_vms) with the disk, the step (V(clone), V(read), V(write),
    V(verify)) and the API request id where there is one; the other VMs are copied.
  - Needs C(qemu-img) with its iSCSI block driver (Debian packages C(qemu-utils) and C(qemu-block-extra)) on the host
    the task runs on.
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
  - smartx.cloudtower.attributes.action_group
  - smartx.cloudtower.connection
attributes:
  check_mode:
    support: full
    details: Sends no request and writes nothing; RV(backups) lists the backups a real run would copy.
  diff_mode:
    support: none
options:
  repository:
    description:
      - The backup repository directory. Created when missing; directories are made with O(dir_mode).
    type: path
    required: true
  manifests:
    description:
      - Paths of snapshot manifests written by M(smartx.cloudtower.cloudtower_backup_manifest) (its
        RV(smartx.cloudtower.cloudtower_backup_manifest#module:manifests) C(path)s), one per VM.
      - A backup whose C(manifest.json) already exists in the repository is not copied again (V(exists)).
    type: list
    elements: path
    default: []
  transport:
    description:
      - How disks are read. V(iscsi) clones each LUN snapshot and reads it over the cluster's iSCSI portal (every
        CloudTower version).
      - V(export) rebuilds each disk's VM volume snapshot into a temporary volume, exports it as QCOW2 and downloads it
        (CloudTower 4.6 and later; an older CloudTower fails the task before any change).
      - V(auto) is V(export) where CloudTower has it (4.6 and later, read from C(get-deploys)), else V(iscsi).
      - The repository manifest records the transport used (C(repository.transport) and each disk's
        C(backup.transport)).
    type: str
    choices: [auto, iscsi, export]
    default: auto
  iscsi_portal:
    description:
      - The iSCSI portal to read from, as C(host) or C(host:port) (port 3260 when not given).
      - Defaults to the cluster's iSCSI VIP (C(iscsi_vip)); a cluster without one needs this option.
    type: str
  incremental:
    description: Store each disk as an increment on its previous complete backup in the repository, when there is one.
    type: bool
    default: true
  full_every:
    description:
      - With O(incremental), start a new chain (a full copy) when a disk's chain would otherwise hold this many
        files, so a restore reads at most O(full_every) files. V(0) never forces a full copy.
    type: int
    default: 0
  parallel_disks:
    description: How many disks are copied at the same time (over all VMs of the task).
    type: int
    default: 2
  chap_name:
    description:
      - With O(chap_secret), the backup target asks for CHAP with this name and secret besides the initiator
        whitelist (set on the target, and set again when someone changed it), and C(qemu-img) logs in with them.
      - Without them the target's CHAP is off (its whitelist of this host is what admits it).
    type: str
  chap_secret:
    description:
      - The CHAP secret (CloudTower wants 12 to 16 characters). It is sent to CloudTower in the target's settings and
        handed to C(qemu-img) through a pipe (C(--object secret,file=/dev/fd/N)), so it is never on a command line, in
        a file or in the task's output.
    type: str
  host_label:
    description:
      - The name of this backup host in the backup target's name and initiator name. Defaults to the host name.
    type: str
  dir_mode:
    description: Permissions of the directories made in the repository, as an octal string.
    type: str
    default: "0750"
  file_mode:
    description: Permissions of the disk files and manifests, as an octal string.
    type: str
    default: "0640"
  wait_timeout:
    description:
      - Seconds to wait for each of CloudTower's tasks (the target's creation, each clone, each deletion) before the
        step fails. Must be a positive number.
    type: int
    default: 600
  fail_on_error:
    description: Fail the task when a VM's copy failed. With V(false) those VMs are only listed in RV(failed_vms).
    type: bool
    default: true
  progress_file:
    description:
      - A file (mode 0600) the copy writes every few seconds while it runs, atomically, with each disk's progress -
        C(phase), C(bytes), C(size), C(percent), C(rate) in bytes per second, C(status) - and C(lines), the same as
        text; at the end C(finished) is V(true).
      - Run the task with C(async) and read this file to show progress of long copies, as the
        P(smartx.cloudtower.vm_backup#role) role does.
    type: path
notes:
  - Over iSCSI each disk costs one C(clone-iscsi-lun-from-snapshot) and one C(delete-iscsi-lun) request (and their
    task polls); the target is looked up once per cluster and run.
  - Over export each disk costs C(rebuild-vm-volume), C(export-vm-volume), C(get-vm-export-files),
    C(get-export-file-download-links) and C(delete-vm-volume) (and their task polls); the volume snapshots of the
    whole batch are found with one C(get-vm-volume-snapshots), leftovers with one C(get-vm-volumes) per cluster.
"""

EXAMPLES = r"""
- name: Copy the disks of the backups just taken into the repository
  smartx.cloudtower.cloudtower_backup_copy:
    repository: /srv/backup-repository
    manifests: "{{ manifests.manifests | map(attribute='path') | select | list }}"
    iscsi_portal: 10.0.0.20
    full_every: 7
  register: copy

- name: Copy, reporting failures without failing the task
  smartx.cloudtower.cloudtower_backup_copy:
    repository: /srv/backup-repository
    manifests: [/srv/backups/web-01-clvnj/ansible-backup-web-01-20250101T010000Z.json]
    parallel_disks: 4
    fail_on_error: false
"""

RETURN = r"""
backups:
  description: One entry per manifest given.
  returned: always
  type: list
  elements: dict
  contains:
    vm:
      description: C({id, name}) of the VM.
      type: dict
    backup:
      description: The backup's name (its snapshot's name).
      type: str
    path:
      description: The backup's directory in the repository.
      type: str
    status:
      description: V(copied), V(exists) (copied by an earlier run), V(failed), or V(planned) (check mode).
      type: str
    failure:
      description: For V(failed), the same entry as in RV(failed_vms); else null.
      type: dict
failed_vms:
  description: VMs whose copy failed, with C(vm), C(disk), C(step), C(backup) and C(message).
  returned: always
  type: list
  elements: dict
  sample: [{"vm": {"id": "clvnj", "name": "web-01"}, "disk": 0, "step": "clone", "stage": "copy", "backup": "b1",
            "message": "web-01 (id clvnj) disk 0 [clone]: ... (x-tower-request-id: 9f2c...)"}]
succeeded_vm_ids:
  description: Ids of the VMs whose backup is complete in the repository (copied now or before).
  returned: always
  type: list
  elements: str
transport:
  description: The transport used (V(iscsi) or V(export)); null when nothing was copied.
  returned: always
  type: str
leftovers_removed:
  description: Cloned LUNs (iSCSI) or temporary volumes (export) an interrupted run had left, deleted by this run.
  returned: always
  type: list
  elements: dict
clones_of_live_runs:
  description:
    - Cloned LUNs in the backup target (or temporary volumes of the export transport) that belong to another run still
      alive on this host (its process holds its lock), left alone. A clone is a leftover only once the run that made it has ended.
  returned: always
  type: list
  elements: dict
clones_not_deleted:
  description: Cloned LUNs or temporary volumes whose deletion failed in this run (the next run deletes them).
  returned: always
  type: list
  elements: dict
temporary_files_removed:
  description: Temporary files of an interrupted run removed from the repository.
  returned: always
  type: list
  elements: str
targets:
  description: Backup targets created (V(created)) or restricted to this host again (V(restricted)) by this run.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.backup_copy import Copier, CopySettings, load_vm_copies, result_of
from ansible_collections.smartx.cloudtower.plugins.module_utils.api.iscsi import parse_portal
from ansible_collections.smartx.cloudtower.plugins.module_utils.api.vms import server_version
from ansible_collections.smartx.cloudtower.plugins.module_utils.copy_progress import ProgressBoard
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError, InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import check_backup_dir, parse_mode
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule
from ansible_collections.smartx.cloudtower.plugins.module_utils.volume_export import EXPORT_SINCE, has_export


def settings_from(module):
    """CopySettings of the options; InputError naming the option for a bad value (before any request)."""
    params = module.params
    if params["wait_timeout"] < 1:
        raise InputError("wait_timeout", params["wait_timeout"], "must be a positive number of seconds")
    if params["full_every"] < 0:
        raise InputError("full_every", params["full_every"], "must be 0 (never force a full copy) or a positive number of backups")
    if params["parallel_disks"] < 1:
        raise InputError("parallel_disks", params["parallel_disks"], "must be at least 1")
    if params.get("iscsi_portal") is not None:
        try:
            parse_portal("iscsi_portal", params["iscsi_portal"])
        except CloudTowerError as error:
            raise InputError("iscsi_portal", params["iscsi_portal"], "must be host or host:port") from error
    if bool(params.get("chap_name")) != bool(params.get("chap_secret")):
        given, missing = ("chap_name", "chap_secret") if params.get("chap_name") else ("chap_secret", "chap_name")
        # The value of chap_secret is never shown, not even in an error.
        raise InputError(missing, None, "is required with %s: CHAP needs both" % given)
    repository = check_backup_dir("repository", params["repository"], probe=not module.check_mode)
    return CopySettings(repository, incremental=params["incremental"], full_every=params["full_every"],
                        parallel_disks=params["parallel_disks"], iscsi_portal=params.get("iscsi_portal"),
                        host_label=params.get("host_label"), dir_mode=parse_mode("dir_mode", params["dir_mode"]),
                        file_mode=parse_mode("file_mode", params["file_mode"]),
                        chap=(params["chap_name"], params["chap_secret"]) if params.get("chap_name") else None)


def resolve_transport(module, requested):
    """iscsi or export for this CloudTower: auto picks export where it exists; export where it does not is refused
    before any change."""
    if requested == "iscsi":
        return requested
    version = server_version(module.client)
    if requested == "export" and not has_export(version):
        raise InputError("transport", requested, "CloudTower %s has no export of a snapshot's disk (rebuild-vm-volume and "
                         "export-vm-volume are in %d.%d and later): use iscsi or auto" % (
                             ".".join(str(part) for part in version) if version else "of unknown version", EXPORT_SINCE[0], EXPORT_SINCE[1]))
    return "export" if has_export(version) else "iscsi"


def describe_failure(failure):
    vm = failure.get("vm")
    return "%s (id %s): %s" % (vm["name"], vm["id"], failure["message"]) if vm else failure["message"]


def run(module):
    settings = settings_from(module)
    copies, unreadable = load_vm_copies(module.params["manifests"], settings)
    if copies and not module.check_mode and module.get_bin_path("qemu-img") is None:
        raise InputError("transport", module.params["transport"], "needs qemu-img on this host (Debian: qemu-utils, qemu-block-extra)")
    if copies and not module.check_mode:
        settings.transport = resolve_transport(module, module.params["transport"])
    progress = ProgressBoard(module.params.get("progress_file")) if not module.check_mode else None
    copier = Copier(module.client, module.waiter, module.run_command, settings, progress=progress)
    removed = []
    if module.check_mode:
        copier.plan(copies)
    else:
        copies, removed = copier.run(copies)
    failures = unreadable + [c.failure for c in copies if c.failure]
    result = dict(
        changed=any(c.status in ("copied", "planned") for c in copies) or bool(copier.leftovers or copier.target_actions or removed),
        backups=[result_of(c) for c in copies],
        failed_vms=failures,
        succeeded_vm_ids=[c.vm["id"] for c in copies if c.status in ("copied", "exists")],
        transport=settings.transport if copies and not module.check_mode else None,
        leftovers_removed=copier.leftovers,
        clones_of_live_runs=copier.in_flight,
        clones_not_deleted=copier.undeleted,
        temporary_files_removed=removed,
        targets=copier.target_actions,
    )
    if failures and module.params["fail_on_error"]:
        module.fail_json(msg="The copy of %d VM backup(s) failed: %s" % (len(failures), "; ".join(describe_failure(f) for f in failures)), **result)
    module.exit_json(**result)


def main():
    module = CloudTowerModule(
        argument_spec=dict(
            repository=dict(type="path", required=True),
            manifests=dict(type="list", elements="path", default=[]),
            transport=dict(type="str", choices=["auto", "iscsi", "export"], default="auto"),
            iscsi_portal=dict(type="str"),
            incremental=dict(type="bool", default=True),
            full_every=dict(type="int", default=0),
            parallel_disks=dict(type="int", default=2),
            host_label=dict(type="str"),
            dir_mode=dict(type="str", default="0750"),
            file_mode=dict(type="str", default="0640"),
            wait_timeout=dict(type="int", default=600),
            fail_on_error=dict(type="bool", default=True),
            progress_file=dict(type="path"),
            chap_name=dict(type="str"),
            chap_secret=dict(type="str", no_log=True),
        ),
        supports_check_mode=True,
        non_blank=("repository", "iscsi_portal", "host_label", "chap_name"),
    )
    module.subject = "Copy of VM backups into repository %s" % module.params["repository"]
    module.run(run)


if __name__ == "__main__":
    main()
