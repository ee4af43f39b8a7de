# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The export downloader against a real HTTP server: dropped connections resumed with Range, bad files refused."""

from __future__ import annotations

import hashlib
import http.server
import re
import threading

import pytest
import requests

from ansible_collections.smartx.cloudtower.plugins.module_utils import downloads

DATA = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and 4 bytes: more than one chunk


class FileServer(http.server.ThreadingHTTPServer):
    """Serves DATA at any path; each rule of `drops` ends one response after that many bytes; honours Range unless
    ranges is False (then it sends the whole file again)."""

    daemon_threads = True

    def __init__(self, drops=(), ranges=True, statuses=()):
        super().__init__(("127.0.0.1", 0), Handler)
        self.drops = list(drops)
        self.ranges = ranges
        self.statuses = list(statuses)
        self.seen = []

    @property
    def url(self):
        return "http://127.0.0.1:%d/export-files/disk.qcow2?secret=s3cr3t-link" % self.server_address[1]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass

    def do_GET(self):  # pylint: disable=invalid-name
        server = self.server
        asked = self.headers.get("Range")
        server.seen.append(asked)
        if server.statuses:
            status = server.statuses.pop(0)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start = int(re.match(r"bytes=(\d+)-", asked).group(1)) if asked and server.ranges else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(DATA) - start))
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(DATA) - 1, len(DATA)))
        self.end_headers()
        body = DATA[start:]
        if server.drops:
            self.wfile.write(body[:server.drops.pop(0)])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def serve():
    servers = []

    def start(**kwargs):
        server = FileServer(**kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def fetch(server, path, **kwargs):
    with requests.Session() as session:
        return downloads.download(session, server.url, str(path), sleep=lambda _s: None, **kwargs)


def test_a_dropped_connection_is_resumed_with_a_range_request(serve, tmp_path):
    server = serve(drops=[300000, 600000])
    expected = {"md5": hashlib.md5(DATA).hexdigest(), "sha256": hashlib.sha256(DATA).hexdigest()}
    result = fetch(server, tmp_path / "f", expected_size=len(DATA), expected=expected)
    assert (tmp_path / "f").read_bytes() == DATA
    # Each resume asks for the rest from the last whole chunk that arrived: after the first, before the drop.
    first, second = (int(re.match(r"bytes=(\d+)-$", asked).group(1)) for asked in server.seen[1:])
    assert server.seen[0] is None and 0 < first <= 300000 and first < second <= first + 600000
    assert result["resumed"] == 2 and result["size"] == len(DATA) and result["digests"] == expected


def test_a_server_ignoring_the_range_is_read_from_the_start(serve, tmp_path):
    server = serve(drops=[100000], ranges=False)
    result = fetch(server, tmp_path / "f", expected_size=len(DATA), expected={"sha256": hashlib.sha256(DATA).hexdigest()})
    assert (tmp_path / "f").read_bytes() == DATA and result["resumed"] == 0


def test_a_5xx_answer_is_asked_again(serve, tmp_path):
    server = serve(statuses=[503])
    fetch(server, tmp_path / "f")
    assert (tmp_path / "f").read_bytes() == DATA and server.seen == [None, None]


@pytest.mark.parametrize("checks, words", [
    ({"expected_size": len(DATA) + 1}, "bytes arrived"),
    ({"expected": {"md5": "0" * 32}}, "md5"),
    ({"expected": {"sha256": hashlib.sha256(b"other").hexdigest()}}, "sha256"),
])
def test_a_file_of_the_wrong_size_or_digest_is_refused(serve, tmp_path, checks, words):
    server = serve()
    with pytest.raises(downloads.DownloadError) as raised:
        fetch(server, tmp_path / "f", label="disk 0", **checks)
    assert words in raised.value.message and "disk 0" in raised.value.message
    assert "s3cr3t" not in raised.value.message


def test_drops_beyond_the_attempts_fail_without_showing_the_link(serve, tmp_path):
    server = serve(drops=[1000] * 5)
    with pytest.raises(downloads.DownloadError) as raised:
        fetch(server, tmp_path / "f", attempts=3)
    assert "3 attempts" in raised.value.message and "s3cr3t" not in raised.value.message and len(server.seen) == 3


def test_a_4xx_answer_fails_at_once(serve, tmp_path):
    server = serve(statuses=[404])
    with pytest.raises(downloads.DownloadError) as raised:
        fetch(server, tmp_path / "f")
    assert "HTTP 404" in raised.value.message and len(server.seen) == 1
