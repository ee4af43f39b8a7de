# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scripted stand-ins for requests.Session and the clock.

They let the client's every retry and error path run deterministically and in
microseconds; the simulator-backed tests cover the same code over real HTTP.
"""

from __future__ import annotations

import json


class FakeResponse:
    def __init__(self, status, body=None, headers=None, raw=None):
        self.status_code = status
        self.headers = headers or {}
        if raw is not None:
            self.text = raw
        else:
            self.text = "" if body is None else json.dumps(body)
        self.content = self.text.encode()
        self.reason = "reason %d" % status

    def json(self):
        return json.loads(self.text)


class FakeSession:
    """Answers each post() with the next scripted item (a FakeResponse or an exception)."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = []
        self.headers = {}
        self.verify = True

    def post(self, url, json=None, headers=None, timeout=None, verify=None):
        self.calls.append({"url": url, "body": json, "headers": dict(headers or {}), "timeout": timeout, "verify": verify})
        if not self.script:
            raise AssertionError("unexpected request to %s" % url)
        item = self.script.pop(0)
        if callable(item) and not isinstance(item, FakeResponse):
            item = item(url, json, headers)
        if isinstance(item, BaseException):
            raise item
        return item

    def operations(self):
        return [c["url"].rsplit("/", 1)[-1] for c in self.calls]


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def login_ok(token="tok-1"):
    return FakeResponse(200, {"task_id": None, "data": {"token": token}})
