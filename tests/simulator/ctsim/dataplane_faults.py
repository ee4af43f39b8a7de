"""Data-plane faults (POST /__sim/dataplane/faults): the portal down, iSCSI connections dropped mid-read, download
links answering 500 or closing early, upload chunks refused. (Failed export/import tasks are ordinary
task_failures of the API fault spec, with operations ["export-vm-volume", "import-vm-volume", ...].)

    {"portal_down": true,
     "iscsi_drops":          [{"after_seconds": 0.3, "refuse_seconds": 2, "next": 1}],
     "download_errors":      [{"status": 500, "nth": 1}],
     "download_truncations": [{"after_bytes": 65536, "next": 1}, {"after_bytes": 800000, "reset": false}],
     "upload_chunk_refusals": [{"chunk": 2, "status": 500}]}

A truncation resets the connection (RST, like a crashed proxy: the client's kernel may discard bytes it had not read
yet) unless "reset" is false: then the server closes it (FIN) and every byte it sent reaches the client first.

Counting (nth/next/share) works as in the API fault spec. What fired is listed under "events".
"""

import copy
import threading
import time

from .faults import CountingRule, FaultSpecError, _as_list

RULE_KEYS = {
    "iscsi_drops": ("after_seconds", "refuse_seconds", "nth", "next", "share"),
    "download_errors": ("status", "nth", "next", "share"),
    "download_truncations": ("after_bytes", "reset", "nth", "next", "share"),
    "upload_chunk_refusals": ("chunk", "status", "nth", "next", "share"),
}
TOP_LEVEL_KEYS = ("portal_down",) + tuple(RULE_KEYS)
ERROR_STATUSES = (400, 500, 502, 503, 504)


def _number(rule, key, default=None, minimum=0):
    value = rule.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise FaultSpecError("%s must be a number >= %s" % (key, minimum))
    return value


class DataPlaneFaults:
    def __init__(self, spec=None, rng=None):
        spec = spec or {}
        if not isinstance(spec, dict):
            raise FaultSpecError("the data-plane fault spec must be a JSON object")
        unknown = sorted(set(spec) - set(TOP_LEVEL_KEYS))
        if unknown:
            raise FaultSpecError("unknown data-plane fault keys %s (known: %s)" % (unknown, ", ".join(TOP_LEVEL_KEYS)))
        if not isinstance(spec.get("portal_down", False), bool):
            raise FaultSpecError("portal_down must be true or false")
        self.spec = copy.deepcopy(spec)
        self.portal_down = spec.get("portal_down", False)
        self.rules = {}
        for key, allowed in RULE_KEYS.items():
            rules = _as_list(spec.get(key, []), key)
            for rule in rules:
                extra = sorted(set(rule) - set(allowed))
                if extra:
                    raise FaultSpecError("unknown keys %s in %s (known: %s)" % (extra, key, ", ".join(allowed)))
                self._check(key, rule)
            self.rules[key] = [CountingRule(rule, rng) for rule in rules]
        self.events = []
        self.lock = threading.Lock()

    @staticmethod
    def _check(key, rule):
        if key == "iscsi_drops":
            _number(rule, "after_seconds", 0.0)
            _number(rule, "refuse_seconds", 0.0)
        elif key == "download_truncations":
            _number(rule, "after_bytes", None)
            if not isinstance(rule.get("reset", True), bool):
                raise FaultSpecError("reset must be true or false")
        elif key == "upload_chunk_refusals":
            _number(rule, "chunk", None, minimum=1)
        if key in ("download_errors", "upload_chunk_refusals") and rule.get("status", 500) not in ERROR_STATUSES:
            raise FaultSpecError("%s status must be one of %s" % (key, ERROR_STATUSES))

    def record(self, kind, **details):
        with self.lock:
            self.events.append(dict(details, kind=kind, at=time.time()))

    def report(self):
        with self.lock:
            return {"spec": self.spec, "events": list(self.events)}

    def download_fault(self):
        """None, ("status", code) or ("truncate", bytes, reset) for one download request."""
        with self.lock:
            for rule in self.rules["download_errors"]:
                if rule.fires():
                    outcome = ("status", rule.spec.get("status", 500))
                    break
            else:
                outcome = None
                for rule in self.rules["download_truncations"]:
                    if rule.fires():
                        outcome = ("truncate", int(rule.spec["after_bytes"]), rule.spec.get("reset", True))
                        break
        if outcome:
            self.record("download_" + outcome[0], value=outcome[1])
        return outcome

    def upload_chunk_fault(self, chunk_number):
        """None or the HTTP status refusing this chunk (1-based number within its upload)."""
        with self.lock:
            for rule in self.rules["upload_chunk_refusals"]:
                if rule.spec["chunk"] == chunk_number and rule.fires():
                    status = rule.spec.get("status", 500)
                    break
            else:
                return None
        self.record("upload_chunk_refused", chunk=chunk_number, status=status)
        return status

    def drop_rule_for_session(self):
        """The iscsi_drops rule that takes a newly seen session, or None (each new session counts once)."""
        with self.lock:
            for rule in self.rules["iscsi_drops"]:
                if rule.fires():
                    return rule.spec
        return None

    @property
    def watches_sessions(self):
        return bool(self.rules["iscsi_drops"])


class SessionDropper:
    """Watches the portal's sessions and drops those an iscsi_drops rule takes, after_seconds after they appear;
    refuse_seconds then keeps the portal down so the initiator cannot simply log in again."""

    INTERVAL = 0.02

    def __init__(self, dataplane):
        self.dataplane = dataplane
        self.seen = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ctsim-iscsi-drops", daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping.set()

    def ignore_sessions(self, sessions):
        """Sessions already there when a fault spec is set are not "new": a rule takes a session started after it
        (a test's earlier initiator, still listed for a moment after its logout, took the rule before)."""
        now = time.time()
        for _target_id, tid, sid, cid, _initiator, _ip in sessions:
            self.seen[(tid, sid, cid)] = (now, None)

    def _run(self):
        while not self.stopping.wait(self.INTERVAL):
            portal, faults = self.dataplane.portal, self.dataplane.faults
            if portal is None or portal.down or not faults.watches_sessions:
                continue
            now = time.time()
            for target_id, tid, sid, cid, initiator, _ip in portal.sessions():
                key = (tid, sid, cid)
                if key not in self.seen:
                    self.seen[key] = (now, faults.drop_rule_for_session())
                first_seen, rule = self.seen[key]
                if rule is not None and now - first_seen >= rule.get("after_seconds", 0.0):
                    self.seen[key] = (first_seen, None)
                    self._drop(portal, faults, (target_id, tid, sid, cid, initiator), rule)

    def _drop(self, portal, faults, session, rule):
        target_id, tid, sid, cid, initiator = session
        portal.drop_connection(tid, sid, cid)
        faults.record("iscsi_drop", target_id=target_id, tid=tid, sid=sid, cid=cid, initiator=initiator)
        refuse = rule.get("refuse_seconds", 0.0)
        if refuse:
            self.dataplane.hold_portal_down(refuse)
