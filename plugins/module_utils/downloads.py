# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Downloading a file CloudTower links to (an export file): streamed to disk, resumed, checked.

A dropped connection is not a failed download: the next request asks for the rest with a Range header and the
file grows from where it stopped (a server that answers the whole file again instead is read from the start). The
digests to check (the md5 CloudTower lists, or any hashlib algorithm) are taken as the bytes arrive, in a thread of
their own, so checking them costs no second read; it does cost speed wherever the hash is slower than the link (md5
hashes about 600 MB/s on this project's machine, a local download runs faster: benchmarks/README.md), which is why the
export transport checks its md5 beside qemu-img's read instead. The link carries a secret (the export file's secret is
its query string): it never appears in an error message.
"""

from __future__ import annotations

import hashlib
import queue
import re
import threading
import time

try:
    import requests
    from urllib3.exceptions import ProtocolError, ReadTimeoutError, SSLError
    HAS_REQUESTS = True
except ImportError:  # pragma: no cover - the modules that download report the missing library
    HAS_REQUESTS = False

# Each turn of the loop costs Python time: with the simulator serving from a process of its own (2 GB/s here), 256 KiB
# chunks took 0.89x the time of a plain download in 1 MiB chunks, 1 MiB ones 1.00x (benchmarks/README.md). A dropped
# connection loses nothing that arrived (see body_chunks), so the chunk's size does not bound what a resume fetches again.
CHUNK = 1024 * 1024
# Chunks waiting for the digest thread: bounded (16 MiB), so a slow hash holds the download back instead of the memory
# growing.
DIGEST_QUEUE = 16
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


def file_digest(path, algorithm):
    """The hex digest of a file already on disk (a download checked after the fact, beside the next step's read)."""
    digest = new_hash(algorithm)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def transient_errors():
    """The exceptions after which the rest of the file is asked for again."""
    if not HAS_REQUESTS:
        return (OSError,)
    exceptions = requests.exceptions
    return (exceptions.ConnectionError, exceptions.ChunkedEncodingError, exceptions.Timeout, ConnectionError)


class Digests:
    """The digests of the bytes that arrived, taken in a thread of their own while the next bytes arrive (hashlib
    lets go of the GIL on large buffers): the download waits for the hash only when the hash is the slower of the two
    (measured: md5 in this thread 0.43x, md5 inline 0.36x of an unchecked download from the in-process simulator)."""

    def __init__(self, names):
        self.hashes = {name: new_hash(name) for name in names}
        self.queue = queue.Queue(maxsize=DIGEST_QUEUE)
        self.thread = None
        if self.hashes:
            self.thread = threading.Thread(target=self.consume, daemon=True)
            self.thread.start()

    def consume(self):
        for chunk in iter(self.queue.get, None):
            for digest in self.hashes.values():
                digest.update(chunk)

    def update(self, chunk):
        if self.thread is not None:
            self.queue.put(chunk)

    def finish(self):
        """{name: hex digest}; the thread ends (also when the download failed)."""
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.thread = None
        return {name: digest.hexdigest() for name, digest in self.hashes.items()}


class Download:
    """One file: where it is written, how much arrived, the digests of what arrived."""

    def __init__(self, path, label, expected=None):
        self.path = path
        self.label = label
        self.expected = dict(expected or {})
        self.digests = None
        self.written = 0
        self.total = None
        self.resumed = 0
        self.restart()

    def restart(self):
        """Start the file over (a server that ignored the Range header sends it whole)."""
        if self.digests is not None:
            self.digests.finish()
        self.digests = Digests(sorted(self.expected))
        self.written = 0
        with open(self.path, "wb"):
            pass

    def append(self, stream, chunk):
        stream.write(chunk)
        self.digests.update(chunk)
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
            self.resumed += 1  # a server that sends the whole file again instead does not count (restart)
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
        return {"size": self.written, "resumed": self.resumed, "digests": self.digests.finish()}


def download(session, link, path, label="the export file", expected_size=None, expected=None, attempts=ATTEMPTS,
             timeout=60, progress=None, sleep=time.sleep):
    """Stream link into path; {size, digests, resumed} once every byte arrived and checked.

    expected_size and expected ({algorithm: hex digest}, e.g. {"md5": ...} as CloudTower lists export files) are
    checked at the end: a file that differs is refused (DownloadError), never kept as if it were right. attempts
    bounds the requests after a dropped connection or a 5xx answer; progress(bytes, total) hears how far it is.
    """
    state = Download(path, label, expected)
    try:
        return fetch_until_complete(session, link, state, expected_size, attempts, timeout, progress, sleep)
    finally:
        state.digests.finish()


def fetch_until_complete(session, link, state, expected_size, attempts, timeout, progress, sleep):
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
            raise DownloadError("%s: %d attempts failed, the last: %s" % (state.label, failures, reason))
        sleep(min(2 ** failures * 0.25, 5))
    return check(state, expected_size)


def fetch(session, link, state, headers, timeout, progress):
    """One request: append what it brings; True when the file is complete."""
    with session.get(link, stream=True, timeout=timeout, headers=headers, verify=session.verify) as response:
        if not state.accept(response):
            return False
        with open(state.path, "ab") as stream:
            for chunk in body_chunks(response):
                state.append(stream, chunk)
                if progress is not None:
                    progress(state.written, state.total)
    return state.total is None or state.written >= state.total


def body_chunks(response):
    """The body as it arrives, up to CHUNK bytes at a time, with requests' exceptions.

    requests' iter_content has urllib3 decode into a buffer until a whole chunk is there, and drops that buffer when
    the connection ends early: a resume would start at the last whole chunk. An export is not content-encoded, so the
    bytes are read undecoded: a short read (the server closed early) is handed on before the error that follows it. A
    content-encoded body (not what CloudTower sends) still goes through iter_content.
    """
    if (response.headers.get("Content-Encoding") or "identity").lower() != "identity":
        yield from response.iter_content(chunk_size=CHUNK)
        return
    try:
        yield from response.raw.stream(CHUNK, decode_content=False)
    # The mapping requests' iter_content makes, so transient_errors() holds for both paths.
    except ProtocolError as error:
        raise requests.exceptions.ChunkedEncodingError(error)
    except ReadTimeoutError as error:
        raise requests.exceptions.ConnectionError(error)
    except SSLError as error:
        raise requests.exceptions.SSLError(error)


def check(state, expected_size):
    """The result, once the size and digests are those expected."""
    result = state.result()
    if expected_size is not None and state.written != int(expected_size):
        raise DownloadError("%s: %d bytes arrived, CloudTower lists %d" % (state.label, state.written, int(expected_size)))
    for name, value in state.expected.items():
        if value and result["digests"][name] != value.lower():
            raise DownloadError("%s: its %s is %s, CloudTower lists %s" % (state.label, name, result["digests"][name], value))
    return result
