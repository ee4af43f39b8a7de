# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshot naming, consistency choice, batched reads and the disk-to-LUN-snapshot join."""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils.api.snapshots import find_lun_snapshots, find_snapshots
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.snapshots import (
    choose_consistency,
    data_disks,
    describe_missing,
    expand_name,
    join_disks_to_lun_snapshots,
    join_keys_to_lun_snapshots,
    lun_snapshot_keys,
    name_before_resolving,
    named_for_its_vm,
    refuse_colliding_names,
    refuse_names_held_by_other_vms,
    status_from_task,
    task_error,
    validate_name_template,
)

CLUSTER_A = {"id": "cl-a", "name": "a"}
CLUSTER_B = {"id": "cl-b", "name": "b"}


def vm(vid, name, cluster=None, tools="RUNNING"):
    return {"id": vid, "name": name, "cluster": cluster or CLUSTER_A, "vm_tools_status": tools}


AN_ID = "cmg6y13w6055h0958o1afczt5"


@pytest.mark.parametrize("template, value, expected", [
    ("nightly", "web-01", "nightly"),
    ("nightly", AN_ID, "nightly"),
    ("n-{vm_name}", "web-01", "n-web-01"),
    ("n-{vm_name}", AN_ID, None),  # an id does not tell the VM's name
    ("n-{vm_id}", AN_ID, "n-" + AN_ID),
    ("n-{vm_id}", "web-01", None),  # nor a name its id
    ("{vm_name}-{vm_id}", "web-01", None),
])
def test_the_name_a_value_gives_before_its_vm_is_read(template, value, expected):
    assert name_before_resolving(template, value) == expected


def test_a_snapshot_counts_only_under_the_name_its_own_vm_gives():
    snapshot = {"name": "n-web-01", "vm": {"id": "v1", "name": "web-01"}}
    assert named_for_its_vm("n-{vm_name}", snapshot)
    assert not named_for_its_vm("n-{vm_id}", snapshot)
    assert not named_for_its_vm("n-{vm_name}", dict(snapshot, vm={"id": "v2", "name": "web-02"}))
    assert not named_for_its_vm("n-{vm_name}", dict(snapshot, vm=None))


class QueryRecorder:
    """A client answering get-* queries from fixed records, filtered by the where keys the helpers use."""

    def __init__(self, records):
        self.records = records
        self.calls = []

    def call(self, operation, body):
        self.calls.append((operation, body))
        return [r for r in self.records if matches(r, body.get("where") or {})][:body.get("first", 1000)]


def matches(record, where):
    for key, value in where.items():
        if key == "AND" and not all(matches(record, w) for w in value):
            return False
        if key == "OR" and not any(matches(record, w) for w in value):
            return False
        if key == "vm" and (record.get("vm") or {}).get("id") not in value["id_in"]:
            return False
        if key.endswith("_in") and key not in ("AND", "OR") and record.get(key[:-3]) not in value:
            return False
        if key.endswith("_starts_with") and not (record.get(key[:-12]) or "").startswith(value):
            return False
    return True


# ----- names ---------------------------------------------------------------------------
def test_placeholders_expand_per_vm_and_other_text_stays():
    assert expand_name("nightly-{vm_name}-{vm_id}-%Y", vm("cm1", "web-1")) == "nightly-web-1-cm1-%Y"


@pytest.mark.parametrize("template, many, text", [
    ("nightly", True, "must contain {vm_name} or {vm_id}"),
    ("nightly-{vmname}", False, "unknown placeholder(s) {vmname}"),
    ("  ", False, "must not be empty"),
])
def test_bad_templates_are_refused_naming_the_option(template, many, text):
    with pytest.raises(InputError) as caught:
        validate_name_template("name", template, many)
    assert caught.value.option == "name" and text in caught.value.message


def test_a_plain_name_is_fine_for_one_vm():
    validate_name_template("name", "before-upgrade", many=False)
    validate_name_template("name", "b-{vm_id}", many=True)


def test_two_vms_of_one_cluster_with_the_same_name_collide_but_not_across_clusters():
    template = "snap-{vm_name}"
    across = [(vm("1", "web"), "snap-web"), (vm("2", "web", cluster=CLUSTER_B), "snap-web")]
    refuse_colliding_names("name", template, across)
    same = [(vm("1", "web"), "snap-web"), (vm("2", "web"), "snap-web")]
    with pytest.raises(InputError) as caught:
        refuse_colliding_names("name", template, same)
    assert "use {vm_id}" in caught.value.message and "web (id 1)" in caught.value.message


def test_a_name_held_by_another_vms_snapshot_in_the_cluster_is_refused_naming_that_vm():
    planned = [(vm("1", "web"), "backup")]
    own = {"id": "s1", "name": "backup", "vm": {"id": "1", "name": "web"}, "cluster": CLUSTER_A}
    elsewhere = {"id": "s2", "name": "backup", "vm": {"id": "9", "name": "db"}, "cluster": CLUSTER_B}
    refuse_names_held_by_other_vms("name", "backup", planned, [own, elsewhere])
    taken = {"id": "s3", "name": "backup", "vm": {"id": "2", "name": "db"}, "cluster": CLUSTER_A}
    with pytest.raises(InputError) as caught:
        refuse_names_held_by_other_vms("name", "backup", planned, [own, taken])
    assert "held by snapshot s3 of db (id 2)" in caught.value.message
    orphan = {"id": "s4", "name": "backup", "vm": None, "cluster": CLUSTER_A}
    with pytest.raises(InputError) as caught:
        refuse_names_held_by_other_vms("name", "backup", planned, [orphan])
    assert "of a deleted VM" in caught.value.message


# ----- consistency -----------------------------------------------------------------------
def test_crash_consistency_needs_no_vmtools():
    chosen, warnings = choose_consistency([vm("1", "a", tools="NOT_INSTALLED")], "crash", False)
    assert chosen == {"1": "CRASH_CONSISTENT"} and warnings == []


def test_file_system_consistency_without_vmtools_is_refused_listing_the_vms():
    vms = [vm("1", "a"), vm("2", "b", tools="NOT_RUNNING"), vm("3", "c", tools=None)]
    with pytest.raises(InputError) as caught:
        choose_consistency(vms, "file_system", False)
    message = caught.value.message
    assert caught.value.option == "consistent_type"
    assert "b (id 2): vm_tools_status NOT_RUNNING" in message and "c (id 3): vm_tools_status None" in message
    assert "a (id 1)" not in message and "fallback_to_crash_consistent" in message


def test_fallback_downgrades_only_the_vms_without_vmtools_and_warns():
    vms = [vm("1", "a"), vm("2", "b", tools="NOT_RUNNING")]
    chosen, warnings = choose_consistency(vms, "file_system", True)
    assert chosen == {"1": "FILE_SYSTEM_CONSISTENT", "2": "CRASH_CONSISTENT"}
    assert len(warnings) == 1 and "b (id 2)" in warnings[0] and "a (id 1)" not in warnings[0]


# ----- task outcomes -------------------------------------------------------------------------
def test_task_outcomes_map_to_member_statuses_and_errors():
    failed = {"id": "t", "status": "FAILED", "error_code": "SVT_SERVICE_NOT_CONNECTED", "error_message": "no tools"}
    running = {"id": "t", "status": "EXECUTING", "progress": 0.5, "description": "Snap"}
    assert status_from_task({"status": "SUCCESSED"}, "created", True) == "created"
    assert status_from_task(failed, "created", True) == "failed"
    assert status_from_task(running, "created", True) == "timed_out"
    assert status_from_task(running, "created", False) == "pending"
    assert task_error(failed) == {"code": "SVT_SERVICE_NOT_CONNECTED", "message": "no tools"}
    assert "at 50%" in task_error(running)["message"]
    assert task_error({"status": "SUCCESSED"}) is None


# ----- batched reads ---------------------------------------------------------------------------
def test_snapshots_of_many_vms_under_several_prefixes_come_from_one_query():
    records = [
        {"id": "s1", "name": "n-web-1", "vm": {"id": "1"}},
        {"id": "s2", "name": "n-db-1", "vm": {"id": "2"}},
        {"id": "s3", "name": "manual", "vm": {"id": "1"}},
        {"id": "s4", "name": "n-web-2", "vm": {"id": "3"}},
    ]
    client = QueryRecorder(records)
    found = find_snapshots(client, vm_ids=["1", "2"], name_prefixes=["n-web-", "n-db-", "n-web-"])
    assert sorted(s["id"] for s in found) == ["s1", "s2"]
    assert len(client.calls) == 1
    operation, body = client.calls[0]
    assert operation == "get-vm-snapshots" and body["orderBy"] == "local_created_at_ASC"
    assert body["where"] == {"AND": [{"vm": {"id_in": ["1", "2"]}}, {"OR": [{"name_starts_with": "n-db-"}, {"name_starts_with": "n-web-"}]}]}


def test_large_batches_are_chunked_and_empty_lists_send_nothing():
    client = QueryRecorder([])
    find_snapshots(client, vm_ids=["vm-%d" % i for i in range(1001)])
    assert [len(body["where"]["vm"]["id_in"]) for _op, body in client.calls] == [500, 500, 1]
    client = QueryRecorder([])
    assert find_snapshots(client, vm_ids=[]) == [] and client.calls == []


# ----- the disk-to-LUN join ------------------------------------------------------------------
def disk(index, key, kind="DISK", volume=None):
    return {"type": kind, "index": index, "bus": "VIRTIO" if kind == "DISK" else "IDE", "boot": index, "size": 1024 * (index + 1),
            "path": "/p/%s" % index, "snapshot_local_id": key, "vm_volume_local_id": volume or "vol-%s" % index}


def vm_snapshot(sid, disks, vm_ref=None):
    return {"id": sid, "name": "snap-" + sid, "vm": vm_ref if vm_ref is not None else {"id": "vm-" + sid, "name": "web-" + sid},
            "vm_disks": disks}


def lun(lid, name, local_id):
    return {"id": lid, "name": name, "local_id": local_id, "unique_size": 0, "iscsi_lun": {"id": "l", "name": "lun"}}


def test_data_disks_skip_cd_roms_and_come_in_index_order():
    snap = vm_snapshot("a", [disk(2, "k2"), disk(1, None, kind="CD_ROM"), disk(0, "k0")])
    assert [d["index"] for d in data_disks(snap)] == [0, 2]
    assert lun_snapshot_keys([snap, vm_snapshot("b", [disk(0, "k0")])]) == ["k0", "k2"]


def test_the_lun_query_matches_name_or_local_id_in_one_request():
    client = QueryRecorder([lun("l1", "k0", "z0"), lun("l2", "other", "k1"), lun("l3", "x", "y")])
    found = find_lun_snapshots(client, ["k0", "k1"])
    assert sorted(f["id"] for f in found) == ["l1", "l2"]
    assert client.calls == [("get-iscsi-lun-snapshots", {"first": 1000, "where": {"OR": [{"name_in": ["k0", "k1"]}, {"local_id_in": ["k0", "k1"]}]}})]


def test_each_disk_is_joined_to_its_lun_snapshot_by_name_or_local_id():
    snaps = [
        vm_snapshot("a", [disk(0, "name-0"), disk(1, None, kind="CD_ROM"), disk(2, "zbs-2")]),
        vm_snapshot("b", [disk(0, "name-b0")], vm_ref={}),
    ]
    luns = [lun("l0", "name-0", "zbs-0"), lun("l2", "name-2", "zbs-2"), lun("lb", "name-b0", "zbs-b0")]
    records, missing = join_disks_to_lun_snapshots(snaps, luns)
    assert missing == []
    assert [(r["id"], r["matched_by"], r["disk"]["index"]) for r in records] == [("l0", "name", 0), ("l2", "local_id", 2), ("lb", "name", 0)]
    first = records[0]
    assert first["local_id"] == "zbs-0" and first["iscsi_lun"] == {"id": "l", "name": "lun"}
    assert first["disk"]["vm_volume_local_id"] == "vol-0" and first["disk"]["bus"] == "VIRTIO" and first["disk"]["size"] == 1024
    assert first["vm_snapshot"] == {"id": "a", "name": "snap-a"} and first["vm"] == {"id": "vm-a", "name": "web-a"}
    assert records[2]["vm"] is None


def test_a_name_match_wins_over_a_local_id_match():
    records, _missing = join_disks_to_lun_snapshots([vm_snapshot("a", [disk(0, "k")])], [lun("by-local-id", "zz", "k"), lun("by-name", "k", "q")])
    assert records[0]["id"] == "by-name" and records[0]["matched_by"] == "name"


def test_disks_without_a_lun_snapshot_are_reported_with_the_reason():
    snaps = [vm_snapshot("a", [disk(0, "k0"), disk(1, "gone"), disk(2, None)])]
    records, missing = join_disks_to_lun_snapshots(snaps, [lun("l0", "k0", "z0")])
    assert [r["id"] for r in records] == ["l0"]
    assert [(m["disk"]["index"], m["key"]) for m in missing] == [(1, "gone"), (2, None)]
    text = describe_missing(missing)
    assert "disk index 1 (/p/1, vm_volume_local_id vol-1) of VM snapshot snap-a (id a) of web-a (id vm-a)" in text
    assert "no LUN snapshot is named 'gone'" in text and "has no snapshot_local_id" in text


def test_lun_snapshots_asked_for_by_name_or_local_id_have_no_disk():
    records, missing = join_keys_to_lun_snapshots(["k0", "z1", "nope"], [lun("l0", "k0", "z0"), lun("l1", "k1", "z1")])
    assert [(r["id"], r["matched_by"], r["disk"]) for r in records] == [("l0", "name", None), ("l1", "local_id", None)]
    assert [m["key"] for m in missing] == ["nope"]
