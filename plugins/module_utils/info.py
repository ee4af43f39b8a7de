# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every *_info module shares: where, order_by, limit, fields and query options, and the result shape."""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError, blamed_on
from ansible_collections.smartx.cloudtower.plugins.module_utils.projection import apply_query, compile_query
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import iter_pages, validate_where, where_and, where_from_options


# The name filters every *_info module of a named resource offers: option -> CloudTower where key.
NAME_FILTERS = {"id": "id", "ids": "id_in", "name": "name", "names": "name_in", "name_contains": "name_contains"}


def name_filter_spec():
    """Options of NAME_FILTERS, as the argument spec declares them."""
    return dict(
        id=dict(type="str"),
        ids=dict(type="list", elements="str"),
        name=dict(type="str"),
        names=dict(type="list", elements="str"),
        name_contains=dict(type="str"),
    )


def list_records(module, key, operation, filters, *clauses):
    """The whole run of an info module: validate the shared options, read every page, exit with key: records."""
    info = InfoQuery(module.params, warn=module.warn, filter_options=filters)
    records = info.fetch(module.client, operation, where_from_options(module.params, filters), *clauses)
    module.exit_json(**info.result(key, records))


def info_argument_spec():
    """Options of doc fragment smartx.cloudtower.info."""
    return dict(
        where=dict(type="dict"),
        order_by=dict(type="str"),
        limit=dict(type="int"),
        fields=dict(type="list", elements="str"),
        query=dict(type="str"),
    )


class InfoQuery:
    """Validates the shared info options up front, then runs the query and shapes the result."""

    def __init__(self, params, warn=None, filter_options=()):
        self.params = params
        self.filter_options = tuple(filter_options)
        self._warn = warn or (lambda message: None)
        self.fields = set(params["fields"]) | {"id"} if params.get("fields") else None
        self.compiled = compile_query("query", params.get("query"))
        self.user_where = validate_where("where", params.get("where"))
        limit = params.get("limit")
        if limit is not None and limit <= 0:
            raise InputError("limit", limit, "must be a positive number")
        self.limit = limit
        self.order_by = params.get("order_by")

    def fetch(self, client, operation, *clauses):
        """All records matching the module's own clauses AND the user's where, trimmed to fields page by page.

        Trimming as pages arrive keeps 10,000 VMs from being held (and returned) in full:
        Ansible's cost grows with every value a module returns.
        """
        records = []
        with blamed_on(*self._user_parts()):
            for page in iter_pages(client, operation, where=where_and(*(clauses + (self.user_where,))),
                                   order_by=self.order_by, limit=self.limit):
                if not records:
                    self._warn_about_unknown_fields(page[0])
                records.extend(self.trim(page))
        return records

    def _user_parts(self):
        """(option, value) a refused query is blamed on: the one option given among the module's filters, where and
        order_by (a filter such as type: WAN reaches the server as a where key, and the user wrote type, not where);
        when several were given, all of them."""
        given = [(option, self.params.get(option)) for option in self.filter_options + ("where", "order_by")
                 if self.params.get(option) not in (None, [])]
        if not given:
            return "where", None
        if len(given) == 1:
            return given[0]
        return " or ".join(option for option, _value in given), dict(given)

    def trim(self, records):
        """records with only the fields asked for (and id); all of them when fields is not given."""
        if self.fields is None:
            return records
        return [{key: value for key, value in record.items() if key in self.fields} for record in records]

    def _warn_about_unknown_fields(self, record):
        unknown = sorted(self.fields - set(record)) if self.fields is not None else []
        if unknown:
            self._warn("fields %s: CloudTower's records have no such field (they have: %s)" % (
                ", ".join(unknown), ", ".join(sorted(record))))

    def result(self, key, records, **extra):
        """{key: records, count, query_result?} for exit_json."""
        records = self.trim(records)
        result = dict(changed=False, count=len(records))
        result[key] = records
        if self.compiled is not None:
            result["query_result"] = apply_query(self.compiled, records)
        result.update(extra)
        return result
