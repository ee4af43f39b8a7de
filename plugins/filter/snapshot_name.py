# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter smartx.cloudtower.snapshot_name: a backup's snapshot name template, checked and with {timestamp} filled in.

Documented in snapshot_name.yml beside this file. The placeholders of snapshot names are checked and expanded
in one place, module_utils/snapshots.py: {timestamp} here, {vm_name} and {vm_id} by cloudtower_vm_snapshot.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.snapshots import expand_timestamp, validate_name_template


def snapshot_name(template, timestamp=None, option="name"):
    """{name, problem}: the template with {timestamp} expanded (kept when no timestamp is given), or the refusal.

    A refusal is returned rather than raised so that the caller fails with exactly this message, not with
    a templating error wrapped around it.
    """
    if not isinstance(template, str):
        raise AnsibleFilterError("snapshot_name: the input must be a snapshot name template, got %r" % (template,))
    try:
        validate_name_template(option, template, many=True, with_timestamp=True)
    except InputError as error:
        return {"name": None, "problem": error.message}
    name = expand_timestamp(template, to_text(timestamp)) if timestamp is not None else template
    return {"name": name, "problem": None}


class FilterModule:
    def filters(self):
        return {"snapshot_name": snapshot_name}
