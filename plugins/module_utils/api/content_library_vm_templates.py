# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudTower content-library VM templates (API 4.6): operation names, request bodies and reads.

A content-library template is held by CloudTower, not by one cluster, and is offered to the clusters chosen when it
is made; a VM is created from it in one of them (vms.CREATE_FROM_CONTENT_LIBRARY_TEMPLATE).
"""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vm_templates

READ = "get-content-library-vm-templates"
CLONE_FROM_VM = "clone-content-library-vm-template-from-vm"
CONVERT_FROM_VM = "convert-content-library-vm-template-from-vm"
DELETE = "delete-content-library-vm-template"
CREATING = (CLONE_FROM_VM, CONVERT_FROM_VM)
# No forced operation acts on a template.
FORCED_RESULT = {}
# The API version that makes them (1.8 lists them but cannot make or use them; 1.10 has none).
SINCE = (4, 6)


def by_id(template_id):
    return {"where": {"id": template_id}}


def offered_to(cluster):
    """Where clause for the templates a cluster is offered."""
    return {"clusters_some": {"id": cluster["id"]}} if cluster else {}


def creation_body(name, vm_id, cluster_ids, cloud_init_supported, description=None):
    """One ContentLibraryVmTemplateCreationParams: the template is offered to the clusters given."""
    body = {"name": name, "vm": {"id": vm_id}, "clusters": {"id_in": list(cluster_ids)}, "cloud_init_supported": cloud_init_supported}
    if description:
        body["description"] = description
    return body


def read(client, template_id):
    found = client.call(READ, {"where": {"id": template_id}}) or []
    return found[0] if found else None


def created_id(operation, replies):
    """Replies name the new template as those of cluster templates do."""
    return vm_templates.created_id(operation, replies)
