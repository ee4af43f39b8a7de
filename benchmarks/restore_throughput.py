#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore throughput against a plain write of the same file through the same path, side by side (issue 17).

    PYTHONPATH=<dir holding ansible_collections> python benchmarks/restore_throughput.py [--data-mib 256] [--rounds 2]

web-01's 40 GiB disk gets --data-mib of random data and is backed up into a repository (iSCSI, as vm_backup does).
Then, alternating so that the machine's load hits both alike, each of --rounds rounds times:

- upload path (CloudTower 4.6): the plain reference is upload-elf-file of the backup's QCOW2 file (the file the
  restore itself uploads), then import-vm-volume; the restore is cloudtower_backup_restore's disk step (check the
  chain's sha256, upload, import), with verify=source, and with verify=readback (export + download + digest);
- iscsi path: the plain reference is create-vm-volume and a qemu-img write of the same file into its LUN; the
  restore is the module's disk step with verify=source and verify=readback (the LUN read back over iSCSI).

The best round of each is printed with the ratio plain / restore (1.0 = as fast as the plain write). Nothing is
asserted. Needs root (tgtd), tgt, qemu-utils, qemu-block-extra and libiscsi-bin.
"""

import argparse
import base64
import os
import shutil
import subprocess
import tempfile
import time

# pylint: disable=import-error
from ansible_collections.smartx.cloudtower.tests.simulator.ctsim import Simulator
from ansible_collections.smartx.cloudtower.plugins.module_utils import restore
from ansible_collections.smartx.cloudtower.plugins.module_utils import restore_data as data
from ansible_collections.smartx.cloudtower.plugins.module_utils.backup_copy import CopySettings
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import CloudTowerClient, ConnectionSettings
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter
import repository_copy  # a sibling benchmark: its snapshot manifest and copy steps

MIB = 1024 * 1024
PASSWORD = "bench-password"


def run(argv):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


class BenchModule:
    """What restore.Restore uses of an Ansible module, for timing the module's own code outside Ansible."""

    check_mode = False

    def __init__(self, client, params):
        self.client = client
        self.waiter = TaskWaiter(client, 600)
        self.params = params
        self.run_command = run

    @staticmethod
    def warn(_text):
        return None

    @staticmethod
    def get_bin_path(name):
        return shutil.which(name)


def restore_disk(client, params, directory, manifest, portal, transport, verify):
    """The module's disk step for disk 0, timed; its volume is deleted afterwards."""
    worker = restore.Restore(BenchModule(client, dict(params, transport=transport, verify=verify)))
    worker.directory, worker.manifest, worker.version = directory, manifest, (4, 6)
    worker.transport = transport
    cluster = {"id": manifest["vm"]["cluster"]["id"], "name": manifest["vm"]["cluster"]["name"], "iscsi_vip": portal}
    entry, path = restore.backed_up_disks(directory, manifest, [0])[0]
    worker.prepare_writes(cluster)
    worker.work_dir = tempfile.mkdtemp(dir=directory, prefix=".bench-")
    started = time.monotonic()
    try:
        record = worker.write_disk(cluster, entry, path, "bench-%s-%s-%d" % (transport, verify, time.monotonic_ns()))
    finally:
        shutil.rmtree(worker.work_dir, ignore_errors=True)
    elapsed = time.monotonic() - started
    delete_volume(client, worker.module.waiter, record["volume_id"])
    return elapsed, record


def delete_volume(client, waiter, volume_id):
    replies = client.mutate("delete-vm-volume", {"where": {"id": volume_id}})
    waiter.wait([r["task_id"] for r in replies if r.get("task_id")])


def plain_upload(client, waiter, cluster_id, image):
    started = time.monotonic()
    upload = data.upload_file(client, cluster_id, "plain-%d.qcow2" % time.monotonic_ns(), image)
    volume_id, tasks = data.import_volume(client, waiter, cluster_id, "plain-%d" % time.monotonic_ns(), upload["id"], "REPLICA_2_THIN_PROVISION")
    waiter.wait(tasks)
    elapsed = time.monotonic() - started
    delete_volume(client, waiter, volume_id)
    return elapsed


def plain_iscsi_write(client, waiter, cluster, image, size, place):
    started = time.monotonic()
    volume_id, tasks = data.create_volume(client, cluster["id"], "plain-%d" % time.monotonic_ns(), size, "REPLICA_2_THIN_PROVISION")
    waiter.wait(tasks)
    volume = client.call("get-vm-volumes", {"where": {"id": volume_id}})[0]
    lun, target = data.volumes.lun_of(client, volume)
    opts = data.transports.iscsi_image_opts(place["host"], place["port"], target["iqn_name"], lun["lun_id"], place["initiator"])
    data.write_lun(run, image, opts)
    elapsed = time.monotonic() - started
    delete_volume(client, waiter, volume_id)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    timings = {}
    with tempfile.TemporaryDirectory() as work:
        sim = Simulator(password=PASSWORD, task_seconds=0.05, api_version="4.6.0", iscsi_portal="127.0.0.1:0",
                        data_dir=os.path.join(work, "sim")).start()
        try:
            portal = sim.dataplane.portal.address
            client = CloudTowerClient(ConnectionSettings(sim.url, "admin", PASSWORD))
            waiter = TaskWaiter(client, 600)
            vm = client.call("get-vms", {"where": {"name": "web-01"}})[0]
            disk = client.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}, "type": "DISK"}})[0]
            for start in range(0, args.data_mib * MIB, 16 * MIB):
                chunk = os.urandom(min(16 * MIB, args.data_mib * MIB - start))
                sim.write_volume(disk["vm_volume"]["id"], {"offset": 64 * MIB + start, "data": base64.b64encode(chunk).decode("ascii")})
            settings = CopySettings(os.path.join(work, "repo"), iscsi_portal=portal, host_label="bench")
            path, _entries = repository_copy.snapshot_manifest(client, waiter, vm, "bench-1", work)
            manifest, _seconds = repository_copy.copy_once(client, waiter, settings, path)
            directory = repo_dir(settings.repository)
            params = {"iscsi_portal": portal, "host_label": "bench", "storage_policy": "REPLICA_2_THIN_PROVISION"}
            # The same file the restore writes: the backup's QCOW2 (a full backup: no chain to flatten).
            image = os.path.join(directory, "disk-0.qcow2")
            size = manifest["disks"][0]["backup"]["virtual_size"]
            place = restore.Restore(BenchModule(client, dict(params, transport="iscsi"))).iscsi_place(
                {"id": vm["cluster"]["id"], "name": vm["cluster"]["name"], "iscsi_vip": portal}, (4, 6))
            for _round in range(args.rounds):
                record(timings, "upload: plain upload-elf-file + import", plain_upload(client, waiter, vm["cluster"]["id"], image))
                for verify in ("source", "readback"):
                    elapsed, _record = restore_disk(client, params, directory, manifest, portal, "upload", verify)
                    record(timings, "upload: restore, verify=%s" % verify, elapsed)
                record(timings, "iscsi: plain create-vm-volume + qemu-img write", plain_iscsi_write(client, waiter, vm["cluster"], image, size, place))
                for verify in ("source", "readback"):
                    elapsed, _record = restore_disk(client, params, directory, manifest, portal, "iscsi", verify)
                    record(timings, "iscsi: restore, verify=%s" % verify, elapsed)
            stored = os.path.getsize(image)
        finally:
            sim.stop()
    print("| %d MiB of random data on a 40 GiB disk; QCOW2 uploaded %.1f MiB; best of %d rounds | seconds | plain / this |" % (
        args.data_mib, stored / float(MIB), args.rounds))
    print("|---|---|---|")
    for path_name in ("upload", "iscsi"):
        plain = [k for k in timings if k.startswith(path_name + ": plain")][0]
        for key in [plain] + sorted(k for k in timings if k.startswith(path_name + ": restore")):
            print("| %s | %.2f | %.2fx |" % (key, min(timings[key]), min(timings[plain]) / min(timings[key])))
    print("| load average (1 min) at the end | %.1f | |" % os.getloadavg()[0])


def repo_dir(repository):
    for root, _dirs, files in os.walk(repository):
        if "manifest.json" in files:
            return root
    raise SystemExit("no backup in %s" % repository)


def record(timings, key, seconds):
    timings.setdefault(key, []).append(seconds)


if __name__ == "__main__":
    main()
