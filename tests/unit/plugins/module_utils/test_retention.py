# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retention selection: only owned snapshots, keep_last as a floor, age against a fixed clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.retention import (
    RetentionPolicy,
    format_timestamp,
    is_settled,
    parse_timestamp,
)

NOW = datetime(2025, 1, 10, 12, 0, 0, tzinfo=timezone.utc)


def snap(name, days_old, sid=None, busy=None, created=True):
    return {
        "id": sid or "id-%s" % name,
        "name": name,
        "local_created_at": format_timestamp(NOW - timedelta(days=days_old)) if created else None,
        "entityAsyncStatus": busy,
    }


def names(selection):
    return [s["name"] for s, _reason in selection]


def test_timestamps_round_trip_in_cloudtowers_format():
    moment = datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=timezone.utc)
    assert format_timestamp(moment) == "2024-05-01T10:00:00.123Z"
    assert parse_timestamp("2024-05-01T10:00:00.123Z") == moment
    assert parse_timestamp("2024-05-01T10:00:00Z") == moment.replace(microsecond=0)
    assert parse_timestamp(None) is None
    assert parse_timestamp("yesterday") is None


def test_keep_last_deletes_the_older_owned_snapshots_oldest_first():
    snapshots = [snap("nightly-%d" % d, d) for d in (1, 5, 2, 4, 3)]
    selection = RetentionPolicy("nightly-", keep_last=2).select(snapshots, NOW)
    assert names(selection) == ["nightly-5", "nightly-4", "nightly-3"]
    assert all(reason == "beyond the newest 2" for _s, reason in selection)


def test_snapshots_without_the_prefix_are_never_touched_or_counted():
    snapshots = [snap("nightly-1", 1), snap("manual-before-upgrade", 30), snap("nightly-2", 2), snap("Nightly-3", 3),
                 snap("other-nightly-4", 40)]
    policy = RetentionPolicy("nightly-", keep_last=1, older_than=86400)
    assert names(policy.select(snapshots, NOW)) == ["nightly-2"]
    assert names(RetentionPolicy("nightly-", older_than=3600).select(snapshots, NOW)) == ["nightly-2", "nightly-1"]


def test_older_than_alone_deletes_by_age_only():
    snapshots = [snap("b-%d" % d, d) for d in (1, 6, 7, 8, 30)]
    selection = RetentionPolicy("b-", older_than=7 * 86400).select(snapshots, NOW)
    # exactly 7 days old is not older than 7 days
    assert names(selection) == ["b-30", "b-8"]
    assert all(reason == "older than 1w" for _s, reason in selection)


def test_with_both_keep_last_is_a_floor_that_age_does_not_dig_under():
    snapshots = [snap("b-%d" % d, d) for d in (20, 30, 40)]
    policy = RetentionPolicy("b-", keep_last=2, older_than=86400)
    assert names(policy.select(snapshots, NOW)) == ["b-40"]
    assert policy.select(snapshots, NOW)[0][1] == "beyond the newest 2 and older than 1d"
    # beyond the newest two, but young: kept
    young = [snap("b-%d" % h, h / 24.0) for h in (1, 2, 3)]
    assert policy.select(young, NOW) == []


def test_busy_and_undated_snapshots_are_neither_deleted_nor_counted():
    snapshots = [snap("b-new", 0.1, busy="CREATING"), snap("b-undated", 0, created=False),
                 snap("b-1", 1), snap("b-2", 2), snap("b-going", 9, busy="DELETING")]
    selection = RetentionPolicy("b-", keep_last=1).select(snapshots, NOW)
    assert names(selection) == ["b-2"]
    assert not is_settled(snapshots[0]) and not is_settled(snapshots[1]) and is_settled(snapshots[2])


def test_keep_last_zero_selects_every_owned_snapshot():
    snapshots = [snap("b-1", 1), snap("x-1", 1), snap("b-2", 2)]
    assert names(RetentionPolicy("b-", keep_last=0).select(snapshots, NOW)) == ["b-2", "b-1"]


def test_a_per_vm_prefix_overrides_the_template():
    snapshots = [snap("nightly-web-1", 3), snap("nightly-db-1", 3), snap("nightly-web-2", 2)]
    policy = RetentionPolicy("nightly-{vm_name}-", keep_last=1)
    assert names(policy.select(snapshots, NOW, prefix="nightly-web-")) == ["nightly-web-1"]


def test_equal_timestamps_are_ordered_by_id_so_the_choice_is_stable():
    snapshots = [snap("b-x", 1, sid="b"), snap("b-y", 1, sid="a"), snap("b-z", 1, sid="c")]
    assert names(RetentionPolicy("b-", keep_last=2).select(snapshots, NOW)) == ["b-y"]


def policy_from(creating=True, **params):
    base = {"keep_last": None, "older_than": None, "retention_prefix": None}
    base.update(params)
    return RetentionPolicy.from_params(base, creating=creating)


def test_no_retention_options_means_no_policy():
    assert policy_from() is None


@pytest.mark.parametrize("params, option, text", [
    ({"keep_last": 3}, "retention_prefix", "is required"),
    ({"keep_last": 3, "retention_prefix": "  "}, "retention_prefix", "must not be empty"),
    ({"retention_prefix": "b-"}, "retention_prefix", "no effect without keep_last or older_than"),
    ({"keep_last": 0, "retention_prefix": "b-"}, "keep_last", "at least 1 with state=present"),
    ({"older_than": "7 days", "retention_prefix": "b-"}, "older_than", "must be a duration"),
    ({"older_than": "0", "retention_prefix": "b-"}, "older_than", "positive"),
])
def test_bad_retention_options_name_the_option(params, option, text):
    with pytest.raises(InputError) as caught:
        policy_from(**params)
    assert caught.value.option == option
    assert text in caught.value.message


def test_keep_last_zero_is_allowed_when_only_pruning_but_not_negative():
    assert policy_from(creating=False, keep_last=0, retention_prefix="b-").keep_last == 0
    with pytest.raises(InputError) as caught:
        policy_from(creating=False, keep_last=-1, retention_prefix="b-")
    assert caught.value.option == "keep_last"


def test_durations_are_parsed_and_described():
    policy = policy_from(keep_last=7, older_than="1d12h", retention_prefix="b-")
    assert policy.older_than == 36 * 3600
    assert policy.describe() == "keep the newest 7 and delete those older than 36h of the snapshots named b-*"
