# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What benchmarks/bench.py measures with: simulators, timed processes with their memory, request-log summaries.

Standard library only (plus requests, which the collection needs anyway), Linux only (/proc is read for memory).
"""

import collections
import json
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time

import requests

LISTENING = "listening on "


class Simulator:
    """A CloudTower simulator subprocess (tests/simulator/cloudtower_sim.py) and its admin API."""

    def __init__(self, script, username, password, log_path, *args):
        self.username = username
        self.password = password
        env = dict(os.environ, CLOUDTOWER_SIM_PASSWORD=password, PYTHONUNBUFFERED="1")
        self._log = open(log_path, "w", encoding="utf-8")  # pylint: disable=consider-using-with
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, script, "--host", "127.0.0.1", "--port", "0", "--username", username] + list(args),
            stdout=subprocess.PIPE, stderr=self._log, text=True, env=env)
        self.url = self._read_url()
        self.session = requests.Session()
        self.session.trust_env = False

    def _read_url(self):
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.process.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=60)
        except queue.Empty:
            self.stop()
            raise RuntimeError("the simulator did not print its address within 60 s")
        if LISTENING not in line:
            self.stop()
            raise RuntimeError("unexpected first line from the simulator: %r" % line)
        # Keep draining stdout so the simulator never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        return line.strip().split(LISTENING, 1)[1].rstrip("/")

    def admin(self, method, route, body=None):
        reply = self.session.request(method, self.url + "/__sim/" + route, json=body, timeout=300)
        reply.raise_for_status()
        return reply.json() if reply.content else None

    def reset(self, **body):
        return self.admin("POST", "reset", body)

    def settings(self, changes):
        return self.admin("POST", "settings", changes)

    def requests(self):
        return self.admin("GET", "requests")

    def clear_requests(self):
        self.admin("DELETE", "requests")

    def state(self, resource_name):
        return self.admin("GET", "state?resource=" + resource_name)[resource_name]

    def login(self):
        reply = self.session.post(self.url + "/v2/api/login", timeout=60,
                                  json={"username": self.username, "password": self.password, "source": "LOCAL"})
        reply.raise_for_status()
        return reply.json()["data"]["token"]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


# ----- processes, their wall time and their memory -------------------------------------------
def _children_by_parent():
    children = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as stream:
                fields = stream.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(entry))
    return children


def _rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid, encoding="ascii", errors="replace") as stream:
            for line in stream:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(root):
    """Resident memory of root and all its descendants, summed (shared pages are counted in each process)."""
    children = _children_by_parent()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _rss_kb(pid)
        stack.extend(children.get(pid, ()))
    return total


class TreeMemorySampler(threading.Thread):
    """Samples the summed RSS of a process tree until stopped; keeps the peak."""

    def __init__(self, pid, interval=0.05):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pid))
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()


class Timed:
    """The outcome of one timed process."""

    def __init__(self, command, returncode, wall, peak_tree_kb, max_process_kb, cpu_seconds, output_path, started, ended):
        self.command = command
        self.returncode = returncode
        self.wall = wall
        self.peak_tree_kb = peak_tree_kb
        self.max_process_kb = max_process_kb
        self.cpu_seconds = cpu_seconds
        self.output_path = output_path
        self.started = started
        self.ended = ended

    def output(self):
        with open(self.output_path, encoding="utf-8", errors="replace") as stream:
            return stream.read()

    def require_success(self, what):
        if self.returncode != 0:
            tail = self.output()[-3000:]
            raise RuntimeError("%s failed (exit code %s); the end of its output (%s):\n%s" % (what, self.returncode, self.output_path, tail))
        return self


def run_timed(command, env, output_path, cwd=None):
    """Run command to completion: wall time, peak summed RSS of its tree, largest single RSS, CPU seconds.

    wait4 gives the rusage of the child and of every descendant it waited for, so ru_maxrss is the largest
    single process of the tree (what /usr/bin/time -v reports) and the CPU time covers the module processes.
    """
    with open(output_path, "w", encoding="utf-8") as output:
        started = time.time()
        began = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
        sampler = TreeMemorySampler(process.pid)
        sampler.start()
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
        ended = time.time()
        sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
    # Sampling can miss a short-lived peak; the summed peak is never below the largest single process.
    peak_tree_kb = max(sampler.peak_kb, usage.ru_maxrss)
    return Timed(command, process.returncode, wall, peak_tree_kb, usage.ru_maxrss, usage.ru_utime + usage.ru_stime,
                 output_path, started, ended)


def load_average():
    return os.getloadavg()[0]


def own_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ----- request logs ----------------------------------------------------------------------------
class RequestSummary:
    """Counts of one scenario's API requests, from the simulator's request log."""

    def __init__(self, entries):
        self.entries = [e for e in entries if e.get("endpoint")]
        self.by_endpoint = collections.Counter(e["endpoint"] for e in self.entries)
        self.total = len(self.entries)
        self.logins = self.by_endpoint.get("login", 0)
        self.mutating = [e for e in self.entries if e.get("mutating")]
        self.polls = self.by_endpoint.get("get-tasks", 0)
        self.errors = [e for e in self.entries if (e.get("status") or 0) >= 400 or e.get("status") is None]

    def endpoints_text(self):
        return ", ".join("%s %d" % (name, count) for name, count in sorted(self.by_endpoint.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_dict(self):
        return {"total": self.total, "logins": self.logins, "mutating": len(self.mutating), "by_endpoint": dict(self.by_endpoint),
                "errors": len(self.errors)}


def read_json(path, default=None):
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except (OSError, ValueError):
        return default


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(data, stream, indent=1, sort_keys=True, default=str)


# ----- markdown ---------------------------------------------------------------------------------
def markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _h in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def seconds(value):
    return "%.2f s" % value if value is not None else "n/a"


def megabytes(kb):
    return "%.0f MB" % (kb / 1024.0) if kb else "n/a"


def ratio(numerator, denominator):
    if not numerator or not denominator:
        return "n/a"
    return "%.2fx" % (numerator / denominator)
