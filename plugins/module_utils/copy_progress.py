# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How far a long copy is, per disk, in a file the vm_backup role prints from while the copy runs (async).

The board is written atomically every few seconds (and at the end, with "finished": true), so a reader never
sees half a file. Bytes are qemu-img's own progress (-p) applied to the disk's virtual size.
"""

from __future__ import annotations

import json
import threading
import time

from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest import utc_timestamp
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import write_atomically

WRITE_EVERY = 5.0
UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human(size):
    size = float(size)
    for unit in UNITS:
        if size < 1024 or unit == UNITS[-1]:
            return ("%d %s" % (size, unit)) if unit == "B" else ("%.1f %s" % (size, unit))
        size /= 1024
    return "%d B" % size


class ProgressBoard:
    """Per-disk progress of one copy run; path None keeps it in memory only."""

    def __init__(self, path=None, clock=time.monotonic, interval=WRITE_EVERY, mode=0o600):
        self.path = path
        self.clock = clock
        self.interval = interval
        self.mode = mode
        self.started = clock()
        self.disks = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.writer = None

    def start(self):
        if self.path:
            self.write()
            self.writer = threading.Thread(target=self.keep_writing, daemon=True)
            self.writer.start()

    def keep_writing(self):
        while not self.stop.wait(self.interval):
            self.write()

    def finish(self):
        self.stop.set()
        if self.writer is not None:
            self.writer.join()
        if self.path:
            self.write(finished=True)

    # ----- per disk ------------------------------------------------------------------------------------------
    def add(self, key, vm, index, size):
        with self.lock:
            self.disks[key] = {"vm": vm, "disk": index, "size": int(size or 0), "phase": "waiting", "percent": 0.0,
                               "bytes": 0, "rate": 0.0, "phase_started": None, "status": "waiting"}

    def reporter(self, key):
        """progress(phase, percent) for transports: records how far the disk's current phase is."""
        def progress(phase, percent):
            with self.lock:
                disk = self.disks[key]
                now = self.clock()
                if disk["phase"] != phase or disk["phase_started"] is None:
                    disk.update(phase=phase, phase_started=now)
                disk["status"] = "running"
                disk["percent"] = round(percent, 2)
                disk["bytes"] = int(disk["size"] * percent / 100)
                elapsed = now - disk["phase_started"]
                disk["rate"] = disk["bytes"] / elapsed if elapsed > 0 else 0.0
        return progress

    def done(self, key, status):
        with self.lock:
            self.disks[key].update(status=status, phase=status)

    # ----- what is shown -------------------------------------------------------------------------------------
    def line(self, disk):
        if disk["status"] in ("waiting", "copied", "failed"):
            return "%s disk %s: %s (%s)" % (disk["vm"], disk["disk"], disk["status"], human(disk["size"]))
        return "%s disk %s: %s %s of %s (%.1f%%), %s/s" % (
            disk["vm"], disk["disk"], disk["phase"], human(disk["bytes"]), human(disk["size"]), disk["percent"], human(disk["rate"]))

    def snapshot(self, finished=False):
        with self.lock:
            disks = [dict(disk) for disk in self.disks.values()]
        for disk in disks:
            disk.pop("phase_started", None)
        counts = {status: sum(d["status"] == status for d in disks) for status in ("waiting", "running", "copied", "failed")}
        summary = "%d disk(s): %d copied, %d running, %d waiting, %d failed, %ds elapsed" % (
            len(disks), counts["copied"], counts["running"], counts["waiting"], counts["failed"], self.clock() - self.started)
        return {"updated_at": utc_timestamp(), "finished": finished, "summary": summary, "disks": disks,
                "lines": [summary] + [self.line(d) for d in disks]}

    def write(self, finished=False):
        # "finished" is written in JSON's own spelling: the role waits for the text '"finished": true'.
        write_atomically(self.path, json.dumps(self.snapshot(finished), indent=1) + "\n", self.mode)
