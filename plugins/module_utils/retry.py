# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Delays for retries and polls, always bounded by a deadline.

Kept apart from the HTTP client so the schedule can be unit-tested with a fake
clock, and so the task waiter and the client share one notion of "backoff".
"""

from __future__ import annotations

import random
import time


class Deadline:
    """A point in monotonic time after which we stop trying."""

    def __init__(self, seconds, clock=time.monotonic):
        self._clock = clock
        self.seconds = seconds
        self._end = clock() + seconds

    def remaining(self):
        return max(0.0, self._end - self._clock())

    def expired(self):
        return self._clock() >= self._end


class Backoff:
    """Jittered exponential delays: initial * factor**n, capped, +-jitter.

    Jitter keeps twenty forks that failed together from retrying together.
    """

    def __init__(self, initial=0.5, factor=2.0, cap=8.0, jitter=0.2, rng=None):
        self.initial = initial
        self.factor = factor
        self.cap = cap
        self.jitter = jitter
        self._rng = rng or random.Random()
        self.attempt = 0

    def next_delay(self):
        base = min(self.cap, self.initial * (self.factor ** self.attempt))
        self.attempt += 1
        spread = base * self.jitter
        return max(0.0, base + self._rng.uniform(-spread, spread))

    def reset(self):
        self.attempt = 0


def sleep_within(deadline, delay, sleep=time.sleep):
    """Sleep for delay, or until the deadline if that comes first.

    Returns False when the deadline leaves no time to sleep at all, so a caller
    can stop instead of making one more doomed attempt.
    """
    remaining = deadline.remaining()
    if remaining <= 0:
        return False
    sleep(min(delay, remaining))
    return True
