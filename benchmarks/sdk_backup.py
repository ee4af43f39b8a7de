#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Baseline for benchmarks/bench.py: back VMs up with the official Python SDK, the way its README shows.

    CLOUDTOWER_PASSWORD=... python benchmarks/sdk_backup.py --url http://127.0.0.1:PORT --username admin \
        --vms-file vms.json --snapshot-prefix sdk-backup- --output result.json

The README of cloudtower-sdk ("场景示例 / 虚拟机备份") backs up ONE VM per call: get-vms by name,
create-vm-snapshot, wait_tasks (its default 5 s interval), get-vm-snapshots by id, get-iscsi-lun-snapshots by the
DISK entries' snapshot_local_id. A user with many VMs calls it once per VM, which is what this script does, after
logging in once through UserApi as the README's authentication section shows.

Two lines of the README's example cannot run as printed and are corrected the obvious way (nothing else is
changed, nothing is made slower): get_vms returns a list (the example reads .vm_tools_status from it), and
create_vm_snapshot returns a list (the example reads .data.id from it).

Prints nothing but errors; writes a JSON result with the wall time, the time spent inside wait_tasks, the CPU
time of this process, and per VM the snapshot id and the number of LUN snapshots found.
"""

import argparse
import json
import os
import resource
import sys
import time

from cloudtower import ApiClient
from cloudtower.api.iscsi_lun_snapshot_api import IscsiLunSnapshotApi
from cloudtower.api.user_api import UserApi
from cloudtower.api.vm_api import VmApi
from cloudtower.api.vm_snapshot_api import VmSnapshotApi
from cloudtower.configuration import Configuration
from cloudtower.models import ConsistentType, UserSource, VmToolsStatus
from cloudtower.utils import wait_tasks


class WaitClock:
    """Adds up the time spent in wait_tasks, so the report can say how much of the run was its fixed sleeps."""

    def __init__(self):
        self.seconds = 0.0
        self.calls = 0

    def wait(self, task_ids, api_client):
        began = time.perf_counter()
        try:
            wait_tasks(task_ids, api_client)
        finally:
            self.seconds += time.perf_counter() - began
            self.calls += 1


def create_vm_snapshot(api_client, target_vm_name, target_snapshot_name, consistent_type, clock):
    """The README's create_vm_snapshot, with its two list accesses corrected."""
    vm_api = VmApi(api_client)
    vm_snapshot_api = VmSnapshotApi(api_client)
    iscsi_lun_snapshot_api = IscsiLunSnapshotApi(api_client)
    # 1. the VM to back up, for its id
    vm = vm_api.get_vms({
        "where": {
            "name": target_vm_name
        },
        "first": 1
    })[0]
    # with VMTools installed and running, FILE_SYSTEM_CONSISTENT is possible; otherwise fall back
    if vm.vm_tools_status != VmToolsStatus.RUNNING and consistent_type == ConsistentType.FILE_SYSTEM_CONSISTENT:
        consistent_type = ConsistentType.CRASH_CONSISTENT

    # 2. create the snapshot
    snapshots_with_task = vm_snapshot_api.create_vm_snapshot({
        "data": [
            {
                "vm_id": vm.id,
                "name": target_snapshot_name,
                "consistent_type": consistent_type
            }
        ]
    })

    # 3. wait for its task
    clock.wait([snapshots_with_task[0].task_id], api_client)

    # 4. read the new snapshot by the id the creation returned
    snapshot = vm_snapshot_api.get_vm_snapshots({
        "where": {
            "id": snapshots_with_task[0].data.id
        }
    })[0]
    # 5. each DISK entry's snapshot_local_id names its LUN snapshot; CD-ROM entries have none
    lun_snapshot_ids = []
    for disk in snapshot.vm_disks:
        if disk.type == "DISK":
            lun_snapshot_ids.append(disk.snapshot_local_id)

    lun_snapshots = iscsi_lun_snapshot_api.get_iscsi_lun_snapshots({
        "where": {
            "name_in": lun_snapshot_ids
        }
    })

    return {
        "vm_snapshot": snapshot,
        "lun_snapshots": lun_snapshots
    }


def log_in(url, username, password):
    """The README's authentication: UserApi.login, then the token in configuration.api_key."""
    configuration = Configuration(host=url.rstrip("/") + "/v2/api")
    client = ApiClient(configuration)
    user_api = UserApi(client)
    login_res = user_api.login({
        "username": username,
        "password": password,
        "source": UserSource.LOCAL
    })
    configuration.api_key["Authorization"] = login_res.data.token
    return client


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--url", required=True, help="CloudTower (simulator) URL, without /v2/api")
    parser.add_argument("--username", required=True)
    parser.add_argument("--vms-file", required=True, help="JSON list of VM names")
    parser.add_argument("--snapshot-prefix", default="sdk-backup-")
    parser.add_argument("--output", required=True, help="where to write the JSON result")
    args = parser.parse_args(argv)
    password = os.environ.get("CLOUDTOWER_PASSWORD")
    if not password:
        parser.error("set CLOUDTOWER_PASSWORD")
    with open(args.vms_file, encoding="utf-8") as stream:
        vm_names = json.load(stream)

    began = time.perf_counter()
    clock = WaitClock()
    client = log_in(args.url, args.username, password)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    backups = []
    for name in vm_names:
        result = create_vm_snapshot(client, name, "%s%s-%s" % (args.snapshot_prefix, name, stamp),
                                    ConsistentType.FILE_SYSTEM_CONSISTENT, clock)
        backups.append({"vm": name, "snapshot_id": result["vm_snapshot"].id,
                        "disks": len([d for d in result["vm_snapshot"].vm_disks if d.type == "DISK"]),
                        "lun_snapshots": len(result["lun_snapshots"])})
    wall = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "wall_seconds": round(wall, 3),
        "wait_tasks_seconds": round(clock.seconds, 3),
        "wait_tasks_calls": clock.calls,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        "max_rss_kb": usage.ru_maxrss,
        "backups": backups,
    }
    with open(args.output, "w", encoding="utf-8") as stream:
        json.dump(report, stream, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
