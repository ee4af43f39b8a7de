"""Turn stored entities into API objects of one version, exactly as the declarations say.

Every declared key is written (null or [] when unset), numbers take the version's JSON type (double in 1.8,
integers from 1.10 for sizes), and relations become stubs. Serialisers are compiled once per
(resource, version) into lists of small getters, because get-vms over thousands of VMs runs through them.
"""

from .schema import RESOURCES, embedded_fields_in, stub_keys
from .store import table_of


def _coerce_number(value, number_type):
    if value is None or isinstance(value, bool):
        return value
    return float(value) if number_type == "f" else int(value)


class Serializer:
    """Compiled serialisers for one API version over one store."""

    def __init__(self, store, version):
        self.store = store
        self.version = version
        self._compiled = {}

    def serialize(self, resource_name, entity):
        getters = self._compiled.get(resource_name)
        if getters is None:
            getters = self._compiled[resource_name] = self._compile(RESOURCES[resource_name])
        return {name: getter(entity) for name, getter in getters}

    def serialize_all(self, resource_name, entities):
        return [self.serialize(resource_name, entity) for entity in entities]

    def _compile(self, resource):
        return [(field.name, self._getter(field)) for field in resource.fields_in(self.version)]

    def _getter(self, field):
        name, zero = field.name, field.zero_value(self.version)
        if field.kind == "num":
            number_type = field.number_type(self.version)
            return lambda entity: _coerce_number(entity.get(name, zero), number_type)
        if field.kind == "json" and field.target:
            return self._embedded_getter(field)
        if field.kind == "one":
            return self._to_one_getter(field)
        if field.kind == "many":
            return self._to_many_getter(field)
        if isinstance(zero, (list, dict)):
            return lambda entity: _copy_default(entity.get(name), zero)
        return lambda entity: entity.get(name, zero)

    def _embedded_getter(self, field):
        name, target, is_list = field.name, field.target, field.is_list

        def getter(entity):
            value = entity.get(name)
            if value is None:
                return None if field.nullable else ([] if is_list else {})
            if is_list:
                return [self.embedded(target, item) for item in value]
            return self.embedded(target, value)
        return getter

    def embedded(self, target, value):
        result = {}
        for field in embedded_fields_in(target, self.version):
            raw = value.get(field.name, field.zero_value(self.version))
            if field.kind == "num":
                raw = _coerce_number(raw, field.number_type(self.version))
            elif field.kind == "json" and field.target and raw is not None:
                raw = self.embedded(field.target, raw)
            result[field.name] = raw
        return result

    def _to_one_getter(self, field):
        name, table = field.name, table_of(field.target)
        if self.version in field.full_in:
            target = field.target

            def full(entity):
                related = self.store.get(table, entity.get(name))
                return self.serialize(target, related) if related is not None else None
            return full
        keys = stub_keys(field.target, self.version)

        def stub(entity):
            related = self.store.get(table, entity.get(name)) if table else None
            return {key: related.get(key) for key in keys} if related is not None else None
        return stub

    def _to_many_getter(self, field):
        if not (field.inverse or field.held_by or field.stored_ids):
            return lambda entity: []
        keys, related = stub_keys(field.target, self.version), self.store.related
        return lambda entity: [{key: row.get(key) for key in keys} for row in related(field, entity)]


def _copy_default(value, zero):
    if value is None:
        return type(zero)()
    return value
