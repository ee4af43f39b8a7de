"""Mutations: prechecks, effects, and the [assumed] behaviours in each of their settings."""

import pytest

GIB = 1024 ** 3
WRONG_STATE = [("start-vm", "web-01"), ("shutdown-vm", "db-02"), ("poweroff-vm", "db-02"), ("suspend-vm", "db-02"),
               ("resume-vm", "web-01"), ("restart-vm", "cache-01"), ("force-restart-vm", "cache-01"), ("force-restart-vm", "app-02")]


def _task_count(api):
    return api.call("get-tasks-connection", {})["aggregate"]["count"]


@pytest.mark.parametrize("endpoint,name", WRONG_STATE)
def test_wrong_state_is_a_400_by_default(api, endpoint, name):
    vm = api.vm(name)
    response = api.post(endpoint, {"where": {"id": vm["id"]}})
    assert response.status_code == 400 and response.json()["message"] == "PRECHECK_VMS_STATE_UNMATCH"
    assert _task_count(api) == 0 and api.vm(name)["status"] == vm["status"]


def test_wrong_state_as_failed_task(api):
    api.admin("POST", "settings", {"vm_state_error": "task"})
    vm = api.vm("web-01")
    answers, tasks = api.run("start-vm", {"where": {"id": vm["id"]}})
    assert tasks[0]["status"] == "FAILED" and tasks[0]["error_code"] == "EC_JOB_VM_STATE_MACHINE_ERROR"
    assert answers[0]["data"]["status"] == "RUNNING"


def test_wrong_state_on_1_8_is_a_string_body(api):
    api.reset(api_version="1.8.0")
    response = api.post("start-vm", {"where": {"name": "web-01"}})
    assert response.status_code == 400 and response.json() == "PRECHECK_VMS_STATE_UNMATCH"


def test_power_cycle_and_vm_tools(api):
    vm = api.vm("web-01")
    where = {"where": {"id": vm["id"]}}
    api.run("suspend-vm", where)
    api.settle()
    assert api.vm("web-01")["status"] == "SUSPENDED"
    api.run("resume-vm", where)
    api.settle()
    assert api.vm("web-01")["status"] == "RUNNING" and api.vm("web-01")["vm_tools_status"] == "RUNNING"
    api.run("shutdown-vm", where)
    api.settle()
    stopped = api.vm("web-01")
    assert stopped["status"] == "STOPPED" and stopped["vm_tools_status"] == "NOT_RUNNING" and stopped["last_shutdown_time"]
    assert stopped["ips"] == ""
    hosts = api.call("get-hosts", {"where": {"cluster": {"id": vm["cluster"]["id"]}}})
    target = [host for host in hosts if host["id"] != vm["host"]["id"]][0]
    api.run("start-vm", {"where": {"id": vm["id"]}, "data": {"host_id": target["id"]}})
    api.settle()
    started = api.vm("web-01")
    assert started["host"]["id"] == target["id"] and started["vm_tools_status"] == "RUNNING" and started["node_ip"] == target["management_ip"]


def test_force_restart_keeps_a_running_vm_running(api):
    vm = api.vm("web-01")
    answers, tasks = api.run("force-restart-vm", {"where": {"id": vm["id"]}})
    assert answers[0]["data"]["entityAsyncStatus"] == "UPDATING" and answers[0]["task_id"] == tasks[0]["id"]
    assert (tasks[0]["status"], tasks[0]["description"], tasks[0]["resource_mutation"]) == ("SUCCESSED", "Force restart VM", "forceRestartVm")
    api.settle()
    after = api.vm("web-01")
    assert after["status"] == "RUNNING" and after["vm_tools_status"] == "RUNNING" and after["host"] == vm["host"]


def test_where_matching_nothing_starts_no_task(api):
    for endpoint in ("start-vm", "delete-vm", "poweroff-vm", "force-restart-vm", "move-vm-to-recycle"):
        assert api.call(endpoint, {"where": {"name": "nothing-here"}}) == []
    assert api.call("update-vm-basic-info", {"where": {"name": "nothing-here"}, "data": {"vcpu": 2}}) == []
    assert api.call("delete-vm-snapshot", {"where": {"name": "nothing-here"}}) == []
    assert api.call("create-vm-snapshot", {"data": []}) == []
    assert _task_count(api) == 0


def test_one_task_per_matched_vm(api):
    running_b = api.vms({"cluster": {"name": "cluster-b"}, "status": "RUNNING"})
    answers, tasks = api.run("poweroff-vm", {"where": {"cluster": {"name": "cluster-b"}, "status": "RUNNING"}})
    assert [answer["data"]["id"] for answer in answers] == [vm["id"] for vm in running_b]
    assert len({answer["task_id"] for answer in answers}) == len(running_b) > 1
    assert all(task["status"] == "SUCCESSED" for task in tasks)


def test_update_basic_info(api):
    vm = api.vm("db-02")
    data = {"name": "db-02b", "cpu_sockets": 4, "cpu_cores": 2, "memory": 24, "memory_unit": "GB", "ha": False}
    api.run("update-vm-basic-info", {"where": {"id": vm["id"]}, "data": data})
    updated = api.vm("db-02b")
    assert updated["vcpu"] == 8 and updated["cpu"] == {"sockets": 4, "cores": 2} and updated["memory"] == 24 * GIB and not updated["ha"]
    api.settle()
    api.run("update-vm-basic-info", {"where": {"id": vm["id"]}, "data": {"vcpu": 6}})
    assert api.vm("db-02b")["vcpu"] == 6
    bad = api.post("update-vm-basic-info", {"where": {"id": vm["id"]}, "data": {"vcpu": 3, "cpu_sockets": 2, "cpu_cores": 2}})
    assert bad.status_code == 400
    assert api.post("update-vm-basic-info", {"where": {"id": vm["id"]}, "data": {"colour": "red"}}).status_code == 400


def _lun_snapshot_names(snapshot):
    return [disk["snapshot_local_id"] for disk in snapshot["vm_disks"] if disk["type"] == "DISK"]


def test_delete_vm_keeps_snapshots_with_null_vm(api):
    vm = api.vm("db-01")
    snapshots = api.call("get-vm-snapshots", {"where": {"vm": {"id": vm["id"]}}})
    names = [name for snapshot in snapshots for name in _lun_snapshot_names(snapshot)]
    volume_ids = [disk["vm_volume"]["id"] for disk in api.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}, "type": "DISK"}})]
    answers, tasks = api.run("delete-vm", {"where": {"id": vm["id"]}})
    assert answers == [{"task_id": tasks[0]["id"], "data": {"id": vm["id"]}}] and tasks[0]["status"] == "SUCCESSED"
    assert api.vms({"id": vm["id"]}) == []
    kept = api.call("get-vm-snapshots", {"where": {"id_in": [snapshot["id"] for snapshot in snapshots]}})
    assert len(kept) == len(snapshots) and all(snapshot["vm"] is None for snapshot in kept)
    assert len(api.call("get-iscsi-lun-snapshots", {"where": {"name_in": names}})) == len(names)
    assert api.call("get-vm-volumes", {"where": {"id_in": volume_ids}}) == []
    assert api.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}}}) == []


def test_delete_vm_with_include_snapshots(api):
    vm = api.vm("db-01")
    snapshots = api.call("get-vm-snapshots", {"where": {"vm": {"id": vm["id"]}}})
    names = [name for snapshot in snapshots for name in _lun_snapshot_names(snapshot)]
    api.run("delete-vm", {"where": {"id": vm["id"]}, "effect": {"include_snapshots": True}})
    assert api.call("get-vm-snapshots", {"where": {"id_in": [snapshot["id"] for snapshot in snapshots]}}) == []
    assert api.call("get-iscsi-lun-snapshots", {"where": {"name_in": names}}) == []


def test_delete_effect_is_refused_before_2_7(api):
    for version in ("1.8.0", "1.10.0"):
        api.reset(api_version=version)
        response = api.post("delete-vm", {"where": {"name": "db-02"}, "effect": {"include_snapshots": True}})
        assert response.status_code == 400
        assert api.vms({"name": "db-02"})


def test_move_to_recycle_bin(api):
    answers, _tasks = api.run("move-vm-to-recycle", {"where": {"name": "cache-01"}})
    assert set(answers[0]["data"]) == {"id"}
    recycled = api.vm("cache-01")
    assert recycled["in_recycle_bin"] and recycled["deleted_at"]


def test_snapshot_of_several_vms_in_one_call(api):
    vms = api.vms({"name_in": ["web-01", "app-01"]})
    answers, tasks = api.run("create-vm-snapshot", {"data": [{"vm_id": vm["id"], "name": "multi-" + vm["name"]} for vm in vms]})
    assert len(answers) == 2 and all(answer["task_id"] for answer in answers)
    assert [answer["data"]["vm"]["id"] for answer in answers] == [vm["id"] for vm in vms]
    assert answers[0]["data"]["entityAsyncStatus"] == "CREATING"
    assert tasks[0]["description"] == "Creates a snapshot multi-web-01 for VM web-01"


def test_duplicate_snapshot_name_in_cluster_fails_the_task(api):
    web = api.vm("web-02")
    answers, tasks = api.run("create-vm-snapshot", {"data": [{"vm_id": web["id"], "name": "manual-before-upgrade"}]})
    assert tasks[0]["status"] == "FAILED" and tasks[0]["error_code"] == "VM_SNAPSHOT_DUPLICATE_NAME"
    assert tasks[0]["error_message"] == "A VM snapshot with the same name already exists in the cluster"
    assert tasks[0]["resource_rollbacked"] is True
    assert api.call("get-vm-snapshots", {"where": {"id": answers[0]["data"]["id"]}}) == []
    other_cluster = api.vm("app-02")
    _answers, tasks = api.run("create-vm-snapshot", {"data": [{"vm_id": other_cluster["id"], "name": "manual-before-upgrade"}]})
    assert tasks[0]["status"] == "SUCCESSED", "names are unique per cluster, not globally"
    api.settle()
    _answers, tasks = api.run("create-vm-snapshot", {"data": [{"vm_id": web["id"], "name": "same"}, {"vm_id": api.vm("db-02")["id"], "name": "same"}]})
    assert [task["status"] for task in tasks] == ["SUCCESSED", "FAILED"]


def test_duplicate_snapshot_name_as_400(api):
    api.admin("POST", "settings", {"snapshot_duplicate_name_error": "400"})
    response = api.post("create-vm-snapshot", {"data": [{"vm_id": api.vm("web-02")["id"], "name": "manual-before-upgrade"}]})
    assert response.status_code == 400 and response.json()["message"] == "VM_SNAPSHOT_DUPLICATE_NAME"
    assert _task_count(api) == 0


def test_file_system_consistent_needs_running_vm_tools(api):
    no_tools = api.vm("web-02")
    answers, tasks = api.run("create-vm-snapshot", {"data": [{"vm_id": no_tools["id"], "name": "fs1", "consistent_type": "FILE_SYSTEM_CONSISTENT"}]})
    assert answers[0]["data"]["consistent_type"] == "FILE_SYSTEM_CONSISTENT"
    assert tasks[0]["status"] == "FAILED" and tasks[0]["error_code"] == "SVT_SERVICE_NOT_CONNECTED"
    assert api.call("get-vm-snapshots", {"where": {"name": "fs1"}}) == []
    api.admin("POST", "patch", {"resource": "vms", "id": no_tools["id"], "set": {"vm_tools_status": "RUNNING"}})
    api.settle()
    _answers, tasks = api.run("create-vm-snapshot", {"data": [{"vm_id": no_tools["id"], "name": "fs2", "consistent_type": "FILE_SYSTEM_CONSISTENT"}]})
    assert tasks[0]["status"] == "SUCCESSED"


def test_rollback_needs_a_stopped_vm(api):
    vm = api.vm("db-01")
    snapshot = api.call("get-vm-snapshots", {"where": {"vm": {"id": vm["id"]}}})[0]
    response = api.post("rollback-vm", {"where": {"id": vm["id"]}, "data": {"snapshot_id": snapshot["id"]}})
    assert response.status_code == 400 and response.json()["message"] == "VM_NOT_STOPPED"
    api.admin("POST", "settings", {"rollback_not_stopped_error": "task"})
    _answers, tasks = api.run("rollback-vm", {"where": {"id": vm["id"]}, "data": {"snapshot_id": snapshot["id"]}})
    assert tasks[0]["status"] == "FAILED" and tasks[0]["error_code"] == "VM_NOT_STOPPED"
    other = api.call("get-vm-snapshots", {"where": {"name": "pre-patch-2024-04"}})[0]
    assert api.post("rollback-vm", {"where": {"id": vm["id"]}, "data": {"snapshot_id": other["id"]}}).status_code == 400


def test_rollback_restores_configuration(api):
    vm = api.vm("db-02")
    snapshot = api.call("get-vm-snapshots", {"where": {"vm": {"id": vm["id"]}}})[0]
    nics_before = api.call("get-vm-nics", {"where": {"vm": {"id": vm["id"]}}})
    disks_before = api.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}}})
    api.run("update-vm-basic-info", {"where": {"id": vm["id"]}, "data": {"vcpu": 2, "cpu_sockets": 1, "cpu_cores": 2, "memory": GIB}})
    api.settle()
    answers, tasks = api.run("rollback-vm", {"where": {"id": vm["id"]}, "data": {"snapshot_id": snapshot["id"]}})
    assert tasks[0]["status"] == "SUCCESSED" and answers[0]["data"]["vcpu"] == 2
    restored = api.vm("db-02")
    assert restored["vcpu"] == snapshot["vcpu"] and restored["memory"] == snapshot["memory"] and restored["cpu"] == snapshot["cpu"]
    nics_after = api.call("get-vm-nics", {"where": {"vm": {"id": vm["id"]}}})
    assert [nic["mac_address"] for nic in nics_after] == [nic["mac_address"] for nic in nics_before]
    disks_after = api.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}}})
    assert [disk["vm_volume"]["id"] for disk in disks_after] == [disk["vm_volume"]["id"] for disk in disks_before]
    assert {disk["id"] for disk in disks_after}.isdisjoint(disk["id"] for disk in disks_before), "disk ids change on re-sync"


def _volumes_of(api, vm_id):
    return [disk["vm_volume"]["id"] for disk in api.call("get-vm-disks", {"where": {"vm": {"id": vm_id}, "type": "DISK"}})]


def test_rebuild_from_snapshot_makes_a_new_vm_with_new_volumes(api):
    source = api.vm("db-01")
    snapshot = api.call("get-vm-snapshots", {"where": {"name": "manual-before-upgrade"}})[0]
    answers, tasks = api.run("rebuild-vm-from-snapshot", [{"rebuild_from_snapshot_id": snapshot["id"], "name": "db-01-restored"}])
    assert tasks[0]["status"] == "SUCCESSED" and tasks[0]["resource_mutation"] == "rebuildVmFromSnapshot"
    rebuilt = api.vm("db-01-restored")
    assert rebuilt["id"] == answers[0]["data"]["id"] != source["id"]
    assert (rebuilt["vcpu"], rebuilt["memory"], rebuilt["cluster"]) == (snapshot["vcpu"], snapshot["memory"], snapshot["cluster"])
    new_volumes, old_volumes = _volumes_of(api, rebuilt["id"]), _volumes_of(api, source["id"])
    assert len(new_volumes) == len(old_volumes) and set(new_volumes).isdisjoint(old_volumes)
    volumes = api.call("get-vm-volumes", {"where": {"id_in": new_volumes}})
    assert sorted(volume["size"] for volume in volumes) == sorted(disk["size"] for disk in snapshot["vm_disks"] if disk["type"] == "DISK")
    old_macs = {nic["mac_address"] for nic in api.call("get-vm-nics", {"where": {"vm": {"id": source["id"]}}})}
    new_nics = api.call("get-vm-nics", {"where": {"vm": {"id": rebuilt["id"]}}})
    assert len(new_nics) == len(snapshot["vm_nics"]) and old_macs.isdisjoint(nic["mac_address"] for nic in new_nics)


def test_clone_vm(api):
    source = api.vm("web-01")
    answers, tasks = api.run("clone-vm", [{"src_vm_id": source["id"], "name": "web-01-clone", "status": "RUNNING"}])
    assert tasks[0]["status"] == "SUCCESSED" and answers[0]["data"]["local_id"].startswith("placeholder-")
    clone = api.vm("web-01-clone")
    assert clone["status"] == "RUNNING" and clone["vcpu"] == source["vcpu"] and clone["memory"] == source["memory"]
    assert set(_volumes_of(api, clone["id"])).isdisjoint(_volumes_of(api, source["id"]))
    assert api.call("clone-vm", []) == []
    assert api.post("clone-vm", [{"src_vm_id": "cnosuchvm0000000000000000", "name": "x"}]).status_code == 400


def test_create_vm_refuses_bad_input(api):
    cluster = api.call("get-clusters", {"where": {"name": "cluster-a"}})[0]
    vlan_b = api.call("get-vlans", {"where": {"name": "prod-vlan-100"}})[0]
    good = {"name": "x", "cluster_id": cluster["id"], "cpu_sockets": 1, "cpu_cores": 1, "memory": GIB, "ha": False,
            "firmware": "BIOS", "status": "STOPPED", "vm_nics": [], "vm_disks": {}}
    cases = [
        (dict(good, cluster_id="cnosuchcluster00000000000"), "CLUSTER_NOT_FOUND"),
        (dict(good, vm_nics=[{"connect_vlan_id": vlan_b["id"]}]), "VLAN_NOT_FOUND"),
        (dict(good, vm_nics=[{"connect_vlan_id": "cnosuchvlan00000000000000"}]), "VLAN_NOT_FOUND"),
        (dict(good, vcpu=3), "VM_CPU_INVALID"),
        (dict(good, status="SUSPENDED"), "VM_STATUS_NOT_SUPPORTED"),
        (dict(good, host_id="cnosuchhost00000000000000"), "HOST_NOT_FOUND"),
        (dict(good, vm_disks={"mount_disks": [{"vm_volume_id": "cnosuchvolume000000000000", "bus": "VIRTIO", "boot": 0}]}),
         "VM_VOLUME_NOT_FOUND"),
    ]
    for body, code in cases:
        response = api.post("create-vm", [body])
        assert response.status_code == 400 and response.json()["message"] == code, (body, response.text)
    for body in (dict(good, colour="red"), {key: value for key, value in good.items() if key != "name"}, dict(good, memory="1G"), good):
        if body is good:
            assert api.post("create-vm", "not a list").status_code == 400
            continue
        assert api.post("create-vm", [body]).status_code == 400, body
    assert _task_count(api) == 0


def test_mount_existing_volume_and_refuse_a_mounted_one(api):
    cluster = api.call("get-clusters", {"where": {"name": "cluster-a"}})[0]
    mounted = api.call("get-vm-volumes", {"where": {"cluster": {"id": cluster["id"]}, "mounting": True}})[0]
    body = {"name": "mounter", "cluster_id": cluster["id"], "cpu_sockets": 1, "cpu_cores": 1, "memory": GIB, "ha": False,
            "firmware": "BIOS", "status": "STOPPED", "vm_nics": [],
            "vm_disks": {"mount_disks": [{"vm_volume_id": mounted["id"], "bus": "VIRTIO", "boot": 0, "index": 0}]}}
    response = api.post("create-vm", [body])
    assert response.status_code == 400 and response.json()["message"] == "VM_VOLUME_IN_USE"
