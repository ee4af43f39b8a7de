"""The request log behind GET /__sim/requests and the --record JSON-lines file.

Secrets never reach either: request passwords, CHAP secrets and response tokens are replaced with "<redacted>" before
anything is stored, and the Authorization header is not kept at all.
"""

import copy
import json
import threading

REDACTED = "<redacted>"
# default_user_password: the cloud-init password of create-vm-from-template.
SECRET_KEYS = ("password", "token", "chap_secret", "default_user_password")


def redact(value):
    """A deep copy of a JSON value with every password/token value replaced."""
    if isinstance(value, dict):
        return {key: (REDACTED if key in SECRET_KEYS and value[key] is not None else redact(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return copy.copy(value)


class RequestLog:
    def __init__(self, record_path=None):
        self.lock = threading.Lock()
        self.entries = []
        self.sequence = 0
        self.record_path = record_path

    def clear(self):
        with self.lock:
            self.entries = []

    def snapshot(self):
        with self.lock:
            return list(self.entries)

    def take(self):
        """The entries so far, and an empty log after them, in one step (no request falls between)."""
        with self.lock:
            entries, self.entries = self.entries, []
            return entries

    def add(self, exchange):
        """exchange: dict with method, path, endpoint, mutating, body, status, response, started, duration,
        request_id, api_version, detail. Body and response are redacted here."""
        body = redact(exchange.get("body"))
        with self.lock:
            self.sequence += 1
            entry = {
                "seq": self.sequence, "method": exchange["method"], "path": exchange["path"],
                "endpoint": exchange.get("endpoint"), "mutating": exchange.get("mutating", False), "body": body,
                "status": exchange.get("status"), "time": exchange["started"], "duration": exchange["duration"],
                "request_id": exchange.get("request_id"), "api_version": exchange.get("api_version"),
                "error_detail": exchange.get("detail"),
            }
            self.entries.append(entry)
            if self.record_path:
                self._append_record(entry, exchange)

    def _append_record(self, entry, exchange):
        response = redact(exchange.get("response"))
        record = {
            "seq": entry["seq"], "api_version": entry["api_version"], "method": entry["method"], "path": entry["path"],
            "endpoint": entry["endpoint"], "request": entry["body"], "status": entry["status"], "response": response,
            "response_is_json": exchange.get("response_is_json", True), "request_id": entry["request_id"],
        }
        with open(self.record_path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(record, sort_keys=True) + "\n")
