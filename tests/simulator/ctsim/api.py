"""The CloudTower endpoints, independent of HTTP: one call in, one (status, body) out."""

from . import query
from .auth import unauthorized
from .errors import ApiError, invalid_input
from .schema import RESOURCES
from .settings import ACTION_ENDPOINTS, MUTATING_ENDPOINTS
from .versions import versions_matching

# get-<table with dashes> lists a resource; get-...-connection counts it.
QUERY_ENDPOINTS = {"get-" + resource.table.replace("_", "-"): resource.name for resource in RESOURCES.values()}
CONNECTION_ENDPOINTS = {endpoint + "-connection": name for endpoint, name in QUERY_ENDPOINTS.items()}
ENDPOINTS = frozenset(["login"]) | frozenset(QUERY_ENDPOINTS) | frozenset(CONNECTION_ENDPOINTS) | frozenset(MUTATING_ENDPOINTS) \
    | frozenset(ACTION_ENDPOINTS)
CONTENT_LANGUAGES = ("en-US", "zh-CN")
# Operations that appeared after 1.8; elsewhere they answer like any unknown path (404).
ENDPOINT_VERSIONS = {
    "export-vm-volume": ">=4.6", "export-vm": ">=4.6", "import-vm-volume": ">=4.6", "upload-elf-file": ">=4.6",
    "rebuild-vm-volume": ">=4.6",
    "get-export-file-download-links": ">=4.6", "expand-vm-disk": ">=1.10", "eject-iso-from-vm-cd-rom": ">=1.10",
    "migrate-vm-across-cluster": ">=4.6", "clone-content-library-vm-template-from-vm": ">=4.6",
    "convert-content-library-vm-template-from-vm": ">=4.6", "delete-content-library-vm-template": ">=4.6",
    "create-vm-from-content-library-template": ">=4.6",
}


def _resource_versions(endpoint):
    name = QUERY_ENDPOINTS.get(endpoint) or CONNECTION_ENDPOINTS.get(endpoint)
    return RESOURCES[name].versions if name else None


ENDPOINTS_BY_VERSION = {
    version: frozenset(endpoint for endpoint in ENDPOINTS
                       if version in versions_matching(ENDPOINT_VERSIONS.get(endpoint))
                       and version in (_resource_versions(endpoint) or (version,)))
    for version in versions_matching(None)
}


def serves(endpoint, version):
    """Whether the version has this operation (else the request is an unknown path)."""
    return endpoint in ENDPOINTS_BY_VERSION[version]


def is_mutating(endpoint):
    return endpoint in MUTATING_ENDPOINTS


def check_content_language(value, features):
    if value is None:
        return
    allowed = CONTENT_LANGUAGES + (("*",) if features.content_language_any else ())
    if value not in allowed:
        raise invalid_input("content-language must be one of %s" % ", ".join(allowed))


def call(state, sessions, endpoint, body, token, now):
    """Run one API call against the state; returns (status, JSON body). Raises ApiError for error replies."""
    if endpoint == "login":
        token_value = sessions.login(body, state)
        return 200, {"task_id": None, "data": {"token": token_value}}
    source = sessions.source_for(token)
    if source is None:
        raise unauthorized(state.settings["unauthorized_status"])
    user_id = state.user_id(source)
    if endpoint in QUERY_ENDPOINTS:
        return 200, state.serializer.serialize_all(QUERY_ENDPOINTS[endpoint], _select(state, QUERY_ENDPOINTS[endpoint], body))
    if endpoint in CONNECTION_ENDPOINTS:
        return 200, {"aggregate": {"count": len(_select(state, CONNECTION_ENDPOINTS[endpoint], body))}}
    try:
        return 200, state.mutations.run(endpoint, body, now, user_id)
    except query.QueryError as error:
        raise invalid_input(str(error)) from error


def _select(state, resource_name, body):
    if not isinstance(body, dict):
        raise invalid_input("body must be an object")
    unknown = [key for key in body if key not in query.PAGINATION_KEYS]
    if unknown:
        raise invalid_input("property %s should not exist" % unknown[0])
    try:
        return query.select(state.store, RESOURCES[resource_name], body, state.version, state.settings["default_order"])
    except query.QueryError as error:
        raise invalid_input(str(error)) from error


def error_reply(error, features, endpoint):
    """(status, body) of an ApiError in the version's error form."""
    return error.status, error.body(features, "/" + endpoint)


def server_error(message):
    return ApiError(500, message=message, code="INTERNAL_SERVER_ERROR", detail=message)
