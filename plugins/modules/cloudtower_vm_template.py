#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_vm_template
short_description: Make a CloudTower VM template from a VM (clone or convert), or delete one, idempotently
version_added: 0.1.0
description:
  - Makes a SmartX CloudTower VM template exist (O(state=present)) or not (O(state=absent)).
  - A template is identified by O(name) within O(cluster) when given. A name that matches several templates is an
    error listing their ids, never a guess. A template that exists is left as it is; its content is not compared
    with O(vm), as a template keeps a VM as it was when it was made.
  - A missing template is made from O(vm), by cloning it (O(mode=clone), C(clone-vm-template-from-vm), the VM stays) or
    by converting it (O(mode=convert), C(convert-vm-template-from-vm), the VM becomes the template and is gone).
  - Create VMs from a template with M(smartx.cloudtower.cloudtower_vm) and its O(smartx.cloudtower.cloudtower_vm#module:template)
    option, with cloud-init.
  - With O(content_library=true) (CloudTower API 4.6) the template is one of CloudTower's content library instead of a
    cluster's, made with C(clone-content-library-vm-template-from-vm) or C(convert-content-library-vm-template-from-vm)
    and deleted with C(delete-content-library-vm-template).
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
  - smartx.cloudtower.attributes.action_group
  - smartx.cloudtower.connection
  - smartx.cloudtower.wait
attributes:
  check_mode:
    support: full
    details: Reads the template and the VM and reports in RV(actions) what would be sent, without sending it.
  diff_mode:
    support: full
    details: Whether the template exists, before and after.
options:
  name:
    description: Name of the template, unique within its cluster in CloudTower.
    type: str
    required: true
  cluster:
    description:
      - Cluster (name or id) of the template, and of O(vm) when it is given by name.
      - With O(content_library=true) only the cluster of O(vm); a new content-library template is offered to the cluster
        of its VM.
    type: str
  content_library:
    description:
      - V(true) manages a template of CloudTower's content library (C(ContentLibraryVmTemplate), CloudTower API 4.6)
        instead of a cluster's. The option is named after CloudTower's own name for it, in its UI and its operations
        (C(*-content-library-vm-template*)).
      - Such a template is identified by O(name) in the whole content library, not within a cluster, and VMs are created
        from it in any cluster it is offered to (M(smartx.cloudtower.cloudtower_vm) with
        O(smartx.cloudtower.cloudtower_vm#module:template_content_library=true)).
      - Refused on a CloudTower older than 4.6, naming the option, before any change is sent.
    type: bool
    default: false
  vm:
    description:
      - The VM (name or id, within O(cluster) when given) to make the template from. Required when the template does
        not exist and O(state=present); not used otherwise.
    type: str
  mode:
    description:
      - V(clone) copies the VM into the template and keeps the VM.
      - V(convert) turns the VM into the template; CloudTower needs the VM stopped, and the VM no longer exists afterwards.
    type: str
    choices: [clone, convert]
    default: clone
  cloud_init_supported:
    description:
      - Whether the guest of the template has cloud-init installed, so that VMs created from it take O(smartx.cloudtower.cloudtower_vm#module:cloud_init).
    type: bool
    default: true
  description:
    description: Description of a new template.
    type: str
  state:
    description: V(present) makes the template exist, V(absent) deletes it (C(delete-vm-template)).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: smartx.cloudtower.cloudtower_vm_template_info
  - module: smartx.cloudtower.cloudtower_vm
"""

EXAMPLES = r"""
- name: A Rocky Linux template with cloud-init, cloned from a prepared VM
  smartx.cloudtower.cloudtower_vm_template:
    name: rocky-9-cloud
    cluster: prod-cluster
    vm: rocky-9-golden
    mode: clone
    cloud_init_supported: true

- name: Turn a stopped VM into a template
  smartx.cloudtower.cloudtower_vm_template:
    name: win-2022
    cluster: prod-cluster
    vm: win-2022-golden
    mode: convert
    cloud_init_supported: false

- name: A content-library template (CloudTower 4.6), offered to the cluster of its VM
  smartx.cloudtower.cloudtower_vm_template:
    name: rocky-9-library
    content_library: true
    cluster: prod-cluster
    vm: rocky-9-golden

- name: Delete a template
  smartx.cloudtower.cloudtower_vm_template:
    name: rocky-9-cloud-old
    cluster: prod-cluster
    state: absent
"""

RETURN = r"""
template:
  description:
    - The template as CloudTower shows it after the change (all fields of C(get-vm-templates), or of
      C(get-content-library-vm-templates) with O(content_library=true)); as read when nothing changed or in check mode;
      V(null) when there is none.
  returned: always
  type: dict
  sample:
    id: cmh0a1b2c000p0958q1w2e3r4
    name: rocky-9-cloud
    cloud_init_supported: true
    cluster: {id: cmg6xz1ab000s0958a8a2b3c4, name: prod-cluster}
    vcpu: 2
    memory: 4294967296
changes:
  description: C(exists) as C({before, after}) when the template is made or deleted; empty otherwise.
  returned: always
  type: dict
  sample: {exists: {before: false, after: true}}
actions:
  description: The planned steps (C(operation), C(summary), C(changes), C(task_ids)); also in check mode.
  returned: always
  type: list
  elements: dict
tasks:
  description: The CloudTower tasks the module started, with their final status.
  returned: always
  type: list
  elements: dict
diff:
  description: Whether the template exists, before and after, with C(--diff).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_template_reconciler import MODES, run


def main():
    module = CloudTowerModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            cluster=dict(type="str"),
            content_library=dict(type="bool", default=False),
            vm=dict(type="str"),
            mode=dict(type="str", choices=list(MODES), default="clone"),
            cloud_init_supported=dict(type="bool", default=True),
            description=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        waits=True,
        non_blank=("name", "cluster", "vm"),
        supports_check_mode=True,
    )
    module.subject = "VM template %s" % module.params["name"]
    module.run(run)


if __name__ == "__main__":
    main()
