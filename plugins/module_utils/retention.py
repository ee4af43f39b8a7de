# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of a VM's snapshots a retention policy deletes: pure logic, no requests.

Only snapshots whose names start with the policy's prefix are ever considered,
so snapshots taken by people or by other tools are never touched (other
platforms' collections prune by age alone, and users lost snapshots to it).
"""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.units import parse_duration

TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text):
    """A UTC datetime from CloudTower's 2024-05-01T10:00:00.000Z, or None when absent or unreadable."""
    if not isinstance(text, str):
        return None
    for pattern in TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def format_timestamp(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def format_duration(seconds):
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return "%d%s" % (seconds // size, unit)
    return "%ds" % seconds


class RetentionPolicy:
    """keep_last and/or older_than over the snapshots named prefix*.

    With both, a snapshot goes only when it is beyond the newest keep_last AND
    older than older_than: keep_last is a floor that age never digs under.
    """

    def __init__(self, prefix, keep_last=None, older_than=None):
        self.prefix = prefix
        self.keep_last = keep_last
        self.older_than = older_than

    @classmethod
    def from_params(cls, params, creating):
        """The policy the options ask for, or None; bad values fail naming the option."""
        keep_last = params.get("keep_last")
        older_than = params.get("older_than")
        prefix = params.get("retention_prefix")
        if keep_last is None and older_than is None:
            if prefix is not None:
                raise InputError("retention_prefix", prefix, "has no effect without keep_last or older_than")
            return None
        if not prefix or not prefix.strip():
            raise InputError("retention_prefix", prefix, "is required with keep_last or older_than, and must not be empty: "
                                                         "retention only ever deletes snapshots whose names start with it")
        minimum = 1 if creating else 0
        if keep_last is not None and keep_last < minimum:
            reason = "must be at least 1 with state=present (0 would delete the snapshot this task takes)" if creating else "must not be negative"
            raise InputError("keep_last", keep_last, reason)
        seconds = parse_duration("older_than", older_than) if older_than is not None else None
        return cls(prefix, keep_last, seconds)

    def owns(self, snapshot, prefix=None):
        return (snapshot.get("name") or "").startswith(self.prefix if prefix is None else prefix)

    def describe(self):
        parts = []
        if self.keep_last is not None:
            parts.append("keep the newest %d" % self.keep_last)
        if self.older_than is not None:
            parts.append("delete those older than %s" % format_duration(self.older_than))
        return "%s of the snapshots named %s*" % (" and ".join(parts), self.prefix)

    def select(self, snapshots, now, prefix=None):
        """[(snapshot, reason)] to delete among one VM's snapshots, oldest first.

        prefix overrides the policy's prefix (a per-VM expansion of a template).
        A snapshot that is being created or deleted, or has no readable creation
        time, is neither deleted nor counted as one of the kept ones.
        """
        owned = [s for s in snapshots if self.owns(s, prefix) and is_settled(s)]
        newest_first = sorted(owned, key=lambda s: (parse_timestamp(s.get("local_created_at")), s.get("id") or ""), reverse=True)
        kept = newest_first[:self.keep_last] if self.keep_last is not None else []
        candidates = newest_first[len(kept):]
        selected = []
        for snapshot in reversed(candidates):
            reasons = []
            if self.keep_last is not None:
                reasons.append("beyond the newest %d" % self.keep_last)
            if self.older_than is not None:
                age = (now - parse_timestamp(snapshot["local_created_at"])).total_seconds()
                if age <= self.older_than:
                    continue
                reasons.append("older than %s" % format_duration(self.older_than))
            selected.append((snapshot, " and ".join(reasons)))
        return selected


def is_settled(snapshot):
    """Created, not being created or deleted, and dated: the only snapshots retention may count or delete."""
    return not snapshot.get("entityAsyncStatus") and parse_timestamp(snapshot.get("local_created_at")) is not None


def utc_now():
    return datetime.now(timezone.utc)
