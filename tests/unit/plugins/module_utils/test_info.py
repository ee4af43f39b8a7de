# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared options of the *_info modules: where, limit, fields and query."""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import ApiError, InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.info import InfoQuery


class PagedClient:
    def __init__(self, records):
        self.records = records
        self.bodies = []

    def call(self, operation, body):
        self.bodies.append(body)
        ids = [r["id"] for r in self.records]
        start = ids.index(body["after"]) + 1 if "after" in body else 0
        return self.records[start:start + body["first"]]


RECORDS = [{"id": "v%04d" % i, "name": "vm%d" % i, "status": "RUNNING", "memory": 1024} for i in range(2500)]


def params(**options):
    base = dict(where=None, order_by=None, limit=None, fields=None, query=None)
    base.update(options)
    return base


def test_fields_are_cut_page_by_page_and_id_is_kept():
    info = InfoQuery(params(fields=["name"]))
    records = info.fetch(PagedClient(RECORDS), "get-vms")
    assert len(records) == 2500 and records[0] == {"id": "v0000", "name": "vm0"}


def test_without_fields_records_are_whole():
    info = InfoQuery(params())
    assert InfoQuery(params()).fetch(PagedClient(RECORDS[:3]), "get-vms") == RECORDS[:3]
    assert info.result("vms", RECORDS[:2])["vms"] == RECORDS[:2]


def test_unknown_fields_are_warned_about_once():
    warnings = []
    InfoQuery(params(fields=["name", "colour"]), warn=warnings.append).fetch(PagedClient(RECORDS), "get-vms")
    assert len(warnings) == 1 and "colour" in warnings[0]


def test_query_runs_on_the_returned_records():
    info = InfoQuery(params(fields=["name"], query="[?name=='vm1'].id"))
    result = info.result("vms", RECORDS[:3])
    assert result["query_result"] == ["v0001"] and result["count"] == 3 and result["vms"][1] == {"id": "v0001", "name": "vm1"}


@pytest.mark.parametrize("options,option", [(dict(limit=0), "limit"), (dict(query="[?"), "query"), (dict(where=["x"]), "where")])
def test_bad_options_are_refused_before_any_request(options, option):
    with pytest.raises(InputError) as info:
        InfoQuery(params(**options))
    assert info.value.option == option


class RefusingClient:
    def call(self, operation, body):
        raise ApiError(operation, 400, 'Field "colour" is not defined by type VmWhereInput.', request_id="req-1")


@pytest.mark.parametrize("options, option", [
    (dict(where={"colour": "red"}), "where"),
    (dict(order_by="name"), "order_by"),
    (dict(where={"colour": "red"}, order_by="name_ASC"), "where or order_by"),
])
def test_a_query_the_server_refuses_is_blamed_on_the_users_option(options, option):
    with pytest.raises(InputError) as info:
        InfoQuery(params(**options)).fetch(RefusingClient(), "get-vms")
    assert info.value.option == option
    assert "for option '%s'" % option in info.value.message and "colour" in info.value.message
    assert info.value.details["request_id"] == "req-1" and info.value.details["endpoint"] == "get-vms"


@pytest.mark.parametrize("options, option", [
    (dict(type="WAN"), "type"),
    (dict(type="WAN", order_by="name_ASC"), "type or order_by"),
])
def test_a_filter_option_the_server_refuses_is_blamed_on_that_option(options, option):
    """A module's filter reaches CloudTower as a where key; the user wrote the filter, so the error names it."""
    with pytest.raises(InputError) as info:
        InfoQuery(params(**options), filter_options=("name", "type")).fetch(RefusingClient(), "get-vlans")
    assert info.value.option == option and "WAN" in info.value.message
