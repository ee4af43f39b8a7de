#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_vm_info
short_description: List CloudTower VMs by id, name, cluster, host, status or any filter
version_added: 0.1.0
description:
  - Returns the SmartX CloudTower VMs that match every filter given (AND), reading all pages unless O(limit) is set.
  - O(cluster) and O(host) take a name or an id; an unknown or ambiguous one is an error, not an empty result.
  - "O(query) projects or filters the result with JMESPath, for example V([].{name: name, ip: ips})."
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
  id:
    description: Id of one VM.
    type: str
  ids:
    description: Ids of several VMs.
    type: list
    elements: str
  name:
    description: Exact name of the VMs. VM names are not unique, so this can match several VMs.
    type: str
  names:
    description: Exact names; VMs with any of them match.
    type: list
    elements: str
  name_contains:
    description: Part of the VM name.
    type: str
  name_starts_with:
    description: Beginning of the VM name.
    type: str
  cluster:
    description: Only VMs of this cluster (name or id).
    type: str
  host:
    description: Only VMs on this host (name or id, within O(cluster) when given).
    type: str
  status:
    description: Only VMs in one of these power statuses.
    type: list
    elements: str
    choices: [RUNNING, STOPPED, SUSPENDED, UNKNOWN, DELETED]
seealso:
  - module: smartx.cloudtower.cloudtower_vm
"""

EXAMPLES = r"""
- name: All running VMs of a cluster whose name starts with web
  smartx.cloudtower.cloudtower_vm_info:
    cluster: prod-cluster
    name_starts_with: web
    status: RUNNING
  register: web

- name: Names and addresses only
  smartx.cloudtower.cloudtower_vm_info:
    cluster: prod-cluster
    query: "[].{name: name, ip: ips, status: status}"
  register: inventory

- name: The ten most recently created VMs that have HA turned off
  smartx.cloudtower.cloudtower_vm_info:
    where:
      ha: false
    order_by: local_created_at_DESC
    limit: 10

- name: VMs in the recycle bin
  smartx.cloudtower.cloudtower_vm_info:
    where:
      in_recycle_bin: true
"""

RETURN = r"""
vms:
  description: The matching VMs as CloudTower returns them (all fields of C(get-vms)).
  returned: always
  type: list
  elements: dict
  sample:
    - id: cmg6y13w6055h0958o1afczt5
      name: web-1
      status: RUNNING
      vcpu: 4
      cpu: {sockets: 4, cores: 1}
      memory: 8589934592
      ips: 192.168.10.21
      cluster: {id: cmg6xz1ab000s0958a8a2b3c4, name: prod-cluster}
      host: {id: cmg6xz9qd001a0958b1c2d3e4, name: node-1}
count:
  description: Number of VMs in RV(vms).
  returned: always
  type: int
  sample: 1
query_result:
  description: The result of O(query) applied to RV(vms).
  returned: when O(query) is given
  type: raw
  sample:
    - {name: web-1, ip: 192.168.10.21}
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms as api_vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.info import InfoQuery, info_argument_spec
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import HOST, related_to, resolve_cluster_scope
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import where_and, where_from_options

FILTERS = {
    "id": "id",
    "ids": "id_in",
    "name": "name",
    "names": "name_in",
    "name_contains": "name_contains",
    "name_starts_with": "name_starts_with",
    "status": "status_in",
}


def placement_clauses(client, params):
    """Where clauses for the cluster and host options, resolving their names first."""
    in_cluster, text = resolve_cluster_scope(client, "cluster", params.get("cluster"))
    if not params.get("host"):
        return in_cluster
    host = HOST.resolve(client, "host", params["host"], in_cluster, text)
    return where_and(in_cluster, related_to("host", host))


def list_vms(module):
    params = module.params
    info = InfoQuery(params, warn=module.warn)
    vms = info.fetch(module.client, api_vms.READ, where_from_options(params, FILTERS), placement_clauses(module.client, params))
    module.exit_json(**info.result("vms", vms))


def main():
    spec = dict(
        id=dict(type="str"),
        ids=dict(type="list", elements="str"),
        name=dict(type="str"),
        names=dict(type="list", elements="str"),
        name_contains=dict(type="str"),
        name_starts_with=dict(type="str"),
        cluster=dict(type="str"),
        host=dict(type="str"),
        status=dict(type="list", elements="str", choices=["RUNNING", "STOPPED", "SUSPENDED", "UNKNOWN", "DELETED"]),
    )
    spec.update(info_argument_spec())
    module = CloudTowerModule(argument_spec=spec, supports_check_mode=True,
                              non_blank=("id", "ids", "name", "names", "name_contains", "name_starts_with", "cluster", "host", "order_by", "fields"))
    module.run(list_vms)


if __name__ == "__main__":
    main()
