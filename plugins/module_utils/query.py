# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where-filters, pagination and name-or-id resolution.

CloudTower queries follow Prisma 1: a ``where`` object, ``orderBy`` and
cursor pagination with ``first``/``after``. Everything here returns all pages
by default; several collections of other platforms silently stopped at 50.
"""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError

DEFAULT_PAGE_SIZE = 1000


def where_and(*clauses):
    """Combine where clauses with AND, dropping empty ones."""
    parts = [c for c in clauses if c]
    if not parts:
        return {}
    if len(parts) == 1:
        return parts[0]
    return {"AND": parts}


def where_from_options(params, mapping):
    """Translate module options into where clauses.

    mapping: option name -> where key (e.g. {"names": "name_in"}); options left
    unset are ignored, so a module can declare every filter it supports once.
    """
    clauses = []
    for option, key in mapping.items():
        value = params.get(option)
        if value is None or value == []:
            continue
        clauses.append({key: value})
    return where_and(*clauses)


def values_of(params, one, many):
    """The value of option one followed by the list of option many, without repeats (vm + vms, id + ids)."""
    values = list(params.get(many) or [])
    if params.get(one):
        values.insert(0, params[one])
    return list(dict.fromkeys(values))


def validate_where(option, where):
    """A raw where from the user must be a mapping; the server judges its keys."""
    if where is None:
        return {}
    if not isinstance(where, dict):
        raise InputError(option, where, "must be a mapping such as {name_starts_with: web}")
    return where


def iter_pages(client, operation, where=None, order_by=None, limit=None, page_size=DEFAULT_PAGE_SIZE):
    """Yield every page of a get-* query in a stable order, so a caller can trim each as it arrives.

    Paging uses the id of the last record as the ``after`` cursor, which stays
    correct when records are added between pages (``skip`` would not).
    """
    seen = 0
    cursor = None
    while True:
        wanted = page_size if limit is None else min(page_size, limit - seen)
        if wanted <= 0:
            return
        body = {"first": wanted}
        if where:
            body["where"] = where
        if order_by:
            body["orderBy"] = order_by
        if cursor:
            body["after"] = cursor
        page = client.call(operation, body) or []
        seen += len(page)
        if page:
            yield page
        if len(page) < wanted:
            return
        cursor = page[-1]["id"]


def paginate(client, operation, where=None, order_by=None, limit=None, page_size=DEFAULT_PAGE_SIZE):
    """Every record of a get-* query, all pages."""
    records = []
    for page in iter_pages(client, operation, where, order_by, limit, page_size):
        records.extend(page)
    return records


def fetch_by_ids(client, operation, ids, page_size=DEFAULT_PAGE_SIZE):
    """Read records by id, in the order of ids; unknown ids are simply absent."""
    unique = list(dict.fromkeys(ids))
    found = {}
    for start in range(0, len(unique), page_size):
        chunk = unique[start:start + page_size]
        for record in paginate(client, operation, where={"id_in": chunk}, page_size=page_size):
            found[record["id"]] = record
    return [found[i] for i in unique if i in found]
