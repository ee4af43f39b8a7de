"""Prisma-1 style queries: `where` filters, `orderBy`, and first/skip/last/after/before pagination.

`where` is validated and compiled into a predicate once per request; unknown keys, wrong value types and
unknown enum values raise QueryError (a 400), the way the real GraphQL layer rejects them.
"""

import json

from .schema import RESOURCES, enum_values
from .store import table_of

PAGINATION_KEYS = ("where", "orderBy", "first", "skip", "last", "after", "before")


class QueryError(Exception):
    """A query the server would refuse with 400."""


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _typename(resource_name, suffix):
    return resource_name + suffix


class WhereCompiler:
    """Builds predicates over stored entities for one API version and store."""

    def __init__(self, store, version):
        self.store = store
        self.version = version

    def compile(self, resource_name, where):
        """Predicate for a where object of resource_name (None or {} match everything)."""
        if where is None:
            return lambda entity: True
        if not isinstance(where, dict):
            raise QueryError("Expected type %s to be an object." % _typename(resource_name, "WhereInput"))
        resource = RESOURCES.get(resource_name)
        if resource is None:
            # A resource the simulator does not model has no rows and no relation ever points at one
            # (store.table_of), so this predicate is never asked about an entity; such filters go unvalidated.
            return _never
        keys = resource.where_keys(self.version)
        tests = []
        for key, value in where.items():
            if key in ("AND", "OR", "NOT"):
                tests.append(self._compile_logical(resource_name, key, value))
                continue
            if key not in keys:
                raise QueryError('Field "%s" is not defined by type %s.' % (key, _typename(resource_name, "WhereInput")))
            field, op = keys[key]
            if field is None:
                tests.append(_never if value is not None else _always)
                continue
            tests.append(self._compile_field(resource_name, field, op, value))
        return _all_of(tests)

    def _compile_logical(self, resource_name, key, value):
        # GraphQL coerces a single input object into a one-element list, so both forms are accepted.
        items = value if isinstance(value, list) else [value]
        if value is None:
            return _always
        predicates = [self.compile(resource_name, item if item is not None else {}) for item in items]
        if key == "AND":
            return _all_of(predicates)
        if key == "OR":
            return lambda entity: any(predicate(entity) for predicate in predicates)
        return lambda entity: not any(predicate(entity) for predicate in predicates)

    def _compile_field(self, resource_name, field, op, value):
        if field.kind == "one":
            return self._compile_to_one(field, value)
        if field.kind == "many":
            return self._compile_to_many(field, op, value)
        self._check_scalar_value(resource_name, field, op, value)
        return _scalar_test(field.name, op, value)

    def _compile_to_one(self, field, value):
        name, table = field.name, table_of(field.target)
        # The related row is looked up, as the serializer does, so a filter sees the relation a reply shows.
        rows = self.store.table(table) if table else {}
        if value is None:
            return lambda entity: rows.get(entity.get(name)) is None
        nested = self.compile(field.target, value)

        def related_matches(entity):
            related = rows.get(entity.get(name))
            return related is not None and nested(related)
        return related_matches

    def _compile_to_many(self, field, op, value):
        if value is None:
            return _always
        nested = self.compile(field.target, value)
        if not (field.inverse or field.held_by or field.stored_ids):
            # Relations the simulator does not model are always empty.
            return _always if op in ("_every", "_none") else _never
        store = self.store

        def children(entity):
            return store.related(field, entity)
        if op == "_some":
            return lambda entity: any(nested(child) for child in children(entity))
        if op == "_every":
            return lambda entity: all(nested(child) for child in children(entity))
        return lambda entity: not any(nested(child) for child in children(entity))

    def _check_scalar_value(self, resource_name, field, op, value):
        where_key = field.name + op
        if op in ("_in", "_not_in"):
            if not isinstance(value, list):
                if value is None:
                    return
                raise QueryError('Expected type [%s] for %s.%s.' % (field.kind, _typename(resource_name, "WhereInput"), where_key))
            for item in value:
                self._check_single(resource_name, field, where_key, item, allow_null=False)
            return
        self._check_single(resource_name, field, where_key, value, allow_null=op in ("", "_not"))

    def _check_single(self, resource_name, field, where_key, value, allow_null):
        if value is None:
            if allow_null:
                return
            raise QueryError("Expected non-null value for %s.%s." % (_typename(resource_name, "WhereInput"), where_key))
        valid = {
            "str": lambda: isinstance(value, str), "dt": lambda: isinstance(value, str),
            "bool": lambda: isinstance(value, bool),
            "num": lambda: _is_number(value) and (field.number_type(self.version) == "f" or float(value).is_integer()),
            "enum": lambda: value in enum_values(field.target, self.version),
        }[field.kind]()
        if not valid:
            raise QueryError('Expected type %s, found %s (%s.%s).' % (
                field.target if field.kind == "enum" else field.kind, json.dumps(value),
                _typename(resource_name, "WhereInput"), where_key))


def _always(_entity):
    return True


def _never(_entity):
    return False


def _all_of(predicates):
    if not predicates:
        return _always
    if len(predicates) == 1:
        return predicates[0]
    return lambda entity: all(predicate(entity) for predicate in predicates)


def _ordered(a, b, op):
    try:
        return {"_lt": a < b, "_lte": a <= b, "_gt": a > b, "_gte": a >= b}[op]
    except TypeError:
        return False


def _scalar_test(name, op, value):
    """Predicate for one scalar operator. A null field fails every operator except `= null` / `_not`,
    as SQL comparisons with NULL do."""
    if op == "":
        return lambda entity: entity.get(name) == value
    if op == "_not":
        if value is None:
            return lambda entity: entity.get(name) is not None
        return lambda entity: entity.get(name) is not None and entity.get(name) != value
    if op == "_in":
        choices = set(value or ())
        return lambda entity: entity.get(name) in choices
    if op == "_not_in":
        excluded = set(value or ())
        return lambda entity: entity.get(name) is not None and entity.get(name) not in excluded
    if op in ("_lt", "_lte", "_gt", "_gte"):
        return lambda entity: entity.get(name) is not None and _ordered(entity.get(name), value, op)
    negate = op.startswith("_not_")
    test = {
        "contains": lambda text: value in text,
        "starts_with": lambda text: text.startswith(value),
        "ends_with": lambda text: text.endswith(value),
    }[op[len("_not_"):] if negate else op[1:]]

    def string_test(entity):
        text = entity.get(name)
        if not isinstance(text, str):
            return False
        return test(text) != negate
    return string_test


def _sort_value(value):
    # NULLs sort last ascending and first descending, like PostgreSQL behind Prisma.
    if value is None:
        return (1, 0)
    if isinstance(value, (dict, list)):
        return (0, json.dumps(value, sort_keys=True))
    return (0, value)


def sort_entities(entities, order_by, resource, version, default_order="creation"):
    """Sort by one orderBy value; ties (and no orderBy) fall back to creation order."""
    if order_by is None:
        ordered = sorted(entities, key=lambda entity: entity["_seq"])
        return ordered[::-1] if default_order == "reverse" else ordered
    keys = resource.order_keys(version)
    if not isinstance(order_by, str) or order_by not in keys:
        raise QueryError("Expected type %s, found %s." % (_typename(resource.name, "OrderByInput"), json.dumps(order_by)))
    name, descending = keys[order_by]
    if name == "createdAt":
        return sorted(entities, key=lambda entity: entity["_seq"], reverse=descending)
    attribute = "_updated" if name == "updatedAt" else name
    return sorted(entities, key=lambda entity: (_sort_value(entity.get(attribute)), entity["_seq"]), reverse=descending)


def check_pagination_args(body):
    for key in ("first", "skip", "last"):
        value = body.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise QueryError("%s must be a non-negative integer" % key)
    for key in ("after", "before"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise QueryError("%s must be a string id" % key)


def paginate(ordered, body, cursor_lookup):
    """Apply after/before, then skip, then first/last to an already ordered list.

    after/before keep the records past the cursor (cursor excluded) in query order; skip drops that many records
    nearest the cursor: from the start when `first` (or neither) is given, from the end when only `last` is.
    """
    records = ordered
    for key in ("after", "before"):
        cursor = body.get(key)
        if cursor is None:
            continue
        position = cursor_lookup(records, cursor)
        if position is None:
            return []
        records = records[position + 1:] if key == "after" else records[:position]
    skip, first, last = body.get("skip") or 0, body.get("first"), body.get("last")
    if skip:
        from_end = last is not None and first is None
        records = records[:max(0, len(records) - skip)] if from_end else records[skip:]
    if first is not None:
        records = records[:first]
    if last is not None:
        records = records[max(0, len(records) - last):] if last else []
    return records


def select(store, resource, body, version, default_order="creation"):
    """The entities a get-* body selects, in order."""
    check_pagination_args(body)
    predicate = WhereCompiler(store, version).compile(resource.name, body.get("where"))
    matched = [entity for entity in store.rows(resource.table) if predicate(entity)]
    # A cursor need not match the filter (Prisma compares against the cursor row's sort key), so cursor rows
    # join the ordering and are dropped again afterwards.
    matched_ids = {entity["id"] for entity in matched}
    extras = []
    for key in ("after", "before"):
        cursor = store.get(resource.table, body.get(key))
        if cursor is not None and cursor["id"] not in matched_ids:
            extras.append(cursor)
    ordered = sort_entities(matched + extras, body.get("orderBy"), resource, version, default_order)
    page = paginate(ordered, body, _position_of)
    if extras:
        page = [entity for entity in page if entity["id"] in matched_ids]
    return page


def _position_of(records, entity_id):
    for position, entity in enumerate(records):
        if entity["id"] == entity_id:
            return position
    return None
