# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every *_info module shares: where, order_by, limit and query options, and the result shape."""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.projection import apply_query, compile_query
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import paginate, validate_where, where_and


def info_argument_spec():
    """Options of doc fragment smartx.cloudtower.info."""
    return dict(
        where=dict(type="dict"),
        order_by=dict(type="str"),
        limit=dict(type="int"),
        query=dict(type="str"),
    )


class InfoQuery:
    """Validates the shared info options up front, then runs the query and shapes the result."""

    def __init__(self, params):
        self.params = params
        self.compiled = compile_query("query", params.get("query"))
        self.user_where = validate_where("where", params.get("where"))
        limit = params.get("limit")
        if limit is not None and limit <= 0:
            raise InputError("limit", limit, "must be a positive number")
        self.limit = limit
        self.order_by = params.get("order_by")

    def fetch(self, client, operation, *clauses):
        """All records matching the module's own clauses AND the user's where."""
        return paginate(client, operation, where=where_and(*(clauses + (self.user_where,))),
                        order_by=self.order_by, limit=self.limit)

    def result(self, key, records, **extra):
        """{key: records, count, query_result?} for exit_json."""
        result = dict(changed=False, count=len(records))
        result[key] = records
        if self.compiled is not None:
            result["query_result"] = apply_query(self.compiled, records)
        result.update(extra)
        return result
