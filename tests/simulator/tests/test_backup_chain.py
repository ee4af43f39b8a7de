"""The guide's backup chain: VM -> snapshot -> frozen DISK entries -> iSCSI LUN snapshots (by name) -> local_id."""

import re

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_backup_chain(api, version):
    api.reset(api_version=version)
    vm = api.vm("db-01")
    answers, tasks = api.run("create-vm-snapshot", {"data": [{"vm_id": vm["id"], "name": "chain", "consistent_type": "FILE_SYSTEM_CONSISTENT"}]})
    assert tasks[0]["status"] == "SUCCESSED"
    api.settle()
    snapshot = api.call("get-vm-snapshots", {"where": {"id": answers[0]["data"]["id"]}})[0]
    assert snapshot["vm"] == {"id": vm["id"], "name": "db-01"} and snapshot["entityAsyncStatus"] is None
    assert (snapshot["vcpu"], snapshot["memory"], snapshot["cpu"]) == (vm["vcpu"], vm["memory"], vm["cpu"])
    data_disks = [disk for disk in snapshot["vm_disks"] if disk["type"] == "DISK"]
    cd_roms = [disk for disk in snapshot["vm_disks"] if disk["type"] == "CD_ROM"]
    assert len(data_disks) == 2 and len(cd_roms) == 1 and cd_roms[0]["snapshot_local_id"] is None
    volumes = {volume["local_id"]: volume for volume in api.call("get-vm-volumes", {"where": {"vm_disks_some": {"vm": {"id": vm["id"]}}}})}
    assert {disk["vm_volume_local_id"] for disk in data_disks} == set(volumes)
    names = [disk["snapshot_local_id"] for disk in data_disks]
    lun_snapshots = api.call("get-iscsi-lun-snapshots", {"where": {"name_in": names}})
    assert sorted(item["name"] for item in lun_snapshots) == sorted(names)
    for disk in data_disks:
        lun_snapshot = next(item for item in lun_snapshots if item["name"] == disk["snapshot_local_id"])
        assert UUID.match(lun_snapshot["local_id"]) and lun_snapshot["local_id"] != lun_snapshot["name"]
        assert lun_snapshot["iscsi_lun"]["id"] == volumes[disk["vm_volume_local_id"]]["lun"]["id"]
        assert disk["size"] == volumes[disk["vm_volume_local_id"]]["size"] and disk["path"] == volumes[disk["vm_volume_local_id"]]["path"]
    tolerant = api.call("get-iscsi-lun-snapshots", {"where": {"OR": [{"name_in": names}, {"local_id_in": names}]}})
    assert sorted(item["id"] for item in tolerant) == sorted(item["id"] for item in lun_snapshots)
    assert api.call("get-iscsi-lun-snapshots", {"where": {"local_id_in": names}}) == [], "snapshot_local_id is a NAME"
    nics = api.call("get-vm-nics", {"where": {"vm": {"id": vm["id"]}}})
    assert [nic["mac_address"] for nic in snapshot["vm_nics"]] == [nic["mac_address"] for nic in nics]
    vlan = api.call("get-vlans", {"where": {"id": nics[0]["vlan"]["id"]}})[0]
    assert snapshot["vm_nics"][0]["vlan"]["vlan_local_id"] == vlan["local_id"]


def test_demo_state_shape(api):
    vms = api.vms()
    assert len(vms) >= 12
    assert {vm["status"] for vm in vms} >= {"RUNNING", "STOPPED", "SUSPENDED"}
    assert len({vm["cluster"]["id"] for vm in vms}) == 2
    assert sum(vm["name"] == "web-dup" for vm in vms) == 2
    assert any(vm["vm_tools_status"] == "RUNNING" for vm in vms) and any(vm["vm_tools_status"] != "RUNNING" for vm in vms)
    assert any(len(vm["vm_disks"]) >= 3 for vm in vms)
    snapshots = api.call("get-vm-snapshots", {})
    names = [snapshot["name"] for snapshot in snapshots]
    assert any(name.startswith("backup-") for name in names) and any(not name.startswith("backup-") for name in names)
    assert any(snapshot["vm"] is None for snapshot in snapshots)
    assert len(api.call("get-hosts", {})) == 5 and len(api.call("get-vlans", {})) == 8


def test_states_are_seeded_and_scalable(api):
    first = [vm["id"] for vm in api.vms()]
    api.reset()
    assert [vm["id"] for vm in api.vms()] == first
    api.reset(seed=8)
    assert [vm["id"] for vm in api.vms()] != first
    api.reset(vms=40)
    assert api.call("get-vms-connection", {}) == {"aggregate": {"count": 40}}
    api.reset(vms=3)
    assert api.call("get-vms-connection", {}) == {"aggregate": {"count": 3}}
    api.reset(state="empty")
    assert api.vms() == [] and api.call("get-vm-snapshots", {}) == [] and len(api.call("get-clusters", {})) == 2
