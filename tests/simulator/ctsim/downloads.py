"""Serving export files at their download links: GET/HEAD with Content-Length and single Range requests, so a
client can resume; data-plane faults can answer 500 or close the connection early. Each download request is kept in
the data plane's download log (GET /__sim/dataplane/downloads): its Range header, status and the bytes sent, never
the link's secret."""

import os
import re
from urllib.parse import parse_qs, unquote, urlsplit

from .exports import DOWNLOAD_PREFIX, find_download

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 1024 * 1024


def parse_range(header, size):
    """(start, end inclusive) of a single byte range, None for the whole file, or "unsatisfiable"."""
    if not header:
        return None
    match = RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    if not match.group(1):
        length = int(match.group(2))
        return (max(0, size - length), size - 1) if length else "unsatisfiable"
    start = int(match.group(1))
    end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
    return (start, end) if start < size and start <= end else "unsatisfiable"


def serve_download(handler, simulator):
    url = urlsplit(handler.path)
    parts = url.path[len(DOWNLOAD_PREFIX):].split("/", 1)
    secret = (parse_qs(url.query).get("secret") or [""])[0]
    with simulator.lock:
        state = simulator.state_now()
        found = find_download(state.store, unquote(parts[0]), secret) if handler.command in ("GET", "HEAD") else None
        fault = simulator.dataplane.faults.download_fault()
    served = {"method": handler.command, "path": url.path, "range": handler.headers.get("Range"), "status": None,
              "bytes_sent": 0, "dropped": False}
    simulator.dataplane.download_started()
    try:
        if found is None:
            served["status"] = 404
            handler.send_json(404, {"message": "export file not found", "status": 404, "path": url.path})
        elif fault and fault[0] == "status":
            served["status"] = fault[1]
            handler.send_json(fault[1], {"message": "Internal Server Error (simulated download fault)", "status": fault[1], "path": url.path})
        else:
            _send_file(handler, found[0], found[1], fault[1:] if fault else None, served)
    finally:
        simulator.dataplane.record_download(served)


def _send_file(handler, name, path, truncation, served):
    size = os.path.getsize(path)
    byte_range = parse_range(served["range"], size)
    if byte_range == "unsatisfiable":
        served["status"] = 416
        handler.send_response(416)
        handler.send_header("Content-Range", "bytes */%d" % size)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return
    start, end = byte_range or (0, size - 1)
    served["status"] = 206 if byte_range else 200
    handler.send_response(served["status"])
    handler.send_header("Content-Type", "application/octet-stream")
    handler.send_header("Content-Disposition", 'attachment; filename="%s"' % name)
    handler.send_header("Accept-Ranges", "bytes")
    handler.send_header("Content-Length", str(end - start + 1 if size else 0))
    if byte_range:
        handler.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
    handler.end_headers()
    if handler.command == "HEAD" or not size:
        return
    _stream(handler, path, start, end, truncation, served)


def _stream(handler, path, start, end, truncation, served):
    """Send bytes start..end; truncation (after_bytes, reset) ends the connection early, with a reset or a close."""
    close_after, reset = truncation or (None, True)
    sent = 0
    with open(path, "rb") as stream:
        offset = start
        while offset <= end:
            length = min(CHUNK, end - offset + 1)
            if close_after is not None:
                length = min(length, close_after - sent)
                if length <= 0:
                    # The fault: the connection ends before Content-Length bytes arrived.
                    served["dropped"] = True
                    if reset:
                        handler.drop_connection()
                    else:
                        handler.close_early()
                    return
            block = os.pread(stream.fileno(), length, offset)
            handler.wfile.write(block)
            sent += len(block)
            served["bytes_sent"] = sent
            offset += len(block)
