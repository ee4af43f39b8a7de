#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_auth
short_description: Log in to CloudTower once and reuse the token in later tasks
version_added: 0.1.0
description:
  - Logs in to SmartX CloudTower and returns a token that later tasks pass as O(cloudtower_token), so that a
    whole play logs in once instead of once per task and host.
  - When O(cloudtower_token) is given instead of credentials, checks that CloudTower accepts it.
  - The task's displayed result is hidden (as with C(no_log)) because it carries a secret; the registered
    variable still holds the token.
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
  - smartx.cloudtower.attributes.action
  - smartx.cloudtower.attributes.action_group
  - smartx.cloudtower.connection
attributes:
  check_mode:
    support: full
    details: Logging in changes nothing in CloudTower, so it also happens in check mode.
  diff_mode:
    support: none
  action:
    support: full
    details: An action plugin runs the module and hides the token from the displayed result.
notes:
  - A token does not expire by design, but CloudTower session settings can end it. Modules that get a token
    refused log in again once when they also have a username and password.
seealso:
  - module: smartx.cloudtower.cloudtower_task_info
"""

EXAMPLES = r"""
- name: Log in once for the play
  smartx.cloudtower.cloudtower_auth:
    cloudtower_host: https://cloudtower.example.com
    cloudtower_username: admin
    cloudtower_password: "{{ vault_cloudtower_password }}"
    ca_path: /etc/pki/cloudtower-ca.pem
  register: cloudtower_login

- name: Every later task reuses the token
  module_defaults:
    group/smartx.cloudtower.cloudtower:
      cloudtower_host: https://cloudtower.example.com
      cloudtower_token: "{{ cloudtower_login.token }}"
      ca_path: /etc/pki/cloudtower-ca.pem
  block:
    - name: List running VMs
      smartx.cloudtower.cloudtower_vm_info:
        status: RUNNING
"""

RETURN = r"""
token:
  description:
    - The CloudTower token, to pass as O(cloudtower_token) to later tasks.
    - It is a secret. It is hidden from the task's displayed output; never print it yourself.
  returned: success
  type: str
  sample: "<secret>"
cloudtower_host:
  description: The CloudTower URL the token belongs to, normalised (no trailing C(/v2/api)).
  returned: success
  type: str
  sample: https://cloudtower.example.com
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import clusters
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule


def log_in(module):
    client = module.client
    if client.settings.token:
        # A cheap read proves the token works (and re-logs in if it does not and credentials were given).
        clusters.probe(client)
    token = client.token
    # A token given as cloudtower_token is a no_log value, which Ansible would
    # mask in the result, handing "********" to every later task. The action
    # plugin hides this whole result from display instead.
    module.no_log_values.discard(token)
    module.exit_json(changed=False, token=token, cloudtower_host=client.settings.base_url)


def main():
    module = CloudTowerModule(argument_spec={}, supports_check_mode=True)
    module.run(log_in)


if __name__ == "__main__":
    main()
