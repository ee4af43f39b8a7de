# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Name-or-id lookups of the CloudTower resources the modules refer to.

Every module that takes a cluster, host, VLAN, VM or snapshot "by name or id"
resolves it here, so the rules (an id wins, an ambiguous name fails listing
the candidates, unknown values are reported together) are the same everywhere.
"""

from __future__ import annotations

import re

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import AmbiguousNameError, NotFoundError
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import find_by_name_or_id, resolve, where_and


# CloudTower ids are 25-character cuids. A name may look like one too, so the shape only ever decides
# which query to try first, never what a value means.
ID_SHAPE = re.compile(r"^c[0-9a-z]{24}$")


def looks_like_id(value):
    return bool(ID_SHAPE.match(value or ""))


class Resource:
    """A CloudTower resource type: its human name and its query operation."""

    def __init__(self, label, operation):
        self.label = label
        self.operation = operation

    def resolve(self, client, option, value, scope=None, scope_text=None):
        """Exactly one record for value, or an error naming option and value."""
        return resolve(client, self.operation, self.label, option, [value], scope, scope_text)[0]

    def resolve_many(self, client, option, values, scope=None, scope_text=None):
        """One record per value, in one query, in the order given."""
        return resolve(client, self.operation, self.label, option, values, scope, scope_text)

    def find(self, client, option, value, scope=None):
        """The record, or None when nothing matches (for modules that create it)."""
        return find_by_name_or_id(client, self.operation, self.label, option, value, scope)


CLUSTER = Resource("cluster", "get-clusters")
HOST = Resource("host", "get-hosts")
VLAN = Resource("VLAN", "get-vlans")
VM = Resource("VM", "get-vms")
VM_SNAPSHOT = Resource("VM snapshot", "get-vm-snapshots")
ELF_IMAGE = Resource("ELF image", "get-elf-images")
VM_FOLDER = Resource("VM folder", "get-vm-folders")
VM_VOLUME = Resource("VM volume", "get-vm-volumes")


def related_to(relation, record):
    """Where clause matching records whose to-one relation is record."""
    return {relation: {"id": record["id"]}} if record else {}


def scope_text(relation, record):
    """Words for an error message: 'cluster prod (id ...)'."""
    if not record:
        return None
    return "%s %s (id %s)" % (relation, record.get("name"), record["id"])


def resolve_cluster_scope(client, option, value):
    """(where, text) restricting a query to the cluster named by option, or ({}, None)."""
    if not value:
        return {}, None
    cluster = CLUSTER.resolve(client, option, value)
    return related_to("cluster", cluster), scope_text("cluster", cluster)


def named_cluster(value):
    """Where clause for records of the cluster whose id or name is value, without reading the cluster first."""
    return {"cluster": {"OR": [{"id": value}, {"name": value}]}} if value else {}


def resolve_vms(client, option, values, cluster_option=None, cluster=None, extra_where=None):
    """VMs named or identified in values, optionally within one cluster.

    The cluster is filtered inside the VM query, saving a request on every run; only
    when that finds nothing usable is the cluster resolved on its own, so the error
    says whether the cluster or the VM is wrong.
    """
    if cluster:
        try:
            return VM.resolve_many(client, option, values, where_and(named_cluster(cluster), extra_where))
        except (NotFoundError, AmbiguousNameError):
            pass
    scope, text = resolve_cluster_scope(client, cluster_option, cluster)
    return VM.resolve_many(client, option, values, where_and(scope, extra_where), text)
