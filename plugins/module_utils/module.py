# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base every smartx.cloudtower module is built on.

It adds the shared connection (and wait) options to a module's own argument
spec, gives the module one lazily created client and task waiter, and turns
this collection's typed errors into ``fail_json`` results with structured
fields instead of tracebacks.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.smartx.cloudtower.plugins.module_utils import connection
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    USERINFO,
    CloudTowerClient,
    ConnectionSettings,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError, InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter


# A failure names this many of the last mutations sent; the result's error.sent holds them all.
MUTATIONS_NAMED = 3


def describe_mutation(mutation):
    """'create-vm (x-tower-request-id: r1) -> task t1' for a failure message."""
    text = mutation["operation"]
    if mutation.get("request_id"):
        text += " (x-tower-request-id: %s)" % mutation["request_id"]
    if mutation.get("task_ids"):
        text += " -> task%s %s" % ("s" if len(mutation["task_ids"]) > 1 else "", ", ".join(mutation["task_ids"]))
    return text


def name_list(values, limit=5):
    """'a, b, c' or 'a, b, c, d, e and 7 more': names for a message that stays one line."""
    values = [str(v) for v in values]
    if len(values) <= limit:
        return ", ".join(values)
    return "%s and %d more" % (", ".join(values[:limit]), len(values) - limit)


def check_wait_timeout(timeout):
    """An InputError for a wait_timeout that is not a positive number of seconds, else None."""
    if timeout is not None and timeout <= 0:
        return InputError("wait_timeout", timeout, "must be a positive number of seconds")
    return None


def connection_argument_spec():
    """The options of doc fragment smartx.cloudtower.connection, generated from the one table of them."""
    return connection.argument_spec(env_fallback)


def wait_argument_spec():
    """The options of doc fragment smartx.cloudtower.wait."""
    return dict(
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )


def is_blank(value):
    """A string of nothing but white space (or nothing at all)."""
    return isinstance(value, str) and not value.strip()


def refuse_blank(params, options):
    """An InputError for the first of options given as a blank string, or as a list holding one; else None.

    A blank name would create a VM named "" or look a resource up by "": refused before any request.
    An option left out (None) is not blank.
    """
    for option in options:
        value = params.get(option)
        if is_blank(value):
            return InputError(option, value, "must not be empty or blank")
        if isinstance(value, list):
            for position, element in enumerate(value):
                if element is None or is_blank(element):
                    return InputError(option, value, "element %d is empty or blank: every element must name something" % position)
    return None


class CloudTowerModule(AnsibleModule):
    """AnsibleModule with the shared options, one client, and structured failures.

    non_blank lists the module's options that name something (a VM, a cluster, a snapshot): a blank
    string there is refused, naming the option, before the client is even built.
    """

    def __init__(self, argument_spec, waits=False, non_blank=(), **kwargs):
        spec = connection_argument_spec()
        if waits:
            spec.update(wait_argument_spec())
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        self._client = None
        self._waiter = None
        self._hide_url_credentials()
        # Refusals that need no request: judged here, so no module can send a mutation before them.
        problem = refuse_blank(self.params, non_blank)
        if problem is None and waits:
            problem = check_wait_timeout(self.params.get("wait_timeout"))
        if problem is not None:
            self.fail_json(msg=problem.message, **problem.to_result())

    def _hide_url_credentials(self):
        """User info in cloudtower_host (refused when the client is built) is masked in every result, invocation included."""
        match = USERINFO.match(str(self.params.get("cloudtower_host") or "").strip())
        password = match.group(2).partition(":")[2] if match else None
        if password:
            self.no_log_values.update((match.group(2), password))

    @property
    def client(self):
        if self._client is None:
            self._client = CloudTowerClient(ConnectionSettings.from_params(self.params), warn=self.warn)
        return self._client

    @property
    def waiter(self):
        if self._waiter is None:
            timeout = self.params.get("wait_timeout")
            self._waiter = TaskWaiter(self.client, timeout if timeout is not None else 600)
        return self._waiter

    # What the module works on ("VM web-01"), named in a failure that does not name it already.
    subject = None

    def fail_from_error(self, error, **result):
        """fail_json with the error's message and structured fields, secrets masked.

        The message also names what the module was working on and the mutations it had sent
        (endpoint, x-tower-request-id, task ids), so that a failure in the middle of a wait
        says what is left behind in CloudTower.
        """
        fields = error.to_result()
        message = self.describe_failure(error.message)
        if self._client is not None:
            message = self._client.redact(message)
            fields["error"]["message"] = message
            fields["error"]["sent"] = self._client.mutations
        result.update(fields)
        self.fail_json(msg=message, **result)

    def describe_failure(self, message):
        """message, naming the subject and the mutations sent when it does not already."""
        if self.subject and self.subject not in message:
            message = "%s: %s" % (self.subject, message)
        sent = [describe_mutation(m) for m in (self._client.mutations if self._client is not None else [])]
        sent = [text for text in sent if text not in message]
        if sent:
            message = "%s. Sent before the failure: %s" % (message.rstrip("."), "; ".join(sent[-MUTATIONS_NAMED:]))
        return message

    def run(self, main):
        """Call main(self) and report any CloudTowerError as a clean failure."""
        try:
            main(self)
        except CloudTowerError as error:
            self.fail_from_error(error)
