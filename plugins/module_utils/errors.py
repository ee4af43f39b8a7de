# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors shared by every module.

Each error knows how to present itself to ``fail_json``: a one-line message a
human can act on, plus structured fields (endpoint, HTTP status, API code,
request id, task ids) that a playbook can branch on.
"""

from __future__ import annotations

from contextlib import contextmanager


class CloudTowerError(Exception):
    """Base of every error this collection raises on purpose."""

    kind = "error"

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    def to_result(self):
        """Fields merged into the failed task's result."""
        error = {"type": self.kind, "message": self.message}
        error.update(self.details)
        return {"error": error}


class InputError(CloudTowerError):
    """An option has a value the module cannot use; raised before any mutation."""

    kind = "input"

    def __init__(self, option, value, reason):
        if value is None:
            message = "Missing value for option '%s': %s" % (option, reason)
        else:
            message = "Invalid value %r for option '%s': %s" % (value, option, reason)
        super().__init__(message, option=option, value=value)
        self.option = option
        self.value = value


class NotFoundError(InputError):
    """A name or id given in an option matches nothing."""

    kind = "not_found"

    def __init__(self, option, value, resource, scope=None):
        where = " in %s" % scope if scope else ""
        super().__init__(option, value, "no %s with this name or id exists%s" % (resource, where))


class AmbiguousNameError(InputError):
    """A name matches several resources; refuse rather than pick one."""

    kind = "ambiguous"

    def __init__(self, option, value, resource, candidates):
        ids = ", ".join(sorted(c["id"] for c in candidates))
        super().__init__(
            option,
            value,
            "%d %ss share this name (ids: %s); give the id instead, or narrow the scope" % (len(candidates), resource, ids),
        )
        self.details["candidates"] = sorted(c["id"] for c in candidates)


class TransportError(CloudTowerError):
    """The request did not produce an HTTP response (refused, reset, timed out, TLS)."""

    kind = "transport"

    def __init__(self, message, endpoint=None, reason=None, attempts=None, may_have_reached_server=None, retried_for=None):
        super().__init__(message, endpoint=endpoint, reason=reason, attempts=attempts, retried_for=retried_for)
        self.endpoint = endpoint
        # A mutation whose reply was lost may have been carried out: the caller may look for what it made.
        self.may_have_reached_server = bool(may_have_reached_server)


class ApiError(CloudTowerError):
    """CloudTower answered with an error status."""

    kind = "api"

    def __init__(self, endpoint, status, api_message, api_code=None, request_id=None, props=None, attempts=None):
        parts = ["CloudTower API /%s failed with HTTP %s" % (endpoint, status)]
        if api_code and api_code != api_message:
            parts.append("[%s]" % api_code)
        parts.append(": %s" % (api_message or "(empty response body)"))
        if request_id:
            parts.append(" (x-tower-request-id: %s)" % request_id)
        super().__init__(
            "".join(parts),
            endpoint=endpoint,
            status=status,
            code=api_code,
            api_message=api_message,
            request_id=request_id,
            props=props,
            attempts=attempts,
        )
        self.endpoint = endpoint
        self.status = status
        self.api_code = api_code
        self.api_message = api_message
        self.request_id = request_id
        self.props = props

    @property
    def is_resource_locked(self):
        return self.api_code == "ResourceLocked"


class RefusedOptionError(InputError):
    """CloudTower refused a read because of a value the user passed through unchanged (a where, an order_by)."""

    def __init__(self, option, value, api_error):
        super().__init__(option, value, "CloudTower refused it: %s" % api_error.message)
        for key in ("endpoint", "status", "code", "api_message", "request_id"):
            if api_error.details.get(key) is not None:
                self.details[key] = api_error.details[key]


@contextmanager
def blamed_on(option, value):
    """Turn a 400 answer to the enclosed reads into an error naming the user's option and value.

    The server validates a raw where or order_by against its GraphQL schema; its answer names the
    field but not the module option the user has to fix.
    """
    try:
        yield
    except AuthenticationError:
        raise
    except ApiError as error:
        if error.status == 400:
            raise RefusedOptionError(option, value, error) from error
        raise


class AuthenticationError(ApiError):
    """Login refused, or a token the server no longer accepts."""

    kind = "authentication"

    def with_hint(self, hint):
        """The same error with advice appended to its message."""
        self.message = "%s. %s" % (self.message, hint)
        self.details["hint"] = hint
        self.args = (self.message,)
        return self


def describe_task(task):
    """One line naming a task, its status and, when it failed, why."""
    text = "task %s (%s)" % (task.get("id"), task.get("description") or "no description")
    status = task.get("status") or "NOT VISIBLE YET"
    text += " is %s" % status
    if status == "FAILED":
        text += ": %s" % (task.get("error_message") or task.get("error_code") or "no error message")
        if task.get("error_code") and task.get("error_message"):
            text += " [%s]" % task["error_code"]
        if task.get("resource_rollbacked"):
            text += "; CloudTower rolled the resource back"
        if task.get("resource_rollback_error"):
            text += "; rollback error: %s" % task["resource_rollback_error"]
    elif status in ("PENDING", "EXECUTING", "PAUSED"):
        progress = task.get("progress")
        if isinstance(progress, (int, float)):
            text += " at %d%%" % round(progress * 100)
    return text


def task_summary(task):
    """The fields of a task a user needs to act on a failure or a timeout."""
    keys = ("id", "description", "status", "progress", "error_code", "error_message", "resource_id",
            "resource_mutation", "resource_rollbacked", "resource_rollback_error")
    return {k: task.get(k) for k in keys}


class TaskFailedError(CloudTowerError):
    """One or more CloudTower tasks ended FAILED."""

    kind = "task_failed"

    def __init__(self, failed, succeeded=None, context=None):
        lead = "%d of %d CloudTower tasks failed" % (len(failed), len(failed) + len(succeeded or []))
        if context:
            lead = "%s: %s" % (context, lead)
        message = "%s: %s" % (lead, "; ".join(describe_task(t) for t in failed))
        super().__init__(
            message,
            failed_tasks=[task_summary(t) for t in failed],
            succeeded_task_ids=[t["id"] for t in (succeeded or [])],
        )
        self.failed = failed
        self.succeeded = succeeded or []


class TaskTimeoutError(CloudTowerError):
    """wait_timeout ran out with tasks still unfinished."""

    kind = "task_timeout"

    def __init__(self, timeout, unfinished, finished=None):
        message = "Timed out after %ss (wait_timeout) waiting for %d CloudTower task(s): %s" % (
            timeout,
            len(unfinished),
            "; ".join(describe_task(t) for t in unfinished),
        )
        super().__init__(
            message,
            wait_timeout=timeout,
            unfinished_tasks=[task_summary(t) for t in unfinished],
            finished_task_ids=[t["id"] for t in (finished or [])],
        )
        self.unfinished = unfinished
