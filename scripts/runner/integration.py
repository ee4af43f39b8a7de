"""Integration targets in shards side by side, each with its own simulator and its own copy of the tree.

While the shards run, a line is printed as each target ends (shard, elapsed time, the target's time) and a
heartbeat at least every HEARTBEAT seconds, so a log never shows minutes of silence.
"""

import glob
import json
import os
import re
import subprocess
import sys
import time

from . import ansible_test, processes, tree, venvs
from .simulator import Simulator

HEARTBEAT = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
STARTED = re.compile(r"^Running (\S+) integration test (?:role|script)", re.M)
DEFAULT_WEIGHT = 30
# What each target takes, in seconds of wall time inside a whole run (2026-12-06, 2 cores, the checks lane
# running beside the shards; the six targets cut later that day scaled by their new CPU seconds). Wall time,
# not CPU time: a shard ends when its slowest target's waits (slow replies, locks, timed tasks) end too --
# fault_matrix waits for 3/4 of its 321 s. They only steer the balance: a stale table makes shards uneven,
# never wrong.
WEIGHTS = {
    "fault_matrix": 316,
    "bad_input": 93,
    "role_vm_backup": 99,
    "cloudtower_vm_snapshot": 50,
    "cloudtower_vm": 78,
    "check_mode_audit": 93,
    "role_vm_backup_repository": 113,
    "role_vm_restore_repository": 54,
    "cloudtower_vm_api_1_8": 17,
    "concurrency": 41,
    "cloudtower_vm_info": 51,
    "cloudtower_task_info": 38,
    "inventory_cloudtower": 53,
    "awx_runner": 41,
    "role_vm_restore": 55,
    "secrets_scan": 29,
    "role_snapshot_retention": 24,
    "cloudtower_vm_snapshot_info": 19,
    "cloudtower_lun_snapshot_info": 20,
    "tls": 31,
    "cloudtower_vm_template": 26,
    "role_report": 16,
    "cloudtower_backup_manifest": 9,
    "cloudtower_vm_migration": 9,
    "cloudtower_vm_devices": 11,
    "cloudtower_auth": 14,
    "cloudtower_placement_info": 8,
}


def say(text):
    print(text, file=sys.stderr, flush=True)


def clock(seconds):
    minutes, seconds = divmod(int(seconds), 60)
    return "%dm%02ds" % (minutes, seconds) if minutes else "%ds" % seconds


def cpu_seconds(pid, children=True):
    """CPU seconds of a process (and of the children it has reaped), from /proc; None where /proc is absent.

    ansible-test waits for each target's ansible-playbook, so at a target's end its children's time has grown
    by what the target cost: modules, workers and all.
    """
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as stream:
            fields = stream.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # Fields after the command: state is [0]; utime, stime, cutime, cstime are [11:15].
    ticks = sum(int(value) for value in fields[11:15 if children else 13])
    return ticks / float(CLOCK_TICKS)


def group_cpu_seconds(pgid):
    """CPU seconds of the live processes of a process group (a simulator and the wrapper that started it)."""
    total = 0.0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="ascii") as stream:
                fields = stream.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / float(CLOCK_TICKS)
    return total


def runnable_targets(collection):
    """Target directories ansible-test runs by themselves (setup_*/prepare_* ones are dependencies)."""
    base = os.path.join(collection, "tests", "integration", "targets")
    names = []
    for name in sorted(os.listdir(base)):
        path = os.path.join(base, name)
        if not os.path.isdir(path) or name.startswith(("setup_", "prepare_")):
            continue
        aliases = os.path.join(path, "aliases")
        words = []
        if os.path.exists(aliases):
            with open(aliases, encoding="utf-8") as stream:
                words = stream.read().split()
        if "disabled" not in words and "hidden" not in words:
            names.append(name)
    return names


def balance(names, count):
    """Longest first, each onto the lightest shard so far."""
    loads = [[0, []] for dummy in range(max(1, count))]
    for name in sorted(names, key=lambda n: (-WEIGHTS.get(n, DEFAULT_WEIGHT), n)):
        lightest = min(loads, key=lambda load: load[0])
        lightest[0] += WEIGHTS.get(name, DEFAULT_WEIGHT)
        lightest[1].append(name)
    return [sorted(targets) for dummy, targets in loads if targets]


class Shard:
    """One ansible-test run with its own simulator, tree copy and log."""

    def __init__(self, label, collection, targets, log_path, smoke=False):
        self.label = label
        self.smoke = smoke
        self.collection = collection
        self.targets = targets
        self.log_path = log_path
        self.simulator = None
        self.process = None
        self.offset = 0
        self.current = None
        self.current_since = None
        self.done = []
        self.returncode = None
        self.announced = False
        self.cpu_mark = 0.0
        self.last_cpu = None
        self.cpu = {}
        self.simulator_cpu = None

    def read_cpu(self):
        """Read before the process is reaped: its /proc entry, and its children's time, go with it."""
        if self.process:
            self.last_cpu = cpu_seconds(self.process.pid)

    def charge_cpu(self, name):
        """CPU seconds spent since the previous target ended, charged to ``name``."""
        now = cpu_seconds(self.process.pid) if self.process and self.returncode is None else None
        now = self.last_cpu if now is None else now
        if now is None:
            return None
        spent, self.cpu_mark = now - self.cpu_mark, now
        self.cpu[name] = spent
        return spent

    def write_config(self):
        """ansible-test passes no environment to the targets: the simulator's address goes in a config file."""
        path = os.path.join(self.collection, "tests", "integration", "integration_config.yml")
        old = os.umask(0o077)
        try:
            with open(path, "w", encoding="utf-8") as stream:
                stream.write("---\ncloudtower_sim_url: '%s'\ncloudtower_sim_admin_url: '%s'\n"
                             "cloudtower_sim_username: '%s'\ncloudtower_sim_password: '%s'\n"
                             % (self.simulator.url, self.simulator.url, self.simulator.username, self.simulator.password))
                # The smoke runs on older ansible-core releases play each target's core sequence only.
                stream.write("cloudtower_smoke: %s\n" % ("true" if self.smoke else "false"))
        finally:
            os.umask(old)

    def remove_configs(self):
        """The config holds the password; ansible-test may leave copies of it in tests/output."""
        for path in [os.path.join(self.collection, "tests", "integration", "integration_config.yml")] + glob.glob(
                os.path.join(self.collection, "tests", "output", "**", "integration_config.yml"), recursive=True):
            if os.path.isfile(path):
                os.remove(path)

    def poll_events(self, now):
        """Targets that ended since the last call: [(name, seconds)], from the 'Running X' lines of the log."""
        ended = []
        with open(self.log_path, "rb") as stream:
            stream.seek(self.offset)
            chunk = stream.read()
        # Only whole lines: a line being written is read again next time.
        cut = chunk.rfind(b"\n") + 1
        self.offset += cut
        for match in STARTED.finditer(chunk[:cut].decode("utf-8", "replace")):
            if self.current:
                ended.append((self.current, now - self.current_since, self.charge_cpu(self.current)))
                self.done.append(self.current)
            self.current, self.current_since = match.group(1), now
        return ended

    def finish(self, now):
        if self.current and self.returncode == 0:
            self.done.append(self.current)
            return [(self.current, now - self.current_since, self.charge_cpu(self.current))]
        return []


class IntegrationRun:
    """Run ``targets`` (all runnable ones when empty) in ``shards`` shards."""

    def __init__(self, venv, collection, work, shards=3, targets=(), verbose=False, token_logs=False,
                 specs=None, sim_args=("--state", "demo", "--task-seconds", "0.2"), smoke=False, as_one_lane=False):
        self.venv = venv
        self.collection = collection
        self.work = work
        self.shard_count = shards
        self.targets = list(targets) or runnable_targets(collection)
        self.verbose = verbose
        self.token_logs = token_logs
        self.specs = specs
        self.sim_args = list(sim_args)
        self.smoke = smoke
        # Each shard is a session, so a scheduler autogroup of its own: as_one_lane weighs the shards together like
        # one of the runner's lanes, so the single-process stages of the other lanes are not starved by three shards.
        self.as_one_lane = as_one_lane
        self.shards = []
        self.started = None

    def _prepare_shards(self):
        for index, targets in enumerate(balance(self.targets, self.shard_count)):
            label = "shard%d" % index
            root = self.collection
            if index > 0:
                root = tree.copy_tree(self.collection, os.path.join(self.work, label))
            self.shards.append(Shard(label, root, targets, os.path.join(self.work, "integration-%s.log" % label),
                                     smoke=self.smoke))

    def _start(self, shard):
        token_log = None
        if self.token_logs:
            token_log = os.path.join(self.work, "secrets-%s.txt" % shard.label)
        shard.simulator = Simulator(self.venv.python, shard.collection, os.path.join(self.work, "simulator-%s.log" % shard.label),
                                    extra_args=self.sim_args + ["--record", os.path.join(self.work, "record-%s.jsonl" % shard.label)],
                                    token_log=token_log, specs=self.specs)
        if token_log:
            old = os.umask(0o077)
            with open(token_log, "w", encoding="utf-8") as stream:
                stream.write(shard.simulator.password + "\n")
            os.umask(old)
        shard.simulator.start()
        shard.write_config()
        command = ["ansible-test", "integration", "--local", "--python", self.venv.version, "--color", "no"]
        command += (["-vvv"] if self.verbose else []) + shard.targets
        say("[%s] simulator at %s; %d target(s): %s" % (shard.label, shard.simulator.url, len(shard.targets), " ".join(shard.targets)))
        log = open(shard.log_path, "w", encoding="utf-8")  # pylint: disable=consider-using-with
        env = self.venv.env()
        env["ANSIBLE_FORCE_COLOR"] = "0"
        nice = processes.autogroup_nice_for(len(self.shards)) if self.as_one_lane else None
        shard.process = processes.start(command, cwd=shard.collection, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=env, autogroup_nice=nice)
        log.close()

    def _report(self, now):
        """Print each target that ended; return whether anything was printed."""
        printed = False
        for shard in self.shards:
            events = shard.poll_events(now)
            if shard.returncode is None:
                shard.read_cpu()
            if shard.returncode is None and shard.process.poll() is not None:
                shard.returncode = shard.process.returncode
                events += shard.poll_events(now) + shard.finish(now)
            for name, seconds, cpu in events:
                say("[integration %s] %s: %s done in %s%s (%d/%d)"
                    % (clock(now - self.started), shard.label, name, clock(seconds),
                       "" if cpu is None else ", %.0f CPU-s" % cpu, len(shard.done), len(shard.targets)))
                printed = True
            if shard.returncode is not None and not shard.announced:
                shard.announced = True
                say("[integration %s] %s %s" % (clock(now - self.started), shard.label,
                                                "finished" if shard.returncode == 0 else "FAILED (exit code %d)" % shard.returncode))
                printed = True
        return printed

    def _heartbeat(self, now):
        running = ["%s %s %s (%d/%d)" % (s.label, s.current or "starting", clock(now - (s.current_since or self.started)),
                                         len(s.done) + 1, len(s.targets))
                   for s in self.shards if s.returncode is None]
        say("[integration %s] running: %s" % (clock(now - self.started), "; ".join(running)))

    def run(self):
        """Run every shard to its end; return True when all passed."""
        ansible_test.prepare(self.venv.python)
        venvs.install_code_cache(self.venv)
        self._prepare_shards()
        self.started = time.time()
        try:
            for shard in self.shards:
                self._start(shard)
            last_line = time.time()
            while any(s.returncode is None for s in self.shards):
                time.sleep(1.0)
                now = time.time()
                if self._report(now):
                    last_line = now
                elif now - last_line >= HEARTBEAT:
                    self._heartbeat(now)
                    last_line = now
        finally:
            for shard in self.shards:
                processes.stop(shard.process)
                if shard.simulator:
                    if shard.simulator.process:
                        shard.simulator_cpu = group_cpu_seconds(shard.simulator.process.pid)
                    shard.simulator.stop()
                shard.remove_configs()
        self._print_logs()
        return all(s.returncode == 0 for s in self.shards)

    def _print_logs(self):
        for shard in self.shards:
            with open(shard.log_path, encoding="utf-8", errors="replace") as stream:
                lines = stream.read().splitlines()
            if shard.returncode == 0:
                say("\n==> integration: %s passed: %s (end of its log)" % (shard.label, " ".join(shard.targets)))
                tail = lines[-25:]
            else:
                # At -vvv a log runs to tens of MB: its end holds the failure and the target's recap.
                say("\n==> integration: %s FAILED: %s (the last 4000 lines of its log)" % (shard.label, " ".join(shard.targets)))
                tail = lines[-4000:]
                with open(shard.simulator.log_path, encoding="utf-8", errors="replace") as stream:
                    tail += ["  sim| " + line for line in stream.read().splitlines()[-20:]]
            say("\n".join(tail))
        times = self.target_times()
        if times:
            cpu = {}
            for shard in self.shards:
                cpu.update(shard.cpu)
            say("Integration targets: seconds, and CPU seconds of ansible-playbook and its modules:")
            for name, seconds in sorted(times.items(), key=lambda item: -item[1]):
                say("  %6d  %8s  %s" % (seconds, "%.0f" % cpu[name] if cpu.get(name) is not None else "-", name))
            say("  %6d  %8.0f  total of %d target(s)" % (sum(times.values()), sum(v for v in cpu.values() if v), len(times)))
            simulators = [s.simulator_cpu for s in self.shards if s.simulator_cpu is not None]
            if simulators:
                say("  CPU seconds of the simulators: %.0f (%d)" % (sum(simulators), len(simulators)))

    def target_times(self):
        """Seconds per target, from ansible-test's tests/output/data/integration-*.json of every shard."""
        times = {}
        for shard in self.shards:
            for path in glob.glob(os.path.join(shard.collection, "tests", "output", "data", "integration-*.json")):
                with open(path, encoding="utf-8") as stream:
                    data = json.load(stream)
                for name, target in data.get("targets", {}).items():
                    if target.get("run_time_seconds") is not None:
                        times[name] = target["run_time_seconds"]
        return times

    def records(self):
        return sorted(glob.glob(os.path.join(self.work, "record-*.jsonl")))

    def secret_files(self):
        return sorted(glob.glob(os.path.join(self.work, "secrets-*.txt")))

    def scanned_paths(self):
        """The shards' output, the simulators' logs and records, and what ansible-test left in tests/output."""
        paths = glob.glob(os.path.join(self.work, "integration-*.log")) + glob.glob(os.path.join(self.work, "simulator-*.log"))
        paths += self.records()
        paths += [os.path.join(s.collection, "tests", "output") for s in self.shards
                  if os.path.isdir(os.path.join(s.collection, "tests", "output"))]
        return paths
