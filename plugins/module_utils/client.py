# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP client every module uses to talk to CloudTower.

One requests.Session per module run (keep-alive, one TLS handshake), a lazy
login, the raw token in ``Authorization``, a single re-login when the token is
refused, bounded retries for what is safe to retry, and typed errors that name
the endpoint, status, API code and request id. Secrets never leave this file
in clear: they are not logged and are masked in every message built here.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import time
import traceback
from urllib.parse import urlsplit

try:
    import requests
    import urllib3
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised by the sanity import test
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.smartx.cloudtower.plugins.module_utils.connection import DEFAULTS, settings_kwargs
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import (
    ApiError,
    AuthenticationError,
    InputError,
    TransportError,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.retry import Backoff, Deadline, sleep_within
from ansible_collections.smartx.cloudtower.plugins.module_utils.version import USER_AGENT

API_PREFIX = "/v2/api"
# Reads are safe to repeat; a 500 on a read is as retryable as a gateway error.
RETRYABLE_READ_STATUSES = frozenset((500, 502, 503, 504))
REAUTH_STATUSES = frozenset((401, 403))
API_CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]+$")
HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
HTML_TAG = re.compile(r"<[^>]+>")
MASK = "********"
# What OpenSSL says when the other end answers a TLS handshake in plain HTTP.
NOT_TLS = ("wrong version number", "WRONG_VERSION_NUMBER", "record layer failure", "packet length too long", "unknown protocol",
           "http request")
# What a TLS server does with a plain-HTTP request: it hangs up without a reply.
HUNG_UP = ("Remote end closed connection", "RemoteDisconnected", "Connection reset by peer", "ConnectionResetError",
           "Connection aborted")
# scheme://userinfo@rest: the user info (a user name, often with its password) is group 2, never shown.
# Up to the LAST "@": a password may itself hold "@" or "/", and none of it may show in what is printed.
USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)(.*)@([^@]*)$", re.IGNORECASE | re.DOTALL)


def is_read(operation):
    """get-* queries change nothing."""
    return operation.startswith("get-")


def is_safe_to_repeat(operation):
    """Queries and login change nothing in CloudTower, so they may be retried freely."""
    return is_read(operation) or operation == "login"


def readable_text(text):
    """One line of a non-JSON body: a proxy's HTML error page becomes its title, not its markup."""
    if not text or not text.strip():
        return None
    title = HTML_TITLE.search(text)
    if title:
        text = title.group(1)
    elif "<" in text:
        text = HTML_TAG.sub(" ", text)
    return " ".join(text.split())[:300]


class ConnectionSettings:
    """Validated connection options, built from a module's params."""

    def __init__(self, host, username=None, password=None, user_source=DEFAULTS["user_source"], token=None,
                 validate_certs=DEFAULTS["validate_certs"], ca_path=None, language=DEFAULTS["language"],
                 request_timeout=DEFAULTS["request_timeout"], retry_timeout=DEFAULTS["retry_timeout"]):
        # AWX credential types set every variable they define, unset ones to "":
        # an empty value must count as not given, not as an empty token.
        self.base_url = self.normalise_host(host)
        self.username = username or None
        self.password = password or None
        self.user_source = user_source or DEFAULTS["user_source"]
        self.token = token or None
        self.validate_certs = validate_certs
        self.ca_path = ca_path or None
        self.language = language or DEFAULTS["language"]
        self.request_timeout = float(request_timeout)
        self.retry_timeout = float(retry_timeout)
        if self.request_timeout <= 0:
            raise InputError("request_timeout", request_timeout, "must be a positive number of seconds")
        if self.retry_timeout < 0:
            raise InputError("retry_timeout", retry_timeout, "must be zero (no retries) or a positive number of seconds")
        if self.ca_path and validate_certs and not os.path.exists(self.ca_path):
            # requests would only say "invalid path" from deep in urllib3, without naming the option.
            raise InputError("ca_path", ca_path, "no such file or directory: give the PEM file (or c_rehash directory) "
                                                 "of the CA that signed CloudTower's certificate")
        if not token and not (username and password):
            raise InputError(
                "cloudtower_token",
                None,
                "give cloudtower_token (or CLOUDTOWER_TOKEN), or both cloudtower_username and cloudtower_password "
                "(or CLOUDTOWER_USERNAME and CLOUDTOWER_PASSWORD)",
            )

    @classmethod
    def from_params(cls, params):
        """From a module's params (or any mapping of the connection options); unset options take their defaults."""
        return cls(**settings_kwargs(params.get))

    @staticmethod
    def normalise_host(host):
        if not host:
            raise InputError("cloudtower_host", host, "is required: set it or CLOUDTOWER_HOST to the CloudTower URL, e.g. https://cloudtower.example.com")
        text = str(host).strip().rstrip("/")
        userinfo = USERINFO.match(text)
        if userinfo:
            # http://user:password@host would send the password nowhere useful (CloudTower takes no basic auth:
            # a misleading 401 follows) and print it in every message that names the URL.
            raise InputError("cloudtower_host", "%s%s@%s" % (userinfo.group(1), MASK, userinfo.group(3)),
                             "must not contain a user name or password: give the URL alone, e.g. %s%s, and the credentials "
                             "in cloudtower_username and cloudtower_password (or CLOUDTOWER_USERNAME and CLOUDTOWER_PASSWORD)"
                             % (userinfo.group(1), userinfo.group(3)))
        match = re.match(r"^(https?)://[^/\s]+", text, re.IGNORECASE)
        if not match:
            raise InputError("cloudtower_host", host, "must be a URL starting with https:// (or http://), e.g. https://cloudtower.example.com")
        if text.endswith(API_PREFIX):
            text = text[: -len(API_PREFIX)]
        return text

    @property
    def is_plain_http(self):
        return self.base_url.lower().startswith("http://")

    @property
    def secrets(self):
        return [s for s in (self.password, self.token) if s]


class _NoResponse(Exception):
    """A request that produced no HTTP response; says whether the server may have seen it."""

    def __init__(self, reason, may_have_reached_server, tls=False):
        super().__init__(reason)
        self.reason = reason
        self.may_have_reached_server = may_have_reached_server
        self.tls = tls


def _never_reached_server(exc):
    """True when the failure happened before the request could be sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", None)
    return isinstance(reason, urllib3.exceptions.NewConnectionError) or isinstance(cause, urllib3.exceptions.NewConnectionError)


class CloudTowerClient:
    """Sends CloudTower API calls with login, retries and error mapping."""

    def __init__(self, settings, warn=None, sleep=time.sleep, clock=time.monotonic, session=None, rng=None):
        self.settings = settings
        self._warn = warn or (lambda message: None)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._token = settings.token
        self.login_count = 0
        self.request_count = 0
        # Every mutation CloudTower accepted, for failure messages: [{operation, request_id, task_ids}].
        self.mutations = []
        self._last_request_id = None
        self._session = session or self._new_session()
        self._warn_about_transport_security()

    # ----- public API -------------------------------------------------
    def call(self, operation, body=None):
        """POST body to /v2/api/<operation> and return the decoded JSON reply."""
        if self._token is None:
            self.login()
        return self._call_with_retries(operation, {} if body is None else body, authenticated=True)

    def mutate(self, operation, body):
        """Send a mutation; returns the list of {task_id, data} CloudTower answered."""
        reply = self.call(operation, body)
        replies = [reply] if isinstance(reply, dict) else list(reply or [])
        self.mutations.append({"operation": operation, "request_id": self._last_request_id,
                               "task_ids": [r["task_id"] for r in replies if isinstance(r, dict) and r.get("task_id")]})
        return replies

    @property
    def session(self):
        """The HTTP session (TLS settings applied) for downloads CloudTower links to, e.g. export files."""
        return self._session

    def upload(self, operation, fields, file_name, content):
        """One multipart/form-data POST (CloudTower's file uploads, e.g. upload-elf-file); the decoded JSON reply.

        Sent once (a re-login aside): a chunk that may have reached CloudTower is not sent again blindly, the caller
        asks CloudTower how far the upload got and resumes from there.
        """
        if self._token is None:
            self.login()
        form = {key: str(value) for key, value in fields.items() if value is not None}
        for attempt in (1, 2):
            try:
                response = self._post(operation, None, True, form=(form, {"file": (file_name, content, "application/octet-stream")}))
            except _NoResponse as failure:
                raise self._transport_error(operation, failure, attempt)
            if response.status_code in REAUTH_STATUSES and attempt == 1 and self._can_log_in():
                self._token = None
                self.login()
                continue
            if response.status_code >= 400:
                raise self._api_error(operation, response, attempt)
            self._last_request_id = response.headers.get("x-tower-request-id")
            return self._decode(operation, response)
        raise self._api_error(operation, response, 2)

    @property
    def last_mutation_request_id(self):
        """The x-tower-request-id of the last mutation CloudTower accepted (None before any)."""
        return self.mutations[-1]["request_id"] if self.mutations else None

    def login(self):
        """Log in with the configured credentials and keep the token for later calls."""
        settings = self.settings
        if not (settings.username and settings.password):
            raise AuthenticationError(
                "login",
                401,
                "CloudTower rejected the token and no cloudtower_username/cloudtower_password were given to log in again",
            )
        body = {"username": settings.username, "password": settings.password, "source": settings.user_source}
        reply = self._call_with_retries("login", body, authenticated=False)
        token = ((reply or {}).get("data") or {}).get("token") if isinstance(reply, dict) else None
        if not token:
            raise ApiError("login", 200, "the login reply carried no token")
        self._token = token
        self.login_count += 1
        return token

    @property
    def token(self):
        """The token in use, logging in first if needed (for cloudtower_auth)."""
        if self._token is None:
            self.login()
        return self._token

    def redact(self, text):
        """Mask every secret this client knows of in text."""
        if not isinstance(text, str):
            return text
        for secret in self.settings.secrets + ([self._token] if self._token else []):
            if secret:
                text = text.replace(secret, MASK)
        return text

    # ----- retries ----------------------------------------------------
    def _call_with_retries(self, operation, body, authenticated):
        deadline = Deadline(self.settings.retry_timeout, clock=self._clock)
        backoff = Backoff(rng=self._rng)
        relogged_in = False
        attempts = 0
        started = self._clock()
        while True:
            attempts += 1
            try:
                response = self._post(operation, body, authenticated)
            except _NoResponse as failure:
                if self._may_retry_transport(operation, failure) and self._pause(deadline, backoff):
                    continue
                raise self._transport_error(operation, failure, attempts, self._clock() - started)
            if response.status_code < 400:
                self._last_request_id = response.headers.get("x-tower-request-id")
                return self._decode(operation, response)
            if authenticated and response.status_code in REAUTH_STATUSES and not relogged_in and self._can_log_in():
                relogged_in = True
                self._token = None
                self.login()
                continue
            error = self._api_error(operation, response, attempts)
            if authenticated and response.status_code in REAUTH_STATUSES:
                raise error.with_hint(self._token_refused_hint(relogged_in))
            if error.is_resource_locked and self._pause(deadline, backoff):
                continue
            if is_safe_to_repeat(operation) and response.status_code in RETRYABLE_READ_STATUSES and self._pause(deadline, backoff):
                continue
            if operation == "login" and response.status_code < 500:
                raise error.with_hint(self._login_refused_hint())
            raise error

    def _pause(self, deadline, backoff):
        return sleep_within(deadline, backoff.next_delay(), sleep=self._sleep)

    @staticmethod
    def _may_retry_transport(operation, failure):
        if failure.tls:
            return False
        # A mutation that may have reached the server could have started a task:
        # sending it again could create a second VM or snapshot.
        return is_safe_to_repeat(operation) or not failure.may_have_reached_server

    def _token_refused_hint(self, relogged_in):
        if relogged_in:
            return "CloudTower refused a fresh token too: check the user's permissions"
        return ("CloudTower refused the token; give cloudtower_username and cloudtower_password "
                "(or CLOUDTOWER_USERNAME and CLOUDTOWER_PASSWORD) so the module can log in again, or a valid cloudtower_token")

    def _login_refused_hint(self):
        return ("Check cloudtower_username (%s) and cloudtower_password (or CLOUDTOWER_USERNAME and CLOUDTOWER_PASSWORD), and "
                "cloudtower_user_source (%s: LOCAL for a CloudTower user, LDAP for a directory user)"
                % (self.settings.username, self.settings.user_source))

    def _can_log_in(self):
        return bool(self.settings.username and self.settings.password)

    # ----- one HTTP exchange --------------------------------------------
    def _post(self, operation, body, authenticated, form=None):
        headers = {"Authorization": self._token} if authenticated and self._token else {}
        url = "%s%s/%s" % (self.settings.base_url, API_PREFIX, operation)
        self.request_count += 1
        try:
            # verify is passed per request: requests lets REQUESTS_CA_BUNDLE override a
            # session-level verify, which would silently undo ca_path or validate_certs.
            if form is not None:
                # None drops the session's JSON content type: requests then sets multipart/form-data with its boundary.
                headers["Content-Type"] = None
                return self._session.post(url, data=form[0], files=form[1], headers=headers, timeout=self.settings.request_timeout,
                                          verify=self._session.verify)
            return self._session.post(url, json=body, headers=headers, timeout=self.settings.request_timeout,
                                      verify=self._session.verify)
        except requests.exceptions.SSLError as exc:
            raise _NoResponse(self._tls_reason(exc), may_have_reached_server=False, tls=True)
        except requests.exceptions.Timeout as exc:
            reached = not isinstance(exc, requests.exceptions.ConnectTimeout)
            raise _NoResponse("no reply within request_timeout=%ss" % self.settings.request_timeout, reached)
        except requests.exceptions.RequestException as exc:
            text = self.redact(str(exc))
            if self.settings.is_plain_http and any(marker in text for marker in HUNG_UP) and self._speaks_tls():
                # Retrying would only wait out retry_timeout: the port speaks TLS, and the request could not be read.
                raise _NoResponse("the server at %s speaks TLS and hung up on a plain-HTTP request: use https:// in "
                                  "cloudtower_host (CLOUDTOWER_HOST), e.g. %s" % (self._host_port(), self.https_url()),
                                  may_have_reached_server=False, tls=True)
            if "Connection refused" in text or "Errno 111" in text:
                text = "connection refused: nothing accepts connections on %s (a wrong host or port, or CloudTower down?)" % self._host_port()
            raise _NoResponse(text, may_have_reached_server=not _never_reached_server(exc))

    def _decode(self, operation, response):
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(operation, response.status_code, "the reply is not JSON: %s" % self.redact(response.text[:200]),
                           request_id=response.headers.get("x-tower-request-id"))

    def _api_error(self, operation, response, attempts):
        message, code, props = self._parse_error_body(response)
        cls = AuthenticationError if operation == "login" or response.status_code in REAUTH_STATUSES else ApiError
        return cls(
            operation,
            response.status_code,
            self.redact(message),
            api_code=code,
            request_id=response.headers.get("x-tower-request-id"),
            props=props,
            attempts=attempts,
        )

    @staticmethod
    def _parse_error_body(response):
        """Understand both error shapes: a bare JSON string (1.8) and ErrorBody (1.10+)."""
        try:
            body = response.json()
        except ValueError:
            body = readable_text(response.text)
        if isinstance(body, dict):
            message = body.get("message") or body.get("error") or str(body)
            return message, body.get("code"), body.get("props")
        if isinstance(body, str):
            return body, body if API_CODE_PATTERN.match(body) else None, None
        return (str(body) if body is not None else response.reason), None, None

    def _transport_error(self, operation, failure, attempts, elapsed=0.0):
        url = "%s%s/%s" % (self.settings.base_url, API_PREFIX, operation)
        if failure.tls and "speak" in failure.reason:
            message = "CloudTower API /%s: %s is the wrong scheme for the server: %s (not retried)" % (operation, url, failure.reason)
        elif failure.tls:
            message = "TLS verification failed for %s: %s" % (url, failure.reason)
        else:
            message = "CloudTower API /%s: no response from %s: %s" % (operation, url, failure.reason)
            if failure.may_have_reached_server and not is_safe_to_repeat(operation):
                message += " (the request may have reached CloudTower; it was not re-sent, to avoid doing it twice)"
            elif attempts > 1:
                message += " (sent %d times over %.0f s, retried with backoff within retry_timeout=%ss)" % (
                    attempts, elapsed, self.settings.retry_timeout)
            else:
                message += " (not retried: retry_timeout=%ss)" % self.settings.retry_timeout
        return TransportError(message, endpoint=operation, reason=failure.reason, attempts=attempts,
                              may_have_reached_server=failure.may_have_reached_server and not failure.tls,
                              retried_for=round(elapsed, 1))

    def _host_port(self):
        parts = urlsplit(self.settings.base_url)
        return "%s:%s" % (parts.hostname, parts.port or (80 if parts.scheme.lower() == "http" else 443))

    def https_url(self):
        parts = urlsplit(self.settings.base_url)
        return "https://%s%s" % (parts.netloc, parts.path)

    def _speaks_tls(self):
        """Whether cloudtower_host's port completes a TLS handshake (asked once, when a plain-HTTP request got no reply)."""
        if getattr(self, "_tls_probe", None) is None:
            parts = urlsplit(self.settings.base_url)
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # only whether it speaks TLS at all; nothing is sent over it
            try:
                with socket.create_connection((parts.hostname, parts.port or 80), timeout=min(5.0, self.settings.request_timeout)) as raw:
                    with context.wrap_socket(raw, server_hostname=parts.hostname):
                        self._tls_probe = True
            except (OSError, ValueError):
                self._tls_probe = False
        return self._tls_probe

    def _tls_reason(self, exc):
        text = self.redact(str(exc))
        if any(marker in text for marker in NOT_TLS):
            # Not a certificate problem at all: ca_path or validate_certs would not help.
            return ("the server at %s does not speak TLS (it answered the handshake in plain HTTP): check the port in "
                    "cloudtower_host, or use http:// if this CloudTower really serves plain HTTP (credentials then cross the "
                    "network unencrypted)" % self._host_port())
        hint = ("Set ca_path (or CLOUDTOWER_CA_PATH) to the CA certificate that signed CloudTower's certificate, "
                "or validate_certs: false to skip verification (not recommended)")
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            reason = text.rsplit("certificate verify failed", 1)[-1].strip(" :()'\"")
            return "certificate verify failed (%s). %s" % (reason or "untrusted", hint)
        return "%s. %s" % (text, hint)

    # ----- session set-up -------------------------------------------------
    def _new_session(self):
        settings = self.settings
        session = requests.Session()
        session.verify = settings.ca_path if (settings.validate_certs and settings.ca_path) else bool(settings.validate_certs)
        session.headers.update({
            "Content-Type": "application/json",
            "Accept": "application/json",
            "content-language": settings.language,
            "User-Agent": USER_AGENT,
        })
        return session

    def _warn_about_transport_security(self):
        if self.settings.is_plain_http:
            self._warn("cloudtower_host uses plain http://: credentials and tokens cross the network unencrypted. Use https:// outside a lab.")
        elif not self.settings.validate_certs:
            self._warn("validate_certs is false: CloudTower's TLS certificate is not verified. Prefer ca_path with its CA certificate.")
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
