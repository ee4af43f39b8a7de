# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The export downloader against a real HTTP server: dropped connections resumed with Range, bad files refused; and
against the simulator's own export links, cut by its data-plane fault."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import json
import os
import re
import shutil
import threading

import pytest
import requests

from ansible_collections.smartx.cloudtower.plugins.module_utils import downloads, volume_export
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import CloudTowerClient, ConnectionSettings
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import PASSWORD, USERNAME

DATA = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and 4 bytes: more than one chunk


class FileServer(http.server.ThreadingHTTPServer):
    """Serves DATA at any path; each rule of `drops` ends one response after that many bytes; honours Range unless
    ranges is False (then it sends the whole file again)."""

    daemon_threads = True

    def __init__(self, drops=(), ranges=True, statuses=(), gzipped=False):
        super().__init__(("127.0.0.1", 0), Handler)
        self.gzipped = gzipped
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
        if server.gzipped:
            body = gzip.compress(DATA)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
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
    # Each resume asks for the rest from the byte after the last that arrived: nothing that arrived is fetched again.
    first, second = (int(re.match(r"bytes=(\d+)-$", asked).group(1)) for asked in server.seen[1:])
    assert server.seen[0] is None and (first, second) == (300000, 900000)
    assert result["resumed"] == 2 and result["size"] == len(DATA) and result["digests"] == expected


def test_a_server_ignoring_the_range_is_read_from_the_start(serve, tmp_path):
    server = serve(drops=[100000], ranges=False)
    result = fetch(server, tmp_path / "f", expected_size=len(DATA), expected={"sha256": hashlib.sha256(DATA).hexdigest()})
    assert (tmp_path / "f").read_bytes() == DATA and result["resumed"] == 0


def test_a_content_encoded_body_is_written_decoded(serve, tmp_path):
    # Exports are read undecoded (body_chunks); a server that gzips the body anyway still gives the file itself.
    server = serve(gzipped=True)
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


def exported_volume(simulator, data):
    """A 4.6 volume holding data, exported as the export transport exports (QCOW2): (client, export file, link)."""
    simulator.reset(state="demo", api_version="4.6.0")
    client = CloudTowerClient(ConnectionSettings(simulator.url, USERNAME, PASSWORD))
    waiter = TaskWaiter(client, 60)
    cluster_id = client.call("get-clusters", {"first": 1})[0]["id"]
    replies = client.mutate("create-vm-volume", [{"cluster_id": cluster_id, "name": "resume-me", "size": len(data), "sharing": False,
                                                  "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}])
    waiter.wait([r["task_id"] for r in replies])
    simulator.write_volume(replies[0]["data"]["id"], {"offset": 0, "data": base64.b64encode(data).decode("ascii")})
    exporter = volume_export.VolumeExporter(client, waiter)
    export_file = exporter.export(replies[0]["data"]["id"], "export for the resume test")
    return client, export_file, exporter.link(export_file)


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="the simulator's QCOW2 exports need qemu-img (qemu-utils)")
def test_a_download_the_simulator_cuts_after_several_chunks_resumes_with_range_byte_identical(simulator, tmp_path):
    client, export_file, link = exported_volume(simulator, os.urandom(4 * 1024 * 1024))
    size, listed_md5 = int(export_file["files"][0]["fileSize"]), volume_export.listed_md5(export_file)
    # Three whole chunks and part of a fourth, then the server closes: all of them reach the client first (a reset
    # could make its kernel discard what it had not read yet, and the resume start at 0).
    cut = 3 * downloads.CHUNK + 12345
    simulator.dataplane_downloads(clear=True)
    simulator.set_dataplane_faults({"download_truncations": [{"after_bytes": cut, "reset": False, "next": 1}]})
    try:
        result = volume_export.download_export(client.session, link, export_file, str(tmp_path / "disk.qcow2"), "disk 0")
    finally:
        simulator.set_dataplane_faults({})
    served = simulator.dataplane_downloads()
    assert (tmp_path / "disk.qcow2").read_bytes() == requests.get(link, timeout=30).content
    first, second = served
    assert (first["range"], first["status"], first["dropped"], first["bytes_sent"]) == (None, 200, True, cut)
    resumed_at = int(re.match(r"bytes=(\d+)-$", second["range"]).group(1))
    # Every byte the server sent before it closed was kept, the part of a chunk too.
    assert resumed_at == cut
    assert (second["status"], second["dropped"], second["bytes_sent"]) == (206, False, size - resumed_at)
    assert result == {"size": size, "resumed": 1, "digests": {"md5": listed_md5}} and listed_md5
    assert "secret" not in json.dumps(served) and link.split("?", 1)[1] not in json.dumps(served)
