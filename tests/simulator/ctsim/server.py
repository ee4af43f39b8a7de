"""HTTP transport: the CloudTower API under /v2/api/ and the simulator's admin API under /__sim/.

Transport-level faults (latency, 5xx, dropped connections) are applied here; the API itself lives in api.py.
"""

import json
import socket
import ssl
import struct
import sys
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import api
from .admin_dataplane import DATAPLANE_ADMIN_PREFIXES, DataPlaneAdmin
from .downloads import serve_download
from .exports import DOWNLOAD_PREFIX
from .params import MULTIPART_BODIES
from .uploads import loggable, parse_multipart
from .errors import ApiError, invalid_input
from .faults import FaultSpecError
from .settings import SettingsError

API_PREFIX = "/v2/api/"
ADMIN_PREFIX = "/__sim/"
NGINX_PAGE = "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n" \
             "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, simulator):
        self.simulator = simulator
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        # Clients that drop connections or fail TLS verification are expected; anything else is a bug worth showing.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, ssl.SSLError, socket.timeout, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def make_server(simulator):
    server = SimulatorHTTPServer((simulator.host, simulator.port), Handler, simulator)
    if simulator.tls:
        # pylint: disable=import-outside-toplevel
        from .tls import make_self_signed
        if not (simulator.cert and simulator.key):
            simulator.cert, simulator.key = make_self_signed()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(simulator.cert, simulator.key)
        # The handshake then happens in the handler thread, so a slow client cannot stall accept().
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "nginx"

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the request log is the record (and must never echo tokens)."""

    def __getattr__(self, name):
        # The standard library hands a request to do_<METHOD> and answers 501 when there is none. Every method
        # goes to route() instead: on API paths anything but POST is a 404, as on CloudTower, and the admin API
        # picks its own methods.
        if name.startswith("do_"):
            return self.route
        raise AttributeError(name)

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass

    # ----- routing ----------------------------------------------------------------------------------------

    def route(self):
        raw = self._read_body()
        path = urlsplit(self.path).path
        if path.startswith(ADMIN_PREFIX):
            AdminRoutes(self, self.server.simulator).dispatch(path[len(ADMIN_PREFIX):], raw)
            return
        if path.startswith(DOWNLOAD_PREFIX):
            serve_download(self, self.server.simulator)
            return
        ApiExchange(self, self.server.simulator, path, raw).run()

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self):
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def send_json(self, status, body, extra_headers=()):
        self.send_bytes(status, json.dumps(body).encode("utf-8"), "application/json; charset=utf-8", extra_headers)

    def send_bytes(self, status, payload, content_type, extra_headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        # A HEAD reply carries the headers of the full reply but no body (RFC 9110, 9.3.2).
        if self.command != "HEAD":
            self.wfile.write(payload)

    def close_early(self):
        """Close an unfinished reply with FIN: the client reads every byte sent, then the end before Content-Length."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def drop_connection(self):
        """Close with a TCP reset and no reply, like a crashed proxy."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


class ApiExchange:
    """One CloudTower API request: faults, parsing, the call itself, the reply and its log entry."""

    def __init__(self, handler, simulator, path, raw):
        self.handler = handler
        self.simulator = simulator
        self.path = path
        self.raw = raw
        self.started = time.time()
        self.endpoint = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else None
        self.body = None
        self.detail = None
        self.response_is_json = True

    def run(self):
        simulator = self.simulator
        state = simulator.state_now()
        known = api.serves(self.endpoint, state.version) and self.handler.command == "POST"
        mutating = known and api.is_mutating(self.endpoint)
        delay = state.faults.latency_for(self.endpoint) if known else 0
        if delay:
            time.sleep(delay)
        request_id = str(uuid.uuid4()) if state.features.request_id_header else None
        headers = [("x-tower-request-id", request_id)] if request_id else []
        # The request belongs to the state it arrived in, even if a reset happened while it was delayed.
        with simulator.lock:
            status, body = self._respond(state, known, mutating)
        # Bytes a clone or rebuild needs are copied now, outside the lock, before the reply: the cluster serves
        # other requests meanwhile, and the task's end waits for the copy if it comes first.
        state.store.data.run_deferred()
        # Log first: once a client has its reply, the exchange must already be in the log and the record file.
        simulator.log.add({
            "method": self.handler.command, "path": self.path, "endpoint": self.endpoint if known else None,
            "mutating": mutating, "body": self.body, "status": status, "response": body, "started": self.started,
            "duration": round(time.time() - self.started, 6), "request_id": request_id, "api_version": state.version,
            "detail": self.detail, "response_is_json": self.response_is_json,
        })
        if status is None:
            self.handler.drop_connection()
        elif self.response_is_json:
            self.handler.send_json(status, body, headers)
        else:
            self.handler.send_bytes(status, body.encode("utf-8"), "text/html", headers)

    def _respond(self, state, known, mutating):
        """(status, body) of this request; status None means drop the connection."""
        features = state.features
        error_path = "/" + (self.endpoint or self.path.lstrip("/"))
        if not known:
            return 404, ApiError(404, message="Cannot %s %s" % (self.handler.command, self.path)).body(features, error_path)
        if state.faults.count_request():
            self.simulator.sessions.invalidate_all()
        fault = state.faults.http_fault(self.endpoint, mutating)
        if fault is not None:
            return self._fault_reply(fault, features, error_path)
        try:
            api.check_content_language(self.handler.headers.get("content-language"), features)
            body = self._parse_body()
            # Multipart uploads are logged without the file's bytes.
            self.body = loggable(body) if self.endpoint in MULTIPART_BODIES else body
            now = time.time()
            state.engine.advance(now)
            self.simulator.before_call(state, self.endpoint, now)
            try:
                return api.call(state, self.simulator.sessions, self.endpoint, body, self.handler.headers.get("Authorization"), now)
            finally:
                self.simulator.after_call(state)
        except ApiError as error:
            self.detail = error.detail
            return api.error_reply(error, features, self.endpoint)
        except Exception:  # pylint: disable=broad-except
            # A simulator bug must surface as the 500 a client would see, with the traceback on stderr.
            self.detail = traceback.format_exc()
            sys.stderr.write(self.detail)
            return api.error_reply(api.server_error("Internal Server Error"), features, self.endpoint)

    def _fault_reply(self, fault, features, error_path):
        self.detail = "injected fault %s" % (fault,)
        if fault[0] == "reset":
            return None, None
        status = fault[1]
        if status == 500:
            return status, ApiError(500, message="Internal Server Error", code="INTERNAL_SERVER_ERROR").body(features, error_path)
        # 502/503/504 come from the nginx in front of CloudTower, as HTML.
        self.response_is_json = False
        reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}[status]
        return status, NGINX_PAGE % (status, reason, status, reason)

    def _parse_body(self):
        if self.endpoint in MULTIPART_BODIES:
            content_type = self.handler.headers.get("Content-Type") or ""
            if not content_type.startswith("multipart/form-data"):
                raise invalid_input("%s takes multipart/form-data" % self.endpoint)
            try:
                return parse_multipart(content_type, self.raw)
            except ValueError as error:
                raise invalid_input(str(error)) from error
        if not self.raw.strip():
            raise invalid_input("request body is required (send {} for no arguments)")
        try:
            return json.loads(self.raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise invalid_input("request body is not valid JSON: %s" % error) from error


class AdminRoutes:
    """The /__sim/ API: reset, state, requests, faults, settings, patch."""

    def __init__(self, handler, simulator):
        self.handler = handler
        self.simulator = simulator

    def dispatch(self, route, raw):
        method = self.handler.command
        if route.startswith(DATAPLANE_ADMIN_PREFIXES):
            DataPlaneAdmin(self.handler, self.simulator).dispatch(route, raw)
            return
        routes = {
            ("POST", "reset"): self.reset, ("GET", "state"): self.state, ("GET", "requests"): self.requests,
            ("DELETE", "requests"): self.clear_requests, ("POST", "faults"): self.set_faults, ("GET", "faults"): self.faults,
            ("POST", "settings"): self.set_settings, ("GET", "settings"): self.settings, ("POST", "patch"): self.patch,
            ("GET", "info"): self.info,
        }
        action = routes.get((method, route.strip("/")))
        if action is None:
            self.handler.send_json(404, {"error": "no admin route %s /__sim/%s" % (method, route)})
            return
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
            self.handler.send_json(200, action(body))
        except (ValueError, FaultSpecError, SettingsError) as error:
            self.handler.send_json(400, {"error": str(error)})

    def reset(self, body):
        if not isinstance(body, dict):
            raise ValueError("reset takes an object")
        allowed = ("state", "vms", "api_version", "task_seconds", "settings", "seed", "faults")
        unknown = [key for key in body if key not in allowed]
        if unknown:
            raise ValueError("unknown reset keys %s (known: %s)" % (unknown, ", ".join(allowed)))
        return self.simulator.reset(**body)

    def state(self, _body):
        query = parse_qs(urlsplit(self.handler.path).query)
        return self.simulator.state((query.get("resource") or [None])[0])

    def requests(self, _body):
        # ?clear=1 reads and empties the log in one GET, which a test can fetch with a lookup on the
        # controller instead of running a module for the read and another for the DELETE.
        query = parse_qs(urlsplit(self.handler.path).query)
        return self.simulator.requests(clear=(query.get("clear") or ["0"])[0] in ("1", "true", "yes"))

    def clear_requests(self, _body):
        self.simulator.clear_requests()
        return {"cleared": True}

    def set_faults(self, body):
        return self.simulator.set_faults(body)

    def faults(self, _body):
        return self.simulator.faults()

    def set_settings(self, body):
        return self.simulator.set_settings(body)

    def settings(self, _body):
        return self.simulator.settings()

    def patch(self, body):
        if not isinstance(body, dict) or set(body) != {"resource", "id", "set"}:
            raise ValueError("patch takes {\"resource\", \"id\", \"set\"}")
        return self.simulator.patch(body["resource"], body["id"], body["set"])

    def info(self, _body):
        return self.simulator.info()
