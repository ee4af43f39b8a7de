#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_vm_template_info
short_description: List CloudTower VM templates by id, name, cluster or any filter
version_added: 0.1.0
description:
  - Returns the SmartX CloudTower VM templates that match every filter given (AND), reading all pages unless O(limit)
    is set.
  - O(cluster) takes a name or an id; an unknown or ambiguous one is an error, not an empty result.
  - With O(content_library=true) it lists the templates of CloudTower's content library (CloudTower API 4.6) instead.
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
    description: Only templates of this cluster (name or id); with O(content_library=true), those offered to it.
    type: str
  content_library:
    description:
      - V(true) lists the templates of CloudTower's content library (C(get-content-library-vm-templates)) instead of
        the clusters' templates, as O(smartx.cloudtower.cloudtower_vm_template#module:content_library) manages them.
      - Refused on a CloudTower older than 4.6, naming the option.
    type: bool
    default: false
seealso:
  - module: smartx.cloudtower.cloudtower_vm_template
  - module: smartx.cloudtower.cloudtower_vm
"""

EXAMPLES = r"""
- name: Templates of a cluster that take cloud-init
  smartx.cloudtower.cloudtower_vm_template_info:
    cluster: prod-cluster
    where:
      cloud_init_supported: true
    fields: [name, vcpu, memory]
  register: templates

- name: The content-library templates offered to a cluster (CloudTower 4.6)
  smartx.cloudtower.cloudtower_vm_template_info:
    content_library: true
    cluster: prod-cluster
  register: library_templates
"""

RETURN = r"""
templates:
  description:
    - The matching templates as CloudTower returns them (all fields of C(get-vm-templates), or of
      C(get-content-library-vm-templates) with O(content_library=true); or O(fields)).
  returned: always
  type: list
  elements: dict
  sample:
    - id: cmh0a1b2c000p0958q1w2e3r4
      name: rocky-9-cloud
      cloud_init_supported: true
      cluster: {id: cmg6xz1ab000s0958a8a2b3c4, name: prod-cluster}
count:
  description: Number of templates in RV(templates).
  returned: always
  type: int
  sample: 1
query_result:
  description: The result of O(query) applied to RV(templates).
  returned: when O(query) is given
  type: raw
  sample: [rocky-9-cloud]
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import content_library_vm_templates as api_library_templates
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vm_templates as api_vm_templates
from ansible_collections.smartx.cloudtower.plugins.module_utils.content_library import refuse_before_4_6
from ansible_collections.smartx.cloudtower.plugins.module_utils.info import NAME_FILTERS, info_argument_spec, list_records, name_filter_spec
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import optional_cluster, related_to
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule


def list_templates(module):
    if module.params["content_library"]:
        refuse_before_4_6(module.client, "content_library", True)
    cluster = optional_cluster(module.client, "cluster", module.params.get("cluster"))
    if module.params["content_library"]:
        list_records(module, "templates", api_library_templates.READ, NAME_FILTERS, api_library_templates.offered_to(cluster))
    else:
        list_records(module, "templates", api_vm_templates.READ, NAME_FILTERS, related_to("cluster", cluster))


def main():
    spec = name_filter_spec()
    spec.update(cluster=dict(type="str"), content_library=dict(type="bool", default=False))
    spec.update(info_argument_spec())
    module = CloudTowerModule(argument_spec=spec, supports_check_mode=True,
                              non_blank=("id", "ids", "name", "names", "name_contains", "cluster", "order_by", "fields"))
    module.run(list_templates)


if __name__ == "__main__":
    main()
