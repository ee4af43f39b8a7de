"""The official Python SDK (cloudtower-sdk, a test-only requirement) works against the simulator."""

import pytest

PASSWORD = "test-password"


def test_official_sdk_logs_in_lists_snapshots_and_waits(api):
    cloudtower = pytest.importorskip("cloudtower", reason="cloudtower-sdk is not installed (pip install cloudtower-sdk)")
    # pylint: disable=import-outside-toplevel
    from cloudtower.api.vm_api import VmApi
    from cloudtower.api.vm_snapshot_api import VmSnapshotApi
    from cloudtower.utils import login, wait_tasks

    configuration = cloudtower.Configuration(host=api.url + "/v2/api")
    client = cloudtower.ApiClient(configuration)
    login(client, "admin", PASSWORD)
    vm_api = VmApi(client)
    vms = vm_api.get_vms({"where": {"name_starts_with": "db-"}})
    assert sorted(vm.name for vm in vms) == ["db-01", "db-02"]
    assert vms[0].cluster.name == "cluster-a" and vms[0].vm_disks
    snapshot_api = VmSnapshotApi(client)
    created = snapshot_api.create_vm_snapshot({"data": [{"vm_id": vms[0].id, "name": "sdk-snapshot"}]})
    task_ids = [item.task_id for item in created]
    assert task_ids[0] and created[0].data.name == "sdk-snapshot"
    wait_tasks(list(task_ids), client, interval=0.1, timeout=30)
    snapshots = snapshot_api.get_vm_snapshots({"where": {"name": "sdk-snapshot"}})
    assert len(snapshots) == 1 and snapshots[0].vm.id == vms[0].id
    disk_names = [disk.snapshot_local_id for disk in snapshots[0].vm_disks if disk.type == "DISK"]
    assert len(disk_names) == 2
