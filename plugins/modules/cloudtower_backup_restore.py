#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_backup_restore
short_description: Restore a VM, or some of its disks, from a backup repository alone
version_added: 0.1.0
description:
  - Creates a VM from a backup in a backup repository written by M(smartx.cloudtower.cloudtower_backup_copy) (the
    C(vm_backup) role with C(vm_backup_repository)). Nothing of the source is needed - not the VM, not its snapshots,
    not its cluster - so it restores after the VM or the cluster is gone, into any cluster of any CloudTower.
  - The new VM gets the CPU topology, memory, firmware and HA setting the backup's snapshot froze; each restored disk on
    the bus, boot position and index it had; its CD-ROMs (with the image of the same name when the target cluster has
    one); and its NICs on the VLANs of the same name, or mapped with O(network_map). A NIC whose VLAN the target cluster
    lacks is created disconnected (disabled, on the cluster's C(default) VLAN) with a warning. MAC addresses are new.
  - "Each disk is written into a new volume, then read back and compared with the backup's digest before the VM is
    created. While a disk is written, every file of its backing chain is hashed and checked against the sha256 its backup
    recorded; a mismatch fails the restore before any VM uses the volume.
    V(upload) (CloudTower 4.6): the disk's file (an increment flattened through its chain into one standalone QCOW2) is
    sent in chunks with C(upload-elf-file) (a failed chunk is resumed from what CloudTower holds) and imported with
    C(import-vm-volume); the read-back exports the volume (C(export-vm-volume)) and downloads it. V(iscsi) (every
    version): C(create-vm-volume) makes an empty volume of the disk's size and qemu-img writes the disk into its LUN over
    libiscsi and reads it back. CloudTower before 4.6 has no upload; there the restore needs the iSCSI target holding the
    LUNs of new volumes to admit this host, and refuses, naming the version, before sending anything when it does not."
  - The VM is created stopped and started only with O(power_on), after every disk verified.
  - "Idempotent: the VM's description carries a marker naming the backup, so a second run finds the VM and creates
    nothing. A VM of the same name without the marker is refused. With O(target_vm), each disk becomes a volume named
    C(<vm name>-<backup>-disk<index>) added to that stopped VM as a new disk, and a disk of that name on the VM is taken
    as restored already."
  - A failure after something was created deletes the volumes and the VM this run created, and the error says so; what
    could not be deleted is named by id in the message and in C(error.left_behind). C(error.backup) names the backup.
  - "Needs C(qemu-img) (Debian C(qemu-utils), plus C(qemu-block-extra) for V(iscsi)) on the host the task runs on, and a
    scratch directory (O(work_dir)) with room for the disks' data (not their full size: scratch files are sparse)."
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
  - smartx.cloudtower.attributes.action_group
  - smartx.cloudtower.connection
attributes:
  check_mode:
    support: full
    details: Reads the backup and CloudTower, refuses what a real run would refuse, and lists in RV(actions) what it
      would send; sends no mutating request and writes nothing.
  diff_mode:
    support: none
options:
  manifest:
    description:
      - The C(manifest.json) of a repository backup, or the backup's directory.
      - Mutually exclusive with O(repository).
    type: path
  repository:
    description: The backup repository directory; with O(vm) and O(backup) instead of O(manifest).
    type: path
  vm:
    description: The backed-up VM, by name or id, in O(repository) (a name two VMs of the repository share is refused).
    type: str
  backup:
    description: The backup's name in O(repository), or V(latest) for the newest complete backup of O(vm).
    type: str
    default: latest
  name:
    description: Name of the new VM. Defaults to the backed-up VM's name followed by O(name_suffix).
    type: str
  name_suffix:
    description: Appended to the backed-up VM's name to name the new VM when O(name) is not given.
    type: str
    default: -restored
  cluster:
    description: Cluster (name or id) the VM is restored into. Defaults to the cluster of the backup, by name.
    type: str
  host:
    description: Host (name or id) of the target cluster the VM is placed and started on.
    type: str
  folder:
    description: VM folder (name or id) of the target cluster the new VM goes into.
    type: str
  network_map:
    description:
      - VLAN names of the backup mapped to VLAN names of the target cluster, for a cluster whose networks are named
        otherwise. Unmapped names are looked up as they are. A mapped name the target cluster lacks is refused.
    type: dict
    default: {}
  isolated_vlan:
    description:
      - Put every NIC on this VLAN (name) of the target cluster instead of mapping the backed-up VLANs, e.g. an isolated
        network for a test restore. Not with O(target_vm).
    type: str
  disconnect_nics:
    description: Create every NIC disconnected (disabled), e.g. for a test restore that must not reach the network.
    type: bool
    default: false
  disks:
    description:
      - Indexes of the backed-up disks to restore; all disks when empty. With O(target_vm) name the disks to add.
    type: list
    elements: int
    default: []
  target_vm:
    description:
      - Restore O(disks) into new volumes added to this existing, stopped VM (name or id) instead of creating a VM.
    type: str
  power_on:
    description: Start the restored VM (after every disk verified). Ignored with O(target_vm).
    type: bool
    default: false
  transport:
    description:
      - How disks are written. V(auto) is V(upload) on CloudTower 4.6 and later, V(iscsi) before.
    type: str
    choices: [auto, upload, iscsi]
    default: auto
  verify:
    description:
      - V(readback) reads every restored volume back through CloudTower (an export on V(upload), the LUN on V(iscsi))
        and compares it with the backup's digest. V(source) only checks that every file of the chain is the file its
        backup recorded (sha256); the write itself is then trusted (faster).
    type: str
    choices: [readback, source]
    default: readback
  storage_policy:
    description: Storage policy of the new volumes.
    type: str
    choices: [REPLICA_2_THIN_PROVISION, REPLICA_3_THIN_PROVISION, REPLICA_2_THICK_PROVISION, REPLICA_3_THICK_PROVISION]
    default: REPLICA_2_THIN_PROVISION
  iscsi_portal:
    description: The iSCSI portal (C(host) or C(host:port)) for V(iscsi). Defaults to the cluster's iSCSI VIP.
    type: str
  host_label:
    description: This host's name in the initiator name used for V(iscsi). Defaults to the host name.
    type: str
  work_dir:
    description: Directory for the scratch files (removed afterwards). Defaults to the backup's directory.
    type: path
  wait_timeout:
    description: Seconds to wait for each of CloudTower's tasks (import, create, export, start). Must be positive.
    type: int
    default: 1800
notes:
  - The chunk protocol of C(upload-elf-file) follows the 4.6 API reference; the first call carries no bytes and learns
    the chunk size from the upload task.
"""

EXAMPLES = r"""
- name: Bring db-01 back from its latest backup, into the other cluster, and start it
  smartx.cloudtower.cloudtower_backup_restore:
    repository: /srv/backup-repository
    vm: db-01
    backup: latest
    cluster: cluster-b
    network_map:
      vm-network: prod-vlan-100
    power_on: true
  register: restored

- name: Add disk 1 of a given backup to the stopped VM app-01 as a new disk
  smartx.cloudtower.cloudtower_backup_restore:
    manifest: /srv/backup-repository/cluster-a/app-01-clvnj/backup-20250101/manifest.json
    target_vm: app-01
    disks: [1]
"""

RETURN = r"""
vm:
  description: The restored VM (or O(target_vm)) as CloudTower shows it afterwards; null in check mode before it exists.
  returned: always
  type: dict
vm_name:
  description: Name of the restored VM.
  returned: always
  type: str
cluster:
  description: C({id, name}) of the cluster restored into.
  returned: always
  type: dict
backup:
  description: C({name, path, vm}) of the backup restored from.
  returned: always
  type: dict
transport:
  description: V(upload) or V(iscsi).
  returned: always
  type: str
disks:
  description: One entry per disk written by this run.
  returned: always
  type: list
  elements: dict
  contains:
    index:
      description: The disk's index in the backup.
      type: int
    volume_id:
      description: The new volume.
      type: str
    volume_name:
      description: Its name.
      type: str
    size:
      description: Its size in bytes.
      type: int
    bytes_sent:
      description: Bytes of the QCOW2 uploaded (V(upload)); null for V(iscsi).
      type: int
    chain:
      description: Number of files the disk was read through (1 for a full backup).
      type: int
    digest:
      description: Digest of the volume's content as read back (O(verify=readback)), equal to the backup's.
      type: str
    verified:
      description: V(readback) or V(source).
      type: str
    write_seconds:
      description: Seconds to prepare and write the disk.
      type: float
    seconds:
      description: Seconds for the disk, read-back included.
      type: float
actions:
  description: What was (in check mode, would be) sent, in words. Empty when nothing changed.
  returned: always
  type: list
  elements: str
warnings_list:
  description: NICs restored disconnected, CD-ROMs restored empty.
  returned: always
  type: list
  elements: str
api_version:
  description: CloudTower's version as read from C(get-deploys).
  returned: always
  type: str
check_mode:
  description: Whether the run was in check mode (nothing was sent; RV(actions) is the plan).
  returned: always
  type: bool
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule
from ansible_collections.smartx.cloudtower.plugins.module_utils.restore import run as restore


def check_options(params):
    """Refusals that need no request."""
    if params["wait_timeout"] < 1:
        raise InputError("wait_timeout", params["wait_timeout"], "must be a positive number of seconds")
    if params.get("target_vm") and not params.get("disks"):
        raise InputError("disks", params.get("disks"), "name the disk indexes to add to target_vm")
    if params.get("target_vm") and (params.get("name") or params.get("folder") or params.get("network_map") or params.get("isolated_vlan")):
        raise InputError("target_vm", params["target_vm"], "adds disks to an existing VM: name, folder, network_map and isolated_vlan do not apply")
    bad = [i for i in params.get("disks") or [] if i < 0]
    if bad:
        raise InputError("disks", bad, "disk indexes are 0 or more")
    for key, value in (params.get("network_map") or {}).items():
        if not isinstance(value, str) or not value.strip():
            raise InputError("network_map", {key: value}, "maps a VLAN name of the backup to a VLAN name of the target cluster")


def run(module):
    check_options(module.params)
    restore(module)


def main():
    module = CloudTowerModule(
        argument_spec=dict(
            manifest=dict(type="path"),
            repository=dict(type="path"),
            vm=dict(type="str"),
            backup=dict(type="str", default="latest"),
            name=dict(type="str"),
            name_suffix=dict(type="str", default="-restored"),
            cluster=dict(type="str"),
            host=dict(type="str"),
            folder=dict(type="str"),
            network_map=dict(type="dict", default={}),
            isolated_vlan=dict(type="str"),
            disconnect_nics=dict(type="bool", default=False),
            disks=dict(type="list", elements="int", default=[]),
            target_vm=dict(type="str"),
            power_on=dict(type="bool", default=False),
            transport=dict(type="str", choices=["auto", "upload", "iscsi"], default="auto"),
            verify=dict(type="str", choices=["readback", "source"], default="readback"),
            storage_policy=dict(type="str", default="REPLICA_2_THIN_PROVISION",
                                choices=["REPLICA_2_THIN_PROVISION", "REPLICA_3_THIN_PROVISION", "REPLICA_2_THICK_PROVISION",
                                         "REPLICA_3_THICK_PROVISION"]),
            iscsi_portal=dict(type="str"),
            host_label=dict(type="str"),
            work_dir=dict(type="path"),
            wait_timeout=dict(type="int", default=1800),
        ),
        required_one_of=[("manifest", "repository")],
        mutually_exclusive=[("manifest", "repository"), ("manifest", "vm")],
        supports_check_mode=True,
        non_blank=("manifest", "repository", "vm", "backup", "name", "cluster", "host", "folder", "target_vm", "iscsi_portal",
                   "isolated_vlan"),
    )
    module.subject = "Restore of backup %s" % (module.params.get("manifest") or "%s/%s" % (module.params.get("vm"), module.params["backup"]))
    module.run(run)


if __name__ == "__main__":
    main()
