# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a small backup repository in the documented layout for the report's test; print what it holds as JSON.

usage: make_repository.py SIMULATOR_URL REPOSITORY AS_OF

<repository>/<cluster>/<vm name>-<vm id>/<backup>/manifest.json (+ restore-test-*.json beside it), as
cloudtower_backup_copy and vm_restore_test write them, for the demo VMs of the simulator:
  web-01  three backups, the newest 2 h before AS_OF, chain 3; its last restore test passed   -> ok
  db-01   two backups, the newest 50 h before AS_OF; a restore test that failed                -> stale (RPO 24 h)
  app-01  one backup directory whose manifest does not claim a complete backup                -> missing
  old-vm  a VM CloudTower no longer has, backed up 1 h before AS_OF                            -> ok, gone
Every other demo VM has no backup (missing).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from datetime import datetime, timedelta

GIB = 1024 ** 3


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def manifest(vm, name, taken, depth, complete=True):
    disks = [{"index": 0, "type": "DISK", "bus": "VIRTIO", "boot": 0, "size": 40 * GIB,
              "backup": {"file": "disk-0.qcow2", "virtual_size": 40 * GIB, "stored_size": (100 if depth == 0 else 16) * 1024 * 1024,
                         "chain_depth": depth, "verified_at": stamp(taken + timedelta(minutes=5))}}]
    return {"format": "smartx.cloudtower/vm-backup-manifest", "vm": vm, "disks": disks,
            "backup": {"snapshot_name": name, "snapshot_taken_at": stamp(taken)},
            "repository": {"format": "smartx.cloudtower/vm-backup-repository", "format_version": 1, "complete": complete,
                           "backup": name, "cluster": vm["cluster"]["name"], "written_at": stamp(taken + timedelta(minutes=5))}}


def write(repository, vm, name, data, restore_test=None):
    directory = os.path.join(repository, vm["cluster"]["name"], "%s-%s" % (vm["name"], vm["id"]), name)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "manifest.json"), "w", encoding="utf-8") as stream:
        json.dump(data, stream)
    if restore_test:
        with open(os.path.join(directory, "restore-test-%s.json" % restore_test["finished_at"].replace(":", "")), "w", encoding="utf-8") as stream:
            json.dump(restore_test, stream)


def main():
    url, repository, as_of = sys.argv[1:4]
    now = datetime.strptime(as_of, "%Y-%m-%dT%H:%M:%SZ")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url + "/__sim/state?resource=vms", timeout=30) as response:
        listed = json.loads(response.read().decode("utf-8"))["vms"]
    vms = {vm["name"]: vm for vm in listed}
    web, db, app = vms["web-01"], vms["db-01"], vms["app-01"]
    for day in range(3):
        taken = now - timedelta(hours=2, days=2 - day)
        test = {"status": "passed", "finished_at": stamp(taken + timedelta(hours=1)), "seconds": 42.0} if day == 2 else None
        write(repository, web, "backup-%d" % day, manifest(web, "backup-%d" % day, taken, day), test)
    for day in range(2):
        taken = now - timedelta(hours=50, days=1 - day)
        test = {"status": "failed", "finished_at": stamp(taken + timedelta(hours=1)), "seconds": 12.5} if day == 1 else None
        write(repository, db, "backup-%d" % day, manifest(db, "backup-%d" % day, taken, day), test)
    write(repository, app, "backup-0", manifest(app, "backup-0", now - timedelta(hours=1), 0, complete=False))
    gone = {"id": "clvnzzzzzzzzzzzzzzzzzzzzz", "name": "old-vm", "cluster": web["cluster"]}
    write(repository, gone, "backup-0", manifest(gone, "backup-0", now - timedelta(hours=1), 0))
    print(json.dumps({"vms": len(listed), "ids": {"web-01": web["id"], "db-01": db["id"], "app-01": app["id"], "old-vm": gone["id"]}}))


if __name__ == "__main__":
    main()
