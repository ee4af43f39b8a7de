# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter smartx.cloudtower.backup_manifest: a manifest's text, parsed and validated by the manifest format's own code.

Documented in backup_manifest.yml beside this file. The restore role reads manifests through it, so the rules
of the format live in one place (module_utils/manifest.py) instead of being re-checked in Jinja.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest import parse, validate


def backup_manifest(text, option="manifest", value=None):
    """{manifest, problem}: the manifest (None when refused) and the refusal naming option and value (None if none).

    A refusal is returned rather than raised so that the caller fails with exactly this message, not with
    a templating error wrapped around it.
    """
    if not isinstance(option, str):
        raise AnsibleFilterError("backup_manifest: option must be the name of the variable that gave the manifest")
    try:
        manifest = validate(option, value, parse(to_text(text)))
    except InputError as error:
        return {"manifest": None, "problem": error.message}
    return {"manifest": manifest, "problem": None}


class FilterModule:
    def filters(self):
        return {"backup_manifest": backup_manifest}
