"""`where` semantics (every operator, logic, relations), orderBy, and query errors."""

import pytest

GIB = 1024 ** 3


def _names(rows):
    return [row["name"] for row in rows]


@pytest.fixture
def all_vms(api):
    return api.vms()


def _expect(api, all_vms, where, keep):
    """The API's answer for `where` equals a Python filter over all VMs, in creation order."""
    assert _names(api.vms(where)) == [vm["name"] for vm in all_vms if keep(vm)], where


STRING_CASES = [
    ({"name": "web-dup"}, lambda v: v == "web-dup"),
    ({"name_not": "web-dup"}, lambda v: v != "web-dup"),
    ({"name_in": ["db-01", "web-dup"]}, lambda v: v in ("db-01", "web-dup")),
    ({"name_not_in": ["db-01", "web-dup"]}, lambda v: v not in ("db-01", "web-dup")),
    ({"name_lt": "c"}, lambda v: v < "c"),
    ({"name_lte": "cache-01"}, lambda v: v <= "cache-01"),
    ({"name_gt": "m"}, lambda v: v > "m"),
    ({"name_gte": "monitor-01"}, lambda v: v >= "monitor-01"),
    ({"name_contains": "-0"}, lambda v: "-0" in v),
    ({"name_not_contains": "-0"}, lambda v: "-0" not in v),
    ({"name_starts_with": "web"}, lambda v: v.startswith("web")),
    ({"name_not_starts_with": "web"}, lambda v: not v.startswith("web")),
    ({"name_ends_with": "01"}, lambda v: v.endswith("01")),
    ({"name_not_ends_with": "01"}, lambda v: not v.endswith("01")),
]


@pytest.mark.parametrize("where,keep", STRING_CASES, ids=[next(iter(case[0])) for case in STRING_CASES])
def test_string_operators(api, all_vms, where, keep):
    _expect(api, all_vms, where, lambda vm: keep(vm["name"]))


def test_names_are_not_unique(api):
    twins = api.vms({"name": "web-dup"})
    assert len(twins) == 2 and twins[0]["id"] != twins[1]["id"]
    assert twins[0]["cluster"] == twins[1]["cluster"]


def test_number_enum_bool_and_timestamp_operators(api, all_vms):
    cases = [
        ({"memory": 8 * GIB}, lambda vm: vm["memory"] == 8 * GIB),
        ({"memory_not": 8 * GIB}, lambda vm: vm["memory"] != 8 * GIB),
        ({"memory_gt": 4 * GIB}, lambda vm: vm["memory"] > 4 * GIB),
        ({"memory_gte": 8 * GIB}, lambda vm: vm["memory"] >= 8 * GIB),
        ({"memory_lt": 8 * GIB}, lambda vm: vm["memory"] < 8 * GIB),
        ({"memory_lte": 4 * GIB}, lambda vm: vm["memory"] <= 4 * GIB),
        ({"vcpu_in": [2, 8]}, lambda vm: vm["vcpu"] in (2, 8)),
        ({"vcpu_not_in": [2, 8]}, lambda vm: vm["vcpu"] not in (2, 8)),
        ({"status": "SUSPENDED"}, lambda vm: vm["status"] == "SUSPENDED"),
        ({"status_not": "RUNNING"}, lambda vm: vm["status"] != "RUNNING"),
        ({"status_in": ["STOPPED", "SUSPENDED"]}, lambda vm: vm["status"] in ("STOPPED", "SUSPENDED")),
        ({"status_not_in": ["STOPPED"]}, lambda vm: vm["status"] != "STOPPED"),
        ({"win_opt": True}, lambda vm: vm["win_opt"]),
        ({"win_opt_not": True}, lambda vm: not vm["win_opt"]),
        ({"vm_tools_version": None}, lambda vm: vm["vm_tools_version"] is None),
        ({"vm_tools_version_not": None}, lambda vm: vm["vm_tools_version"] is not None),
        ({"last_shutdown_time_lt": "2024-05-01T00:00:00.000Z"},
         lambda vm: vm["last_shutdown_time"] is not None and vm["last_shutdown_time"] < "2024-05-01T00:00:00.000Z"),
        ({"local_created_at_gte": all_vms[5]["local_created_at"]}, lambda vm: vm["local_created_at"] >= all_vms[5]["local_created_at"]),
    ]
    for where, keep in cases:
        _expect(api, all_vms, where, keep)


def test_null_fields_fail_comparisons(api, all_vms):
    # A null value matches neither a comparison nor its negation, as in SQL.
    _expect(api, all_vms, {"vm_tools_version_not": "3.1.0"}, lambda vm: False)
    _expect(api, all_vms, {"vm_tools_version_not_in": ["x"]}, lambda vm: vm["vm_tools_version"] is not None)


def _running_in_cluster_a(vm):
    return vm["status"] == "RUNNING" and vm["cluster"]["name"] == "cluster-a"


def test_logical_operators_nest_and_accept_single_objects(api, all_vms):
    running_a = _running_in_cluster_a
    _expect(api, all_vms, {"AND": [{"status": "RUNNING"}, {"cluster": {"name": "cluster-a"}}]}, running_a)
    _expect(api, all_vms, {"AND": {"status": "RUNNING"}, "cluster": {"name": "cluster-a"}}, running_a)
    _expect(api, all_vms, {"OR": [{"name": "db-01"}, {"name_starts_with": "app"}]},
            lambda vm: vm["name"] == "db-01" or vm["name"].startswith("app"))
    _expect(api, all_vms, {"NOT": [{"status": "RUNNING"}, {"name_starts_with": "web"}]},
            lambda vm: vm["status"] != "RUNNING" and not vm["name"].startswith("web"))
    _expect(api, all_vms, {"NOT": {"status": "RUNNING"}}, lambda vm: vm["status"] != "RUNNING")
    _expect(api, all_vms, {"AND": [{"OR": [{"status": "STOPPED"}, {"status": "SUSPENDED"}]}, {"NOT": [{"cluster": {"name": "cluster-b"}}]}]},
            lambda vm: vm["status"] in ("STOPPED", "SUSPENDED") and vm["cluster"]["name"] != "cluster-b")
    _expect(api, all_vms, {}, lambda vm: True)


def test_to_one_relations(api, all_vms):
    _expect(api, all_vms, {"cluster": {"name": "cluster-b"}}, lambda vm: vm["cluster"]["name"] == "cluster-b")
    _expect(api, all_vms, {"host": {"name_in": ["node-a1", "node-b1"]}}, lambda vm: vm["host"]["name"] in ("node-a1", "node-b1"))
    _expect(api, all_vms, {"folder": {"name": "x"}}, lambda vm: False)
    _expect(api, all_vms, {"folder": None}, lambda vm: True)
    disks = api.call("get-vm-disks", {"where": {"vm": {"cluster": {"name": "cluster-b"}}}})
    vm_ids_b = {vm["id"] for vm in all_vms if vm["cluster"]["name"] == "cluster-b"}
    assert disks and {disk["vm"]["id"] for disk in disks} <= vm_ids_b
    assert len(disks) == sum(len(vm["vm_disks"]) for vm in all_vms if vm["id"] in vm_ids_b)


def test_to_many_relations(api, all_vms):
    disks = {disk["id"]: disk for disk in api.call("get-vm-disks", {})}
    types = {vm["id"]: [disks[stub["id"]]["type"] for stub in vm["vm_disks"]] for vm in all_vms}
    _expect(api, all_vms, {"vm_disks_some": {"type": "CD_ROM"}}, lambda vm: "CD_ROM" in types[vm["id"]])
    _expect(api, all_vms, {"vm_disks_every": {"type": "DISK"}}, lambda vm: all(t == "DISK" for t in types[vm["id"]]))
    _expect(api, all_vms, {"vm_disks_none": {"type": "CD_ROM"}}, lambda vm: "CD_ROM" not in types[vm["id"]])
    _expect(api, all_vms, {"vm_nics_some": {"vlan": {"name": "storage-net"}}}, lambda vm: vm["name"] == "db-01")
    _expect(api, all_vms, {"snapshots_some": {"name_starts_with": "backup-"}},
            lambda vm: any(snapshot["name"].startswith("backup-") for snapshot in vm["snapshots"]))
    _expect(api, all_vms, {"snapshots_none": {}}, lambda vm: not vm["snapshots"])
    _expect(api, all_vms, {"labels_some": {"key": "env"}}, lambda vm: False)
    _expect(api, all_vms, {"labels_none": {"key": "env"}}, lambda vm: True)


def test_where_errors_are_400(api, version):
    api.reset(api_version=version)
    bad = [{"nme": "x"}, {"name": 5}, {"status": "BOOTING"}, {"name_in": "db-01"}, {"memory_gt": "big"},
           {"cluster": {"nme": "x"}}, {"vm_disks_some": {"size": 1}}, {"AND": [{"bogus": 1}]}]
    for where in bad:
        response = api.post("get-vms", {"where": where})
        assert response.status_code == 400, where
        body = response.json()
        if version == "1.8.0":
            assert isinstance(body, str)
        else:
            assert body["status"] == 400 and body["path"] == "/get-vms" and body["message"]
    assert "is not defined by type VmWhereInput" in str(api.post("get-vms", {"where": {"nme": "x"}}).json())


def test_unknown_body_keys_and_bad_pagination_are_400(api):
    assert api.post("get-vms", {"wher": {}}).status_code == 400
    assert api.post("get-vms", {"first": -1}).status_code == 400
    assert api.post("get-vms", {"first": "3"}).status_code == 400
    assert api.post("get-vms", []).status_code == 400


def test_match_nothing_is_empty_list(api):
    assert api.vms({"name": "no-such-vm"}) == []
    assert api.call("get-vms-connection", {"where": {"name": "no-such-vm"}}) == {"aggregate": {"count": 0}}


def test_order_by(api, all_vms):
    assert _names(api.vms(orderBy="name_ASC")) == sorted(_names(all_vms))
    assert _names(api.vms(orderBy="name_DESC")) == sorted(_names(all_vms), reverse=True)
    by_memory = api.vms(orderBy="memory_DESC")
    assert [vm["memory"] for vm in by_memory] == sorted((vm["memory"] for vm in all_vms), reverse=True)
    ascending = api.vms(orderBy="memory_ASC")
    position = {vm["id"]: index for index, vm in enumerate(all_vms)}
    for earlier, later in zip(ascending, ascending[1:]):
        if earlier["memory"] == later["memory"]:
            assert position[earlier["id"]] < position[later["id"]], "ties keep creation order"
    last_shutdown = api.vms(orderBy="last_shutdown_time_ASC")
    assert last_shutdown[-1]["last_shutdown_time"] is None, "nulls sort last ascending"
    assert api.post("get-vms", {"orderBy": "name"}).status_code == 400
    assert api.post("get-vms", {"orderBy": "nme_ASC"}).status_code == 400


def test_created_at_order_exists_only_before_2_1(api):
    assert api.post("get-vms", {"orderBy": "createdAt_ASC"}).status_code == 400
    assert api.post("get-vms", {"orderBy": "local_created_at_ASC"}).status_code == 200
    api.reset(api_version="1.8.0")
    all_vms = api.vms()
    assert _names(api.vms(orderBy="createdAt_DESC")) == _names(all_vms)[::-1]


def test_default_order_is_creation_order_and_a_setting(api, all_vms):
    created = [vm["local_created_at"] for vm in all_vms]
    assert created == sorted(created)
    assert [vm["id"] for vm in all_vms] == sorted(vm["id"] for vm in all_vms), "cuids grow with creation"
    api.admin("POST", "settings", {"default_order": "reverse"})
    assert _names(api.vms()) == _names(all_vms)[::-1]
