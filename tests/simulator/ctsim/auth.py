"""Login and session tokens. Tokens are random, kept only in memory, and never logged or recorded."""

import hmac
import secrets

from .errors import ApiError, bad_request
from .params import BodyValidator

# Code of a refused login; the real server's wording is not public ([assumed]).
LOGIN_FAILED = "LOGIN_FAILED"


class Sessions:
    def __init__(self, username, password):
        self.username = username
        self.password = password
        self.tokens = {}

    def login(self, body, state):
        """Validate a LoginInput and return a new token for the simulator's user."""
        BodyValidator(state.version).validate("login", body)
        source = body.get("source") or "LOCAL"
        if source in ("AUTHN", "SSO"):
            raise bad_request("AUTH_CONFIG_NOT_FOUND", "the simulator has no %s authentication configured" % source)
        if source == "LDAP" and not state.settings["ldap_login"]:
            raise bad_request(LOGIN_FAILED, "LDAP login is disabled (setting ldap_login)")
        if not (self._same(body["username"], self.username) and self._same(body["password"], self.password)):
            raise bad_request(LOGIN_FAILED, "wrong username or password")
        token = secrets.token_urlsafe(32)
        # Tokens remember only the login source, so they stay valid across /__sim/reset.
        self.tokens[token] = source
        return token

    @staticmethod
    def _same(given, expected):
        return hmac.compare_digest(str(given).encode("utf-8"), str(expected).encode("utf-8"))

    def source_for(self, token):
        """The login source of a known token, or None."""
        return self.tokens.get(token) if token else None

    def invalidate_all(self):
        self.tokens.clear()


def unauthorized(status):
    return ApiError(status, code="UNAUTHORIZED", message="Unauthorized", detail="missing or unknown Authorization token")
