#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulator for the data-plane benchmarks, in a process of its own (as a CloudTower is a server of its own) or,
for comparison, in the benchmark's process.

In its own process the simulator's HTTP threads (export downloads, clones copying bytes, task polls) do not share the
benchmark's interpreter lock with the copy's downloader, its hashing thread and its parallel workers. That process is
this file run as a script: it starts a ctsim Simulator with its lock timed, prints one JSON line (URL, portal, tgtd's
pid) and then answers each line on its stdin ("usage") with one JSON line: how long the simulator's lock has been held
and the CPU seconds of its process (every thread) and of the commands it waited for (tgtadm). An empty line or end of
input stops it. The password comes through $CLOUDTOWER_SIM_PASSWORD, never the command line.
"""

import json
import os
import subprocess
import sys
import threading
import time

import requests

MIB = 1024 * 1024


class TimedLock:
    """The simulator's lock, adding up how long it is held: every API request runs under it, so this is the
    simulated cluster's serial time (its clones copy data, its portal changes run tgtadm)."""

    def __init__(self, lock):
        self.lock = lock
        self.held = 0.0
        self.local = threading.local()

    def __enter__(self):
        self.lock.acquire()
        depth = getattr(self.local, "depth", 0)
        if not depth:
            self.local.since = time.monotonic()
        self.local.depth = depth + 1
        return self

    def __exit__(self, *_exc):
        self.local.depth -= 1
        if not self.local.depth:
            self.held += time.monotonic() - self.local.since
        self.lock.release()


def process_cpu(pid):
    """User + system CPU seconds of a process so far, every thread (/proc/<pid>/stat)."""
    with open("/proc/%d/stat" % pid, encoding="ascii") as stream:
        fields = stream.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def start_simulator(password, task_seconds, data_dir):
    """A 4.6 simulator with the demo state and a tgtd portal, its lock timed."""
    # pylint: disable=import-outside-toplevel,import-error
    from ansible_collections.smartx.cloudtower.tests.simulator.ctsim import Simulator
    sim = Simulator(password=password, task_seconds=task_seconds, api_version="4.6.0", iscsi_portal="127.0.0.1:0",
                    data_dir=data_dir)
    sim.lock = TimedLock(sim.lock)
    return sim.start()


class InProcess:
    """The simulator in this process (as the benchmarks ran it until 2026-12-06): its threads share the copy's
    interpreter lock. Its CPU cannot be told apart from the copy's; usage() gives the lock's held time only."""

    where = "in the benchmark's process"

    def __init__(self, password, task_seconds, data_dir):
        self.sim = start_simulator(password, task_seconds, data_dir)
        self.url = self.sim.url
        self.portal = self.sim.dataplane.portal.address
        self.tgtd_pid = self.sim.dataplane.portal.process.pid

    def write_volume(self, volume_id, body):
        return self.sim.write_volume(volume_id, body)

    def usage(self):
        return {"held": self.sim.lock.held}

    def stop(self):
        self.sim.stop()


class OwnProcess:
    """The simulator in a child process (this file as a script), driven through its admin API and a pipe."""

    where = "in a process of its own"

    def __init__(self, password, task_seconds, data_dir, log_path):
        env = dict(os.environ, PYTHONUNBUFFERED="1", CLOUDTOWER_SIM_PASSWORD=password)
        with open(log_path, "w", encoding="utf-8") as log:
            # pylint: disable-next=consider-using-with
            self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), str(task_seconds), data_dir],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
                                            text=True)
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            with open(log_path, encoding="utf-8", errors="replace") as log:
                raise SystemExit("the simulator's process did not start:\n" + log.read())
        started = json.loads(line)
        self.url, self.portal, self.tgtd_pid = started["url"], started["portal"], started["tgtd_pid"]
        self.pid = self.process.pid
        self.session = requests.Session()

    def write_volume(self, volume_id, body):
        response = self.session.post("%s/__sim/volumes/%s/write" % (self.url, volume_id), json=body, timeout=120)
        response.raise_for_status()
        return response.json()

    def usage(self):
        self.process.stdin.write("usage\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self):
        if self.process.poll() is None:
            self.process.stdin.write("\n")
            self.process.stdin.flush()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.session.close()


def serve(task_seconds, data_dir):
    """The child's side of OwnProcess."""
    sim = start_simulator(os.environ["CLOUDTOWER_SIM_PASSWORD"], task_seconds, data_dir)
    try:
        sim.state_now()
        portal = sim.dataplane.portal
        sys.stdout.write(json.dumps({"url": sim.url, "portal": portal.address, "tgtd_pid": portal.process.pid}) + "\n")
        sys.stdout.flush()
        for line in sys.stdin:
            if line.strip() != "usage":
                break
            times = os.times()
            sys.stdout.write(json.dumps({"held": sim.lock.held, "cpu": times.user + times.system,
                                         "children_cpu": times.children_user + times.children_system}) + "\n")
            sys.stdout.flush()
    finally:
        sim.stop()


if __name__ == "__main__":
    serve(float(sys.argv[1]), sys.argv[2])
