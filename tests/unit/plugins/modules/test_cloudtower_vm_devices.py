# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_vm on existing VMs: disks, CD-ROMs, NICs, host and folder, against the simulator (issue 18).

Each case runs check mode, applies, and applies again: the second run must find what the first made (a disk is
never added twice) and send nothing. web-01 (cluster-a) runs on node-a1 with one 40 GiB VIRTIO disk and one NIC on
vm-network; db-02 is stopped.
"""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm as vm_module
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import run_module

WEB = dict(name="web-01", cluster="cluster-a")
ISO = "ubuntu-22.04.4-live-server-amd64.iso"


def run(sim, capsys, check_mode=False, **options):
    return run_module(vm_module, sim, capsys, check_mode=check_mode, diff=True, **dict(WEB, **options))


def converge(sim, capsys, expected, **options):
    """check mode -> apply -> again: the operations sent, and the second run's requests."""
    predicted = run(sim, capsys, check_mode=True, **options)
    assert predicted.sent == [] and predicted.result["changed"], predicted.result
    assert [a["operation"] for a in predicted.result["actions"]] == expected
    applied = run(sim, capsys, **options)
    assert applied.sent == expected, applied.result
    assert applied.result["changes"] == predicted.result["changes"]
    again = run(sim, capsys, **options)
    assert not again.result["changed"] and again.sent == [], again.result["actions"]
    return applied, again


def kinds(sim, vm_name, kind):
    vm = [v for v in sim.state("vms")["vms"] if v["name"] == vm_name][0]
    return [d for d in sim.state("vm_disks")["vm_disks"] if d["vm"]["id"] == vm["id"] and d["type"] == kind]


@pytest.mark.parametrize("api_version", ("1.10.0", "4.6.0"))
def test_add_then_grow_a_disk_never_duplicates_it(simulator, capsys, api_version):
    simulator.reset(state="demo", api_version=api_version, task_seconds=0.05)
    applied, again = converge(simulator, capsys, ["add-vm-disk"], disks=[{"size": "40GiB"}, {"size": "10GiB", "bus": "SCSI"}])
    assert applied.result["changes"] == {"disks[1].exists": {"before": False, "after": True}}
    assert again.requested == ["login", "get-vms", "get-vm-disks", "get-vm-volumes"]
    grown, _again = converge(simulator, capsys, ["expand-vm-disk"], disks=[{"size": "40GiB"}, {"size": "20GiB", "bus": "SCSI"}])
    assert grown.result["changes"] == {"disks[1].size": {"before": 10 * 1024 ** 3, "after": 20 * 1024 ** 3}}
    assert grown.result["diff"]["after"]["disks[1].size"] == 20 * 1024 ** 3
    assert len(kinds(simulator, "web-01", "DISK")) == 2

    shrink = run(simulator, capsys, disks=[{"size": "40GiB"}, {"size": "5GiB", "bus": "SCSI"}])
    assert shrink.result["failed"] and shrink.sent == []
    assert "disks[1].size" in shrink.result["msg"] and "shrink" in shrink.result["msg"]


def test_growing_a_disk_on_api_1_8_is_refused_before_any_change(simulator, capsys):
    simulator.reset(state="demo", api_version="1.8.0", task_seconds=0.05)
    refused = run(simulator, capsys, disks=[{"size": "80GiB"}])
    assert refused.result["failed"] and refused.sent == []
    assert "disks[0].size" in refused.result["msg"] and "1.10" in refused.result["msg"]


def test_purge_disks_removes_only_unmatched_disks(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    run(simulator, capsys, disks=[{"size": "40GiB"}, {"size": "1GiB", "bus": "SCSI"}])
    kept = run(simulator, capsys, disks=[{"size": "40GiB"}])
    assert not kept.result["changed"]
    converge(simulator, capsys, ["remove-vm-disk"], disks=[{"size": "40GiB"}], purge_disks=True)
    assert [d["bus"] for d in kinds(simulator, "web-01", "DISK")] == ["VIRTIO"]


@pytest.mark.parametrize("api_version", ("1.8.0", "4.6.0"))
def test_nics_added_updated_and_purged(simulator, capsys, api_version):
    simulator.reset(state="demo", api_version=api_version, task_seconds=0.05)
    _applied, again = converge(simulator, capsys, ["add-vm-nic"], nics=[{"vlan": "vm-network"}, {"vlan": "storage-net"}])
    # The VLANs the NICs are on are not looked up again: the VM and its NICs are all a no-change run reads.
    assert again.requested == ["login", "get-vms", "get-vm-nics"]
    applied, _again = converge(simulator, capsys, ["update-vm-nic"], nics=[{"vlan": "vm-network", "enabled": False}, {"vlan": "storage-net"}])
    assert applied.result["changes"] == {"nics[0].enabled": {"before": True, "after": False}}
    moved, _again = converge(simulator, capsys, ["update-vm-nic", "remove-vm-nic"], nics=[{"vlan": "default"}], purge_nics=True)
    assert moved.result["changes"]["nics[0].vlan"] == {"before": "vm-network", "after": "default"}


def test_a_vlan_of_another_cluster_is_not_found_in_the_vms_cluster(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    refused = run(simulator, capsys, nics=[{"vlan": "prod-vlan-100"}])
    assert refused.result["failed"] and refused.sent == []
    assert "nics[0].vlan" in refused.result["msg"] and "cluster-a" in refused.result["msg"]


def test_a_model_change_on_a_running_vm_needs_force_restart(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    refused = run(simulator, capsys, nics=[{"vlan": "vm-network", "model": "E1000"}])
    assert refused.result["failed"] and refused.sent == []
    assert "force_restart" in refused.result["msg"] and "model" in refused.result["msg"]
    applied, _again = converge(simulator, capsys, ["shutdown-vm", "update-vm-nic", "start-vm"],
                               nics=[{"vlan": "vm-network", "model": "E1000"}], force_restart=True)
    assert applied.result["vm"]["status"] == "RUNNING"
    assert applied.result["changes"]["restarted"] == {"before": False, "after": True}


def test_cd_rom_added_to_a_stopped_vm_then_iso_mounted_and_ejected(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    db = dict(name="db-02", cluster="cluster-a")
    disks = [{"size": "100GiB"}, {"size": "500GiB"}]
    converge(simulator, capsys, ["add-vm-cd-rom"], **dict(db, disks=disks + [{"type": "cdrom"}]))
    mounted, _again = converge(simulator, capsys, ["update-vm-disk"], **dict(db, disks=disks + [{"type": "cdrom", "image": ISO}]))
    assert mounted.result["changes"] == {"disks[2].image": {"before": None, "after": ISO}}
    assert "get-elf-images" not in _again.requested
    converge(simulator, capsys, ["eject-iso-from-vm-cd-rom"], **dict(db, disks=disks + [{"type": "cdrom"}]))
    assert len(kinds(simulator, "db-02", "CD_ROM")) == 1


def test_a_running_vm_is_migrated_and_moved_to_a_folder(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    applied, _again = converge(simulator, capsys, ["migrate-vm", "add-vm-to-folder"], host="node-a2", folder="production")
    assert applied.result["vm"]["host"]["name"] == "node-a2" and applied.result["vm"]["folder"]["name"] == "production"
    assert applied.result["diff"]["before"]["host"] == "node-a1" and applied.result["diff"]["after"]["host"] == "node-a2"
