# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_backup_restore against a simulator serving real iSCSI (tgtd) and 4.6 uploads/imports/exports.

Backups are taken and copied into a repository as the vm_backup role does; then the source VM is deleted with its
snapshots, and the VM is restored from the repository alone. Byte identity is proved with the simulator's own digest
of each new volume against the manifest's digest of the backed-up disk.
"""

from __future__ import annotations

import base64
import os

import pytest

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_backup_restore as restore_module
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import CloudTowerClient, ConnectionSettings
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import read_manifest
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter
from ansible_collections.smartx.cloudtower.tests.unit.plugins.modules.test_cloudtower_backup_copy import copy, raw_digest, take_backup
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import (
    PASSWORD,
    TASK_SECONDS,
    USERNAME,
    run_module,
    start_simulator,
)

from ansible_collections.smartx.cloudtower.tests.simulator.ctsim import dataplane_deps  # pylint: disable=import-error

REASON = dataplane_deps.portal_unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def portal_sim():
    sim = start_simulator(iscsi_portal="127.0.0.1:0", api_version="4.6.0")
    yield sim
    sim.stop()


def api(sim):
    client = CloudTowerClient(ConnectionSettings(sim.url, USERNAME, PASSWORD))
    return client, TaskWaiter(client, 60)


def backed_up(sim, capsys, tmp_path, vm_name, name="r1", write=True):
    """A repository backup of vm_name (its first disk holding fresh random data): (repository, manifest)."""
    client, _waiter = api(sim)
    vm = client.call("get-vms", {"where": {"name": vm_name}})[0]
    if write:
        disk = client.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}, "type": "DISK"}})[0]
        sim.write_volume(disk["vm_volume"]["id"], {"offset": 3 * MIB, "data": base64.b64encode(os.urandom(2 * MIB)).decode("ascii")})
    manifests, _luns = take_backup(sim, capsys, tmp_path, name, vms=(vm_name,))
    repository = tmp_path / "repo"
    copied = copy(sim, capsys, repository, manifests)
    assert not copied.result.get("failed"), copied.result.get("msg")
    return repository, read_manifest(os.path.join(copied.result["backups"][0]["path"], "manifest.json"))


def delete_with_snapshots(sim, vm_name):
    client, waiter = api(sim)
    vm = client.call("get-vms", {"where": {"name": vm_name}})[0]
    replies = client.mutate("delete-vm", {"where": {"id": vm["id"]}, "effect": {"include_snapshots": True}})
    waiter.wait([r["task_id"] for r in replies])
    assert not client.call("get-vm-snapshots", {"where": {"vm": {"id": vm["id"]}}})


def restore(sim, capsys, check_mode=False, **options):
    return run_module(restore_module, sim, capsys, check_mode=check_mode, iscsi_portal=sim.dataplane.portal.address,
                      host_label="unit", **options)


def digests_match(sim, result, manifest, repository, tmp_path):
    """Each restored volume holds the backed-up disk: the simulator's digest of the volume equals its digest of the
    backup file read through its chain (qemu-img), and the module's read-back digest equals the manifest's."""
    backup_dir = next(os.path.join(root, d) for root, dirs, _files in os.walk(str(repository)) for d in dirs
                      if d == manifest["repository"]["backup"])
    by_index = {d["index"]: d for d in manifest["disks"]}
    for disk in result["disks"]:
        entry = by_index[disk["index"]]
        assert disk["digest"] == entry["backup"]["digest"]["value"]
        source = raw_digest(os.path.join(backup_dir, entry["backup"]["file"]), tmp_path)
        assert sim.volume_digest(disk["volume_id"])["digest"] == source, disk


def test_restore_after_the_vm_and_its_snapshots_are_gone(portal_sim, capsys, tmp_path):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    repository, manifest = backed_up(portal_sim, capsys, tmp_path, "db-01")
    delete_with_snapshots(portal_sim, "db-01")
    options = dict(repository=str(repository), vm="db-01", backup="latest", name="db-01", power_on=True)

    planned = restore(portal_sim, capsys, check_mode=True, **options)
    assert planned.result["changed"] and planned.sent == [], planned.result
    assert len(planned.result["actions"]) == 4 and not os.listdir(tmp_path / "repo" / "cluster-a")[0].startswith(".")

    done = restore(portal_sim, capsys, **options)
    assert not done.result.get("failed") and done.result["changed"], done.result.get("msg")
    assert done.accepted.count("import-vm-volume") == 2 and done.accepted.count("create-vm") == 1
    assert done.accepted.count("export-vm-volume") == 2 and done.accepted.count("start-vm") == 1
    assert done.result["transport"] == "upload"
    digests_match(portal_sim, done.result, manifest, repository, tmp_path)
    vm = done.result["vm"]
    frozen = manifest["snapshot"]
    assert (vm["vcpu"], vm["memory"], vm["firmware"], vm["status"]) == (frozen["vcpu"], frozen["memory"], frozen["firmware"], "RUNNING")
    client, _waiter = api(portal_sim)
    disks = sorted(client.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}}}), key=lambda d: d["boot"])
    assert [(d["type"], d["bus"], d["boot"]) for d in disks] == [(d["type"], d["bus"], d["boot"]) for d in frozen["vm_disks"]]
    nics = client.call("get-vm-nics", {"where": {"vm": {"id": vm["id"]}}})
    assert sorted(n["vlan"]["name"] for n in nics) == sorted(n["vlan"]["name"] for n in frozen["vm_nics"])

    again = restore(portal_sim, capsys, **options)
    assert not again.result["changed"] and again.sent == [] and again.result["vm"]["id"] == vm["id"]
    checked = restore(portal_sim, capsys, check_mode=True, **options)
    assert not checked.result["changed"] and checked.sent == []


def test_restore_to_the_other_cluster_with_a_network_map(portal_sim, capsys, tmp_path):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    repository, manifest = backed_up(portal_sim, capsys, tmp_path, "db-01")
    done = restore(portal_sim, capsys, repository=str(repository), vm="db-01", cluster="cluster-b", verify="source",
                   network_map={"vm-network": "prod-vlan-100"})
    assert not done.result.get("failed"), done.result.get("msg")
    assert done.result["cluster"]["name"] == "cluster-b" and done.result["vm_name"] == "db-01-restored"
    digests_match(portal_sim, done.result, manifest, repository, tmp_path)
    client, _waiter = api(portal_sim)
    nics = sorted(client.call("get-vm-nics", {"where": {"vm": {"id": done.result["vm"]["id"]}}}), key=lambda n: n["order"])
    assert [(n["vlan"]["name"], n["enabled"]) for n in nics] == [("prod-vlan-100", True), ("default", False)]
    assert any("storage-net" in w for w in done.result["warnings_list"])
    refused = restore(portal_sim, capsys, repository=str(repository), vm="db-01", cluster="cluster-b", name="other",
                      network_map={"vm-network": "no-such-vlan"})
    assert refused.result["failed"] and "network_map" in refused.result["msg"] and "no-such-vlan" in refused.result["msg"]
    assert refused.sent == []


def test_restore_one_disk_to_a_stopped_vm(portal_sim, capsys, tmp_path):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    repository, manifest = backed_up(portal_sim, capsys, tmp_path, "web-01")
    options = dict(manifest=os.path.join(str(repository), "cluster-a", next(iter(os.listdir(repository / "cluster-a"))), "r1-web-01"),
                   target_vm="db-02", disks=[0])
    planned = restore(portal_sim, capsys, check_mode=True, **options)
    assert planned.result["changed"] and planned.sent == []
    done = restore(portal_sim, capsys, **options)
    assert not done.result.get("failed"), done.result.get("msg")
    assert done.accepted.count("add-vm-disk") == 1 and done.accepted.count("import-vm-volume") == 1
    digests_match(portal_sim, done.result, manifest, repository, tmp_path)
    client, _waiter = api(portal_sim)
    disks = client.call("get-vm-disks", {"where": {"vm": {"id": done.result["vm"]["id"]}, "type": "DISK"}})
    assert len(disks) == 3
    again = restore(portal_sim, capsys, **options)
    assert not again.result["changed"] and again.sent == []
    running = restore(portal_sim, capsys, manifest=options["manifest"], target_vm="db-01", disks=[0])
    assert running.result["failed"] and "target_vm" in running.result["msg"] and "RUNNING" in running.result["msg"]
    assert running.sent == []


def test_a_failure_midway_removes_what_was_created(portal_sim, capsys, tmp_path):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    repository, _manifest = backed_up(portal_sim, capsys, tmp_path, "db-01")
    portal_sim.set_faults({"task_failures": [{"operations": ["create-vm"], "error_code": "SIMULATED_CREATE_FAILURE"}]})
    failed = restore(portal_sim, capsys, repository=str(repository), vm="db-01", verify="source")
    portal_sim.set_faults({})
    assert failed.result["failed"]
    message = failed.result["msg"]
    assert "[create]" in message and "removed what this run had created" in message, message
    volumes = [v for v in portal_sim.state("vm_volumes")["vm_volumes"] if v["name"].startswith("db-01-restored")]
    assert volumes == [] and failed.accepted.count("delete-vm-volume") == 1
    # An import that fails on the second disk: the first disk's volume goes again.
    portal_sim.set_faults({"task_failures": [{"operations": ["import-vm-volume"], "nth": 2}]})
    failed = restore(portal_sim, capsys, repository=str(repository), vm="db-01", verify="source")
    portal_sim.set_faults({})
    assert failed.result["failed"] and "disk 1 [write]" in failed.result["msg"], failed.result["msg"]
    assert [v for v in portal_sim.state("vm_volumes")["vm_volumes"] if v["name"].startswith("db-01-restored")] == []
    assert not [vm for vm in portal_sim.state("vms")["vms"] if vm["name"] == "db-01-restored"]


@pytest.mark.parametrize("version", ["1.8.0", "1.10.0"])
def test_older_versions_restore_over_iscsi_or_refuse_naming_the_version(portal_sim, capsys, tmp_path, version):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS, api_version=version)
    repository, manifest = backed_up(portal_sim, capsys, tmp_path, "web-01")
    refused = restore(portal_sim, capsys, repository=str(repository), vm="web-01", transport="upload")
    assert refused.result["failed"] and "transport" in refused.result["msg"] and version[:3] in refused.result["msg"]
    assert refused.sent == []
    done = restore(portal_sim, capsys, repository=str(repository), vm="web-01", power_on=True)
    assert not done.result.get("failed"), done.result.get("msg")
    assert done.result["transport"] == "iscsi" and done.accepted.count("create-vm-volume") == 1
    # Started once the VM was idle: before 3.3 a call on a VM still locked after its task starts a task that fails.
    assert done.result["vm"]["status"] == "RUNNING" and done.accepted.count("start-vm") == 1
    digests_match(portal_sim, done.result, manifest, repository, tmp_path)
    # A volume target that does not admit this host: refused before anything is sent, naming the version.
    client, waiter = api(portal_sim)
    target = client.call("get-iscsi-targets", {"where": {"internal": True, "cluster": {"name": "cluster-a"}}})[0]
    replies = client.mutate("update-iscsi-target", {"where": {"id": target["id"]}, "data": {"ip_whitelist": "10.9.9.9"}})
    waiter.wait([r["task_id"] for r in replies])
    closed = restore(portal_sim, capsys, repository=str(repository), vm="web-01", name="web-01-again")
    assert closed.result["failed"] and version[:3] in closed.result["msg"] and "Nothing was sent" in closed.result["msg"]
    assert closed.sent == []


def test_an_increment_restores_through_its_chain_and_a_damaged_chain_is_refused(portal_sim, capsys, tmp_path):
    portal_sim.reset(state="demo", task_seconds=TASK_SECONDS)
    repository, _first = backed_up(portal_sim, capsys, tmp_path, "web-01", name="i1")
    repository, manifest = backed_up(portal_sim, capsys, tmp_path, "web-01", name="i2")
    assert manifest["disks"][0]["backup"]["chain_depth"] == 1
    done = restore(portal_sim, capsys, repository=str(repository), vm="web-01", verify="source")
    assert not done.result.get("failed"), done.result.get("msg")
    assert done.result["disks"][0]["chain"] == 2
    digests_match(portal_sim, done.result, manifest, repository, tmp_path)
    first_file = next(os.path.join(root, "disk-0.qcow2") for root, _dirs, files in os.walk(str(repository))
                      if root.endswith("i1-web-01") and "disk-0.qcow2" in files)
    with open(first_file, "r+b") as stream:
        stream.seek(os.path.getsize(first_file) - 4096)
        stream.write(b"\xff" * 16)
    refused = restore(portal_sim, capsys, repository=str(repository), vm="web-01", name="web-01-damaged")
    assert refused.result["failed"] and "[read]" in refused.result["msg"] and "changed since it was backed up" in refused.result["msg"]
    # The files are hashed while the volume is written: the volume goes again, and no VM is created.
    assert "create-vm" not in refused.sent and refused.accepted.count("delete-vm-volume") == 1
    assert not [v for v in portal_sim.state("vm_volumes")["vm_volumes"] if v["name"].startswith("web-01-damaged")]
