# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Call the CloudTower simulator's admin API (/__sim/<route>) from the controller.

A test helper of the setup_simulator role: the targets reset the simulator, set faults and read its state hundreds
of times, and a lookup costs about 10 ms where a uri task costs a module run (about half a second of CPU).
Usage: lookup('simulator_admin', 'reset', url=cloudtower_sim_url, body={...}) POSTs the body; without body it GETs.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase


def call(url, route, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request("%s/__sim/%s" % (url.rstrip("/"), route.lstrip("/")), data=data,
                                     method="GET" if data is None else "POST",
                                     headers={"content-type": "application/json"})
    # Loopback only: no proxy may stand between the tests and their simulator.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8") or "null")
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")[:500]
        raise AnsibleError("simulator admin %s %s: HTTP %d %s" % (request.get_method(), route, error.code, detail))
    except (urllib.error.URLError, OSError) as error:
        raise AnsibleError("simulator admin %s %s: %s" % (request.get_method(), route, error))


class LookupModule(LookupBase):
    """lookup('simulator_admin', ROUTE, url=..., body=...) -> the decoded reply."""

    def run(self, terms, variables=None, **kwargs):
        if len(terms) != 1 or "url" not in kwargs:
            raise AnsibleError("simulator_admin takes one route and url=, e.g. lookup('simulator_admin', 'reset', url=...)")
        return [call(kwargs["url"], terms[0], kwargs.get("body"))]
