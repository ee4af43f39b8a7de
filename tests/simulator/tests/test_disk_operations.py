"""add-vm-disk: a free volume mounted on an existing VM becomes its next disk, with its bytes."""

import pytest


@pytest.mark.parametrize("version", ["1.8.0", "4.6.0"])
def test_add_vm_disk_mounts_a_free_volume_after_the_existing_disks(sim, api, version):
    client = api
    client.reset(api_version=version)
    vm = client.call("get-vms", {"where": {"name": "web-01"}})[0]
    before = client.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}}})
    volume = {"elf_storage_policy": "REPLICA_2_THIN_PROVISION", "size": 1 << 30, "sharing": False, "cluster_id": vm["cluster"]["id"],
              "name": "restored-disk"}
    created = client.call("create-vm-volume", [volume])
    client.wait([created[0]["task_id"]])
    mount = {"vm_volume_id": created[0]["data"]["id"], "bus": "SCSI", "boot": 9}
    if version == "1.8.0":
        mount["index"] = 7
    reply = client.call("add-vm-disk", {"where": {"id": vm["id"]}, "data": {"vm_disks": {"mount_disks": [mount]}}})
    assert client.wait([reply[0]["task_id"]])[0]["status"] == "SUCCESSED"
    after = client.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}}})
    assert len(after) == len(before) + 1
    added = [d for d in after if (d.get("vm_volume") or {}).get("id") == created[0]["data"]["id"]]
    assert len(added) == 1 and added[0]["bus"] == "SCSI" and added[0]["boot"] == 9
    volume = client.call("get-vm-volumes", {"where": {"id": created[0]["data"]["id"]}})[0]
    assert volume["mounting"] is True
    client.settle()
    again = client.post("add-vm-disk", {"where": {"id": vm["id"]}, "data": {"vm_disks": {"mount_disks": [mount]}}})
    assert again.status_code == 400 and "VM_VOLUME_IN_USE" in again.text
