#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure smartx.cloudtower against the CloudTower simulator and print the figures as markdown tables.

Run it through benchmarks/run.sh, which prepares the venv and a copy of the collection:

    benchmarks/run.sh [--quick] [--sizes 1,10,50,100] [--only backup,no_change,...]

Scenarios (see benchmarks/README.md): backup (role vs per-VM loop vs the official SDK), repository (requests of a
whole backup into a repository of 1-6 VMs over iSCSI and export, on a 4.6 simulator with tgtd), no_change (requests
of idempotent runs), listing (cloudtower_vm_info and the inventory plugin over many VMs), task_wait (latency
after a task ends, polls of a long task), overhead (one module call vs ansible.builtin.uri). Nothing is
asserted about time; a scenario whose work did not happen (a failed playbook, a missing manifest) is an error.
"""

import argparse
import collections
import glob
import json
import os
import secrets
import shutil
import statistics
import sys
import threading
import time

# Python puts this script's directory first on sys.path, so its sibling modules import as they are; the collection
# itself comes from PYTHONPATH (scripts/runner/bootstrap.py sets it to --collections-path).
import benchsupport as bs
import waiter_model

SCENARIOS = ("backup", "repository", "no_change", "template", "overhead", "task_wait", "listing")
USERNAME = "bench-admin"
TASK_SECONDS = 2.0
SPARE_VMS = 20


class Context:
    """Paths, options and the environment every scenario shares."""

    def __init__(self, args):
        self.args = args
        self.collections_path = os.path.abspath(args.collections_path)
        self.collection = os.path.join(self.collections_path, "ansible_collections", "smartx", "cloudtower")
        self.playbooks = os.path.join(self.collection, "benchmarks", "playbooks")
        self.simulator_script = os.path.join(self.collection, "tests", "simulator", "cloudtower_sim.py")
        self.results = os.path.abspath(args.results)
        self.bin = os.path.dirname(sys.executable)
        self.password = "Bench-" + secrets.token_urlsafe(24)
        self.quick = args.quick
        self.sizes = args.sizes
        self.work = os.path.join(self.results, "work")
        os.makedirs(self.work, exist_ok=True)
        # Ansible's defaults, whatever ansible.cfg the caller has.
        self.ansible_cfg = os.path.join(self.work, "ansible.cfg")
        with open(self.ansible_cfg, "w", encoding="utf-8") as stream:
            stream.write("[defaults]\n")
        self.counter = 0

    def path(self, name):
        self.counter += 1
        return os.path.join(self.work, "%03d-%s" % (self.counter, name))

    def ansible_env(self, url, token=None, timer_file=None):
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("ANSIBLE_", "CLOUDTOWER_")) and key not in ("BENCH_TIMER_FILE",)}
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": self.collections_path,
            "ANSIBLE_CALLBACK_PLUGINS": os.path.join(self.collection, "benchmarks", "callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "bench_timer",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_CONFIG": self.ansible_cfg,
            "PYTHONDONTWRITEBYTECODE": "1",
            "CLOUDTOWER_HOST": url,
        })
        if token:
            env["CLOUDTOWER_TOKEN"] = token
        else:
            env.update({"CLOUDTOWER_USERNAME": USERNAME, "CLOUDTOWER_PASSWORD": self.password})
        if timer_file:
            env["BENCH_TIMER_FILE"] = timer_file
        return env

    def start_simulator(self, name, *args):
        return bs.Simulator(self.simulator_script, USERNAME, self.password, os.path.join(self.work, "simulator-%s.log" % name), *args)

    def playbook(self, sim, playbook, extra_vars, label, token=None):
        """Run one playbook against sim; returns (Timed, task timings)."""
        timer = self.path(label + ".tasks.json")
        vars_file = self.path(label + ".vars.json")
        bs.write_json(vars_file, extra_vars)
        command = [os.path.join(self.bin, "ansible-playbook"), os.path.join(self.playbooks, playbook), "-e", "@" + vars_file]
        timed = bs.run_timed(command, self.ansible_env(sim.url, token=token, timer_file=timer), self.path(label + ".log"), cwd=self.work)
        return timed, bs.read_json(timer, [])


def task_named(timings, prefix):
    return [t for t in timings if t["task"].split(" : ")[-1].startswith(prefix)]


# ----- scenario 1: backups ------------------------------------------------------------------------
def backup_vm_names(sim, count):
    """The first `count` VMs whose names are unique (the demo has two VMs named web-dup)."""
    vms = sim.state("vms")
    names = [vm["name"] for vm in vms]
    unique = [name for name in names if names.count(name) == 1]
    if len(unique) < count:
        raise RuntimeError("the simulator has only %d uniquely named VMs, %d wanted" % (len(unique), count))
    return unique[:count]


def manifests_in(directory):
    return len(glob.glob(os.path.join(directory, "**", "*.json"), recursive=True))


def run_ansible_backup(ctx, sim, variant, size):
    sim.reset(state="demo", vms=max(ctx.sizes) + SPARE_VMS, task_seconds=TASK_SECONDS)
    names = backup_vm_names(sim, size)
    out_dir = ctx.path("%s-%d-manifests" % (variant, size))
    load_before = bs.load_average()
    playbook = "role_backup.yml" if variant == "role" else "loop_backup.yml"
    timed, timings = ctx.playbook(sim, playbook, {"bench_vms": names, "bench_dir": out_dir}, "%s-%d" % (variant, size))
    timed.require_success("%s backup of %d VMs" % (variant, size))
    written = manifests_in(out_dir)
    if written != size:
        raise RuntimeError("%s backup of %d VMs wrote %d manifests (%s)" % (variant, size, written, out_dir))
    summary = bs.RequestSummary(sim.requests())
    created = sum(len(e["body"]["data"]) for e in summary.entries if e["endpoint"] == "create-vm-snapshot" and e["status"] == 200)
    snapshot_task = task_named(timings, "Snapshot every VM" if variant == "role" else "Snapshot each VM")
    return {
        "variant": variant, "size": size, "wall": timed.wall, "requests": summary.to_dict(), "endpoints": summary.endpoints_text(),
        "polls": summary.polls, "snapshots_created": created, "manifests": written, "peak_tree_kb": timed.peak_tree_kb,
        "max_process_kb": timed.max_process_kb, "cpu_seconds": timed.cpu_seconds, "load": [load_before, bs.load_average()],
        "snapshot_task_seconds": sum(t["seconds"] for t in snapshot_task), "tasks": timings,
    }


def run_sdk_backup(ctx, sim, size):
    sim.reset(state="demo", vms=max(ctx.sizes) + SPARE_VMS, task_seconds=TASK_SECONDS)
    names = backup_vm_names(sim, size)
    vms_file = ctx.path("sdk-%d.vms.json" % size)
    bs.write_json(vms_file, names)
    report_file = ctx.path("sdk-%d.report.json" % size)
    env = dict(os.environ, CLOUDTOWER_PASSWORD=ctx.password)
    command = [sys.executable, os.path.join(ctx.collection, "benchmarks", "sdk_backup.py"), "--url", sim.url, "--username", USERNAME,
               "--vms-file", vms_file, "--output", report_file]
    load_before = bs.load_average()
    timed = bs.run_timed(command, env, ctx.path("sdk-%d.log" % size)).require_success("SDK backup of %d VMs" % size)
    report = bs.read_json(report_file)
    complete = [b for b in report["backups"] if b["snapshot_id"] and b["lun_snapshots"] == b["disks"]]
    if len(complete) != size:
        raise RuntimeError("the SDK script backed up %d of %d VMs completely (%s)" % (len(complete), size, report_file))
    summary = bs.RequestSummary(sim.requests())
    return {
        "variant": "sdk", "size": size, "wall": timed.wall, "requests": summary.to_dict(), "endpoints": summary.endpoints_text(),
        "polls": summary.polls, "snapshots_created": summary.by_endpoint.get("create-vm-snapshot", 0), "manifests": None,
        "peak_tree_kb": timed.peak_tree_kb, "max_process_kb": timed.max_process_kb, "cpu_seconds": timed.cpu_seconds,
        "load": [load_before, bs.load_average()], "sdk_wait_tasks_seconds": report["wait_tasks_seconds"],
        "sdk_script_seconds": report["wall_seconds"],
    }


class SdkRunner(threading.Thread):
    """The SDK baseline on its own simulator, in parallel with the Ansible scenarios (it sleeps >95 % of the time)."""

    def __init__(self, ctx):
        super().__init__(daemon=True)
        self.ctx = ctx
        self.results = []
        self.error = None
        self.sim = ctx.start_simulator("sdk", "--vms", str(max(ctx.sizes) + SPARE_VMS), "--task-seconds", str(TASK_SECONDS))

    def run(self):
        try:
            for size in self.ctx.sizes:
                self.results.append(run_sdk_backup(self.ctx, self.sim, size))
                log("  sdk    N=%-3d %7.2f s" % (size, self.results[-1]["wall"]))
        except Exception as error:  # pylint: disable=broad-except
            self.error = error
        finally:
            self.sim.stop()


def repeats(variant, size):
    """Runs per measurement: short ones are repeated and the median kept; a long per-VM loop runs once."""
    if variant == "role" or size <= 10:
        return 3
    return 1


def median_run(runs):
    """The run with the median wall time, with every run's wall time attached."""
    ordered = sorted(runs, key=lambda r: r["wall"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["walls"] = [r["wall"] for r in runs]
    return chosen


def scenario_backup(ctx, sim):
    # Unmeasured: the first playbook of a run pays for cold caches (imports, page cache) that later ones do not.
    run_ansible_backup(ctx, sim, "role", 1)
    rows = []
    for size in ctx.sizes:
        runs = {"role": [], "loop": []}
        # Interleaved, so that a change of the machine's load during the run hits both variants alike.
        for attempt in range(max(repeats(v, size) for v in runs)):
            for variant in runs:
                if attempt < repeats(variant, size):
                    runs[variant].append(run_ansible_backup(ctx, sim, variant, size))
                    log("  %-6s N=%-3d %7.2f s, %d requests" % (variant, size, runs[variant][-1]["wall"], runs[variant][-1]["requests"]["total"]))
        rows.extend(median_run(runs[variant]) for variant in runs)
    return rows


# ----- scenario 1c: backups into a repository -------------------------------------------------------
REPOSITORY_SIZES = tuple(int(s) for s in os.environ.get("BENCH_REPOSITORY_SIZES", "1,2,4,6").split(","))
# The demo's VMs of cluster-a (1, 1, 2, 2, 3 and 1 disks). One cluster: the simulator serves every cluster's targets
# from one tgtd, where the backup targets of two clusters (one name, so one IQN) collide (tests/simulator/README.md).
REPOSITORY_VMS = ("web-01", "web-02", "db-01", "db-02", "build-01", "monitor-01")
REPOSITORY_TASK_SECONDS = 0.1


def scenario_repository(ctx, _sim):
    """The API requests of a whole backup into the repository (snapshots, manifests, every disk copied and verified)
    of N VMs, per transport, on a 4.6 simulator of its own that serves real iSCSI (tgtd) and export downloads: which
    endpoints grow with the VMs, and by how much per disk. Needs root and the data-plane tools; says why not else."""
    sys.path.insert(0, os.path.dirname(ctx.simulator_script))
    from ctsim import dataplane_deps  # pylint: disable=import-error,import-outside-toplevel
    reason = dataplane_deps.portal_unavailable_reason()
    if reason:
        log("  skipped: %s" % reason)
        return {"skipped": reason}
    data_dir = ctx.path("repository-cluster")
    os.makedirs(data_dir)
    sim = ctx.start_simulator("repository", "--api-version", "4.6.0", "--iscsi-portal", "127.0.0.1:0", "--data-dir", data_dir,
                              "--task-seconds", str(REPOSITORY_TASK_SECONDS), "--record", ctx.path("repository-requests.jsonl"))
    rows = []
    try:
        portal = sim.admin("GET", "info")["dataplane"]["iscsi_portal"]  # the free port the simulator's tgtd took
        for transport in ("iscsi", "export"):
            for size in REPOSITORY_SIZES:
                rows.append(repository_backup(ctx, sim, portal, transport, size))
                row = rows[-1]
                log("  %-6s N=%d (%d disks): %d requests, %.1f s" % (transport, size, row["disks"], row["requests"]["total"], row["wall"]))
    finally:
        sim.stop()
    return {"rows": rows}


def repository_backup(ctx, sim, portal, transport, size):
    sim.reset(state="demo", task_seconds=REPOSITORY_TASK_SECONDS)
    names = list(REPOSITORY_VMS[:size])
    label = "repository-%s-%d" % (transport, size)
    out_dir, repository = ctx.path(label + "-manifests"), ctx.path(label)
    extra_vars = {"bench_vms": names, "bench_dir": out_dir, "bench_repository": repository, "bench_portal": portal,
                  "bench_transport": transport}
    timed, _timings = ctx.playbook(sim, "repository_backup.yml", extra_vars, label)
    timed.require_success("%s backup of %d VMs into a repository" % (transport, size))
    manifests = glob.glob(os.path.join(repository, "*", "*", "*", "manifest.json"))
    if len(manifests) != size:
        raise RuntimeError("%s backup of %d VMs into a repository wrote %d backups (%s)" % (transport, size, len(manifests), repository))
    disks = sum(len(bs.read_json(path)["disks"]) for path in manifests)
    summary = bs.RequestSummary(sim.requests())
    shutil.rmtree(repository)
    return {"transport": transport, "size": size, "vms": names, "disks": disks, "wall": timed.wall, "requests": summary.to_dict(),
            "endpoints": summary.endpoints_text(),
            "distinct": distinct_requests(summary.entries),
            "errors": ["%s %s %s" % (e["endpoint"], e.get("status"), e.get("error_detail")) for e in summary.errors]}


# ----- scenario 2: no-change runs -----------------------------------------------------------------
NO_CHANGE_CASES = (
    ("vm", "cloudtower_vm", "name"),
    ("vm_in_cluster", "cloudtower_vm", "name + cluster"),
    ("snapshot", "cloudtower_vm_snapshot", "vm + name"),
    ("snapshot_in_cluster", "cloudtower_vm_snapshot", "vm + name + cluster"),
    ("vm_devices", "cloudtower_vm", "name + cluster + disk, CD-ROM with ISO, NIC"),
)


def scenario_no_change(ctx, sim):
    rows = []
    sim.reset(state="demo", task_seconds=TASK_SECONDS)
    token = sim.login()
    for case, module, options in NO_CHANGE_CASES:
        ctx.playbook(sim, "no_change.yml", {"bench_case": case}, "settle-" + case)[0].require_success("settling " + case)
        for auth in ("password", "token"):
            sim.clear_requests()
            timed, timings = ctx.playbook(sim, "no_change.yml", {"bench_case": case}, "%s-%s" % (case, auth),
                                          token=token if auth == "token" else None)
            timed.require_success("no-change run of " + case)
            ran = [t for t in timings if t.get("action", "").endswith(module)]
            summary = bs.RequestSummary(sim.requests())
            rows.append({"case": case, "module": module, "options": options, "auth": auth, "requests": summary.to_dict(),
                         "endpoints": summary.endpoints_text(), "changed": any(t["changed"] for t in ran),
                         "task_seconds": sum(t["seconds"] for t in ran)})
    return rows


# ----- scenario 2b: a VM from a template with cloud-init ---------------------------------------------------
def scenario_template(ctx, sim):
    """The requests of creating one VM from a template with cloud-init and waiting for its guest (template made before)."""
    sim.reset(state="demo", task_seconds=TASK_SECONDS)
    ctx.playbook(sim, "template.yml", {"bench_case": "template"}, "template-setup")[0].require_success("making the template")
    sim.clear_requests()
    timed, timings = ctx.playbook(sim, "template.yml", {"bench_case": "vm_from_template"}, "vm-from-template")
    timed.require_success("VM from the template")
    summary = bs.RequestSummary(sim.requests())
    ran = [t for t in timings if t.get("action", "").endswith("cloudtower_vm")]
    return {"requests": summary.to_dict(), "endpoints": summary.endpoints_text(),
            "mutating": [e["endpoint"] for e in summary.mutating], "task_seconds": sum(t["seconds"] for t in ran)}


# ----- scenario 5: module overhead ------------------------------------------------------------------
def scenario_overhead(ctx, sim):
    repeat = 5 if ctx.quick else 10
    sim.reset(state="demo", task_seconds=TASK_SECONDS)
    load_before = bs.load_average()
    timed, timings = ctx.playbook(sim, "overhead.yml", {"bench_repeat": repeat}, "overhead")
    timed.require_success("overhead playbook")
    summary = bs.RequestSummary(sim.requests())
    module = task_named(timings, "With the module:")[0]
    uri = task_named(timings, "With uri:")
    return {"repeat": repeat, "module_per_call": module["seconds"] / repeat, "uri_per_call": sum(t["seconds"] for t in uri) / repeat,
            "uri_login_per_call": uri[0]["seconds"] / repeat, "uri_query_per_call": uri[1]["seconds"] / repeat,
            "requests": summary.to_dict(), "load": [load_before, bs.load_average()]}


# ----- scenario 4: task-wait latency ------------------------------------------------------------------
def latency_samples(ctx, vm_names):
    if ctx.quick:
        durations = [1.0, 1.8, 2.6, 3.4, 4.2, 5.0]
    else:
        durations = [1.0 + 0.25 * i for i in range(17)]
    return [{"vm": vm_names[i % len(vm_names)], "seconds": d} for i, d in enumerate(durations)]


def scenario_task_wait(ctx, sim):
    sim.reset(state="demo", vms=40, task_seconds=TASK_SECONDS)
    names = backup_vm_names(sim, 30)
    samples = latency_samples(ctx, names)
    long_check = 10.0 if ctx.quick else 30.0
    samples.append({"vm": names[-1], "seconds": long_check})
    load_before = bs.load_average()
    timed, timings = ctx.playbook(sim, "task_wait.yml", {"bench_samples": samples}, "task-wait")
    timed.require_success("task-wait playbook")
    entries = bs.RequestSummary(sim.requests()).entries
    creations = [e for e in entries if e["endpoint"] == "create-vm-snapshot"]
    returns = task_named(timings, "Latency sample")
    if len(creations) != len(samples) or len(returns) != len(samples):
        raise RuntimeError("task-wait: %d samples, %d creations, %d module results" % (len(samples), len(creations), len(returns)))
    measured = []
    for index, sample in enumerate(samples):
        created = creations[index]
        ended = created["time"] + sample["seconds"]
        until = creations[index + 1]["time"] if index + 1 < len(creations) else float("inf")
        polls = [e for e in entries if e["endpoint"] == "get-tasks" and created["time"] < e["time"] < until]
        seen = [e for e in polls if e["time"] >= ended]
        measured.append({"seconds": sample["seconds"], "polls": len(polls),
                         "detected_late": (seen[0]["time"] - ended) if seen else None,
                         "returned_late": returns[index]["end"] - ended})
    short = measured[:-1]
    model_check = waiter_model.collection_summary(long_check)
    return {
        "samples": short,
        "median_returned_late": statistics.median(m["returned_late"] for m in short),
        "max_returned_late": max(m["returned_late"] for m in short),
        "median_detected_late": statistics.median(m["detected_late"] for m in short if m["detected_late"] is not None),
        "long_check": {"seconds": long_check, "real_polls": measured[-1]["polls"], "model": model_check},
        "model_short": waiter_model.short_task_lateness([s["seconds"] for s in samples[:-1]]),
        "model_600": waiter_model.collection_summary(600.0),
        "sdk_600_default_timeout": waiter_model.sdk_wait(600.0),
        "sdk_600_timeout_900": waiter_model.sdk_wait(600.0, timeout=900),
        "sdk_short": [waiter_model.sdk_wait(s["seconds"])[1] for s in samples[:-1]],
        "load": [load_before, bs.load_average()],
    }


# ----- scenario 3: listing many VMs -----------------------------------------------------------------
def scenario_listing(ctx):
    count = ctx.args.list_vms
    sim = ctx.start_simulator("listing", "--vms", str(count), "--task-seconds", str(TASK_SECONDS))
    try:
        sim.login()  # waits for the state to be built, so its build time is not counted
        sim.clear_requests()
        load_before = bs.load_average()
        timed, timings = ctx.playbook(sim, "vm_info_all.yml", {"bench_expected": count}, "vm-info-all")
        timed.require_success("cloudtower_vm_info over %d VMs" % count)
        summary = bs.RequestSummary(sim.requests())
        info = {"what": "cloudtower_vm_info", "wall": timed.wall, "task_seconds": task_named(timings, "Read all VMs")[0]["seconds"],
                "peak_tree_kb": timed.peak_tree_kb, "max_process_kb": timed.max_process_kb, "requests": summary.to_dict(),
                "load": [load_before, bs.load_average()]}
        info["fetch_seconds"] = fetch_window(summary.entries)
        sim.clear_requests()
        trimmed = listing_with_fields(ctx, sim, count)
        sim.clear_requests()
        alone = module_alone(ctx, sim, "cloudtower_vm_info", {})
        sim.clear_requests()
        inventory_file = ctx.path("inventory.json")
        load_before = bs.load_average()
        command = [os.path.join(ctx.bin, "ansible-inventory"), "-i", os.path.join(ctx.collection, "benchmarks", "inventory", "bench.cloudtower.yml"),
                   "--list", "--output", inventory_file]
        inv_timed = bs.run_timed(command, ctx.ansible_env(sim.url), ctx.path("inventory.log"), cwd=ctx.work)
        inv_timed.require_success("ansible-inventory over %d VMs" % count)
        hosts = len((bs.read_json(inventory_file, {}).get("_meta") or {}).get("hostvars") or {})
        os.remove(inventory_file)
        if hosts != count:
            raise RuntimeError("the inventory plugin listed %d hosts of %d VMs" % (hosts, count))
        summary = bs.RequestSummary(sim.requests())
        inventory = {"what": "inventory plugin (ansible-inventory --list)", "wall": inv_timed.wall, "hosts": hosts,
                     "peak_tree_kb": inv_timed.peak_tree_kb, "max_process_kb": inv_timed.max_process_kb,
                     "requests": summary.to_dict(), "fetch_seconds": fetch_window(summary.entries),
                     "load": [load_before, bs.load_average()]}
    finally:
        sim.stop()
    return {"vms": count, "rows": [info, alone, inventory, trimmed]}


# What a report or a CMDB sync typically keeps of each VM, of the ~68 keys of a record.
LISTING_FIELDS = ["name", "status", "cluster", "host", "vcpu", "memory", "ips", "in_recycle_bin"]


def listing_with_fields(ctx, sim, count):
    """cloudtower_vm_info with the fields option: the records trimmed page by page inside the module."""
    load_before = bs.load_average()
    timed, timings = ctx.playbook(sim, "vm_info_all.yml", {"bench_expected": count, "bench_fields": LISTING_FIELDS}, "vm-info-fields")
    timed.require_success("cloudtower_vm_info with fields over %d VMs" % count)
    summary = bs.RequestSummary(sim.requests())
    return {"what": "cloudtower_vm_info with fields (%d keys)" % len(LISTING_FIELDS), "wall": timed.wall,
            "task_seconds": task_named(timings, "Read all VMs")[0]["seconds"], "peak_tree_kb": timed.peak_tree_kb,
            "max_process_kb": timed.max_process_kb, "requests": summary.to_dict(), "fetch_seconds": fetch_window(summary.entries),
            "load": [load_before, bs.load_average()]}


def module_alone(ctx, sim, module, args):
    """The module run as a plain Python process with an arguments file (no ansible-playbook, no AnsiballZ), so that
    its own cost can be told apart from what Ansible does with its result."""
    args_file = ctx.path(module + ".args.json")
    bs.write_json(args_file, {"ANSIBLE_MODULE_ARGS": dict(args, cloudtower_host=sim.url, cloudtower_username=USERNAME,
                                                          cloudtower_password=ctx.password)})
    env = dict(os.environ, PYTHONPATH=ctx.collections_path)
    output = ctx.path(module + ".result.json")
    load_before = bs.load_average()
    timed = bs.run_timed([sys.executable, "-m", "ansible_collections.smartx.cloudtower.plugins.modules." + module, args_file],
                         env, output, cwd=ctx.work).require_success(module + " run alone")
    summary = bs.RequestSummary(sim.requests())
    result = {"what": "%s module alone (no Ansible)" % module, "wall": timed.wall, "peak_tree_kb": timed.peak_tree_kb,
              "max_process_kb": timed.max_process_kb, "requests": summary.to_dict(), "fetch_seconds": fetch_window(summary.entries),
              "result_bytes": os.path.getsize(output), "load": [load_before, bs.load_average()]}
    os.remove(output)
    return result


def fetch_window(entries):
    """Seconds from the first request's arrival to the last one's answer."""
    if not entries:
        return None
    return entries[-1]["time"] + entries[-1]["duration"] - entries[0]["time"]


# ----- reporting -----------------------------------------------------------------------------------
def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def by_variant(rows, variant, size):
    for row in rows:
        if row["variant"] == variant and row["size"] == size:
            return row
    return None


def backup_table(rows, sizes):
    table = []
    for size in sizes:
        role = by_variant(rows, "role", size)
        for variant in ("role", "loop", "sdk"):
            row = by_variant(rows, variant, size)
            if row is None:
                continue
            walls = row.get("walls") or [row["wall"]]
            wall = bs.seconds(row["wall"]) + (" (%.2f-%.2f, %d runs)" % (min(walls), max(walls), len(walls)) if len(walls) > 1 else "")
            table.append([size, variant, wall, bs.ratio(row["wall"], role and role["wall"]), row["requests"]["total"],
                          row["requests"]["logins"], row["requests"]["mutating"], row["polls"], row["endpoints"],
                          bs.megabytes(row["peak_tree_kb"]), "%.1f" % row["load"][0]])
    return bs.markdown_table(["N", "variant", "wall (median)", "vs role", "requests", "logins", "mutating", "get-tasks polls",
                              "requests by endpoint", "peak RSS (tree)", "load"], table)


def no_change_table(rows):
    return bs.markdown_table(
        ["module", "options", "auth", "requests", "mutating", "changed", "requests by endpoint"],
        [[r["module"], r["options"], r["auth"], r["requests"]["total"], r["requests"]["mutating"], r["changed"], r["endpoints"]] for r in rows])


def listing_table(listing):
    return bs.markdown_table(
        ["what", "VMs", "wall", "of which API requests", "requests", "peak RSS (tree, summed)", "largest process RSS", "load"],
        [[r["what"], listing["vms"], bs.seconds(r["wall"]), bs.seconds(r["fetch_seconds"]), r["requests"]["total"],
          bs.megabytes(r["peak_tree_kb"]), bs.megabytes(r["max_process_kb"]), "%.1f" % r["load"][0]] for r in listing["rows"]])


def task_wait_table(wait):
    rows = [[bs.seconds(m["seconds"]), m["polls"], bs.seconds(m["detected_late"]), bs.seconds(m["returned_late"])] for m in wait["samples"]]
    return bs.markdown_table(["task duration", "get-tasks polls", "poll saw it final after", "module returned after"], rows)


def overhead_table(overhead):
    uri = "%s (%s + %s)" % (bs.seconds(overhead["uri_per_call"]), bs.seconds(overhead["uri_login_per_call"]),
                            bs.seconds(overhead["uri_query_per_call"]))
    return bs.markdown_table(["what", "per call", "requests per call"],
                             [["cloudtower_vm_info (login + get-vms)", bs.seconds(overhead["module_per_call"]), 2],
                              ["ansible.builtin.uri login + uri get-vms", uri, 2]])


def status(met):
    return "met" if met else "**missed**"


def targets(results):
    lines = []
    backup = results.get("backup")
    if backup:
        sizes = sorted({r["size"] for r in backup})
        role = {r["size"]: r for r in backup if r["variant"] == "role"}
        if len(sizes) > 1:
            small, big = role[sizes[0]], role[sizes[-1]]
            lines.append(["role backup of %d VMs within 1.5x of %d VM" % (sizes[-1], sizes[0]),
                          "%s vs %s = %s" % (bs.seconds(big["wall"]), bs.seconds(small["wall"]), bs.ratio(big["wall"], small["wall"])),
                          status(big["wall"] <= 1.5 * small["wall"])])
            growth = requests_growth(role)
            lines.append(["role requests independent of N (apart from pagination)", growth[0], status(growth[1])])
        logins = sorted({r["requests"]["logins"] for r in role.values()})
        lines.append(["exactly one login per play (role)", "logins per run: %s" % logins, status(logins == [1])])
        if 50 in role:
            sdk, loop = by_variant(backup, "sdk", 50), by_variant(backup, "loop", 50)
            if sdk:
                lines.append(["N=50: at least 10x faster than the SDK script", "%s vs %s = %s faster" % (
                    bs.seconds(role[50]["wall"]), bs.seconds(sdk["wall"]), bs.ratio(sdk["wall"], role[50]["wall"])),
                    status(sdk["wall"] >= 10 * role[50]["wall"])])
            if loop:
                lines.append(["N=50: faster than the per-VM loop", "%s vs %s = %s faster" % (
                    bs.seconds(role[50]["wall"]), bs.seconds(loop["wall"]), bs.ratio(loop["wall"], role[50]["wall"])),
                    status(loop["wall"] > role[50]["wall"])])
    repository = results.get("repository")
    if repository and repository.get("rows"):
        others = repository_target(repository)
        lines.append(["repository backup: distinct requests independent of the VMs apart from per-disk ones",
                      "; ".join(others) if others else "every other endpoint constant from 1 to %d VMs" % max(REPOSITORY_SIZES),
                      status(not others)])
    for row in results.get("no_change") or []:
        limit = 1 if row["auth"] == "token" else 2
        lines.append(["no-change %s (%s, %s): no mutation, at most %d request(s)" % (row["module"], row["options"], row["auth"], limit),
                      "%d request(s), %d mutating, changed=%s" % (row["requests"]["total"], row["requests"]["mutating"], row["changed"]),
                      status(row["requests"]["mutating"] == 0 and row["requests"]["total"] <= limit and not row["changed"])])
    template = results.get("template")
    if template:
        lines.append(["VM from a template with cloud-init: one create request plus the wait",
                      "%d request(s), mutating: %s" % (template["requests"]["total"], ", ".join(template["mutating"])),
                      status(template["mutating"] == ["create-vm-from-template"])])
    listing = results.get("listing")
    if listing:
        for row in listing["rows"]:
            if "alone" in row["what"]:
                continue
            lines.append(["%s: %d VMs in under 10 s, peak RSS under 300 MB" % (row["what"], listing["vms"]),
                          "%s, %s summed (%s largest process)" % (bs.seconds(row["wall"]), bs.megabytes(row["peak_tree_kb"]),
                                                                  bs.megabytes(row["max_process_kb"])),
                          status(row["wall"] < 10 and row["peak_tree_kb"] < 300 * 1024)])
    wait = results.get("task_wait")
    if wait:
        lines.append(["median task-wait latency under 0.5 s (short tasks, %d samples of %.2g-%.2g s)" % (
            len(wait["samples"]), wait["samples"][0]["seconds"], wait["samples"][-1]["seconds"]),
            "module returned %s after the task ended (median; the poll saw it after %s)" % (
                bs.seconds(wait["median_returned_late"]), bs.seconds(wait["median_detected_late"])),
            status(wait["median_returned_late"] < 0.5)])
        model = wait["model_600"]
        lines.append(["at most ~150 polls for a 10-minute task", "%d-%d polls (model, %d seeds; checked against a real %g s wait)" % (
            model["polls_min"], model["polls_max"], model["seeds"], wait["long_check"]["seconds"]), status(model["polls_max"] <= 150)])
    overhead = results.get("overhead")
    if overhead:
        lines.append(["module overhead within 1.3x of ansible.builtin.uri", "%s per module call vs %s per uri login + query = %s" % (
            bs.seconds(overhead["module_per_call"]), bs.seconds(overhead["uri_per_call"]),
            bs.ratio(overhead["module_per_call"], overhead["uri_per_call"])),
            status(overhead["module_per_call"] <= 1.3 * overhead["uri_per_call"])])
    return bs.markdown_table(["target", "measured", "result"], lines)


def requests_growth(role_rows):
    """(text, independent): requests per endpoint at each N; independent when no endpoint's count grows by more than
    one between the smallest and the largest N, get-tasks polls aside (their number follows the task's duration;
    the one spare request is the re-read of a snapshot CloudTower still shows busy, which also follows time)."""
    sizes = sorted(role_rows)
    endpoints = set()
    for row in role_rows.values():
        endpoints.update(row["requests"]["by_endpoint"])
    parts = []
    growth = 0
    for endpoint in sorted(endpoints):
        counts = [role_rows[s]["requests"]["by_endpoint"].get(endpoint, 0) for s in sizes]
        parts.append("%s %s" % (endpoint, "/".join(str(c) for c in counts)))
        if endpoint != "get-tasks":
            growth += max(0, max(counts) - counts[0])
    text = "N=%s: %s" % ("/".join(str(s) for s in sizes), "; ".join(parts))
    return text, growth <= 1


def distinct_requests(entries):
    """{endpoint: requests with different bodies}: a poll repeats one request until the answer changes, and a request
    refused with ResourceLocked (an entity's lock outlives its task a moment) is sent again as it was; both are
    counted once, so what is left follows the work, not the timing."""
    bodies = collections.defaultdict(set)
    for entry in entries:
        bodies[entry["endpoint"]].add(json.dumps(entry.get("body"), sort_keys=True))
    return {endpoint: len(found) for endpoint, found in bodies.items()}


def repository_growth(rows):
    """{endpoint: (kind, text)} of one transport's runs, counting distinct requests (distinct_requests; all requests
    in brackets): kind is "constant", "per disk" (a fixed number per disk on top of a constant, in every run) or
    "other"."""
    rows = sorted(rows, key=lambda r: r["disks"])
    endpoints = sorted(set().union(*(r["requests"]["by_endpoint"] for r in rows)))
    growth = {}
    for endpoint in endpoints:
        counts = [r["distinct"].get(endpoint, 0) for r in rows]
        sent = [r["requests"]["by_endpoint"].get(endpoint, 0) for r in rows]
        text = "/".join(str(c) for c in counts) + ("" if sent == counts else " [%s]" % "/".join(str(n) for n in sent))
        span = rows[-1]["disks"] - rows[0]["disks"]
        per_disk = (counts[-1] - counts[0]) / float(span) if span else None
        linear = per_disk is not None and all(abs(c - (counts[0] + per_disk * (r["disks"] - rows[0]["disks"]))) < 1e-9
                                              for c, r in zip(counts, rows))
        if len(set(counts)) == 1:
            growth[endpoint] = ("constant", text)
        elif linear:
            growth[endpoint] = ("per disk", "%s, %g per disk" % (text, per_disk))
        else:
            growth[endpoint] = ("other", text)
    return growth


def repository_tables(result):
    if result.get("skipped"):
        return "Not measured: %s." % result["skipped"]
    parts = []
    for transport in ("iscsi", "export"):
        rows = [r for r in result["rows"] if r["transport"] == transport]
        table = [[r["size"], r["disks"], r["requests"]["total"], r["requests"]["mutating"], r["requests"]["logins"], bs.seconds(r["wall"])]
                 for r in rows]
        growth = repository_growth(rows)
        parts += ["Transport `%s`:" % transport, "",
                  bs.markdown_table(["VMs", "disks", "requests", "mutating", "logins", "wall"], table), "",
                  "By endpoint (N=%s): %s." % ("/".join(str(r["size"]) for r in rows), "; ".join(
                      "%s %s (%s)" % (endpoint, text, kind) for endpoint, (kind, text) in growth.items())), ""]
    return "\n".join(parts)


def repository_target(result):
    """Endpoints whose distinct requests grow with the VMs other than per disk, over both transports: none is the target."""
    others = []
    for transport in ("iscsi", "export"):
        rows = [r for r in result["rows"] if r["transport"] == transport]
        others += ["%s %s %s" % (transport, endpoint, text) for endpoint, (kind, text) in repository_growth(rows).items()
                   if kind == "other"]
    return others


def report(results, ctx):
    parts = ["# smartx.cloudtower benchmark results", "",
             "Run %s, %s mode, Python %s, task duration %g s, load average (1 min) %s at start and %s at end, %d CPUs." % (
                 results["started"], "quick" if ctx.quick else "full", sys.version.split()[0], TASK_SECONDS,
                 "%.1f" % results["load_start"], "%.1f" % results["load_end"], os.cpu_count() or 0), ""]
    parts += ["## Targets", "", targets(results), ""]
    if results.get("backup"):
        parts += ["## 1. Backup: role vs per-VM loop vs official SDK", "", backup_table(results["backup"], ctx.sizes), ""]
        sdk = [r for r in results["backup"] if r["variant"] == "sdk"]
        if sdk:
            parts += ["SDK script: time inside `wait_tasks` %s; CPU seconds %s (it ran in parallel on its own simulator)." % (
                ", ".join("N=%d %s of %s" % (r["size"], bs.seconds(r["sdk_wait_tasks_seconds"]), bs.seconds(r["wall"])) for r in sdk),
                ", ".join("N=%d %.1f" % (r["size"], r["cpu_seconds"]) for r in sdk)), ""]
        role_tasks = [r for r in results["backup"] if r["variant"] == "role"]
        parts += ["Role, time of its snapshot task (one batch, including the wait): %s." % ", ".join(
            "N=%d %s" % (r["size"], bs.seconds(r["snapshot_task_seconds"])) for r in role_tasks), ""]
    if results.get("repository"):
        parts += ["## 1c. Backup into a repository: requests by VMs and disks (4.6 simulator with tgtd, tasks %g s)" % REPOSITORY_TASK_SECONDS,
                  "", repository_tables(results["repository"]), ""]
    if results.get("no_change"):
        parts += ["## 2. Idempotent no-change runs", "", no_change_table(results["no_change"]), ""]
    if results.get("template"):
        tpl = results["template"]
        parts += ["## 2b. A VM from a template with cloud-init, waiting for VMTools and an IP", "",
                  "%d requests, %d mutating (%s); by endpoint: %s; task %s (tasks take %s s in the simulator)." % (
                      tpl["requests"]["total"], tpl["requests"]["mutating"], ", ".join(tpl["mutating"]), tpl["endpoints"],
                      bs.seconds(tpl["task_seconds"]), TASK_SECONDS), ""]
    if results.get("listing"):
        rows = results["listing"]["rows"]
        parts += ["## 3. Listing %d VMs" % results["listing"]["vms"], "", listing_table(results["listing"]), "",
                  "The cloudtower_vm_info task took %s of its playbook's %s; run alone, the module took %s and printed %.1f MB "
                  "of JSON. The rest is Ansible handling that result." % (
                      bs.seconds(rows[0]["task_seconds"]), bs.seconds(rows[0]["wall"]), bs.seconds(rows[1]["wall"]),
                      rows[1]["result_bytes"] / 1e6), ""]
    wait = results.get("task_wait")
    if wait:
        model = wait["model_600"]
        check = wait["long_check"]
        parts += ["## 4. Task-wait latency", "", task_wait_table(wait), "",
                  "Median: the poll saw the task final %s after it ended; the module returned %s after (max %s)." % (
                      bs.seconds(wait["median_detected_late"]), bs.seconds(wait["median_returned_late"]), bs.seconds(wait["max_returned_late"])),
                  "Model of the same durations (in-process TaskWaiter, simulated clock, 5 seeds each): median %s, p90 %s late; "
                  "the SDK's wait_tasks (5 s interval) on them: median %s late." % (
                      bs.seconds(wait["model_short"]["median"]), bs.seconds(wait["model_short"]["p90"]),
                      bs.seconds(statistics.median(wait["sdk_short"]))),
                  "10-minute task (model): %d-%d polls (median %g), noticed %s late (median, max %s). SDK wait_tasks: %d polls then "
                  "%s with its default timeout=300; %d polls, %s late with timeout=900." % (
                      model["polls_min"], model["polls_max"], model["polls_median"], bs.seconds(model["late_median"]),
                      bs.seconds(model["late_max"]), wait["sdk_600_default_timeout"][0], wait["sdk_600_default_timeout"][2],
                      wait["sdk_600_timeout_900"][0], bs.seconds(wait["sdk_600_timeout_900"][1])),
                  "Model check: a real %g s task took %d get-tasks polls; the model gives %d-%d for it." % (
                      check["seconds"], check["real_polls"], check["model"]["polls_min"], check["model"]["polls_max"]), ""]
    overhead = results.get("overhead")
    if overhead:
        parts += ["## 5. Module overhead", "", overhead_table(overhead), "",
                  "Average of %d calls each; %d requests in all (%s)." % (
                      overhead["repeat"], overhead["requests"]["total"],
                      ", ".join("%s %d" % kv for kv in sorted(overhead["requests"]["by_endpoint"].items()))), ""]
    return "\n".join(parts)


# ----- main ------------------------------------------------------------------------------------------
def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--collections-path", required=True, help="directory holding ansible_collections/smartx/cloudtower")
    parser.add_argument("--results", required=True, help="directory for results.md, results.json and the run's logs")
    parser.add_argument("--quick", action="store_true", help="smaller run: N = 1 and 10, 2,000 VMs listed, fewer samples")
    parser.add_argument("--sizes", help="backup sizes, comma-separated (default 1,10,50,100; quick 1,10)")
    parser.add_argument("--list-vms", type=int, help="VMs to list (default 10000; quick 2000)")
    parser.add_argument("--only", help="comma-separated scenarios: %s" % ", ".join(SCENARIOS))
    parser.add_argument("--no-sdk", action="store_true", help="leave out the SDK baseline (it sleeps ~10 s per VM)")
    args = parser.parse_args(argv)
    args.sizes = sorted({int(s) for s in args.sizes.split(",")}) if args.sizes else ([1, 10] if args.quick else [1, 10, 50, 100])
    args.list_vms = args.list_vms or (2000 if args.quick else 10000)
    args.only = [s.strip() for s in args.only.split(",")] if args.only else list(SCENARIOS)
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error("unknown scenario(s): %s" % ", ".join(sorted(unknown)))
    return args


def main(argv=None):
    args = parse_args(argv)
    ctx = Context(args)
    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_start": bs.load_average(), "quick": ctx.quick, "sizes": ctx.sizes}
    sdk = None
    if "backup" in args.only and not args.no_sdk:
        sdk = SdkRunner(ctx)
        sdk.start()
        log("SDK baseline started on its own simulator (%s)" % sdk.sim.url)
    sim = ctx.start_simulator("main", "--vms", str(max(ctx.sizes) + SPARE_VMS), "--task-seconds", str(TASK_SECONDS))
    try:
        for name in SCENARIOS:
            if name not in args.only:
                continue
            log("== %s" % name)
            began = time.perf_counter()
            if name == "backup":
                results[name] = scenario_backup(ctx, sim)
            elif name == "listing":
                results[name] = scenario_listing(ctx)
            else:
                results[name] = globals()["scenario_" + name](ctx, sim)
            log("   %s took %.0f s" % (name, time.perf_counter() - began))
    finally:
        sim.stop()
    if sdk is not None:
        log("== waiting for the SDK baseline to finish")
        sdk.join()
        if sdk.error is not None:
            raise sdk.error
        results["backup"].extend(sdk.results)
    results["load_end"] = bs.load_average()
    text = report(results, ctx)
    bs.write_json(os.path.join(ctx.results, "results.json"), results)
    with open(os.path.join(ctx.results, "results.md"), "w", encoding="utf-8") as stream:
        stream.write(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
