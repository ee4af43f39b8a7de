"""Task life cycle, entityAsyncStatus, placeholders, and ResourceLocked in both of its forms."""

import re
import time

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CUID = re.compile(r"^c[0-9a-z]{24}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")


def _watch(api, task_id, timeout=10.0):
    """Every state a task shows until it is final."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        task = api.tasks([task_id])[0]
        seen.append(task)
        if task["status"] in ("SUCCESSED", "FAILED"):
            return seen
        time.sleep(0.05)
    raise AssertionError("task did not finish")


def test_life_cycle_pending_executing_successed(api):
    # Each state lasts a second or more: on a loaded machine (the whole test command keeps both cores busy) two polls
    # were once more than the 0.45 s of a 0.5 s task's EXECUTING apart.
    api.reset(task_seconds=4, settings={"task_pending_fraction": 0.25})
    vm = api.vm("db-02")
    answer = api.call("start-vm", {"where": {"id": vm["id"]}})[0]
    assert CUID.match(answer["task_id"])
    assert answer["data"]["id"] == vm["id"] and answer["data"]["entityAsyncStatus"] == "UPDATING"
    assert answer["data"]["status"] == "STOPPED", "the change happens when the task ends"
    seen = _watch(api, answer["task_id"])
    statuses = [task["status"] for task in seen]
    assert statuses[0] == "PENDING" and "EXECUTING" in statuses and statuses[-1] == "SUCCESSED"
    assert statuses.index("EXECUTING") > statuses.index("PENDING")
    progress = [task["progress"] for task in seen]
    assert progress == sorted(progress) and progress[0] == 0 and progress[-1] == 1
    assert any(0 < value < 1 for value in progress)
    first, final = seen[0], seen[-1]
    assert first["started_at"] is None and first["finished_at"] is None
    assert TIMESTAMP.match(final["started_at"]) and TIMESTAMP.match(final["finished_at"]) and TIMESTAMP.match(final["local_created_at"])
    assert final["started_at"] <= final["finished_at"]
    assert final["description"] == "Start VM" and final["resource_id"] == vm["id"] and final["resource_mutation"] == "startVm"
    assert final["error_code"] is None and final["cluster"]["id"] == vm["cluster"]["id"] and final["user"]["name"] == "admin"
    executing = [task for task in seen if task["status"] == "EXECUTING"]
    assert executing and executing[0]["started_at"] is not None
    api.settle()
    after = api.vm("db-02")
    assert after["status"] == "RUNNING" and after["entityAsyncStatus"] is None and after["host"] is not None


def test_resource_shows_busy_status_until_shortly_after_the_task(api):
    api.reset(task_seconds=0.2, settings={"async_status_linger_seconds": 0.3})
    vm = api.vm("db-02")
    task_id = api.call("update-vm-basic-info", {"where": {"id": vm["id"]}, "data": {"description": "x"}})[0]["task_id"]
    assert api.vm("db-02")["entityAsyncStatus"] == "UPDATING"
    assert api.wait([task_id])[0]["status"] == "SUCCESSED"
    still = api.vm("db-02")
    assert still["description"] == "x" and still["entityAsyncStatus"] == "UPDATING"
    time.sleep(0.35)
    assert api.vm("db-02")["entityAsyncStatus"] is None


def test_create_vm_placeholder_then_uuid(api):
    api.reset(task_seconds=0.3)
    cluster = api.call("get-clusters", {"where": {"name": "cluster-b"}})[0]
    vlan = api.call("get-vlans", {"where": {"name": "prod-vlan-100"}})[0]
    body = [{"name": "new-vm", "cluster_id": cluster["id"], "cpu_sockets": 2, "cpu_cores": 2, "memory": 4, "memory_unit": "GB",
             "ha": True, "firmware": "UEFI", "status": "RUNNING", "vm_nics": [{"connect_vlan_id": vlan["id"], "mac_address": "52:54:00:aa:bb:cc"}],
             "vm_disks": {"mount_new_create_disks": [{"vm_volume": {"name": "new-vm-disk0", "size": 20, "size_unit": "GB",
                                                                    "elf_storage_policy": "REPLICA_3_THIN_PROVISION"},
                                                      "bus": "SCSI", "boot": 0}]}}]
    answer = api.call("create-vm", body)[0]
    data = answer["data"]
    assert data["local_id"].startswith("placeholder-") and UUID.match(data["local_id"][len("placeholder-"):])
    assert data["entityAsyncStatus"] == "CREATING" and data["vcpu"] == 4 and data["memory"] == 4 * 1024 ** 3
    assert api.vm("new-vm")["local_id"].startswith("placeholder-")
    task = api.wait([answer["task_id"]])[0]
    assert task["status"] == "SUCCESSED" and task["description"] == "Create a VM" and task["resource_id"] == data["id"]
    api.settle()
    created = api.vm("new-vm")
    assert UUID.match(created["local_id"]) and created["status"] == "RUNNING" and created["entityAsyncStatus"] is None
    assert created["size"] == 20 * 1024 ** 3 and created["cpu"] == {"sockets": 2, "cores": 2}
    nic = api.call("get-vm-nics", {"where": {"vm": {"id": created["id"]}}})[0]
    assert nic["mac_address"] == "52:54:00:aa:bb:cc" and nic["vlan"]["id"] == vlan["id"]
    disk = api.call("get-vm-disks", {"where": {"vm": {"id": created["id"]}}})[0]
    volume = api.call("get-vm-volumes", {"where": {"id": disk["vm_volume"]["id"]}})[0]
    lun = api.call("get-iscsi-luns", {"where": {"id": volume["lun"]["id"]}})[0]
    assert disk["bus"] == "SCSI" and volume["size"] == 20 * 1024 ** 3 and volume["mounting"] and lun["assigned_size"] == volume["size"]
    vlans = api.call("get-vlans", {"where": {"id": vlan["id"]}})[0]
    assert {"id": nic["id"]} in vlans["vm_nics"]
    assert re.match(r"^[0-9a-f-]{36}_[0-9a-f-]{36}$", vlans["local_id"])


def test_failed_create_removes_placeholder_and_reports_rollback(api):
    api.admin("POST", "faults", {"task_failures": {"operations": ["create-vm"], "error_code": "ELF_CREATE_FAILED"}})
    cluster = api.call("get-clusters", {})[0]
    body = [{"name": "doomed", "cluster_id": cluster["id"], "cpu_sockets": 1, "cpu_cores": 1, "memory": 1024 ** 3, "ha": False,
             "firmware": "BIOS", "status": "STOPPED", "vm_nics": [], "vm_disks": {}}]
    answers, tasks = api.run("create-vm", body)
    assert answers[0]["data"]["local_id"].startswith("placeholder-")
    assert tasks[0]["status"] == "FAILED" and tasks[0]["error_code"] == "ELF_CREATE_FAILED" and tasks[0]["resource_rollbacked"] is True
    assert api.vms({"name": "doomed"}) == []


def test_resource_locked_error_from_3_3(api):
    api.reset(task_seconds=0.5)
    vm = api.vm("db-02")
    api.call("start-vm", {"where": {"id": vm["id"]}})
    response = api.post("update-vm-basic-info", {"where": {"id": vm["id"]}, "data": {"name": "renamed"}})
    assert response.status_code == 400
    assert response.json() == {"path": "/update-vm-basic-info", "status": 400, "message": "Resource [VM-%s] locked" % vm["id"],
                               "props": {"locked_resources": [{"id": vm["id"], "type": "VM"}]}, "code": "ResourceLocked"}
    snapshot = api.post("create-vm-snapshot", {"data": [{"vm_id": vm["id"], "name": "while-busy"}]})
    assert snapshot.status_code == 400 and snapshot.json()["code"] == "ResourceLocked"
    assert api.call("get-tasks-connection", {}) == {"aggregate": {"count": 1}}, "a refused call starts no task"


def test_resource_locked_before_3_3_fails_the_task(api):
    for version in ("1.8.0", "1.10.0"):
        api.reset(api_version=version, task_seconds=0.3)
        vm = api.vm("db-02")
        first = api.call("start-vm", {"where": {"id": vm["id"]}})[0]
        second = api.call("update-vm-basic-info", {"where": {"id": vm["id"]}, "data": {"name": "renamed"}})[0]
        locked, started = api.wait([second["task_id"], first["task_id"]])
        assert locked["status"] == "FAILED" and locked["error_code"] == "JOB_RESOURCE_IS_LOCKED"
        assert started["status"] == "SUCCESSED"
        assert api.vms({"name": "renamed"}) == []
        api.settle()
        answers, tasks = api.run("update-vm-basic-info", {"where": {"id": vm["id"]}, "data": {"name": "renamed"}})
        assert tasks[0]["status"] == "SUCCESSED" and answers[0]["data"]["id"] == vm["id"]


def test_per_operation_durations(api):
    api.reset(task_seconds=0.05, settings={"task_durations": {"start-vm": 0.4}})
    vm = api.vm("db-02")
    began = time.time()
    api.run("start-vm", {"where": {"id": vm["id"]}})
    assert time.time() - began >= 0.35
    api.settle()
    began = time.time()
    api.run("update-vm-basic-info", {"where": {"id": vm["id"]}, "data": {"description": "quick"}})
    assert time.time() - began < 0.35
    assert api.admin("GET", "settings")["task_durations"] == {"start-vm": 0.4}
