# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudTower labels: operation names, request bodies and the read that resolves them (every API version)."""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.query import paginate

READ = "get-labels"
CREATE = "create-label"
ADD_TO_RESOURCES = "add-labels-to-resources"
REMOVE_FROM_RESOURCES = "remove-labels-from-resources"


def find(client, where):
    """Every label matching a where clause, all pages."""
    return paginate(client, READ, where=where)


def creation_body(pairs):
    """One create-label item per (key, value); a label without a value is sent with its key only."""
    return [dict({"key": key}, **({"value": value} if value else {})) for key, value in pairs]


def vm_body(label_ids, vm_id):
    """add-labels-to-resources / remove-labels-from-resources of some labels on one VM."""
    return {"where": {"id_in": list(label_ids)}, "data": {"vms": {"id": vm_id}}}
