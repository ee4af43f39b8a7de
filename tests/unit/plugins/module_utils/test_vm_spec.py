# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM spec: option validation before any request, CPU topology, and the create/clone/rebuild bodies."""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError, NotFoundError
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_spec import (
    References,
    VmSpec,
    clone_body,
    cpu_topology,
    creation_body,
    format_size,
    missing_for_create,
    rebuild_body,
    resolve_references,
)

GIB = 1024 ** 3


def params(**overrides):
    base = dict(name="web-1", new_name=None, description=None, cluster="c1", host=None, folder=None, firmware=None,
                guest_os_type=None, ha=None, vcpu=None, cpu_sockets=None, cpu_cores=None, memory=None, clone_from=None,
                from_snapshot=None, disks=None, nics=None)
    base.update(overrides)
    return base


def disk(**entry):
    base = dict(type="disk", size=None, volume=None, name=None, bus=None, storage_policy=None, image=None)
    base.update(entry)
    return base


def nic(**entry):
    base = dict(vlan=None, model=None, mac_address=None, enabled=None)
    base.update(entry)
    return base


def refs_with(vlans=None, images=None, volumes=None, host=None):
    refs = References()
    refs.vlans = vlans or {}
    refs.images = images or {}
    refs.volumes = volumes or {}
    refs.host = host
    return refs


# ----- CPU topology ---------------------------------------------------------------------------------
@pytest.mark.parametrize("given, current, expected", [
    ((4, None, None), None, (4, 4, 1)),            # create: one core per socket
    ((8, None, None), (2, 2), (8, 4, 2)),          # update keeps 2 cores per socket
    ((6, None, None), (1, 4), (6, 6, 1)),          # 4 does not divide 6: one core per socket
    ((None, 2, 4), None, (8, 2, 4)),
    ((8, 2, 4), None, (8, 2, 4)),
    ((None, 4, None), (2, 2), (8, 4, 2)),          # sockets only: keep the cores
    ((None, None, 3), (2, 2), (6, 2, 3)),
    ((8, None, 4), None, (8, 2, 4)),
    ((8, 2, None), None, (8, 2, 4)),
    ((None, None, None), (2, 2), None),
])
def test_cpu_topology_derives_what_is_missing(given, current, expected):
    assert cpu_topology(*given, current=current) == expected


@pytest.mark.parametrize("given, option", [
    ((6, 2, 4), "vcpu"),       # 6 != 2 x 4
    ((7, None, 2), "vcpu"),    # not a multiple of the cores
    ((7, 2, None), "vcpu"),    # not a multiple of the sockets
    ((0, None, None), "vcpu"),
    ((None, -1, 2), "cpu_sockets"),
    ((None, 2, 0), "cpu_cores"),
])
def test_cpu_topology_refuses_contradictions_naming_the_option(given, option):
    with pytest.raises(InputError) as error:
        cpu_topology(*given)
    assert error.value.option == option
    assert error.value.value == given[("vcpu", "cpu_sockets", "cpu_cores").index(option)]


# ----- validation before any request ---------------------------------------------------------------
@pytest.mark.parametrize("memory, expected", [("4GiB", 4 * GIB), ("512MiB", 512 * 1024 ** 2), ("8589934592", 8 * GIB), ("2G", 2 * GIB)])
def test_memory_units(memory, expected):
    assert VmSpec(params(memory=memory)).memory == expected


@pytest.mark.parametrize("memory", ["4 gigs", "-4GiB", "0", "1.5B", "GiB"])
def test_invalid_memory_is_an_input_error_naming_memory(memory):
    with pytest.raises(InputError) as error:
        VmSpec(params(memory=memory))
    assert error.value.option == "memory"
    assert error.value.value == memory


@pytest.mark.parametrize("size", ["-10GiB", "0", "ten"])
def test_bad_disk_sizes_name_the_entry(size):
    with pytest.raises(InputError) as error:
        VmSpec(params(disks=[disk(size="10GiB"), disk(size=size)]))
    assert error.value.option == "disks[1].size"
    assert error.value.value == size


@pytest.mark.parametrize("entry, option", [
    (disk(), "disks[0].size"),                                       # a new disk needs a size
    (disk(size="1GiB", volume="vol-1"), "disks[0].size"),             # size of an existing volume
    (disk(volume="vol-1", storage_policy="REPLICA_3_THIN_PROVISION"), "disks[0].storage_policy"),
    (disk(type="cdrom", size="1GiB"), "disks[0].size"),
    (disk(type="cdrom", bus="SCSI"), "disks[0].bus"),
    (disk(size="1GiB", image="iso"), "disks[0].image"),
])
def test_contradictory_disk_entries(entry, option):
    with pytest.raises(InputError) as error:
        VmSpec(params(disks=[entry]))
    assert error.value.option == option


def test_disks_conflict_with_a_clone_source():
    with pytest.raises(InputError) as error:
        VmSpec(params(clone_from="template", disks=[disk(size="1GiB")]))
    assert error.value.option == "disks"
    assert "clone_from" in error.value.message


def test_bad_mac_address():
    with pytest.raises(InputError) as error:
        VmSpec(params(nics=[nic(vlan="v"), nic(vlan="v", mac_address="52:54:00:zz:00:01")]))
    assert error.value.option == "nics[1].mac_address"


def test_contradictory_topology_fails_at_parse_time():
    with pytest.raises(InputError) as error:
        VmSpec(params(vcpu=6, cpu_sockets=2, cpu_cores=4))
    assert error.value.option == "vcpu"


@pytest.mark.parametrize("overrides, option", [
    (dict(cluster=None, memory="1GiB", vcpu=1), "cluster"),
    (dict(vcpu=1), "memory"),
    (dict(memory="1GiB"), "vcpu"),
])
def test_a_plain_create_names_the_missing_option(overrides, option):
    assert missing_for_create(VmSpec(params(**overrides))).option == option


def test_a_complete_create_misses_nothing():
    assert missing_for_create(VmSpec(params(memory="1GiB", cpu_sockets=1, cpu_cores=2))) is None


def test_format_size():
    assert format_size(10 * GIB) == "10GiB"
    assert format_size(1536 * 1024 ** 2) == "1536MiB"
    assert format_size(1000) == "1000B"


# ----- bodies -------------------------------------------------------------------------------------------
def test_creation_body_follows_vm_creation_params():
    spec = VmSpec(params(new_name="web-01", vcpu=4, memory="8GiB", description="front", guest_os_type="LINUX", disks=[
        disk(size="40GiB"),
        disk(size="100GiB", bus="SCSI", storage_policy="REPLICA_3_THIN_PROVISION", name="data"),
        disk(type="cdrom", image="rocky.iso"),
        disk(volume="shared-vol", bus="IDE"),
    ], nics=[nic(vlan="vm-network", mac_address="52:54:00:AA:BB:CC", enabled=False)]))
    refs = refs_with(vlans={"vm-network": {"id": "vlan-1"}}, images={"rocky.iso": {"id": "img-1"}},
                     volumes={"shared-vol": {"id": "vol-1"}}, host={"id": "host-1"})
    body = creation_body(spec, refs, {"id": "cluster-1", "name": "c1"}, "RUNNING")
    assert body == {
        "name": "web-01", "cluster_id": "cluster-1", "firmware": "BIOS", "ha": True, "status": "RUNNING",
        "vcpu": 4, "cpu_sockets": 4, "cpu_cores": 1, "memory": 8 * GIB, "description": "front",
        "guest_os_type": "LINUX", "host_id": "host-1",
        "vm_disks": {
            "mount_new_create_disks": [
                {"boot": 0, "index": 0, "bus": "VIRTIO",
                 "vm_volume": {"name": "web-01-disk0", "size": 40 * GIB, "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}},
                {"boot": 1, "index": 1, "bus": "SCSI",
                 "vm_volume": {"name": "data", "size": 100 * GIB, "elf_storage_policy": "REPLICA_3_THIN_PROVISION"}},
            ],
            "mount_cd_roms": [{"boot": 2, "index": 2, "elf_image_id": "img-1"}],
            "mount_disks": [{"boot": 3, "index": 3, "bus": "IDE", "vm_volume_id": "vol-1"}],
        },
        "vm_nics": [{"connect_vlan_id": "vlan-1", "model": "VIRTIO", "mac_address": "52:54:00:aa:bb:cc", "enabled": False}],
    }
    assert "memory_unit" not in body  # 1.8 and 1.10 refuse it


def test_clone_body_sends_only_overrides_and_derives_cpu_from_the_source():
    spec = VmSpec(params(cluster=None, clone_from="tpl", vcpu=8, nics=[nic(vlan="v")]))
    source = {"id": "vm-src", "cluster": {"id": "c-1"}, "cpu": {"sockets": 2, "cores": 2}}
    body = clone_body(spec, refs_with(vlans={"v": {"id": "vlan-9"}}), source, None, "STOPPED")
    assert body == {"src_vm_id": "vm-src", "name": "web-1", "status": "STOPPED", "vcpu": 8, "cpu_sockets": 4, "cpu_cores": 2,
                    "vm_nics": [{"connect_vlan_id": "vlan-9", "model": "VIRTIO"}]}


def test_rebuild_body_names_another_cluster_only_when_it_differs():
    spec = VmSpec(params(from_snapshot="snap"))
    snapshot = {"id": "snap-1", "cluster": {"id": "c-1"}, "cpu": {"sockets": 1, "cores": 1}}
    same = rebuild_body(spec, References(), snapshot, {"id": "c-1"}, "RUNNING")
    other = rebuild_body(spec, References(), snapshot, {"id": "c-2"}, "RUNNING")
    assert same == {"rebuild_from_snapshot_id": "snap-1", "name": "web-1", "status": "RUNNING"}
    assert other["cluster_id"] == "c-2"


# ----- references -----------------------------------------------------------------------------------------
class QueryClient:
    """Answers get-* calls from fixed tables, filtering the OR of id_in/name_in that lookups send."""

    def __init__(self, tables):
        self.tables = tables
        self.calls = []

    def call(self, operation, body):
        self.calls.append((operation, body))
        where = body.get("where") or {}
        wanted = set()
        for clause in where.get("AND", [where]):
            for alternative in clause.get("OR", []):
                wanted.update(alternative.get("id_in", []) + alternative.get("name_in", []))
        return [r for r in self.tables.get(operation, []) if r["id"] in wanted or r["name"] in wanted]


def test_unknown_vlan_is_reported_with_its_entry():
    client = QueryClient({"get-vlans": [{"id": "vlan-1", "name": "vm-network"}]})
    spec = VmSpec(params(nics=[nic(vlan="vm-network"), nic(vlan="no-such-vlan")]))
    with pytest.raises(NotFoundError) as error:
        resolve_references(client, spec, {"id": "c-1", "name": "c1"})
    assert error.value.option == "nics[1].vlan"
    assert error.value.value == "no-such-vlan"
    assert "cluster c1" in error.value.message


def test_vlans_are_looked_up_in_the_vms_cluster_in_one_query():
    client = QueryClient({"get-vlans": [{"id": "vlan-1", "name": "a"}, {"id": "vlan-2", "name": "b"}]})
    spec = VmSpec(params(nics=[nic(vlan="a"), nic(vlan="b"), nic(vlan="a")]))
    refs = resolve_references(client, spec, {"id": "c-1", "name": "c1"})
    assert refs.vlans == {"a": {"id": "vlan-1", "name": "a"}, "b": {"id": "vlan-2", "name": "b"}}
    assert len(client.calls) == 1
    assert client.calls[0][1]["where"]["AND"][0] == {"vds": {"cluster": {"id": "c-1"}}}


def test_ambiguous_vlan_names_the_entry():
    client = QueryClient({"get-vlans": [{"id": "vlan-1", "name": "dup"}, {"id": "vlan-2", "name": "dup"}]})
    spec = VmSpec(params(nics=[nic(vlan="dup")]))
    with pytest.raises(InputError) as error:
        resolve_references(client, spec, {"id": "c-1", "name": "c1"})
    assert error.value.details["option"] == "nics[0].vlan"
    assert "option 'nics[0].vlan'" in error.value.message
    assert "vlan-1" in error.value.message and "vlan-2" in error.value.message
