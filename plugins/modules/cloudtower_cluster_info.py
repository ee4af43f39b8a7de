#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_cluster_info
short_description: List CloudTower clusters by id, name or any filter
version_added: 0.1.0
description:
  - Returns the SmartX CloudTower clusters that match every filter given (AND), reading all pages unless O(limit) is set.
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
seealso:
  - module: smartx.cloudtower.cloudtower_host_info
  - module: smartx.cloudtower.cloudtower_vlan_info
"""

EXAMPLES = r"""
- name: The cluster a playbook deploys to, with its id and version
  smartx.cloudtower.cloudtower_cluster_info:
    name: prod-cluster
    fields: [name, version, type]
  register: cluster

- name: Names of every cluster
  smartx.cloudtower.cloudtower_cluster_info:
    query: "[].name"
  register: cluster_names
"""

RETURN = r"""
clusters:
  description: The matching clusters as CloudTower returns them (all fields of C(get-clusters), or O(fields)).
  returned: always
  type: list
  elements: dict
  sample:
    - id: cmg6xz1ab000s0958a8a2b3c4
      name: prod-cluster
      type: SMTX_OS
      version: 5.1.2
count:
  description: Number of clusters in RV(clusters).
  returned: always
  type: int
  sample: 1
query_result:
  description: The result of O(query) applied to RV(clusters).
  returned: when O(query) is given
  type: raw
  sample: [prod-cluster]
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import clusters as api_clusters
from ansible_collections.smartx.cloudtower.plugins.module_utils.info import NAME_FILTERS, info_argument_spec, list_records, name_filter_spec
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule


def main():
    spec = name_filter_spec()
    spec.update(info_argument_spec())
    module = CloudTowerModule(argument_spec=spec, supports_check_mode=True,
                              non_blank=("id", "ids", "name", "names", "name_contains", "order_by", "fields"))
    module.run(lambda m: list_records(m, "clusters", api_clusters.READ, NAME_FILTERS))


if __name__ == "__main__":
    main()
