# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options shared by every module of smartx.cloudtower."""

    DOCUMENTATION = r"""
options:
  cloudtower_host:
    description:
      - URL of CloudTower, with its scheme, for example C(https://cloudtower.example.com).
      - A trailing C(/v2/api) is accepted and ignored.
      - Plain C(http://) works but sends credentials unencrypted, so the module warns about it.
      - A user name or password in the URL (C(https://user:password@host)) is refused, and never printed; give them
        in O(cloudtower_username) and O(cloudtower_password).
      - A scheme the server does not speak (C(https://) to a plain-HTTP port, C(http://) to a TLS port) fails at once,
        saying so.
      - If not set, the value of the E(CLOUDTOWER_HOST) environment variable is used.
    type: str
    required: false
  cloudtower_username:
    description:
      - User to log in as. Needed unless O(cloudtower_token) is given.
      - If not set, the value of the E(CLOUDTOWER_USERNAME) environment variable is used.
    type: str
  cloudtower_password:
    description:
      - Password of O(cloudtower_username). Never printed or logged.
      - If not set, the value of the E(CLOUDTOWER_PASSWORD) environment variable is used.
    type: str
  cloudtower_user_source:
    description:
      - Where O(cloudtower_username) is defined.
      - If not set, the value of the E(CLOUDTOWER_USER_SOURCE) environment variable is used.
    type: str
    choices: [LOCAL, LDAP]
    default: LOCAL
  cloudtower_token:
    description:
      - An existing CloudTower token, such as RV(smartx.cloudtower.cloudtower_auth#module:token), or an API key.
      - Pass the token of one M(smartx.cloudtower.cloudtower_auth) task to every later task, for example through
        C(module_defaults), so that a play logs in once.
      - When CloudTower rejects the token and O(cloudtower_username) and O(cloudtower_password) are also given,
        the module logs in again once.
      - Never printed or logged.
      - If not set, the value of the E(CLOUDTOWER_TOKEN) environment variable is used.
    type: str
  validate_certs:
    description:
      - Verify CloudTower's TLS certificate. Keep this on; point O(ca_path) at the CA certificate of a
        self-signed installation instead of turning it off.
      - If not set, the value of the E(CLOUDTOWER_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM file with the CA certificate(s) used to verify CloudTower's certificate.
      - If not set, the value of the E(CLOUDTOWER_CA_PATH) environment variable is used.
    type: path
  language:
    description:
      - Language of CloudTower's messages (the C(content-language) header).
      - If not set, the value of the E(CLOUDTOWER_LANGUAGE) environment variable is used.
    type: str
    choices: [en-US, zh-CN]
    default: en-US
  request_timeout:
    description:
      - Seconds to wait for each HTTP reply.
      - If not set, the value of the E(CLOUDTOWER_REQUEST_TIMEOUT) environment variable is used.
    type: float
    default: 30
  retry_timeout:
    description:
      - Seconds during which a failed call is retried, with jittered exponential backoff.
      - Retried are connection failures and HTTP 500/502/503/504 on queries, C(ResourceLocked) replies, and
        mutations that failed before they could reach CloudTower. Other mutations are never re-sent.
      - C(0) disables retries.
      - If not set, the value of the E(CLOUDTOWER_RETRY_TIMEOUT) environment variable is used.
    type: float
    default: 60
notes:
  - Every option of this group can be set once for a whole play with
    C(module_defaults) and the action group C(group/smartx.cloudtower.cloudtower).
requirements:
  - requests >= 2.25
"""
