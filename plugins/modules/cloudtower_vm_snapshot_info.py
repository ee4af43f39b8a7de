#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_vm_snapshot_info
short_description: Read CloudTower VM snapshots by VM, name, name prefix, id or any filter
version_added: 0.1.0
description:
  - Returns the VM snapshots that match every given filter, all pages by default, each with its C(vm_disks)
    (the disks whose C(snapshot_local_id) leads to the iSCSI LUN snapshots; see
    M(smartx.cloudtower.cloudtower_lun_snapshot_info)).
  - VMs are given by name or id; a VM name shared by several VMs is an error listing their ids.
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
  vm:
    description: Name or id of the VM whose snapshots to return.
    type: str
  vms:
    description: Names or ids of several VMs whose snapshots to return, resolved in one query.
    type: list
    elements: str
  cluster:
    description: Name or id of a cluster; only its snapshots are returned, and O(vm) and O(vms) are looked up in it.
    type: str
  id:
    description: Id of one snapshot.
    type: str
  ids:
    description: Ids of several snapshots.
    type: list
    elements: str
  name:
    description: Exact name of the snapshots.
    type: str
  names:
    description: Exact names, any of which matches.
    type: list
    elements: str
  name_prefix:
    description: Return the snapshots whose names start with this, such as the ones a retention policy owns.
    type: str
notes:
  - Use O(order_by=local_created_at_DESC) for the newest first; C(local_created_at) ordering works on every
    CloudTower version, C(createdAt) does not.
seealso:
  - module: smartx.cloudtower.cloudtower_vm_snapshot
  - module: smartx.cloudtower.cloudtower_lun_snapshot_info
"""

EXAMPLES = r"""
- name: Snapshots of one VM, newest first
  smartx.cloudtower.cloudtower_vm_snapshot_info:
    vm: web-1
    order_by: local_created_at_DESC
  register: web_snapshots

- name: The nightly snapshots of two VMs, as name and date only
  smartx.cloudtower.cloudtower_vm_snapshot_info:
    vms: [db-1, db-2]
    name_prefix: nightly-
    query: "[].{name: name, vm: vm.name, taken: local_created_at}"
  register: nightly

- name: File-system-consistent snapshots of a cluster (raw where)
  smartx.cloudtower.cloudtower_vm_snapshot_info:
    cluster: prod
    where:
      consistent_type: FILE_SYSTEM_CONSISTENT
"""

RETURN = r"""
snapshots:
  description: The matching VM snapshots as CloudTower returns them.
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
        - {type: DISK, index: 0, bus: VIRTIO, boot: 0, size: 42949672960,
           snapshot_local_id: 5e1bb8b4-93b8-4a3f-bb12-3d0f5a3cd5d2, vm_volume_local_id: 8a3c1d2e-8f0b-4a4e-9c38-5f1b4c7e2d11}
        - {type: CD_ROM, index: 1, bus: IDE, boot: 1, size: 0, snapshot_local_id: null}
count:
  description: Number of snapshots in RV(snapshots).
  returned: always
  type: int
  sample: 1
query_result:
  description: The result of O(query) applied to RV(snapshots).
  returned: when O(query) is given
  type: raw
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import snapshots as api_snapshots
from ansible_collections.smartx.cloudtower.plugins.module_utils.info import InfoQuery, info_argument_spec
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import VM, resolve_cluster_scope
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import values_of, where_from_options

SNAPSHOT_FILTERS = {"name": "name", "names": "name_in", "name_prefix": "name_starts_with"}


def vm_clause(client, params, cluster_scope, cluster_text):
    values = values_of(params, "vm", "vms")
    if not values:
        return {}
    option = "vm" if params.get("vm") else "vms"
    vms = VM.resolve_many(client, option, values, cluster_scope, cluster_text)
    return {"vm": {"id_in": [vm["id"] for vm in vms]}}


def run(module):
    params = module.params
    info = InfoQuery(params, warn=module.warn)
    client = module.client
    cluster_scope, cluster_text = resolve_cluster_scope(client, "cluster", params.get("cluster"))
    ids = values_of(params, "id", "ids")
    snapshots = info.fetch(
        client,
        api_snapshots.READ,
        cluster_scope,
        vm_clause(client, params, cluster_scope, cluster_text),
        {"id_in": ids} if ids else {},
        where_from_options(params, SNAPSHOT_FILTERS),
    )
    module.exit_json(**info.result("snapshots", snapshots))


def main():
    spec = dict(
        vm=dict(type="str"),
        vms=dict(type="list", elements="str"),
        cluster=dict(type="str"),
        id=dict(type="str"),
        ids=dict(type="list", elements="str"),
        name=dict(type="str"),
        names=dict(type="list", elements="str"),
        name_prefix=dict(type="str"),
    )
    spec.update(info_argument_spec())
    module = CloudTowerModule(argument_spec=spec, supports_check_mode=True, mutually_exclusive=[("vm", "vms")],
                              non_blank=("vm", "vms", "cluster", "id", "ids", "name", "names", "name_prefix", "order_by", "fields"))
    module.run(run)


if __name__ == "__main__":
    main()
