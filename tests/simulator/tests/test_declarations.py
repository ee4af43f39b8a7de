"""The simulator's declarations (ctsim/schema.py, ctsim/params.py) equal the official specs, version by version."""

import pytest

NUMBER_TYPES = {"number": "f", "integer": "i"}


def _target(prop):
    """The component name a property refers to (through allOf / array items), or None."""
    inner = prop["allOf"][0] if "allOf" in prop else prop
    if "$ref" in inner:
        return inner["$ref"].rsplit("/", 1)[-1]
    items = inner.get("items") or {}
    return items["$ref"].rsplit("/", 1)[-1] if "$ref" in items else None


def _nullable(prop):
    return bool(prop.get("nullable"))


@pytest.fixture
def schemas(contract_checker, version):
    return contract_checker.validator(version).spec["components"]["schemas"]


def _resources_in(sim_package, version):
    """The declared resources the version has (VmExportFile only from 4.x), checked against that spec."""
    return [(name, resource) for name, resource in sim_package.schema.RESOURCES.items() if resource.exists_in(version)]


def test_resources_exist_exactly_where_the_spec_has_them(sim_package, schemas, version):
    for name, resource in sim_package.schema.RESOURCES.items():
        assert resource.exists_in(version) == (name in schemas), (version, name)


def test_resource_fields_equal_spec_properties(sim_package, schemas, version):
    for name, resource in _resources_in(sim_package, version):
        declared = {field.name for field in resource.fields_in(version)}
        assert declared == set(schemas[name]["properties"]), (version, name)


def test_field_kinds_match_spec(sim_package, schemas, version):
    schema = sim_package.schema
    for name, resource in _resources_in(sim_package, version):
        spec = schemas[name]
        for field in resource.fields_in(version):
            prop = spec["properties"][field.name]
            where = "%s %s.%s" % (version, name, field.name)
            if field.kind != "many":
                assert field.nullable == _nullable(prop), where
            if field.kind == "num":
                assert field.number_type(version) == NUMBER_TYPES[prop["type"]], where
            if field.kind == "enum":
                enum_name = _target(prop)
                assert enum_name == field.target, where
                assert schema.enum_values(field.target, version) == schemas[enum_name]["enum"] or \
                    set(schema.enum_values(field.target, version)) == set(schemas[enum_name]["enum"]), where
            if field.kind in ("one", "many"):
                target = _target(prop)
                if version in field.full_in:
                    assert target == field.target, where
                else:
                    assert set(schema.stub_keys(field.target, version)) == set(schemas[target]["properties"]), where


def test_embedded_objects_match_spec(sim_package, schemas, version):
    schema = sim_package.schema
    for name in schema.EMBEDDED:
        declared = schema.embedded_fields_in(name, version)
        if "Nested" + name not in schemas:
            # An object of later versions only (4.6's NestedTemplateVpcNic): none of its fields exists here.
            assert not declared, (version, name)
            continue
        spec = schemas["Nested" + name]
        assert {field.name for field in declared} == set(spec["properties"]), (version, name)
        for field in declared:
            if field.kind == "num":
                assert field.number_type(version) == NUMBER_TYPES[spec["properties"][field.name]["type"]], (version, name, field.name)


def test_where_keys_equal_spec_where_input(sim_package, schemas, version):
    for name, resource in _resources_in(sim_package, version):
        spec_keys = set(schemas[name + "WhereInput"]["properties"]) - {"AND", "OR", "NOT"}
        assert set(resource.where_keys(version)) == spec_keys, (version, name)


def test_order_by_values_equal_spec_enum(sim_package, schemas, version):
    for name, resource in _resources_in(sim_package, version):
        assert set(resource.order_keys(version)) == set(schemas[name + "OrderByInput"]["enum"]), (version, name)


def test_declared_enums_equal_spec(sim_package, schemas, version):
    schema = sim_package.schema
    for name in schema.ENUMS:
        # Enums missing from a version's spec are used only by fields or params that version lacks.
        if name in schemas:
            assert set(schema.enum_values(name, version)) == set(schemas[name]["enum"]), (version, name)


def _resolve(schemas, node):
    """The schema a node stands for, with allOf parts merged (the spec composes params from common parts)."""
    if "$ref" in node:
        return _resolve(schemas, schemas[node["$ref"].rsplit("/", 1)[-1]])
    if "allOf" in node and "properties" not in node:
        parts = [_resolve(schemas, part) for part in node["allOf"]]
        if len(parts) == 1 and "properties" not in parts[0]:
            return parts[0]
        merged = {"type": "object", "properties": {}, "required": []}
        for part in parts:
            merged["properties"].update(part.get("properties") or {})
            merged["required"] += part.get("required") or []
        return merged
    return node


def _compare_shape(sim_package, schemas, version, shape_name, spec_node, path):
    """Declared request shape keys/required == the spec's, recursively through objects and arrays."""
    params = sim_package.params
    spec_node = _resolve(schemas, spec_node)
    declared = {key: (type_text, required) for key, type_text, required in params.shape_keys(shape_name, version)}
    properties = spec_node.get("properties") or {}
    assert set(declared) == set(properties), (version, path)
    assert {key for key, (_type_text, required) in declared.items() if required} == set(spec_node.get("required") or ()), (version, path)
    for key, (type_text, _required) in declared.items():
        kind, _colon, target = type_text.partition(":")
        child = _resolve(schemas, properties[key])
        if kind == "obj":
            _compare_shape(sim_package, schemas, version, target, child, path + "." + key)
        elif kind == "arr" and target[0].isupper():
            _compare_shape(sim_package, schemas, version, target, child["items"], path + "." + key + "[]")
        elif kind == "where":
            assert properties[key]["$ref"].endswith("/%sWhereInput" % target), (version, path, key)


def test_request_shapes_equal_spec(sim_package, contract_checker, schemas, version):
    spec = contract_checker.validator(version).spec
    for endpoint, body in sim_package.params.BODIES.items():
        if endpoint not in sim_package.api.ENDPOINTS_BY_VERSION[version]:
            continue
        kind, _colon, shape = body.partition(":")
        content_type = "multipart/form-data" if endpoint in sim_package.params.MULTIPART_BODIES else "application/json"
        node = spec["paths"]["/" + endpoint]["post"]["requestBody"]["content"][content_type]["schema"]
        if kind == "arr":
            assert node["type"] == "array", (version, endpoint)
            node = node["items"]
        _compare_shape(sim_package, schemas, version, shape, node, endpoint)


def test_every_served_endpoint_exists_in_spec(sim_package, contract_checker, version):
    paths = contract_checker.validator(version).spec["paths"]
    for endpoint in sim_package.api.ENDPOINTS_BY_VERSION[version]:
        assert "/" + endpoint in paths, (version, endpoint)


def test_operations_of_later_versions_are_not_served(sim_package, contract_checker, version):
    """What a version's spec lacks is an unknown path there, however the simulator could answer it."""
    paths = contract_checker.validator(version).spec["paths"]
    for endpoint in sim_package.api.ENDPOINTS - sim_package.api.ENDPOINTS_BY_VERSION[version]:
        assert "/" + endpoint not in paths, (version, endpoint)
