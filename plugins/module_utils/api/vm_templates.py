# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudTower VM templates: operation names, request bodies and reads."""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError

READ = "get-vm-templates"
CLONE_FROM_VM = "clone-vm-template-from-vm"
CONVERT_FROM_VM = "convert-vm-template-from-vm"
DELETE = "delete-vm-template"
CREATING = (CLONE_FROM_VM, CONVERT_FROM_VM)
# No forced operation acts on a template.
FORCED_RESULT = {}


def by_id(template_id):
    return {"where": {"id": template_id}}


def creation_body(name, vm_id, cloud_init_supported, description=None):
    """One VmTemplateCreationParams: the template is made in its VM's cluster."""
    body = {"name": name, "vm_id": vm_id, "cloud_init_supported": cloud_init_supported}
    if description:
        body["description"] = description
    return body


def read(client, template_id):
    found = client.call(READ, {"where": {"id": template_id}}) or []
    return found[0] if found else None


def created_id(operation, replies):
    data = (replies[0] if replies else {}).get("data") or {}
    if not data.get("id"):
        raise CloudTowerError("CloudTower accepted %s but its reply names no template id" % operation, endpoint=operation)
    return data["id"]
