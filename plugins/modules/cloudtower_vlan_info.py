#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_vlan_info
short_description: List CloudTower VLANs (VM networks) by id, name, cluster, VLAN number or any filter
version_added: 0.1.0
description:
  - Returns the SmartX CloudTower VLANs that match every filter given (AND), reading all pages unless O(limit) is set.
  - VLAN names such as V(default) repeat in every cluster; O(cluster) (a name or an id) keeps those of one cluster,
    which is where M(smartx.cloudtower.cloudtower_vm) looks up the VLAN of a NIC.
  - Same O(where), O(order_by), O(limit), O(fields) and O(query) conventions as M(smartx.cloudtower.cloudtower_vm_info).
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
  - smartx.cloudtower.attributes.action_group
  - smartx.cloudtower.connection
  - smartx.cloudtower.info
  - smartx.cloudtower.name_filters
attributes:
  check_mode:
    support: full
    details: Only reads, so it runs the same in check mode.
  diff_mode:
    support: none
options:
  cluster:
    description: Only VLANs of this cluster (name or id), through the cluster's distributed switches.
    type: str
  vlan_id:
    description: Only VLANs with this 802.1Q VLAN number (0 for untagged).
    type: int
  type:
    description: Only VLANs of this network type, such as V(VM), V(MANAGEMENT) or V(STORAGE).
    type: str
seealso:
  - module: smartx.cloudtower.cloudtower_vm
  - module: smartx.cloudtower.cloudtower_cluster_info
"""

EXAMPLES = r"""
- name: VM networks of a cluster
  smartx.cloudtower.cloudtower_vlan_info:
    cluster: prod-cluster
    type: VM
    fields: [name, vlan_id]
  register: vm_networks

- name: The VM network carrying VLAN 101
  smartx.cloudtower.cloudtower_vlan_info:
    cluster: prod-cluster
    vlan_id: 101
"""

RETURN = r"""
vlans:
  description: The matching VLANs as CloudTower returns them (all fields of C(get-vlans), or O(fields)).
  returned: always
  type: list
  elements: dict
  sample:
    - id: cmg6y0a1b002k0958c3d4e5f6
      name: vm-network-101
      vlan_id: 101
      type: VM
      vds: {id: cmg6y0a0z002j0958a1b2c3d4, name: vds-prod}
count:
  description: Number of VLANs in RV(vlans).
  returned: always
  type: int
  sample: 1
query_result:
  description: The result of O(query) applied to RV(vlans).
  returned: when O(query) is given
  type: raw
  sample: [vm-network-101]
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vlans as api_vlans
from ansible_collections.smartx.cloudtower.plugins.module_utils.info import NAME_FILTERS, info_argument_spec, list_records, name_filter_spec
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import optional_cluster
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule

FILTERS = dict(NAME_FILTERS, vlan_id="vlan_id", type="type")


def list_vlans(module):
    cluster = optional_cluster(module.client, "cluster", module.params.get("cluster"))
    list_records(module, "vlans", api_vlans.READ, FILTERS, api_vlans.in_cluster(cluster))


def main():
    spec = name_filter_spec()
    spec.update(cluster=dict(type="str"), vlan_id=dict(type="int"), type=dict(type="str"))
    spec.update(info_argument_spec())
    module = CloudTowerModule(argument_spec=spec, supports_check_mode=True,
                              non_blank=("id", "ids", "name", "names", "name_contains", "cluster", "type", "order_by", "fields"))
    module.run(list_vlans)


if __name__ == "__main__":
    main()
