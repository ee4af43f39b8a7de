"""Disks, CD-ROMs, NICs, host and folder of an existing VM: effects, and the refusals CloudTower gives."""

import pytest

GIB = 1024 ** 3


def _disks(api, vm, kind=None):
    disks = api.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}}})
    return sorted((d for d in disks if kind is None or d["type"] == kind), key=lambda d: d["boot"])


def _nics(api, vm):
    return sorted(api.call("get-vm-nics", {"where": {"vm": {"id": vm["id"]}}}), key=lambda n: n["order"])


def _volume(api, disk):
    return api.call("get-vm-volumes", {"where": {"id": disk["vm_volume"]["id"]}})[0]


def _refused(api, endpoint, body, code):
    before = api.call("get-tasks-connection", {})["aggregate"]["count"]
    response = api.post(endpoint, body)
    assert response.status_code == 400, response.text
    assert code in response.text
    assert api.call("get-tasks-connection", {})["aggregate"]["count"] == before


@pytest.mark.parametrize("version", ("1.8.0", "1.10.0", "4.6.0"))
def test_add_and_remove_a_disk_keeps_the_volume(api, version):
    api.reset(api_version=version)
    vm = api.vm("web-01")
    new = {"vm_volume": {"name": "web-01-data", "size": 10 * GIB, "elf_storage_policy": "REPLICA_2_THIN_PROVISION"},
           "bus": "SCSI", "boot": 5, "index": 1}
    api.run("add-vm-disk", {"where": {"id": vm["id"]}, "data": {"vm_disks": {"mount_new_create_disks": [new]}}})
    disks = _disks(api, vm, "DISK")
    assert [d["bus"] for d in disks] == ["VIRTIO", "SCSI"]
    added = disks[-1]
    assert int(_volume(api, added)["size"]) == 10 * GIB
    api.settle()
    api.run("remove-vm-disk", {"where": {"id": vm["id"]}, "data": {"disk_ids": [added["id"]]}})
    assert len(_disks(api, vm, "DISK")) == 1
    volume = _volume(api, added)
    assert volume["mounting"] is False


def test_an_ide_disk_needs_a_stopped_vm(api):
    vm = api.vm("web-01")
    new = {"vm_volume": {"name": "x", "size": GIB, "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}, "bus": "IDE", "boot": 3}
    _refused(api, "add-vm-disk", {"where": {"id": vm["id"]}, "data": {"vm_disks": {"mount_new_create_disks": [new]}}}, "VM_NOT_STOPPED")


def test_expand_grows_the_volume_and_refuses_to_shrink(api):
    vm = api.vm("db-02")
    disk = _disks(api, vm, "DISK")[0]
    size = int(_volume(api, disk)["size"])
    _refused(api, "expand-vm-disk", {"where": {"id": disk["id"]}, "size": size - GIB}, "VM_VOLUME_SIZE_CANNOT_SHRINK")
    api.run("expand-vm-disk", {"where": {"id": disk["id"]}, "size": size + GIB})
    assert int(_volume(api, disk)["size"]) == size + GIB


def test_expand_and_eject_do_not_exist_on_1_8(api):
    api.reset(api_version="1.8.0")
    assert api.post("expand-vm-disk", {"where": {"id": "x"}, "size": 1}).status_code == 404
    assert api.post("eject-iso-from-vm-cd-rom", {"where": {"id": "x"}}).status_code == 404


def test_cd_rom_drive_needs_a_stopped_vm_and_an_iso_of_its_cluster(api):
    running, stopped = api.vm("web-01"), api.vm("db-02")
    _refused(api, "add-vm-cd-rom", {"where": {"id": running["id"]}, "data": {"vm_cd_roms": [{"boot": 9, "index": 0}]}}, "VM_NOT_STOPPED")
    images = api.call("get-elf-images", {"where": {"cluster": {"name": "cluster-b"}}})
    _refused(api, "add-vm-cd-rom", {"where": {"id": stopped["id"]}, "data": {"vm_cd_roms": [{"boot": 9, "elf_image_id": images[0]["id"]}]}},
             "ELF_IMAGE_NOT_FOUND")
    own = api.call("get-elf-images", {"where": {"cluster": {"name": "cluster-a"}}})[0]
    api.run("add-vm-cd-rom", {"where": {"id": stopped["id"]}, "data": {"vm_cd_roms": [{"boot": 9}]}})
    cd_rom = _disks(api, stopped, "CD_ROM")[-1]
    assert cd_rom["elf_image"] is None
    api.settle()
    api.run("update-vm-disk", {"where": {"id": stopped["id"]}, "data": {"vm_disk_id": cd_rom["id"], "elf_image_id": own["id"]}})
    assert _disks(api, stopped, "CD_ROM")[-1]["elf_image"]["id"] == own["id"]
    api.settle()
    api.run("eject-iso-from-vm-cd-rom", {"where": {"id": cd_rom["id"]}})
    assert _disks(api, stopped, "CD_ROM")[-1]["elf_image"] is None
    api.settle()
    api.run("remove-vm-cd-rom", {"where": {"id": stopped["id"]}, "data": {"cd_rom_ids": [cd_rom["id"]]}})
    assert _disks(api, stopped, "CD_ROM") == []


def test_nics_add_update_remove_and_a_vlan_of_another_cluster(api):
    vm = api.vm("web-01")
    where = {"id": vm["id"]}
    other = api.call("get-vlans", {"where": {"name": "prod-vlan-100"}})[0]
    _refused(api, "add-vm-nic", {"where": where, "data": {"vm_nics": [{"connect_vlan_id": other["id"]}]}}, "VLAN_NOT_FOUND")
    storage = api.call("get-vlans", {"where": {"name": "storage-net"}})[0]
    api.run("add-vm-nic", {"where": where, "data": {"vm_nics": [{"connect_vlan_id": storage["id"], "model": "VIRTIO"}]}})
    nics = _nics(api, vm)
    assert [n["vlan"]["id"] for n in nics][-1] == storage["id"] and [n["order"] for n in nics] == [0, 1]
    api.settle()
    _refused(api, "update-vm-nic", {"where": where, "data": {"nic_index": 1, "model": "E1000"}}, "VM_NOT_STOPPED")
    api.settle()
    api.run("update-vm-nic", {"where": where, "data": {"nic_index": 1, "enabled": False}})
    assert _nics(api, vm)[1]["enabled"] is False
    api.settle()
    api.run("remove-vm-nic", {"where": where, "data": {"nic_index": [0]}})
    remaining = _nics(api, vm)
    assert [(n["vlan"]["id"], n["order"]) for n in remaining] == [(storage["id"], 0)]


def test_migrate_a_running_vm_and_move_it_to_a_folder(api):
    vm = api.vm("web-01")
    hosts = api.call("get-hosts", {"where": {"cluster": {"name": "cluster-a"}}})
    target = next(h for h in hosts if h["id"] != vm["host"]["id"])
    api.run("migrate-vm", {"where": {"id": vm["id"]}, "data": {"host_id": target["id"]}})
    assert api.vm("web-01")["host"]["id"] == target["id"]
    _refused(api, "migrate-vm", {"where": {"name": "db-02"}, "data": {"host_id": target["id"]}}, "VM_NOT_RUNNING")
    folder = api.call("get-vm-folders", {"where": {"cluster": {"name": "cluster-a"}}})[0]
    wrong = api.call("get-vm-folders", {"where": {"cluster": {"name": "cluster-b"}}})[0]
    api.settle()
    _refused(api, "add-vm-to-folder", {"where": {"id": vm["id"]}, "data": {"folder_id": wrong["id"]}}, "VM_FOLDER_NOT_FOUND")
    api.run("add-vm-to-folder", {"where": {"id": vm["id"]}, "data": {"folder_id": folder["id"]}})
    assert api.vm("web-01")["folder"]["id"] == folder["id"]
    api.settle()
    api.run("remove-vm-from-folder", {"where": {"id": vm["id"]}})
    assert api.vm("web-01")["folder"] is None


def _vlan(api, cluster, name):
    return next(v for v in api.call("get-vlans", {"where": {"name": name}}) if cluster in v["vds"]["name"])


def test_migrate_across_clusters_moves_the_vm_its_nics_and_volumes_on_4_6(api):
    api.reset(api_version="4.6.0")
    vm = api.vm("web-02")
    cluster_b = api.call("get-clusters", {"where": {"name": "cluster-b"}})[0]
    host = api.call("get-hosts", {"where": {"name": "node-b2"}})[0]
    mapping = [{"src_vlan_local_id": _vlan(api, "cluster-a", "vm-network")["local_id"],
                "dest_vlan_local_id": _vlan(api, "cluster-b", "prod-vlan-100")["local_id"]}]
    config = {"migrate_type": "LIVE_MIGRATE", "elf_storage_policy": "REPLICA_2_THIN_PROVISION", "network_mapping": mapping,
              "delete_src_vm": True}
    body = {"where": {"id": vm["id"]}, "data": {"cluster_id": cluster_b["id"], "host_id": host["id"], "vm_config": config}}
    _refused(api, "migrate-vm-across-cluster", dict(body, data=dict(body["data"], vm_config=dict(config, migrate_type="COLD_MIGRATE"))),
             "VM_NOT_STOPPED")
    _refused(api, "migrate-vm-across-cluster", dict(body, data=dict(body["data"], vm_config=dict(config, network_mapping=[]))),
             "VM_MIGRATE_VLAN_NOT_MAPPED")
    wrong_host = api.call("get-hosts", {"where": {"name": "node-a1"}})[0]
    _refused(api, "migrate-vm-across-cluster", dict(body, data=dict(body["data"], host_id=wrong_host["id"])), "HOST_NOT_FOUND")
    api.run("migrate-vm-across-cluster", body)
    moved = api.vm("web-02")
    assert moved["cluster"]["id"] == cluster_b["id"] and moved["host"]["id"] == host["id"] and moved["status"] == "RUNNING"
    assert [n["vlan"]["name"] for n in _nics(api, moved)] == ["prod-vlan-100"]
    assert all(_volume(api, d)["cluster"]["id"] == cluster_b["id"] for d in _disks(api, moved, "DISK"))
    api.settle()
    _refused(api, "migrate-vm-across-cluster", body, "VM_ALREADY_IN_CLUSTER")


def test_migrate_across_clusters_is_not_served_before_4_6(api):
    api.reset(api_version="1.10.0")
    assert api.post("migrate-vm-across-cluster", {"where": {"id": api.vm("web-02")["id"]}, "data": {}}).status_code == 404


def test_a_busy_vm_refuses_a_device_change_on_4_6(api):
    vm = api.vm("web-01")
    api.call("update-vm-basic-info", {"where": {"id": vm["id"]}, "data": {"description": "busy"}})
    response = api.post("remove-vm-nic", {"where": {"id": vm["id"]}, "data": {"nic_index": [0]}})
    assert response.status_code == 400 and "ResourceLocked" in response.text
