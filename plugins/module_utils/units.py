# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Human sizes and durations, parsed strictly with errors that name the option."""

from __future__ import annotations

import re

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError

# Binary units are what CloudTower's UI shows; decimal ones are accepted for
# those who mean them, and documented as such.
SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1024, "ki": 1024, "kib": 1024,
    "m": 1024 ** 2, "mi": 1024 ** 2, "mib": 1024 ** 2,
    "g": 1024 ** 3, "gi": 1024 ** 3, "gib": 1024 ** 3,
    "t": 1024 ** 4, "ti": 1024 ** 4, "tib": 1024 ** 4,
    "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4,
}
SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION_PATTERN = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)


def parse_size(option, value, minimum=1):
    """Bytes from 4GiB, 512MiB, 10G, 2TB or a plain number of bytes."""
    if isinstance(value, bool):
        raise InputError(option, value, "must be a size such as 4GiB, 512MiB or a number of bytes")
    if isinstance(value, int):
        number = value
    else:
        match = SIZE_PATTERN.match(str(value))
        unit = match.group(2).lower() if match else None
        if not match or unit not in SIZE_UNITS:
            raise InputError(option, value, "must be a size such as 4GiB, 512MiB, 100G or a number of bytes "
                                            "(units: B, KiB, MiB, GiB, TiB; KB, MB, GB, TB are decimal)")
        number = float(match.group(1)) * SIZE_UNITS[unit]
        if number != int(number):
            raise InputError(option, value, "is not a whole number of bytes")
        number = int(number)
    if number < minimum:
        raise InputError(option, value, "must be at least %d bytes" % minimum)
    return number


def parse_duration(option, value):
    """Seconds from 7d, 12h, 1d12h, 90m, 2w or a plain number of seconds."""
    if isinstance(value, bool):
        raise InputError(option, value, "must be a duration such as 7d, 12h, 1d12h or a number of seconds")
    if isinstance(value, (int, float)):
        seconds = value
    else:
        text = str(value).strip()
        if text.isdigit():
            seconds = int(text)
        elif DURATION_PATTERN.sub("", text).strip() or not DURATION_PATTERN.search(text):
            raise InputError(option, value, "must be a duration such as 7d, 12h, 1d12h, 90m, 2w or a number of seconds")
        else:
            seconds = sum(int(n) * DURATION_UNITS[u.lower()] for n, u in DURATION_PATTERN.findall(text))
    if seconds <= 0:
        raise InputError(option, value, "must be a positive duration")
    return seconds
