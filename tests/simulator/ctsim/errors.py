"""Errors the API answers with, rendered in the body form of the selected version."""


class ApiError(Exception):
    """An error reply. `code` is the CloudTower error code; 1.8 answers it as a bare JSON string."""

    def __init__(self, status, code=None, message=None, props=None, error_code_field=None, detail=None):
        super().__init__(message or code)
        self.status = status
        self.code = code
        self.message = message or code
        self.props = props
        # ErrorBody.code (4.6): only ResourceLocked exists.
        self.error_code_field = error_code_field
        # Human explanation for the request log; the wire body carries the code like the real server.
        self.detail = detail

    def body(self, features, path):
        if not features.error_body_object:
            return self.code or self.message
        body = {"message": self.message, "status": self.status, "path": path}
        if self.props is not None:
            body["props"] = self.props
        if self.error_code_field and features.resource_locked_error:
            body["code"] = self.error_code_field
        return body


def bad_request(code, detail=None):
    return ApiError(400, code=code, detail=detail)


def invalid_input(message):
    """Request-shape errors (unknown keys, wrong types): the message names the problem."""
    return ApiError(400, message=message, detail=message)


def resource_locked(locked):
    """locked: [(id, type)] -> the 3.3+ ResourceLocked error."""
    names = ", ".join("%s-%s" % (kind.upper(), entity_id) for entity_id, kind in locked)
    return ApiError(
        400, message="Resource [%s] locked" % names,
        props={"locked_resources": [{"id": entity_id, "type": kind.upper()} for entity_id, kind in locked]},
        error_code_field="ResourceLocked", code="RESOURCE_LOCKED")
