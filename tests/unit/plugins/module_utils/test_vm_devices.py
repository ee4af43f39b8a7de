# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Matching declared disks, CD-ROMs and NICs with a VM's on stable keys (vm_devices.DevicePlanner), without a server."""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_devices import DevicePlanner
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_spec import References, VmSpec

GIB = 1024 ** 3
VM = {"id": "vm-1", "name": "web-1", "status": "RUNNING", "cluster": {"id": "c-1"}}


class TableClient:
    """Answers each read with a fixed table and records the operations asked for."""

    def __init__(self, tables):
        self.tables = tables
        self.operations = []

    def call(self, operation, body):
        self.operations.append(operation)
        return list(self.tables.get(operation, []))


def disk(disk_id, bus, boot, size=None, volume=None, kind="DISK", image=None):
    return {"id": disk_id, "type": kind, "bus": bus, "boot": boot, "vm_volume": {"id": volume or "vol-" + disk_id} if kind == "DISK" else None,
            "elf_image": {"id": image, "name": image} if image else None, "_test_size": size}


def tables(disks=(), nics=()):
    return {
        "get-vm-disks": list(disks),
        "get-vm-volumes": [{"id": d["vm_volume"]["id"], "size": float(d["_test_size"])} for d in disks if d["vm_volume"]],
        "get-vm-nics": list(nics),
    }


def nic(order, vlan, mac, model="VIRTIO", enabled=True):
    return {"id": "n%d" % order, "order": order, "vlan": {"id": vlan, "name": vlan}, "mac_address": mac, "model": model, "enabled": enabled}


def plan(client, purge_disks=False, purge_nics=False, refs=None, can_expand=True, can_eject=True, **options):
    params = dict(name="web-1", disks=None, nics=None)
    params.update(options)
    references = refs or References()
    references.vlans = references.vlans or {v: {"id": v} for v in ("net-a", "net-b", "net-c")}
    return DevicePlanner(client, VmSpec(params), references, VM, purge_disks, purge_nics, can_expand=lambda: can_expand,
                         can_eject=lambda: can_eject).plan()


def ops(changes):
    return [c.operation for c in changes]


def test_disks_match_per_bus_in_boot_order_whatever_the_list_order():
    client = TableClient(tables([disk("d1", "VIRTIO", 0, 40 * GIB), disk("d2", "SCSI", 1, 100 * GIB)]))
    # SCSI declared first: it still matches the SCSI disk, and the VIRTIO entry the VIRTIO disk.
    assert plan(client, disks=[{"size": "100GiB", "bus": "SCSI"}, {"size": "40GiB"}]) == []
    assert client.operations == ["get-vm-disks", "get-vm-volumes"]


def test_a_second_disk_of_a_bus_is_added_and_a_bigger_one_grown():
    client = TableClient(tables([disk("d1", "VIRTIO", 0, 40 * GIB)]))
    changes = plan(client, disks=[{"size": "50GiB"}, {"size": "10GiB"}])
    assert ops(changes) == ["expand-vm-disk", "add-vm-disk"]
    assert changes[0].body == {"where": {"id": "d1"}, "size": 50 * GIB}
    body = changes[1].body("vm-1")
    assert body["where"] == {"id": "vm-1"}
    assert body["data"]["vm_disks"]["mount_new_create_disks"][0]["boot"] == 1
    assert body["data"]["vm_disks"]["mount_new_create_disks"][0]["vm_volume"]["size"] == 10 * GIB
    assert changes[1].needs_stop is None


def test_a_smaller_size_names_the_entry_and_the_disk():
    client = TableClient(tables([disk("d1", "VIRTIO", 0, 40 * GIB)]))
    with pytest.raises(InputError) as refused:
        plan(client, disks=[{"size": "20GiB"}])
    assert refused.value.details["option"] == "disks[0].size" and "d1" in refused.value.message


def test_no_expand_operation_is_refused_naming_the_version():
    client = TableClient(tables([disk("d1", "VIRTIO", 0, 40 * GIB)]))
    with pytest.raises(InputError) as refused:
        plan(client, can_expand=False, disks=[{"size": "80GiB"}])
    assert "1.10" in refused.value.message


def test_a_volume_entry_matches_its_disk_and_an_ide_disk_needs_a_stop():
    client = TableClient(tables([disk("d1", "VIRTIO", 0, 40 * GIB), disk("d2", "VIRTIO", 1, 5 * GIB, volume="shared")]))
    refs = References()
    refs.volumes = {"shared": {"id": "shared"}}
    assert plan(client, refs=refs, disks=[{"volume": "shared"}, {"size": "40GiB"}]) == []
    refs.volumes = {"shared": {"id": "shared"}}
    changes = plan(client, refs=refs, disks=[{"volume": "shared"}, {"size": "40GiB"}, {"size": "1GiB", "bus": "IDE"}])
    assert ops(changes) == ["add-vm-disk"] and changes[0].needs_stop == "adding an IDE disk"


def test_unmatched_disks_are_removed_only_with_purge():
    client = TableClient(tables([disk("d1", "VIRTIO", 0, 40 * GIB), disk("d2", "SCSI", 1, 10 * GIB)]))
    assert plan(client, disks=[{"size": "40GiB"}]) == []
    changes = plan(client, purge_disks=True, disks=[{"size": "40GiB"}])
    assert ops(changes) == ["remove-vm-disk"] and changes[0].body("vm-1")["data"] == {"disk_ids": ["d2"]}


def test_cd_roms_match_in_boot_order():
    client = TableClient(tables([disk("d1", "VIRTIO", 0, 40 * GIB), disk("c1", "IDE", 1, kind="CD_ROM", image="img-1")]))
    refs = References()
    refs.images = {"img-1": {"id": "img-1"}, "img-2": {"id": "img-2"}}
    assert plan(client, refs=refs, disks=[{"size": "40GiB"}, {"type": "cdrom", "image": "img-1"}]) == []
    changes = plan(client, refs=refs, disks=[{"size": "40GiB"}, {"type": "cdrom", "image": "img-2"}, {"type": "cdrom"}])
    assert ops(changes) == ["update-vm-disk", "add-vm-cd-rom"]
    assert changes[1].needs_stop == "adding a CD-ROM drive"
    ejected = plan(client, refs=refs, disks=[{"size": "40GiB"}, {"type": "cdrom"}])
    assert ops(ejected) == ["eject-iso-from-vm-cd-rom"] and ejected[0].body == {"where": {"id": "c1"}}
    with pytest.raises(InputError) as refused:
        plan(client, refs=refs, can_eject=False, disks=[{"size": "40GiB"}, {"type": "cdrom"}])
    assert refused.value.details["option"] == "disks[1].image" and "1.10" in refused.value.message


def test_nics_match_by_mac_before_position():
    client = TableClient(tables(nics=[nic(0, "net-a", "52:54:00:00:00:01"), nic(1, "net-b", "52:54:00:00:00:02")]))
    # Listed in the other order but with their MACs: nothing to do.
    assert plan(client, nics=[{"vlan": "net-b", "mac_address": "52:54:00:00:00:02"}, {"vlan": "net-a", "mac_address": "52:54:00:00:00:01"}]) == []
    moved = plan(client, nics=[{"vlan": "net-c"}])
    assert ops(moved) == ["update-vm-nic"] and moved[0].body("vm-1")["data"] == {"connect_vlan_id": "net-c", "nic_index": 0}
    assert moved[0].needs_stop is None


def test_nic_model_and_mac_changes_need_a_stop_and_purge_removes_by_index():
    client = TableClient(tables(nics=[nic(0, "net-a", "52:54:00:00:00:01"), nic(1, "net-b", "52:54:00:00:00:02")]))
    changes = plan(client, purge_nics=True, nics=[{"vlan": "net-a", "model": "E1000"}])
    assert ops(changes) == ["update-vm-nic", "remove-vm-nic"]
    assert changes[0].needs_stop == "changing the model of a NIC"
    assert changes[1].body("vm-1")["data"] == {"nic_index": [1]}
    added = plan(client, nics=[{"vlan": "net-a"}, {"vlan": "net-b"}, {"vlan": "net-c", "enabled": False}])
    assert ops(added) == ["add-vm-nic"]
    assert added[0].body("vm-1")["data"]["vm_nics"] == [{"connect_vlan_id": "net-c", "model": "VIRTIO", "enabled": False}]


def test_nothing_declared_reads_nothing():
    client = TableClient(tables())
    assert plan(client) == [] and client.operations == []
