# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Call the CloudTower simulator's admin API (/__sim/<route>) from the controller.

A test helper of the setup_simulator role: the targets reset the simulator, set faults and read its state hundreds
of times, and a lookup costs about 10 ms where a uri task costs a module run (about half a second of CPU).
Usage: lookup('simulator_admin', 'reset', url=cloudtower_sim_url, body={...}) POSTs the body; without body it GETs.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase


def connection(url, timeout):
    """A connection to the simulator; plain HTTP needs no TLS context.

    urllib's openers build a default TLS context (loading the CA store, ~35 ms of CPU) even for http:// URLs, and
    the targets call this lookup thousands of times. Loopback only: no proxy may stand between the tests and their
    simulator, and http.client uses none.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context())
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


def call(url, route, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode("utf-8")
    method = "GET" if data is None else "POST"
    path = "%s/__sim/%s" % (urllib.parse.urlsplit(url).path.rstrip("/"), route.lstrip("/"))
    try:
        conn = connection(url, timeout)
        try:
            conn.request(method, path, body=data, headers={"content-type": "application/json"})
            response = conn.getresponse()
            payload = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
    except (OSError, http.client.HTTPException) as error:
        raise AnsibleError("simulator admin %s %s: %s" % (method, route, error))
    if response.status >= 400:
        raise AnsibleError("simulator admin %s %s: HTTP %d %s" % (method, route, response.status, payload[:500]))
    return json.loads(payload or "null")


class LookupModule(LookupBase):
    """lookup('simulator_admin', ROUTE, url=..., body=...) -> the decoded reply."""

    def run(self, terms, variables=None, **kwargs):
        if len(terms) != 1 or "url" not in kwargs:
            raise AnsibleError("simulator_admin takes one route and url=, e.g. lookup('simulator_admin', 'reset', url=...)")
        return [call(kwargs["url"], terms[0], kwargs.get("body"))]
