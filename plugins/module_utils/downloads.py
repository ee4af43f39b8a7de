# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Downloading a file CloudTower links to (an export file): streamed to disk, resumed, checked.

A dropped connection is not a failed download: the next request asks for the rest with a Range header and the
file grows from where it stopped (a server that answers the whole file again instead is read from the start). The
digests are taken as the bytes arrive, so checking them costs no second read. The link carries a secret (the export
file's secret is its query string): it never appears in an error message.
"""

from __future__ import annotations

import hashlib
import re
import time

try:
    import requests
    HAS_REQUESTS = True
except ImportError:  # pragma: no cover - the modules that download report the missing library
    HAS_REQUESTS = False

# What a dropped connection can cost: urllib3 discards a chunk it could not read whole, so a resume starts at the
# last whole chunk. 64 KiB keeps that small and costs no throughput (the loop is a few thousand turns a second).
CHUNK = 64 * 1024
ATTEMPTS = 5
CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class DownloadError(Exception):
    """The download failed or its bytes are not what CloudTower said (size, md5, sha256)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def new_hash(algorithm):
    """hashlib's algorithm; md5 here checks integrity, not security (FIPS systems allow it so)."""
    try:
        return hashlib.new(algorithm, usedforsecurity=False)
    except TypeError:  # Python < 3.9
        return hashlib.new(algorithm)


def transient_errors():
    """The exceptions after which the rest of the file is asked for again."""
    if not HAS_REQUESTS:
        return (OSError,)
    exceptions = requests.exceptions
    return (exceptions.ConnectionError, exceptions.ChunkedEncodingError, exceptions.Timeout, ConnectionError)


class Download:
    """One file: where it is written, how much arrived, the digests of what arrived."""

    def __init__(self, path, label, expected=None):
        self.path = path
        self.label = label
        self.expected = dict(expected or {})
        self.hashes = {}
        self.written = 0
        self.total = None
        self.resumed = 0
        self.restart()

    def restart(self):
        """Start the file over (a server that ignored the Range header sends it whole)."""
        self.hashes = {name: new_hash(name) for name in set(["sha256"]) | set(self.expected)}
        self.written = 0
        with open(self.path, "wb"):
            pass

    def append(self, stream, chunk):
        stream.write(chunk)
        for digest in self.hashes.values():
            digest.update(chunk)
        self.written += len(chunk)

    def accept(self, response):
        """Check a response's status against what was asked; returns False for one worth asking again (5xx)."""
        if self.written and response.status_code == 206:
            match = CONTENT_RANGE.match(response.headers.get("Content-Range") or "")
            if not match or int(match.group(1)) != self.written:
                raise DownloadError("%s: the server resumed at %s, not at byte %d" % (
                    self.label, response.headers.get("Content-Range"), self.written))
            if match.group(3) != "*":
                self.total = int(match.group(3))
            return True
        if response.status_code == 200:
            if self.written:
                self.restart()
            length = response.headers.get("Content-Length")
            self.total = int(length) if length is not None else self.total
            return True
        if response.status_code >= 500:
            return False
        raise DownloadError("%s: the download answered HTTP %s" % (self.label, response.status_code))

    def result(self):
        return {"size": self.written, "sha256": self.hashes["sha256"].hexdigest(), "resumed": self.resumed,
                "digests": {name: digest.hexdigest() for name, digest in self.hashes.items()}}


def download(session, link, path, label="the export file", expected_size=None, expected=None, attempts=ATTEMPTS,
             timeout=60, progress=None, sleep=time.sleep):
    """Stream link into path; {size, sha256, digests, resumed} once every byte arrived and checked.

    expected_size and expected ({algorithm: hex digest}, e.g. {"md5": ...} as CloudTower lists export files) are
    checked at the end: a file that differs is refused (DownloadError), never kept as if it were right. attempts
    bounds the requests after a dropped connection or a 5xx answer; progress(bytes, total) hears how far it is.
    """
    state = Download(path, label, expected)
    failures = 0
    while True:
        headers = {"Range": "bytes=%d-" % state.written} if state.written else {}
        try:
            complete = fetch(session, link, state, headers, timeout, progress)
        except transient_errors() as error:
            complete, reason = False, type(error).__name__
        else:
            reason = "the connection ended at byte %d of %s" % (state.written, state.total)
        if complete:
            break
        failures += 1
        if failures >= attempts:
            raise DownloadError("%s: %d attempts failed, the last: %s" % (label, failures, reason))
        state.resumed += 1 if state.written else 0
        sleep(min(2 ** failures * 0.25, 5))
    check(state, expected_size)
    return state.result()


def fetch(session, link, state, headers, timeout, progress):
    """One request: append what it brings; True when the file is complete."""
    with session.get(link, stream=True, timeout=timeout, headers=headers, verify=session.verify) as response:
        if not state.accept(response):
            return False
        with open(state.path, "ab") as stream:
            for chunk in response.iter_content(chunk_size=CHUNK):
                state.append(stream, chunk)
                if progress is not None:
                    progress(state.written, state.total)
    return state.total is None or state.written >= state.total


def check(state, expected_size):
    result = state.result()
    if expected_size is not None and state.written != int(expected_size):
        raise DownloadError("%s: %d bytes arrived, CloudTower lists %d" % (state.label, state.written, int(expected_size)))
    for name, value in state.expected.items():
        if value and result["digests"][name] != value.lower():
            raise DownloadError("%s: its %s is %s, CloudTower lists %s" % (state.label, name, result["digests"][name], value))
