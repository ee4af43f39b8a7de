# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudTower VM snapshots and the iSCSI LUN snapshots behind their disks: operations, bodies and batched reads."""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.query import fetch_by_ids, paginate, where_and

READ = "get-vm-snapshots"
CREATE = "create-vm-snapshot"
DELETE = "delete-vm-snapshot"
READ_LUN_SNAPSHOTS = "get-iscsi-lun-snapshots"
# CloudTower's refusal of a snapshot name its cluster already holds (another host may have just taken it).
DUPLICATE_NAME = "VM_SNAPSHOT_DUPLICATE_NAME"
# Values per *_in filter: a whole 200-VM backup fits in one query, and no body grows unbounded.
VALUES_PER_QUERY = 500
OLDEST_FIRST = "local_created_at_ASC"


def chunks(values, size=VALUES_PER_QUERY):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def by_ids(client, ids):
    """The snapshots with these ids that exist."""
    return fetch_by_ids(client, READ, ids)


def create_body(entries):
    """One create-vm-snapshot request for [(vm id, snapshot name, consistent type)]."""
    return {"data": [{"vm_id": vm_id, "name": name, "consistent_type": kind} for vm_id, name, kind in entries]}


def delete_body(ids):
    """One delete-vm-snapshot request for every snapshot named."""
    return {"where": {"id_in": list(ids)}}


def find_snapshots(client, vm_ids=None, names=None, name_prefixes=None, order_by=OLDEST_FIRST, scope=None):
    """VM snapshots matching every given filter (and the where clause scope), in as few queries as the value lists allow.

    vm_ids is the only list that can grow with the batch; names and prefixes
    are one per VM at most, so they are chunked alongside it.
    """
    prefix_clause = None
    if name_prefixes:
        unique = sorted(set(name_prefixes))
        prefix_clause = {"name_starts_with": unique[0]} if len(unique) == 1 else {"OR": [{"name_starts_with": p} for p in unique]}
    found = {}
    for vm_chunk in (chunks(vm_ids) if vm_ids is not None else [None]):
        for name_chunk in (chunks(sorted(set(names))) if names is not None else [None]):
            if vm_chunk == [] or name_chunk == []:
                continue
            where = where_and(
                scope,
                {"vm": {"id_in": vm_chunk}} if vm_chunk is not None else None,
                {"name_in": name_chunk} if name_chunk is not None else None,
                prefix_clause,
            )
            for snapshot in paginate(client, READ, where=where, order_by=order_by):
                found[snapshot["id"]] = snapshot
    return list(found.values())


def find_lun_snapshots(client, keys):
    """LUN snapshots whose name OR local_id is one of keys, in one query per VALUES_PER_QUERY keys.

    snapshot_local_id is the LUN snapshot's name; some clients read it as its
    local_id, so matching either works with both readings.
    """
    found = {}
    for chunk in chunks(keys):
        where = {"OR": [{"name_in": chunk}, {"local_id_in": chunk}]}
        for lun_snapshot in paginate(client, READ_LUN_SNAPSHOTS, where=where):
            found[lun_snapshot["id"]] = lun_snapshot
    return list(found.values())
