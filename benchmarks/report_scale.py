#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The protection report over a large repository: 1,000 VMs x 30 backups (issue 17: under 10 s and 300 MB).

    PYTHONPATH=<dir holding ansible_collections> python benchmarks/report_scale.py [--vms 1000] [--backups 30]

An in-process simulator serves --vms VMs (the demo ones, then generated ones). Each VM gets --backups daily backups in
a repository of manifest.json files shaped as cloudtower_backup_copy writes them (the VM's own record from get-vms,
its disks with backup entries, chains of 7), about 10 KB each; one VM in 20 has none and one in 10 is stale. The
report (get-vms of every VM over HTTP, the repository scan, report.json and report.html) then runs in a child process,
as the module does, and its wall time and peak RSS are printed. Nothing is asserted.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

# pylint: disable=import-error
from ansible_collections.smartx.cloudtower.tests.simulator.ctsim import Simulator
from ansible_collections.smartx.cloudtower.plugins.module_utils import repository as repo
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import CloudTowerClient, ConnectionSettings
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import paginate

PASSWORD = "bench-password"
GIB = 1024 ** 3

CHILD = r"""
import json, sys, time
from datetime import datetime, timezone
from ansible_collections.smartx.cloudtower.plugins.module_utils import report
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import CloudTowerClient, ConnectionSettings
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import write_atomically
started = time.monotonic()
url, password, repository, out = sys.argv[1:5]
client = CloudTowerClient(ConnectionSettings(url, "admin", password))
listed = vms.find(client, {"in_recycle_bin": False})
read = time.monotonic()
cache = report.SummaryCache(out + "/.report-cache.json")
cpu = time.process_time()
data = report.build(repository, listed, datetime.now(timezone.utc), 24.0, url, cache)
built = time.monotonic()
scan_cpu = time.process_time() - cpu
cache.save(0o640)
write_atomically(out + "/report.json", report.render_json(data), 0o640)
write_atomically(out + "/report.html", report.render_html(data), 0o640)
import resource
print(json.dumps({"seconds": time.monotonic() - started, "get_vms": read - started, "scan": built - read, "scan_cpu": scan_cpu,
                  "parsed": cache.parsed, "cpu": time.process_time(),
                  "render": time.monotonic() - built, "summary": data["summary"],
                  "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def manifest_for(vm, disks, index, taken, depth):
    name = "backup-%s" % taken.strftime("%Y%m%dT%H%M%S")
    entries = []
    for disk in disks:
        entries.append(dict(disk, backup={
            "file": "disk-%s.qcow2" % disk["index"], "format": "qcow2", "virtual_size": disk["size"],
            "stored_size": (6 * GIB if depth == 0 else 180 * 1024 * 1024) + index * 4096, "chain_depth": depth,
            "backing": None if depth == 0 else "../prev/disk-%s.qcow2" % disk["index"], "transport": "iscsi",
            "digest": {"algorithm": "sha256-sparse-64k-v1", "value": "%064x" % (hash((vm["id"], index, disk["index"])) & (2 ** 256 - 1))},
            "file_sha256": "%064x" % index, "verified_at": (taken + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "duration": 60.0}))
    stamp = taken.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return name, {
        "format": "smartx.cloudtower/vm-backup-manifest", "format_version": 1, "cloudtower": {"host": "https://tower.example"},
        "backup": {"snapshot_name": name, "snapshot_taken_at": stamp, "started_at": stamp, "consistent_type": "CRASH_CONSISTENT"},
        "written_at": stamp, "vm": vm,
        "snapshot": {"id": "s%024d" % index, "name": name, "local_created_at": stamp, "vm": {"id": vm["id"], "name": vm["name"]},
                     "vcpu": vm.get("vcpu"), "memory": vm.get("memory"), "cpu": vm.get("cpu"), "vm_disks": disks, "vm_nics": []},
        "disks": entries,
        "repository": {"format": repo.REPOSITORY_FORMAT, "format_version": 1, "complete": True, "backup": name,
                       "cluster": (vm.get("cluster") or {}).get("name"), "transport": "iscsi", "written_at": stamp},
    }


def write_repository(root, records, backups, now):
    """Manifests of `backups` daily backups per VM (none for one VM in 20, the newest 3 days old for one in 10)."""
    written = 0
    for position, vm in enumerate(records):
        if position % 20 == 7:
            continue
        newest = now - timedelta(hours=3 + (72 if position % 10 == 3 else 0))
        disks = [{"index": i, "bus": "VIRTIO", "boot": i, "size": 40 * GIB, "type": "DISK", "vm_volume_local_id": "%s-%d" % (vm["id"], i)}
                 for i in range(1 + position % 3)]
        for index in range(backups):
            name, manifest = manifest_for(vm, disks, index, newest - timedelta(days=backups - 1 - index), index % 7)
            directory = repo.backup_path(root, (vm.get("cluster") or {}).get("name"), vm, name)
            os.makedirs(directory, exist_ok=True)
            with open(os.path.join(directory, repo.MANIFEST_NAME), "w", encoding="utf-8") as stream:
                json.dump(manifest, stream, indent=2, sort_keys=True)
            written += 1
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--backups", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        sim = Simulator(password=PASSWORD, vms=args.vms, task_seconds=0.05).start()
        try:
            client = CloudTowerClient(ConnectionSettings(sim.url, "admin", PASSWORD))
            records = paginate(client, "get-vms", where={})
            started = time.monotonic()
            count = write_repository(os.path.join(work, "repo"), records, args.backups, datetime.now(timezone.utc))
            generated = time.monotonic() - started
            sizes = [os.path.getsize(os.path.join(d, f)) for d, _s, files in os.walk(os.path.join(work, "repo")) for f in files]
            os.makedirs(os.path.join(work, "out"))
            runs = []
            for _run in ("cold", "warm"):
                child = subprocess.run([sys.executable, "-c", CHILD, sim.url, PASSWORD, os.path.join(work, "repo"), os.path.join(work, "out")],
                                       capture_output=True, text=True, check=True)
                runs.append(json.loads(child.stdout))
            figures = runs[0]
            html_size = os.path.getsize(os.path.join(work, "out", "report.html"))
            json_size = os.path.getsize(os.path.join(work, "out", "report.json"))
        finally:
            sim.stop()
    print("| Measure | Value |\n|---|---|")
    print("| VMs in CloudTower / with backups | %d / %d |" % (len(records), figures["summary"]["vms"] - figures["summary"]["missing"]))
    print("| manifests in the repository | %d (%.1f MB, %.1f KB each; written in %.1f s) |" % (
        count, sum(sizes) / 1e6, sum(sizes) / 1e3 / max(1, len(sizes)), generated))
    for label, run in zip(("first report (every manifest parsed)", "next report (summary cache)"), runs):
        print("| %s: whole run (get-vms, scan, render, write) | %.2f s wall, %.2f s CPU |" % (label, run["seconds"], run["cpu"]))
        print("| - get-vms of every VM | %.2f s |" % run["get_vms"])
        print("| - repository scan and summary (%d manifests parsed) | %.2f s wall, %.2f s CPU |" % (run["parsed"], run["scan"], run["scan_cpu"]))
        print("| - render and write report.json + report.html | %.2f s |" % run["render"])
        print("| - peak RSS of the report process | %.1f MB |" % (run["max_rss_kib"] / 1024.0))
    print("| load average (1 min) at the end | %.1f |" % os.getloadavg()[0])
    print("| report.html / report.json | %.1f MB / %.1f MB |" % (html_size / 1e6, json_size / 1e6))
    print("| summary | %s |" % json.dumps(figures["summary"], sort_keys=True))
    print("| (this benchmark's own peak RSS, for scale) | %.1f MB |" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))


if __name__ == "__main__":
    main()
