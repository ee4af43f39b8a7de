#!/usr/bin/env python
"""Measure the simulator: start-up time, keep-alive request rate, and filtered get-vms over many VMs.

    python tests/simulator/bench_sim.py [--vms 10000] [--seconds 3]

Starts the simulator as a subprocess (the way users run it), so the figures include HTTP and JSON costs.
Needs `requests`. Prints a table; nothing is asserted.
"""

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ENTRY = os.path.join(HERE, "cloudtower_sim.py")
PASSWORD = "bench-password"


class Simulator:
    """A simulator subprocess plus the moment its first line arrived."""

    def __init__(self, *args):
        self.started = time.perf_counter()
        env = dict(os.environ, CLOUDTOWER_SIM_PASSWORD=PASSWORD)
        self.process = subprocess.Popen([sys.executable, ENTRY, "--port", "0", *args], stdout=subprocess.PIPE, text=True, env=env)
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.process.stdout.readline()), daemon=True).start()
        first_line = lines.get(timeout=30)
        self.first_line_seconds = time.perf_counter() - self.started
        self.url = first_line.strip().rsplit(" ", 1)[-1]
        self.session = requests.Session()
        self.session.trust_env = False

    def login(self):
        reply = self.session.post(self.url + "/v2/api/login", json={"username": "admin", "password": PASSWORD, "source": "LOCAL"}, timeout=60)
        self.session.headers["Authorization"] = reply.json()["data"]["token"]

    def post(self, endpoint, body):
        reply = self.session.post(self.url + "/v2/api/" + endpoint, json=body, timeout=60)
        reply.raise_for_status()
        return reply

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def requests_per_second(simulator, endpoint, body, seconds):
    count, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        simulator.post(endpoint, body)
        count += 1
    return count / seconds


def latency_ms(simulator, endpoint, body, repeat=7):
    samples = []
    for _sample in range(repeat):
        began = time.perf_counter()
        simulator.post(endpoint, body)
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--vms", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    rows = []

    small = Simulator()
    small.login()
    rows.append(("start-up to first line (demo state)", "%.0f ms" % (small.first_line_seconds * 1000)))
    for endpoint, body in (("get-vms", {"where": {"name": "db-01"}}), ("get-tasks", {"where": {"id_in": ["x"]}}),
                           ("get-clusters", {})):
        rows.append(("keep-alive requests/s, %s" % endpoint, "%.0f" % requests_per_second(small, endpoint, body, args.seconds)))
    small.stop()

    big = Simulator("--vms", str(args.vms))
    rows.append(("start-up to first line (--vms %d)" % args.vms, "%.0f ms" % (big.first_line_seconds * 1000)))
    big.login()
    rows.append(("first reply (state built in background, --vms %d)" % args.vms,
                 "%.0f ms" % ((time.perf_counter() - big.started) * 1000)))
    queries = (
        ("get-vms where name = one VM", {"where": {"name": "vm-%05d" % (args.vms // 2)}}),
        ("get-vms where name_starts_with (1%)", {"where": {"name_starts_with": "vm-0%02d" % (args.vms // 200 % 100)}}),
        ("get-vms where cluster+status, first 50", {"where": {"cluster": {"name": "cluster-b"}, "status": "RUNNING"}, "first": 50}),
        ("get-vms where vm_disks_some CD_ROM", {"where": {"vm_disks_some": {"type": "CD_ROM"}}}),
        ("get-vms-connection where status", {"where": {"status": "RUNNING"}}),
    )
    for label, body in queries:
        endpoint = "get-vms-connection" if "connection" in label else "get-vms"
        rows.append(("%s (%d VMs)" % (label, args.vms), "%.1f ms" % latency_ms(big, endpoint, body)))
    big.stop()

    width = max(len(label) for label, _value in rows)
    sys.stdout.write("%s  %s\n%s\n" % ("measure".ljust(width), "result", "-" * (width + 12)))
    for label, value in rows:
        sys.stdout.write("%s  %s\n" % (label.ljust(width), value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
