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
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import clusters as api_clusters
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import content_library_vm_templates as api_library_templates
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import elf_images as api_elf_images
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import hosts as api_hosts
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import snapshots as api_snapshots
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vlans as api_vlans
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vm_folders as api_vm_folders
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vm_templates as api_vm_templates
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms as api_vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import paginate, where_and


# CloudTower ids are 25-character cuids. A name may look like one too, so the shape only ever decides
# which query to try first, never what a value means.
ID_SHAPE = re.compile(r"^c[0-9a-z]{24}$")


def looks_like_id(value):
    return bool(ID_SHAPE.match(value or ""))


class Resource:
    """A CloudTower resource type: its human name and its query operation; the one name-or-id lookup."""

    def __init__(self, label, operation):
        self.label = label
        self.operation = operation

    def resolve(self, client, option, value, scope=None, scope_text=None):
        """Exactly one record for value, or an error naming option and value."""
        return self.resolve_many(client, option, [value], scope, scope_text)[0]

    def resolve_many(self, client, option, values, scope=None, scope_text=None):
        """One record per value, in one query, in the order given.

        An id match wins over a name match; a name shared by several records is an
        error listing their ids; every unknown value is reported at once.
        """
        wanted = list(dict.fromkeys(values))
        if not wanted:
            return []
        records = paginate(client, self.operation, where=where_and(scope, {"OR": [{"id_in": wanted}, {"name_in": wanted}]}))
        by_id = {r["id"]: r for r in records}
        resolved = []
        missing = []
        for value in wanted:
            if value in by_id:
                resolved.append(by_id[value])
                continue
            named = [r for r in records if r.get("name") == value]
            if len(named) > 1:
                raise AmbiguousNameError(option, value, self.label, named)
            if not named:
                missing.append(value)
                continue
            resolved.append(named[0])
        if missing:
            shown = missing[0] if len(missing) == 1 else missing
            raise NotFoundError(option, shown, self.label, scope_text)
        return resolved

    def find(self, client, option, value, scope=None):
        """Like resolve, but an unknown value returns None instead of failing.

        Stateful modules use it: a missing resource is something to create.
        """
        records = paginate(client, self.operation, where=where_and(scope, {"OR": [{"id": value}, {"name": value}]}))
        for record in records:
            if record["id"] == value:
                return record
        if len(records) > 1:
            raise AmbiguousNameError(option, value, self.label, records)
        return records[0] if records else None


CLUSTER = Resource("cluster", api_clusters.READ)
HOST = Resource("host", api_hosts.READ)
VLAN = Resource("VLAN", api_vlans.READ)
VM = Resource("VM", api_vms.READ)
VM_SNAPSHOT = Resource("VM snapshot", api_snapshots.READ)
ELF_IMAGE = Resource("ELF image", api_elf_images.READ)
VM_FOLDER = Resource("VM folder", api_vm_folders.READ)
VM_VOLUME = Resource("VM volume", api_vms.VOLUMES_READ)
VM_TEMPLATE = Resource("VM template", api_vm_templates.READ)
CONTENT_LIBRARY_VM_TEMPLATE = Resource("content-library VM template", api_library_templates.READ)


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


def optional_cluster(client, option, value):
    """The cluster record option names, or None when it names none (an unknown or ambiguous name fails)."""
    return CLUSTER.resolve(client, option, value) if value else None


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
