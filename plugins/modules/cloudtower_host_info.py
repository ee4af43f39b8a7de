#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_host_info
short_description: List CloudTower hosts by id, name, cluster or any filter
version_added: 0.1.0
description:
  - Returns the SmartX CloudTower hosts (cluster nodes) that match every filter given (AND), reading all pages
    unless O(limit) is set.
  - O(cluster) takes a name or an id; an unknown or ambiguous one is an error, not an empty result.
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
    description: Only hosts of this cluster (name or id).
    type: str
seealso:
  - module: smartx.cloudtower.cloudtower_cluster_info
  - module: smartx.cloudtower.cloudtower_vm
"""

EXAMPLES = r"""
- name: Hosts of a cluster, to spread VMs over them
  smartx.cloudtower.cloudtower_host_info:
    cluster: prod-cluster
    fields: [name, status, management_ip]
  register: hosts

- name: Hosts whose connection is healthy
  smartx.cloudtower.cloudtower_host_info:
    cluster: prod-cluster
    where:
      status: CONNECTED_HEALTHY
"""

RETURN = r"""
hosts:
  description: The matching hosts as CloudTower returns them (all fields of C(get-hosts), or O(fields)).
  returned: always
  type: list
  elements: dict
  sample:
    - id: cmg6xz9qd001a0958b1c2d3e4
      name: node-1
      status: CONNECTED_HEALTHY
      cluster: {id: cmg6xz1ab000s0958a8a2b3c4, name: prod-cluster}
count:
  description: Number of hosts in RV(hosts).
  returned: always
  type: int
  sample: 3
query_result:
  description: The result of O(query) applied to RV(hosts).
  returned: when O(query) is given
  type: raw
  sample: [node-1, node-2, node-3]
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import hosts as api_hosts
from ansible_collections.smartx.cloudtower.plugins.module_utils.info import NAME_FILTERS, info_argument_spec, list_records, name_filter_spec
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import optional_cluster
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule


def list_hosts(module):
    cluster = optional_cluster(module.client, "cluster", module.params.get("cluster"))
    list_records(module, "hosts", api_hosts.READ, NAME_FILTERS, api_hosts.in_cluster(cluster))


def main():
    spec = name_filter_spec()
    spec.update(cluster=dict(type="str"))
    spec.update(info_argument_spec())
    module = CloudTowerModule(argument_spec=spec, supports_check_mode=True,
                              non_blank=("id", "ids", "name", "names", "name_contains", "cluster", "order_by", "fields"))
    module.run(list_hosts)


if __name__ == "__main__":
    main()
