# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.units import parse_duration, parse_size


@pytest.mark.parametrize("text,expected", [
    ("4GiB", 4 * 1024 ** 3), ("512MiB", 512 * 1024 ** 2), ("512 mib", 512 * 1024 ** 2), ("10G", 10 * 1024 ** 3),
    ("1.5GiB", 1536 * 1024 ** 2), ("2TB", 2 * 1000 ** 4), ("4096", 4096), (4096, 4096), ("1KiB", 1024), ("7B", 7),
])
def test_sizes(text, expected):
    assert parse_size("memory", text) == expected


@pytest.mark.parametrize("text", ["4 gigs", "GiB", "-1GiB", "0", "", "1.3B", True, "4GiB extra", "1e3"])
def test_bad_sizes_name_option_and_value(text):
    with pytest.raises(InputError) as info:
        parse_size("memory", text)
    assert info.value.option == "memory" and repr(text) in info.value.message


@pytest.mark.parametrize("text,expected", [
    ("7d", 7 * 86400), ("12h", 43200), ("1d12h", 129600), ("90m", 5400), ("2w", 1209600), ("45s", 45), ("3600", 3600), (60, 60),
    ("1D 2H", 93600),
])
def test_durations(text, expected):
    assert parse_duration("older_than", text) == expected


@pytest.mark.parametrize("text", ["7 days", "d", "-1d", "0", "1y", "", "1d x", False])
def test_bad_durations(text):
    with pytest.raises(InputError) as info:
        parse_duration("older_than", text)
    assert info.value.option == "older_than"
