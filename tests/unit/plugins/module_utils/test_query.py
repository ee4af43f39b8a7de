# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where building, cursor pagination and name-or-id resolution over a fake client."""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import AmbiguousNameError, InputError, NotFoundError
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import (
    fetch_by_ids, iter_pages, paginate, values_of, validate_where, where_and, where_from_options,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import Resource

# The one name-or-id lookup (lookups.Resource), over the fake client's VMs.
VM_LOOKUP = Resource("VM", "get-vms")


def matches(record, where):
    """Just enough of Prisma's where for these tests."""
    for key, value in where.items():
        if key == "AND":
            if not all(matches(record, w) for w in value):
                return False
        elif key == "OR":
            if not any(matches(record, w) for w in value):
                return False
        elif key.endswith("_in"):
            if record.get(key[:-3]) not in value:
                return False
        elif record.get(key) != value:
            return False
    return True


class ListClient:
    def __init__(self, records):
        self.records = records
        self.bodies = []

    def call(self, operation, body):
        self.bodies.append(body)
        rows = [r for r in self.records if matches(r, body.get("where") or {})]
        if "after" in body:
            ids = [r["id"] for r in rows]
            rows = rows[ids.index(body["after"]) + 1:]
        return rows[: body["first"]]


VMS = [{"id": "id%02d" % i, "name": "vm%d" % (i % 7), "cluster": "c1" if i < 10 else "c2"} for i in range(20)]


def test_where_and_drops_empty_clauses():
    assert where_and({}, None, {"a": 1}) == {"a": 1}
    assert where_and({"a": 1}, {"b": 2}) == {"AND": [{"a": 1}, {"b": 2}]}
    assert where_and() == {}


def test_where_from_options_ignores_unset_options():
    params = {"name": "x", "names": [], "status": None, "ids": ["a"]}
    assert where_from_options(params, {"name": "name", "names": "name_in", "status": "status", "ids": "id_in"}) == \
        {"AND": [{"name": "x"}, {"id_in": ["a"]}]}


def test_raw_where_must_be_a_mapping():
    with pytest.raises(InputError, match="'where'"):
        validate_where("where", ["name"])
    assert validate_where("where", None) == {}


@pytest.mark.parametrize("page_size", [1, 3, 7, 20, 1000])
def test_paginate_returns_every_record_once_in_order(page_size):
    client = ListClient(VMS)
    assert paginate(client, "get-vms", page_size=page_size) == VMS
    assert all(b["first"] <= page_size for b in client.bodies)


def test_paginate_uses_the_last_id_as_cursor():
    client = ListClient(VMS)
    paginate(client, "get-vms", page_size=8)
    assert [b.get("after") for b in client.bodies] == [None, "id07", "id15"]


def test_paginate_honours_limit_and_order_and_where():
    client = ListClient(VMS)
    rows = paginate(client, "get-vms", where={"cluster": "c2"}, order_by="name_ASC", limit=5, page_size=3)
    assert [r["id"] for r in rows] == ["id10", "id11", "id12", "id13", "id14"]
    assert all(b["orderBy"] == "name_ASC" and b["where"] == {"cluster": "c2"} for b in client.bodies)
    assert [b["first"] for b in client.bodies] == [3, 2]


def test_fetch_by_ids_keeps_the_order_asked_for():
    client = ListClient(VMS)
    assert [r["id"] for r in fetch_by_ids(client, "get-vms", ["id05", "id01", "nope", "id05"])] == ["id05", "id01"]


def test_resolve_by_id_and_unique_name_in_one_query():
    client = ListClient(VMS)
    rows = VM_LOOKUP.resolve_many(client, "vms", ["id03", "vm6"], scope={"cluster": "c1"})
    assert [r["id"] for r in rows] == ["id03", "id06"]
    assert len(client.bodies) == 1


def test_resolve_refuses_an_ambiguous_name_listing_ids():
    client = ListClient(VMS)
    with pytest.raises(AmbiguousNameError) as info:
        VM_LOOKUP.resolve_many(client, "vms", ["vm1"])
    assert info.value.option == "vms" and info.value.details["candidates"] == ["id01", "id08", "id15"]
    assert "id01, id08, id15" in info.value.message


def test_resolve_reports_unknown_values():
    client = ListClient(VMS)
    with pytest.raises(NotFoundError) as info:
        VM_LOOKUP.resolve_many(client, "vms", ["ghost", "vm6", "phantom"], scope={"cluster": "c1"}, scope_text="cluster c1")
    assert info.value.value == ["ghost", "phantom"] and "cluster c1" in info.value.message


def test_resolve_one_and_find():
    client = ListClient(VMS)
    assert VM_LOOKUP.resolve(client, "vm", "id04")["id"] == "id04"
    assert VM_LOOKUP.find(client, "name", "ghost") is None
    assert VM_LOOKUP.find(client, "name", "vm6", scope={"cluster": "c1"})["id"] == "id06"
    with pytest.raises(AmbiguousNameError):
        VM_LOOKUP.find(client, "name", "vm2")


def test_an_id_match_wins_over_a_vm_named_like_that_id():
    records = [{"id": "a1", "name": "x"}, {"id": "b2", "name": "a1"}]
    assert VM_LOOKUP.find(ListClient(records), "name", "a1")["id"] == "a1"


def test_iter_pages_yields_page_by_page():
    client = ListClient(VMS)
    pages = list(iter_pages(client, "get-vms", page_size=8))
    assert [len(p) for p in pages] == [8, 8, 4]


def test_values_of_puts_the_single_option_first_without_repeats():
    assert values_of({"vm": "a", "vms": ["b", "a", "c"]}, "vm", "vms") == ["a", "b", "c"]
    assert values_of({"vm": None, "vms": None}, "vm", "vms") == []
