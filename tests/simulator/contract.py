#!/usr/bin/env python
"""Check recorded CloudTower API exchanges against the official OpenAPI specs.

    python tests/simulator/contract.py --specs DIR RECORD.jsonl [RECORD.jsonl ...]

DIR holds <version>-swagger.json (1.8.0, 1.10.0, 4.6.0). Each line of a record file is one exchange written by
`cloudtower_sim.py --record`. Exits 0 when every exchange conforms, 1 listing the violations, 2 on bad input.

Rules: a response is checked against the spec's schema for its status; 401/403 and unknown paths, which the
spec does not describe, are checked against the version's error form (ErrorBody, or a string on 1.8).
A request is checked only when the simulator accepted it (2xx): accepting a request the spec forbids is a
simulator bug, while refusing one is the point of negative tests. Single objects under AND/OR/NOT are wrapped
in lists first, as GraphQL input coercion does on the real server. Needs jsonschema and referencing.
"""

import argparse
import json
import os
import sys

SPEC_FILE = "%s-swagger.json"
SPEC_DIR_ENV = "CLOUDTOWER_OPENAPI_DIR"
SPEC_URI = "urn:cloudtower-openapi"
LOGICAL_KEYS = ("AND", "OR", "NOT")


def find_spec_dir(explicit=None):
    """The directory holding the specs: `explicit` if given, else $CLOUDTOWER_OPENAPI_DIR when it is set (and
    then only it), else ../shared/cloudtower-openapi beside the checkout. None when that has no specs."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidate = explicit or os.environ.get(SPEC_DIR_ENV) or os.path.join(here, "..", "..", "..", "shared", "cloudtower-openapi")
    if os.path.isfile(os.path.join(candidate, SPEC_FILE % "4.6.0")):
        return os.path.abspath(candidate)
    return None


def translate_nullable(node):
    """OpenAPI 3.0 `nullable: true` -> JSON Schema that also accepts null."""
    if isinstance(node, list):
        return [translate_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    translated = {key: translate_nullable(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [translated, {"type": "null"}]}
    return translated


def coerce_logical_lists(value):
    """Wrap single objects given to AND/OR/NOT in lists (GraphQL list input coercion)."""
    if isinstance(value, list):
        return [coerce_logical_lists(item) for item in value]
    if not isinstance(value, dict):
        return value
    coerced = {}
    for key, item in value.items():
        if key in LOGICAL_KEYS and isinstance(item, dict):
            item = [item]
        coerced[key] = coerce_logical_lists(item)
    return coerced


def _pointer(*parts):
    return "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in parts)


class SpecValidator:
    """Validators for one spec version, compiled lazily per schema location."""

    def __init__(self, spec_path):
        # pylint: disable=import-outside-toplevel
        import jsonschema
        import referencing
        from referencing.jsonschema import DRAFT7

        with open(spec_path, encoding="utf-8") as stream:
            self.spec = json.load(stream)
        self.document = translate_nullable(self.spec)
        resource = referencing.Resource.from_contents(self.document, default_specification=DRAFT7)
        self.registry = referencing.Registry().with_resource(SPEC_URI, resource)
        self.validator_class = jsonschema.Draft7Validator
        self.validators = {}

    def _validator(self, pointer):
        if pointer not in self.validators:
            schema = {"$ref": SPEC_URI + "#/" + pointer}
            self.validators[pointer] = self.validator_class(schema, registry=self.registry)
        return self.validators[pointer]

    def operation(self, endpoint):
        return (self.spec["paths"].get("/" + endpoint) or {}).get("post")

    def error_pointer(self):
        if "ErrorBody" in self.spec["components"]["schemas"]:
            return _pointer("components", "schemas", "ErrorBody")
        return None

    def request_errors(self, endpoint, body):
        operation = self.operation(endpoint)
        if operation is None:
            return ["no such operation in the spec: /%s" % endpoint]
        # Uploads are multipart/form-data: their fields (the file logged as a description) are checked against it.
        content = operation["requestBody"]["content"]
        content_type = "application/json" if "application/json" in content else sorted(content)[0]
        pointer = _pointer("paths", "/" + endpoint, "post", "requestBody", "content", content_type, "schema")
        return self._errors(pointer, coerce_logical_lists(body))

    def response_errors(self, endpoint, status, body):
        operation = self.operation(endpoint) if endpoint else None
        if operation is not None and str(status) in operation["responses"]:
            pointer = _pointer("paths", "/" + endpoint, "post", "responses", str(status), "content", "application/json", "schema")
            return self._errors(pointer, body)
        pointer = self.error_pointer()
        if pointer is None:
            return [] if isinstance(body, str) else ["error body must be a string in this version, got %r" % (body,)]
        return self._errors(pointer, body)

    def _errors(self, pointer, instance):
        validator = self._validator(pointer)
        return ["%s: %s" % ("/".join(str(part) for part in error.absolute_path) or "<root>", error.message)
                for error in sorted(validator.iter_errors(instance), key=lambda error: list(error.absolute_path))][:20]

    def schema_properties(self, name):
        return set((self.spec["components"]["schemas"][name].get("properties") or {}))


class ContractChecker:
    """Loads each version's spec once and checks exchanges."""

    def __init__(self, spec_dir):
        self.spec_dir = spec_dir
        self.validators = {}
        # Clients poll: identical exchanges (same version, endpoint, status and bodies) are checked once.
        self.verdicts = {}

    def validator(self, version):
        if version not in self.validators:
            self.validators[version] = SpecValidator(os.path.join(self.spec_dir, SPEC_FILE % version))
        return self.validators[version]

    def check(self, exchange):
        """Violations of one recorded exchange (empty list when it conforms)."""
        fields = ("api_version", "endpoint", "status", "request", "response", "response_is_json")
        key = json.dumps([exchange.get(name) for name in fields], sort_keys=True)
        if key not in self.verdicts:
            self.verdicts[key] = self._check(exchange)
        return self.verdicts[key]

    def _check(self, exchange):
        status = exchange.get("status")
        if status is None or not exchange.get("response_is_json", True):
            return []
        validator = self.validator(exchange["api_version"])
        endpoint = exchange.get("endpoint")
        problems = []
        if endpoint and 200 <= status < 300:
            problems += ["request: " + message for message in validator.request_errors(endpoint, exchange.get("request"))]
        problems += ["response %s: %s" % (status, message)
                     for message in validator.response_errors(endpoint, status, exchange.get("response"))]
        return problems


def check_files(spec_dir, paths):
    checker = ContractChecker(spec_dir)
    violations, count = [], 0
    for path in paths:
        with open(path, encoding="utf-8") as stream:
            for line_number, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                count += 1
                exchange = json.loads(line)
                where = "%s:%d %s %s (%s)" % (path, line_number, exchange.get("api_version"),
                                              exchange.get("endpoint") or exchange.get("path"), exchange.get("status"))
                violations += ["%s: %s" % (where, problem) for problem in checker.check(exchange)]
    return count, violations


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--specs", help="directory of <version>-swagger.json (default: $%s or ../shared)" % SPEC_DIR_ENV)
    parser.add_argument("records", nargs="+", help="JSON-lines files written by cloudtower_sim.py --record")
    args = parser.parse_args(argv)
    spec_dir = find_spec_dir(args.specs)
    if spec_dir is None:
        sys.stderr.write("contract: no OpenAPI specs found (use --specs or $%s)\n" % SPEC_DIR_ENV)
        return 2
    missing = [path for path in args.records if not os.path.isfile(path)]
    if missing:
        sys.stderr.write("contract: no such record file: %s\n" % ", ".join(missing))
        return 2
    count, violations = check_files(spec_dir, args.records)
    for violation in violations:
        sys.stdout.write(violation + "\n")
    sys.stdout.write("contract: %d exchanges checked, %d violations\n" % (count, len(violations)))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
