#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_lun_snapshot_info
short_description: The iSCSI LUN snapshots behind CloudTower VM snapshots, joined to their disks
version_added: 0.1.0
description:
  - Follows CloudTower's backup chain from VM snapshots to the storage a data mover reads. In each VM snapshot's
    C(vm_disks), the entries of type C(DISK) are the data disks (C(CD_ROM) entries are skipped); each DISK's
    C(snapshot_local_id) names its iSCSI LUN snapshot, whose C(local_id) is the ZBS identifier.
  - Returns one record per DISK, the LUN snapshot joined to the disk it belongs to, the VM snapshot and the VM.
  - LUN snapshots are matched by name B(or) by C(local_id), so the lookup works with both readings of
    C(snapshot_local_id) found in client code.
  - Reads many VM snapshots in one call, in batched queries (one query for the VM snapshots and one for all
    their LUN snapshots, per 500 of each).
  - Fails naming each DISK that has no LUN snapshot, unless O(fail_on_missing=false).
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
  - smartx.cloudtower.attributes.action_group
  - smartx.cloudtower.connection
attributes:
  check_mode:
    support: full
    details: Only reads, so it runs the same in check mode.
  diff_mode:
    support: none
options:
  vm_snapshot_ids:
    description:
      - Ids of the VM snapshots, for example the C(id) of each entry of RV(smartx.cloudtower.cloudtower_vm_snapshot#module:snapshots).
      - Every id must exist.
    type: list
    elements: str
  vm:
    description:
      - Name or id of a VM. Without O(vm_snapshot_name), every snapshot of the VM is used.
    type: str
  vm_snapshot_name:
    description: Name of the snapshot of O(vm) to use. Requires O(vm).
    type: str
  cluster:
    description: Name or id of the cluster O(vm) is looked up in, when its name is not unique.
    type: str
  names:
    description:
      - Names or C(local_id)s of LUN snapshots to return directly, without a VM snapshot. Their records have
        C(disk), C(vm_snapshot) and C(vm) set to null.
    type: list
    elements: str
  fail_on_missing:
    description:
      - Fail when a DISK (or one of O(names)) has no LUN snapshot. With V(false), those are listed in RV(missing)
        and the module succeeds.
    type: bool
    default: true
  query:
    description:
      - A JMESPath expression applied to RV(lun_snapshots); its value is returned in RV(query_result).
      - The expression is checked before any request is sent.
    type: str
seealso:
  - module: smartx.cloudtower.cloudtower_vm_snapshot
  - module: smartx.cloudtower.cloudtower_vm_snapshot_info
"""

EXAMPLES = r"""
- name: Snapshot a batch of VMs
  smartx.cloudtower.cloudtower_vm_snapshot:
    vms: "{{ backup_vms }}"
    name: "backup-{vm_name}-{{ backup_stamp }}"
  register: taken

- name: What the data mover reads, for every disk of every new snapshot
  smartx.cloudtower.cloudtower_lun_snapshot_info:
    vm_snapshot_ids: "{{ taken.snapshots | map(attribute='id') }}"
    query: "[].{vm: vm.name, disk_index: disk.index, bus: disk.bus, size: disk.size, zbs_id: local_id}"
  register: luns

- name: The LUN snapshots of one named snapshot
  smartx.cloudtower.cloudtower_lun_snapshot_info:
    vm: web-1
    vm_snapshot_name: before-upgrade

- name: LUN snapshots by name, reporting the unknown ones instead of failing
  smartx.cloudtower.cloudtower_lun_snapshot_info:
    names:
      - 5e1bb8b4-93b8-4a3f-bb12-3d0f5a3cd5d2
    fail_on_missing: false
"""

RETURN = r"""
lun_snapshots:
  description:
    - One record per DISK of each VM snapshot (in the order of the VM snapshots, then of the disk index), or per
      entry of O(names).
    - Each record holds the LUN snapshot's own fields as CloudTower returns them (C(id), C(name), C(local_id) - the ZBS
      identifier -, C(local_created_at), C(unique_size), C(iscsi_lun), C(iscsi_target), ...), plus C(disk), C(vm_snapshot),
      C(vm) and C(matched_by).
  returned: always
  type: list
  elements: dict
  contains:
    local_id:
      description: The LUN snapshot's identifier in ZBS, which a data mover reads.
      type: str
    disk:
      description:
        - The VM snapshot's disk entry the LUN snapshot belongs to, as CloudTower returns it (C(index), C(bus),
          C(boot), C(size), C(path), C(snapshot_local_id), C(vm_volume_local_id), ...). Null for O(names).
      type: dict
    vm_snapshot:
      description: The VM snapshot, C({id, name}). Null for O(names).
      type: dict
    vm:
      description: The VM of the snapshot, C({id, name}); null for O(names) and for a snapshot of a deleted VM.
      type: dict
    matched_by:
      description: V(name) when the LUN snapshot's name is the disk's C(snapshot_local_id), V(local_id) when its C(local_id) is.
      type: str
  sample:
    - id: cmg6y13x2055q0958b7s0t0ax
      name: 5e1bb8b4-93b8-4a3f-bb12-3d0f5a3cd5d2
      local_id: 7c0c1a4e-3b7d-4e43-8a2f-0b6c8f0e9a11
      local_created_at: "2025-01-01T01:00:02.000Z"
      unique_size: 0
      iscsi_lun: {id: cmg6y0x9k04zd09581d0a4h2k, name: web-1-disk-0}
      iscsi_target: {id: cmg6xz2f3000c0958h9w3kq2n, name: zbs-iscsi-datastore}
      disk: {index: 0, bus: VIRTIO, boot: 0, size: 42949672960, type: DISK,
             snapshot_local_id: 5e1bb8b4-93b8-4a3f-bb12-3d0f5a3cd5d2, vm_volume_local_id: 8a3c1d2e-8f0b-4a4e-9c38-5f1b4c7e2d11}
      vm_snapshot: {id: cmg6y13w6055h0958o1afczt5, name: backup-web-1-20250101}
      vm: {id: cmg6y0x8p04za0958z5g2b6xn, name: web-1}
      matched_by: name
count:
  description: Number of records in RV(lun_snapshots).
  returned: always
  type: int
  sample: 2
missing:
  description:
    - The DISKs (or O(names) entries) no LUN snapshot matches, each with C(vm_snapshot), C(vm), C(disk), C(key) (the
      value looked up) and C(reason). The module fails when this is not empty, unless O(fail_on_missing=false).
  returned: always
  type: list
  elements: dict
query_result:
  description: The result of O(query) applied to RV(lun_snapshots).
  returned: when O(query) is given
  type: raw
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.api.snapshots import by_ids, find_lun_snapshots, find_snapshots
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError, InputError, NotFoundError
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import VM, resolve_cluster_scope
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule, name_list
from ansible_collections.smartx.cloudtower.plugins.module_utils.projection import apply_query, compile_query
from ansible_collections.smartx.cloudtower.plugins.module_utils.snapshots import (
    describe_missing,
    join_disks_to_lun_snapshots,
    join_keys_to_lun_snapshots,
    lun_snapshot_keys,
)


def vm_snapshots_by_id(client, ids):
    found = by_ids(client, ids)
    unknown = sorted(set(ids) - {s["id"] for s in found})
    if unknown:
        raise NotFoundError("vm_snapshot_ids", unknown[0] if len(unknown) == 1 else unknown, "VM snapshot")
    return found


def vm_snapshots_of_vm(client, params):
    scope, text = resolve_cluster_scope(client, "cluster", params.get("cluster"))
    vm = VM.resolve(client, "vm", params["vm"], scope, text)
    name = params.get("vm_snapshot_name")
    found = find_snapshots(client, vm_ids=[vm["id"]], names=[name] if name else None)
    if name and not found:
        raise NotFoundError("vm_snapshot_name", name, "VM snapshot", "the snapshots of VM %s (id %s)" % (vm.get("name"), vm["id"]))
    return found


def joined_records(client, params):
    """(records, missing) for the source the options name."""
    if params.get("names") is not None:
        keys = list(dict.fromkeys(params["names"]))
        return join_keys_to_lun_snapshots(keys, find_lun_snapshots(client, keys))
    if params.get("vm_snapshot_ids") is not None:
        vm_snapshots = vm_snapshots_by_id(client, params["vm_snapshot_ids"])
    else:
        vm_snapshots = vm_snapshots_of_vm(client, params)
    keys = lun_snapshot_keys(vm_snapshots)
    return join_disks_to_lun_snapshots(vm_snapshots, find_lun_snapshots(client, keys) if keys else [])


def run(module):
    params = module.params
    compiled = compile_query("query", params.get("query"))
    if params.get("vm_snapshot_name") and not params.get("vm"):
        raise InputError("vm_snapshot_name", params["vm_snapshot_name"], "needs vm, the VM whose snapshot it is")
    records, missing = joined_records(module.client, params)
    result = dict(changed=False, lun_snapshots=records, count=len(records), missing=missing)
    if compiled is not None:
        result["query_result"] = apply_query(compiled, records)
    if missing and params["fail_on_missing"]:
        error = CloudTowerError("%d disk(s) have no iSCSI LUN snapshot: %s" % (len(missing), describe_missing(missing)))
        module.fail_from_error(error, **result)
    module.exit_json(**result)


def main():
    spec = dict(
        vm_snapshot_ids=dict(type="list", elements="str"),
        vm=dict(type="str"),
        vm_snapshot_name=dict(type="str"),
        cluster=dict(type="str"),
        names=dict(type="list", elements="str"),
        fail_on_missing=dict(type="bool", default=True),
        query=dict(type="str"),
    )
    module = CloudTowerModule(
        argument_spec=spec,
        supports_check_mode=True,
        non_blank=("vm_snapshot_ids", "vm", "vm_snapshot_name", "cluster", "names"),
        required_one_of=[("vm_snapshot_ids", "vm", "names")],
        mutually_exclusive=[("vm_snapshot_ids", "vm", "names")],
    )
    module.subject = subject_of(module.params)
    module.run(run)


def subject_of(params):
    """'LUN snapshots of VM db-01', for failure messages."""
    if params.get("vm"):
        return "LUN snapshots of VM %s" % params["vm"]
    if params.get("vm_snapshot_ids"):
        return "LUN snapshots of VM snapshots %s" % name_list(params["vm_snapshot_ids"])
    return "LUN snapshots named %s" % name_list(params.get("names") or [])


if __name__ == "__main__":
    main()
