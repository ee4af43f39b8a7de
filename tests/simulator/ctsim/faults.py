"""Injected faults: slow or failing HTTP, lost connections, lost sessions, failing or stuck tasks, locked VMs.

A fault spec is one JSON object (see README.md, "Fault spec"). Counting rules (nth/next) count the requests or
tasks that match the rule since the spec was set; share rules draw from the simulator's seeded generator, so a
run with the same seed and the same requests fails the same way.
"""

import copy
import fnmatch

from .settings import MUTATING_ENDPOINTS

TOP_LEVEL_KEYS = ("latency", "http_errors", "connection_resets", "invalidate_tokens_after", "task_failures",
                  "task_hangs", "locks")
MATCHER_KEYS = ("nth", "next", "share", "endpoints", "reads_only", "writes_only")
RULE_KEYS = {
    "latency": ("ms", "endpoints"),
    "http_errors": MATCHER_KEYS + ("status",),
    "connection_resets": MATCHER_KEYS,
    "task_failures": ("nth", "next", "share", "operations", "vm_name", "error_code", "error_message"),
    "task_hangs": ("nth", "next", "share", "operations", "vm_name", "status", "seconds"),
    "locks": ("vm", "seconds"),
}
HTTP_ERROR_STATUSES = (500, 502, 503, 504)
DEFAULT_TASK_ERROR = ("SIMULATED_TASK_FAILURE", "The task failed (simulated fault).")


class FaultSpecError(ValueError):
    """A fault spec the simulator cannot apply."""


def _as_list(value, key):
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    raise FaultSpecError("%s must be an object or a list of objects" % key)


class CountingRule:
    """A rule that fires on its nth match, its next K matches, a share of matches, or every match."""

    def __init__(self, spec, rng):
        self.spec = spec
        self.rng = rng
        self.matches = 0
        self.nth = spec.get("nth")
        self.next = spec.get("next")
        self.share = spec.get("share")
        for key in ("nth", "next"):
            value = spec.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise FaultSpecError("%s must be a positive integer" % key)
        if self.share is not None and (not isinstance(self.share, (int, float)) or not 0 <= self.share <= 1):
            raise FaultSpecError("share must be a number between 0 and 1")

    def fires(self):
        """Count one matching event and say whether the rule applies to it."""
        self.matches += 1
        if self.nth is not None:
            return self.matches == self.nth
        if self.next is not None:
            return self.matches <= self.next
        if self.share is not None:
            return self.rng.random() < self.share
        return True


class RequestRule(CountingRule):
    def __init__(self, spec, rng):
        super().__init__(spec, rng)
        self.endpoints = spec.get("endpoints")
        if self.endpoints is not None and not isinstance(self.endpoints, list):
            raise FaultSpecError("endpoints must be a list of endpoint names such as \"get-vms\"")
        self.reads_only = bool(spec.get("reads_only"))
        self.writes_only = bool(spec.get("writes_only"))

    def applies_to(self, endpoint, mutating):
        if self.endpoints is not None and endpoint not in self.endpoints:
            return False
        if self.reads_only and mutating:
            return False
        return not (self.writes_only and not mutating)


class TaskRule(CountingRule):
    def __init__(self, spec, rng):
        super().__init__(spec, rng)
        self.operations = spec.get("operations")
        if self.operations is not None and (not isinstance(self.operations, list)
                                            or any(name not in MUTATING_ENDPOINTS for name in self.operations)):
            raise FaultSpecError("operations must list mutating endpoints: %s" % ", ".join(MUTATING_ENDPOINTS))
        self.vm_name = spec.get("vm_name")

    def applies_to(self, endpoint, vm_name):
        if self.operations is not None and endpoint not in self.operations:
            return False
        return self.vm_name is None or fnmatch.fnmatchcase(vm_name or "", self.vm_name)


class Faults:
    """The active fault spec plus its counters."""

    def __init__(self, spec, rng, now, paused_status_exists):
        spec = spec or {}
        if not isinstance(spec, dict):
            raise FaultSpecError("the fault spec must be a JSON object")
        unknown = sorted(set(spec) - set(TOP_LEVEL_KEYS))
        if unknown:
            raise FaultSpecError("unknown fault keys %s (known: %s)" % (unknown, ", ".join(TOP_LEVEL_KEYS)))
        for key, allowed in RULE_KEYS.items():
            for rule in _as_list(spec.get(key, []), key):
                extra = sorted(set(rule) - set(allowed))
                if extra:
                    raise FaultSpecError("unknown keys %s in %s (known: %s)" % (extra, key, ", ".join(allowed)))
        self.spec = copy.deepcopy(spec)
        self.latency = [self._latency_rule(rule) for rule in _as_list(spec.get("latency", []), "latency")]
        self.http_errors = [self._http_error_rule(rule, rng) for rule in _as_list(spec.get("http_errors", []), "http_errors")]
        self.resets = [RequestRule(rule, rng) for rule in _as_list(spec.get("connection_resets", []), "connection_resets")]
        self.failures = [TaskRule(rule, rng) for rule in _as_list(spec.get("task_failures", []), "task_failures")]
        self.hangs = [self._hang_rule(rule, rng, paused_status_exists) for rule in _as_list(spec.get("task_hangs", []), "task_hangs")]
        self.locks = [self._lock_window(rule, now) for rule in _as_list(spec.get("locks", []), "locks")]
        self.invalidate_after = spec.get("invalidate_tokens_after")
        if self.invalidate_after is not None and (not isinstance(self.invalidate_after, int) or self.invalidate_after < 0):
            raise FaultSpecError("invalidate_tokens_after must be a non-negative integer")
        self.requests_seen = 0

    @staticmethod
    def _latency_rule(rule):
        milliseconds = rule.get("ms")
        if not isinstance(milliseconds, (int, float)) or milliseconds < 0:
            raise FaultSpecError("latency needs ms >= 0")
        endpoints = rule.get("endpoints")
        return milliseconds / 1000.0, (set(endpoints) if endpoints is not None else None)

    @staticmethod
    def _http_error_rule(rule, rng):
        if rule.get("status", 503) not in HTTP_ERROR_STATUSES:
            raise FaultSpecError("http_errors status must be one of %s" % (HTTP_ERROR_STATUSES,))
        return RequestRule(rule, rng)

    @staticmethod
    def _hang_rule(rule, rng, paused_status_exists):
        status = rule.get("status", "EXECUTING")
        if status not in ("EXECUTING", "PAUSED"):
            raise FaultSpecError("task_hangs status must be EXECUTING or PAUSED")
        if status == "PAUSED" and not paused_status_exists:
            raise FaultSpecError("PAUSED tasks do not exist before API 1.10")
        seconds = rule.get("seconds")
        if seconds is not None and (not isinstance(seconds, (int, float)) or seconds < 0):
            raise FaultSpecError("task_hangs seconds must be >= 0 or null (forever)")
        return TaskRule(rule, rng)

    @staticmethod
    def _lock_window(rule, now):
        seconds = rule.get("seconds")
        if not isinstance(rule.get("vm"), str) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise FaultSpecError("locks need vm (an id, a name glob or \"*\") and seconds >= 0")
        return rule["vm"], now + seconds

    def latency_for(self, endpoint):
        return sum(seconds for seconds, endpoints in self.latency if endpoints is None or endpoint in endpoints)

    def count_request(self):
        """Count an API request; True when this request is the first after the token-invalidation budget."""
        self.requests_seen += 1
        return self.invalidate_after is not None and self.requests_seen == self.invalidate_after + 1

    def http_fault(self, endpoint, mutating):
        """None, ("reset",) or ("status", code) for this request. Every matching rule counts it."""
        outcome = None
        for rule in self.resets:
            if rule.applies_to(endpoint, mutating) and rule.fires() and outcome is None:
                outcome = ("reset",)
        for rule in self.http_errors:
            if rule.applies_to(endpoint, mutating) and rule.fires() and outcome is None:
                outcome = ("status", rule.spec.get("status", 503))
        return outcome

    def task_fault(self, endpoint, vm_name):
        """None, ("fail", code, message) or ("hang", status, seconds or None) for a new task."""
        for rule in self.failures:
            if rule.applies_to(endpoint, vm_name) and rule.fires():
                code = rule.spec.get("error_code", DEFAULT_TASK_ERROR[0])
                return "fail", code, rule.spec.get("error_message", DEFAULT_TASK_ERROR[1])
        for rule in self.hangs:
            if rule.applies_to(endpoint, vm_name) and rule.fires():
                return "hang", rule.spec.get("status", "EXECUTING"), rule.spec.get("seconds")
        return None

    def vm_lock_window(self, vm, now):
        """Whether a fault-made lock window covers this VM entity at `now`."""
        for pattern, until in self.locks:
            if now < until and (pattern in ("*", vm["id"]) or fnmatch.fnmatchcase(vm.get("name") or "", pattern)):
                return True
        return False
