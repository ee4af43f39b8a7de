# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every use of content-library VM templates shares: they need CloudTower API 4.6."""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import content_library_vm_templates
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError


def refuse_before_4_6(client, option, value):
    """Fail naming option and value on a CloudTower older than 4.6, before any other request of the run.

    An unreadable version is not refused: CloudTower itself then answers an operation it lacks with an error.
    """
    version = vms.server_version(client)
    since = content_library_vm_templates.SINCE
    if version is not None and version < since:
        raise InputError(option, value, "content-library VM templates are made and used through operations CloudTower has from API "
                                        "%d.%d, and this CloudTower is %d.%d: use a cluster VM template (leave %s out)"
                         % (since + version + (option,)))
