#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Repository copies over iSCSI (the simulator's tgtd portal) and export (4.6 HTTP downloads): stored sizes and
throughput (issue 16).

    PYTHONPATH=<dir holding ansible_collections> python benchmarks/repository_copy.py [--data-mib 100] [--write-mib 16]
        [--disks 8] [--disk-data-mib 64] [--parallel 1,4] [--parallel-rounds 3] [--settle 3] [--step-rounds 5]
        [--export-rounds 4] [--simulator process|in-process]

A 40 GiB demo disk (web-01) gets --data-mib of random data; it is backed up (full), a guest writes --write-mib,
and it is backed up again (increment). A plain `qemu-img convert` of a clone of the same LUN snapshot into QCOW2,
timed in the same run, is the reference for throughput. The full copy is repeated --step-rounds times each way, the
clone deleted beside the new file's verification (as the copy does) and before it (as it did), alternating. Then
--disks disks of the demo VMs of cluster-a (each with --disk-data-mib of random data) are backed up with each
--parallel value in turn, --parallel-rounds times, side by side in one run, with the wall and CPU time each kind of
step took summed over the disks and the CPU time of this process (the copy), of its commands (qemu-img), of the
simulator's process and its commands (tgtadm) and of tgtd; each round starts after a sync and --settle seconds, and
its repository is removed once measured (why: parallel_runs). The simulator runs in a process of its own, as a CloudTower
is a server of its own (benchmarks/simulator_process.py); --simulator in-process runs it in this process as before,
its threads then sharing the copy's interpreter lock. The export transport copies
the same snapshot of the 40 GiB disk, alternating --export-rounds times with a plain streaming download (requests,
1 MiB chunks, nothing checked) of an export of the same volume snapshot. Nothing is asserted; the figures are printed as
markdown. Export figures are wall seconds with the downloading thread's CPU seconds (user + system); every timed
download follows an untimed warm-up of the same link and its file is removed once measured (why: warm_up); the copy's
own download is timed beside a plain download of its own link; plain goes first in odd rounds, ours in even ones.
Needs root (tgtd), tgt, qemu-utils, qemu-block-extra and libiscsi-bin (tests/simulator/ctsim/dataplane_deps.py).
"""

import argparse
import base64
import json
import math
import os
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future

# pylint: disable=import-error
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import iscsi
from ansible_collections.smartx.cloudtower.plugins.module_utils.backup_copy import Copier, CopySettings, load_vm_copies
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import CloudTowerClient, ConnectionSettings
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter
from ansible_collections.smartx.cloudtower.plugins.module_utils import transports
from ansible_collections.smartx.cloudtower.plugins.module_utils import volume_export
import simulator_process  # a sibling: the simulator in its own process or in this one

MIB = 1024 * 1024
PASSWORD = "bench-password"


SPENT = {}
CPU = {}
ORIGINAL_DOWNLOAD = volume_export.download_export


def timed(kind, function):
    """function, adding the seconds each call takes to SPENT[kind] (the copy's Python steps and API calls) and the CPU
    seconds of its thread to CPU[kind] (an API call's CPU is the simulator's, in its own threads: not counted here)."""
    def wrapper(*args, **kwargs):
        started, cpu = time.monotonic(), time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[kind] = SPENT.get(kind, 0.0) + time.monotonic() - started
            CPU[kind] = CPU.get(kind, 0.0) + time.thread_time() - cpu
    return wrapper


def instrument():
    """Time the steps of a disk's copy that are not commands: hashing and the API's clone and delete (with waits)."""
    transports.sparse_digest_of_raw = timed("sha256 of the content (sparse digest)", transports.sparse_digest_of_raw)
    transports.file_sha256 = timed("sha256 of the stored file", transports.file_sha256)
    iscsi.IscsiApi.clone_lun = timed("API: clone LUN snapshot (request, task wait, read back)", iscsi.IscsiApi.clone_lun)
    iscsi.IscsiApi.delete_luns = timed("API: delete clone (request, task wait)", iscsi.IscsiApi.delete_luns)
    exporter = volume_export.VolumeExporter
    exporter.start_rebuild = timed("API: rebuild temporary volume (request)", exporter.start_rebuild)
    exporter.wait = timed("API: task waits of rebuilds", exporter.wait)
    exporter.export = timed("API: export-vm-volume (request, task wait, export file)", exporter.export)
    exporter.delete = timed("API: delete temporary volume (request, task wait)", exporter.delete)
    volume_export.download_export = timed("export download (streamed, size and md5 checked)", volume_export.download_export)


def run(argv):
    """The copy's command runner, timing each kind of command (qemu-img convert, check, info; qemu-io)."""
    started = time.monotonic()
    returncode, out, err, cpu = run_measured(argv)
    kind = " ".join(argv[:2])
    if kind == "qemu-img convert":
        reads = "--image-opts" in argv or any(arg.endswith(".export.tmp") for arg in argv)
        kind += " (read)" if reads else " (to raw, digest)" if "raw" in argv else " (patch)"
    SPENT[kind] = SPENT.get(kind, 0.0) + time.monotonic() - started
    CPU[kind] = CPU.get(kind, 0.0) + cpu
    return returncode, out, err


def run_measured(argv):
    """(rc, stdout, stderr, CPU seconds of the command): wait4 gives the child's own usage, thread by thread."""
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        outputs = {}
        readers = [threading.Thread(target=lambda name=name, stream=stream: outputs.__setitem__(name, stream.read()))
                   for name, stream in (("out", process.stdout), ("err", process.stderr))]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    return (process.returncode, outputs["out"].decode("utf-8", "replace"), outputs["err"].decode("utf-8", "replace"),
            usage.ru_utime + usage.ru_stime)


def write_random(sim, volume_id, offset, length):
    for start in range(0, length, 16 * MIB):
        chunk = os.urandom(min(16 * MIB, length - start))
        sim.write_volume(volume_id, {"offset": offset + start, "data": base64.b64encode(chunk).decode("ascii")})


def snapshot_manifest(client, waiter, vm, name, directory):
    """Snapshot vm and write a snapshot manifest as cloudtower_backup_manifest would (the fields the copy reads)."""
    replies = client.mutate("create-vm-snapshot", {"data": [{"vm_id": vm["id"], "name": name, "consistent_type": "CRASH_CONSISTENT"}]})
    waiter.wait([r["task_id"] for r in replies])
    snapshot = client.call("get-vm-snapshots", {"where": {"name": name}})[0]
    disks = [d for d in snapshot["vm_disks"] if d["type"] == "DISK"]
    luns = {lun["name"]: lun for lun in client.call("get-iscsi-lun-snapshots", {"where": {"name_in": [d["snapshot_local_id"] for d in disks]}})}
    entries = [dict(d, lun_snapshot={"id": luns[d["snapshot_local_id"]]["id"]}) for d in disks]
    manifest = {"vm": vm, "snapshot": snapshot, "backup": {"snapshot_name": name, "snapshot_taken_at": snapshot["local_created_at"]},
                "disks": entries}
    path = os.path.join(directory, name + ".json")
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(manifest, stream)
    return path, entries


def copy_once(client, waiter, settings, path):
    copier = Copier(client, waiter, run, settings)
    copies, _removed = load_vm_copies([path], settings)
    started = time.monotonic()
    copier.run(copies)
    elapsed = time.monotonic() - started
    if copies[0].failure:
        raise SystemExit("copy failed: %s" % copies[0].failure)
    with open(os.path.join(copies[0].directory, "manifest.json"), encoding="utf-8") as stream:
        return json.load(stream), elapsed


class InlineExecutor:
    """Runs what it is given at once, in the caller's thread."""

    @staticmethod
    def submit(function, *args):
        future = Future()
        try:
            future.set_result(function(*args))
        except BaseException as error:  # pylint: disable=broad-exception-caught
            future.set_exception(error)
        return future


class CopierDeletingFirst(Copier):
    """The copy as it was before deletions went beside the verification: the clone is deleted, then the file verified."""

    def copy_disk(self, vm_copy, disk, plan, place):
        self.background = InlineExecutor()
        return super().copy_disk(vm_copy, disk, plan, place)


def step_rounds(client, waiter, work, portal, path, rounds):
    """Full copies of one disk, the clone deleted beside the verification (as the copy does) and before it, alternating:
    {way: [(disk seconds, wall by kind)]}."""
    results = {"beside": [], "before": []}
    for number in range(rounds):
        for way, copier_class in (("beside", Copier), ("before", CopierDeletingFirst)):
            SPENT.clear()
            settings = CopySettings(os.path.join(work, "repo-step-%s-%d" % (way, number)), iscsi_portal=portal, host_label="bench",
                                    incremental=False)
            copier = copier_class(client, waiter, run, settings)
            copies, _removed = load_vm_copies([path], settings)
            copier.run(copies)
            if copies[0].failure:
                raise SystemExit("copy failed: %s" % copies[0].failure)
            with open(os.path.join(copies[0].directory, "manifest.json"), encoding="utf-8") as stream:
                results[way].append((json.load(stream)["disks"][0]["backup"]["duration"], dict(SPENT)))
    return results


def print_steps(results, plain):
    print("\n| One disk's whole step, %d rounds alternating (median, range) | clone deleted beside the verification | "
          "deleted before it |" % len(results["beside"]))
    print("|---|---|---|")
    cells = {}
    for way, rounds in results.items():
        durations = sorted(r[0] for r in rounds)
        cells[way] = "%.2f s (%.2f-%.2f); %.2fx of the plain convert" % (median(durations), durations[0], durations[-1],
                                                                         plain / median(durations))
    print("| disk step | %s | %s |" % (cells["beside"], cells["before"]))
    for kind in sorted(set().union(*(r[1] for rounds in results.values() for r in rounds))):
        print("| %s (median) | %s |" % (kind, " | ".join("%.2f s" % median([r[1].get(kind, 0.0) for r in results[way]])
                                                         for way in ("beside", "before"))))


def plain_convert(client, waiter, settings, cluster_id, lun_snapshot_id, portal, out):
    """The reference: clone, `qemu-img convert` into QCOW2 (timed alone), delete."""
    api = iscsi.IscsiApi(client, waiter)
    host, port = iscsi.parse_portal("portal", portal)
    label = settings.host_label
    target, _action = api.ensure_target(cluster_id, iscsi.backup_target_name(label), iscsi.local_address_towards(host, port),
                                        iscsi.initiator_name(label))
    clone = api.clone_lun(target["id"], iscsi.clone_name("bench", 0, "plain"), lun_snapshot_id)
    try:
        opts = "driver=iscsi,transport=tcp,portal=%s,target=%s,lun=%d,initiator-name=%s" % (
            portal, target["iqn_name"], clone["lun_id"], iscsi.initiator_name(label))
        started = time.monotonic()
        subprocess.run(["qemu-img", "convert", "-O", "qcow2", "--image-opts", opts, out], check=True)
        return time.monotonic() - started
    finally:
        api.delete_luns([clone["id"]])


def thread_cpu():
    """(user, system) CPU seconds of the calling thread: the downloader's own work, and the kernel's (socket reads, page
    cache) on its behalf; the in-process simulator's threads that serve the link are not counted."""
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime, usage.ru_stime


def measured(function, *args, **kwargs):
    """(function's result, wall seconds, (user, system) CPU seconds of the calling thread)."""
    started, cpu = time.monotonic(), thread_cpu()
    result = function(*args, **kwargs)
    user, system = thread_cpu()
    return result, time.monotonic() - started, (user - cpu[0], system - cpu[1])


def plain_streaming_download(session, link, out):
    """The reference: requests, 1 MiB chunks, nothing checked."""
    with session.get(link, stream=True, timeout=60) as response, open(out, "wb") as stream:
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=MIB):
            stream.write(chunk)


def measured_download(out, function, *args, **kwargs):
    """(wall, CPU) of one download into out, which is then removed: the next download writes into the pages this one
    freed."""
    _result, wall, cpu = measured(function, *args, **kwargs)
    os.unlink(out)
    return wall, cpu


def warm_up(session, link, out):
    """An untimed plain download of the link, removed at once. On this VM a write into page-cache pages freed a moment
    ago costs a quarter of the CPU of a write into memory the guest has not touched for a while (benchmarks/README.md),
    and the export that made the link has just taken fresh memory: without this, whichever download comes first pays
    2-5x more per byte and the order decides the ratio."""
    measured_download(out, plain_streaming_download, session, link, out)


def reference_downloads(client, waiter, volume_snapshot_id, out, ours_first):
    """Rebuild and export the volume snapshot, then on the same link, after a warm-up, a plain streaming download and
    our downloader (size checked, md5 left to the copy as it does), each removed once measured, in the given order:
    {"plain": (wall, CPU), "alone": (wall, CPU), "size": bytes}."""
    exporter = volume_export.VolumeExporter(client, waiter)
    volume_id, tasks = exporter.start_rebuild(volume_snapshot_id, "bench-plain-download", "benchmark")
    exporter.wait(tasks, "rebuild for the plain download")
    try:
        export_file = exporter.export(volume_id, "export for the plain download")
        link = exporter.link(export_file)
        runs = {"plain": lambda: measured_download(out, plain_streaming_download, client.session, link, out),
                "alone": lambda: measured_download(out, ORIGINAL_DOWNLOAD, client.session, link, export_file, out, "bench",
                                                   check_md5=False)}
        warm_up(client.session, link, out)
        figures = {"size": int(export_file["files"][0]["fileSize"])}
        for name in (("alone", "plain") if ours_first else ("plain", "alone")):
            figures[name] = runs[name]()
        return figures
    finally:
        exporter.delete([volume_id])


def export_copy(client, waiter, path, repository, ours_first):
    """Our export copy of one snapshot manifest, with a plain streaming download of the copy's own link (removed once
    measured) beside the copy's download: after a warm-up, plain first or ours first as asked. The repository is removed
    after the copy. ((plain wall, CPU), (our wall, CPU), the disk step's seconds without the added downloads, spent by
    kind)."""
    taken = {}

    def download_beside_plain(session, link, export_file, out, *args, **kwargs):
        plain, started = os.path.join(repository, "plain-beside-the-copy"), time.monotonic()
        warm_up(session, link, plain)
        if not ours_first:
            taken["plain"] = measured_download(plain, plain_streaming_download, session, link, plain)
        taken["added"] = time.monotonic() - started
        result, wall, cpu = measured(ORIGINAL_DOWNLOAD, session, link, export_file, out, *args, **kwargs)
        taken["ours"] = (wall, cpu)
        if ours_first:
            started = time.monotonic()
            taken["plain"] = measured_download(plain, plain_streaming_download, session, link, plain)
            taken["added"] += time.monotonic() - started
        return result

    instrumented, volume_export.download_export = volume_export.download_export, timed(
        "export download (streamed, size checked; md5 beside qemu-img)", download_beside_plain)
    SPENT.clear()
    try:
        manifest, _seconds = copy_once(client, waiter, CopySettings(repository, host_label="bench", transport="export"), path)
    finally:
        volume_export.download_export = instrumented
        shutil.rmtree(repository, ignore_errors=True)
    spent = dict(SPENT, **{"export download (streamed, size checked; md5 beside qemu-img)": taken["ours"][0]})
    return taken["plain"], taken["ours"], manifest["disks"][0]["backup"]["duration"] - taken["added"], spent


def export_rounds(client, waiter, work, path, rounds):
    """The reference downloads of a volume snapshot (plain and our downloader alone) and our export copy of the same
    snapshot with a plain download of the copy's own link beside it; plain first in odd rounds, ours first in even ones:
    [{"plain", "alone", "plain_beside", "copy": (wall, CPU), "size", "duration", "spent", "order"}]."""
    with open(path, encoding="utf-8") as stream:
        frozen = [d for d in json.load(stream)["snapshot"]["vm_disks"] if d["type"] == "DISK"][0]
    snapshot = client.call("get-vm-volume-snapshots", {"where": {"local_id": frozen["vm_volume_snapshot_uuid"]}})[0]
    results = []
    for number in range(rounds):
        ours_first = number % 2 == 1
        figures = reference_downloads(client, waiter, snapshot["id"], os.path.join(work, "plain.qcow2"), ours_first)
        plain_beside, download, duration, spent = export_copy(client, waiter, path, os.path.join(work, "repo-export"), ours_first)
        figures.update(plain_beside=plain_beside, copy=download, duration=duration, spent=spent,
                       order="ours first" if ours_first else "plain first")
        results.append(figures)
    return results


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def balanced_ratio(ratios):
    """The geometric mean of the rounds' ratios, then the median of the plain-first rounds and of the ours-first ones.
    Whichever download runs second on a link pays more system CPU per byte on this VM (benchmarks/README.md): the
    rounds alternate the order, and the geometric mean of an even number of them cancels a factor that favours one
    position."""
    mean = math.exp(sum(math.log(ratio) for ratio in ratios) / len(ratios))
    return "%.2fx (plain first %.2fx, ours first %.2fx)" % (mean, median(ratios[0::2]), median(ratios[1::2]) if ratios[1:] else 0.0)


def timing(figure):
    """wall (user + system CPU) of one download."""
    wall, (user, system) = figure
    return "%.2f s (%.2f + %.2f)" % (wall, user, system)


def print_export(results):
    print("\n| Export transport, one 40 GiB disk (round) | plain streaming download, wall (CPU user + system) | our "
          "downloader alone, same link | ratio | plain download of the copy's link | our download inside the copy | ratio "
          "| our whole disk step | ratio to plain beside |")
    print("|---|---|---|---|---|---|---|---|---|")
    for number, r in enumerate(results, 1):
        print("| %d: %s, %.1f MiB QCOW2 | %s | %s | %.2fx | %s | %s | %.2fx | %.2f s | %.2fx |" % (
            number, r["order"], r["size"] / float(MIB), timing(r["plain"]), timing(r["alone"]), r["plain"][0] / r["alone"][0],
            timing(r["plain_beside"]), timing(r["copy"]), r["plain_beside"][0] / r["copy"][0], r["duration"],
            r["plain_beside"][0] / r["duration"]))
    cells = []
    for plain, ours in (("plain", "alone"), ("plain_beside", "copy")):
        for name in (plain, ours):
            cpu = (median(r[name][1][0] for r in results), median(r[name][1][1] for r in results))
            cells.append(timing((median(r[name][0] for r in results), cpu)))
        cells.append(balanced_ratio([r[plain][0] / r[ours][0] for r in results]))
    print("| median of %d rounds (ratio: see balanced_ratio) | %s | | |" % (len(results), " | ".join(cells)))
    for kind in sorted(results[-1]["spent"]):
        print("| export copy, last round: %s | %.2f s |" % (kind, results[-1]["spent"][kind]))


def parallel_runs(sim, client, waiter, work, portal, disks, data_mib, levels, rounds, settle):
    """Back the same snapshots of `disks` disks up once per parallelism level, the levels alternating for `rounds`
    rounds (other load on the machine then weighs on every level alike): {level: [(seconds, disks, wall by kind,
    CPU by kind, CPU by process, cpu pressure, load, io pressure, MiB written to the disk)]}.

    Each round starts on a quiet disk: what the previous round wrote is synced and the disk given `settle` seconds.
    Without that, the writeback of one round's 512 MiB landed in the next round (PSI io some 0.1-0.5 there) and the
    ratio of a pair of rounds swung between 0.4x and 1.2x, by which level the stall happened to hit (2026-12-06).
    Each round's repository is removed once measured: kept, every round wrote its 565 MiB into memory the guest had
    not touched for a while, which costs this VM far more than rewriting freed page cache (see warm_up), and qemu-img
    took 1.3-1.5 CPU-s a round instead of 0.9, growing with the rounds at both levels (2026-12-06)."""
    vms = client.call("get-vms", {"where": {"cluster": {"name": "cluster-a"}, "name_in": ["web-01", "web-02", "db-01", "db-02", "build-01"]}})
    chosen, paths = 0, []
    for vm in sorted(vms, key=lambda v: v["name"]):
        if chosen >= disks:
            break
        vm_disks = client.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}, "type": "DISK"}})
        for disk in vm_disks[:disks - chosen]:
            write_random(sim, disk["vm_volume"]["id"], 0, data_mib * MIB)
        chosen += min(len(vm_disks), disks - chosen)
        paths.append(snapshot_manifest(client, waiter, vm, "par-%s" % vm["id"], work)[0])
    results = {level: [] for level in levels}
    for number in range(rounds):
        for level in levels:
            SPENT.clear()
            CPU.clear()
            settings = CopySettings(os.path.join(work, "repo-p%d-%d" % (level, number)), iscsi_portal=portal, host_label="bench",
                                    parallel_disks=level)
            copier = Copier(client, waiter, run, settings)
            copies, _failures = load_vm_copies(paths, settings)
            os.sync()
            time.sleep(settle)
            written_before = sectors_written(work)
            before = process_cpu(sim)
            started = time.monotonic()
            copier.run(copies)
            elapsed = time.monotonic() - started
            used = {kind: seconds - before[kind] for kind, seconds in process_cpu(sim).items()}
            os.sync()  # what the round wrote and the kernel had not yet, counted with the round (after its timing)
            written_after = sectors_written(work)
            written = None if written_before is None or written_after is None else (written_after - written_before) * 512 / float(MIB)
            shutil.rmtree(settings.repository)
            SPENT["simulator lock held (API requests, one at a time)"] = used.pop("held")
            waited, io_waited = used.pop("pressure"), used.pop("io pressure")
            failed = [c.failure for c in copies if c.failure]
            if failed:
                raise SystemExit("parallel copy failed: %s" % failed)
            results[level].append((elapsed, sum(len(c.disks) for c in copies), dict(SPENT), dict(CPU), used, waited / elapsed,
                                   os.getloadavg()[0], io_waited / elapsed, written))
    return results


def sectors_written(path):
    """Sectors written so far to the block device holding path (/sys/dev/block/<major>:<minor>/stat, field 7); None
    where path is on no block device of its own (tmpfs, overlayfs)."""
    device = os.stat(path).st_dev
    try:
        with open("/sys/dev/block/%d:%d/stat" % (os.major(device), os.minor(device)), encoding="ascii") as stream:
            return int(stream.read().split()[6])
    except OSError:
        return None


def process_cpu(sim):
    """CPU seconds so far of: this process (the copy's threads, and the simulator when it runs in this process), the
    commands it ran (qemu-img, qemu-io; the simulator's tgtadm when in this process), the simulator's process and the
    commands it ran (tgtadm, qemu-img for exports) when it has its own, and tgtd; with "held": the seconds the
    simulator's lock has been held."""
    times, usage = os.times(), sim.usage()
    if "cpu" in usage:
        figures = {"this process: copy threads": times.user + times.system,
                   "commands: qemu-img, qemu-io": times.children_user + times.children_system,
                   "simulator's process": usage["cpu"], "simulator's commands: tgtadm": usage["children_cpu"]}
    else:
        figures = {"this process: copy threads + in-process simulator": times.user + times.system,
                   "commands: qemu-img, qemu-io, tgtadm": times.children_user + times.children_system}
    figures["tgtd (the portal)"] = simulator_process.process_cpu(sim.tgtd_pid)
    figures["held"] = usage["held"]
    figures["pressure"], figures["io pressure"] = pressure("cpu"), pressure("io")
    return figures


def pressure(resource_name):
    """Seconds so far during which some task of the machine waited for a core ("cpu") or for the disk ("io") (PSI,
    /proc/pressure/*): how much other load (other test runs on this shared machine) and our own work competed."""
    with open("/proc/pressure/" + resource_name, encoding="ascii") as stream:
        some = stream.readline().split()
    return int(dict(field.split("=") for field in some[1:])["total"]) / 1e6


def median_round(rounds):
    """The round of median wall time (its figures stay consistent with each other)."""
    return sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]


def print_parallel(results, data_mib):
    levels = sorted(results)
    base = levels[0]
    medians = {level: median_round(results[level]) for level in levels}
    print("\n| %d disks, %d MiB of data each, %d round(s), levels alternating | %s |" % (
        medians[base][1], data_mib, len(results[base]), " | ".join("parallel_disks %d" % level for level in levels)))
    print("|---|%s" % ("---|" * len(levels)))
    print("| wall time of the copy, every round | %s |" % " | ".join(
        ", ".join("%.2f s" % r[0] for r in results[level]) for level in levels))
    print("| ratio to parallel_disks %d, round by round | %s |" % (base, " | ".join(
        ", ".join("%.2fx" % (mine[0] / theirs[0]) for mine, theirs in zip(results[level], results[base])) for level in levels)))
    print("| median round: wall time | %s |" % " | ".join("%.2f s" % medians[level][0] for level in levels))
    print("| load average (1 min) at each round's end | %s |" % " | ".join(
        ", ".join("%.1f" % r[6] for r in results[level]) for level in levels))
    print("| share of each round some task of the machine waited for a core (PSI cpu some) | %s |" % " | ".join(
        ", ".join("%.2f" % r[5] for r in results[level]) for level in levels))
    print("| share of each round some task of the machine waited for the disk (PSI io some) | %s |" % " | ".join(
        ", ".join("%.2f" % r[7] for r in results[level]) for level in levels))
    print("| written to the repository's disk in each round, synced (MiB) | %s |" % " | ".join(
        ", ".join("n/a" if r[8] is None else "%.0f" % r[8] for r in results[level]) for level in levels))
    for kind in sorted(medians[base][4]):
        print("| median round: CPU of %s | %s |" % (kind, " | ".join("%.2f s" % medians[level][4][kind] for level in levels)))
    print("| median round: our CPU / wall time (cores kept busy) | %s |" % " | ".join(
        "%.2f" % (sum(medians[level][4].values()) / medians[level][0]) for level in levels))
    kinds = sorted(set().union(*(medians[level][2] for level in levels)))
    for kind in kinds:
        print("| median round: %s, summed over disks: wall / CPU | %s |" % (kind, " | ".join(
            "%.2f s / %.2f s" % (medians[level][2].get(kind, 0.0), medians[level][3].get(kind, 0.0)) for level in levels)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-mib", type=int, default=100)
    parser.add_argument("--write-mib", type=int, default=16)
    parser.add_argument("--disks", type=int, default=8, help="disks of the parallelism comparison (0: leave it out)")
    parser.add_argument("--disk-data-mib", type=int, default=64)
    parser.add_argument("--parallel", default="1,4", help="parallel_disks values compared, side by side")
    parser.add_argument("--parallel-rounds", type=int, default=3, help="rounds of the comparison, the levels alternating")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds the disk is left alone (after a sync) before each round of the comparison")
    parser.add_argument("--step-rounds", type=int, default=5,
                        help="full copies of the 40 GiB disk, the clone deleted beside and before the verification (0: leave it out)")
    parser.add_argument("--export-rounds", type=int, default=4, help="export copies vs plain downloads (0: leave it out)")
    parser.add_argument("--simulator", choices=("process", "in-process"), default="process",
                        help="the simulator in a process of its own (as a CloudTower is a server of its own) or in this one, "
                             "its threads then sharing the copy's interpreter lock (as until 2026-12-06)")
    parser.add_argument("--cluster-storage", metavar="DIR",
                        help="where the simulated cluster keeps its volumes' bytes (default: beside the repository, on the "
                             "same disk; /dev/shm keeps the cluster's own writes - its clones - off the backup host's disk, "
                             "as a real cluster's storage is not the backup host's)")
    args = parser.parse_args()
    instrument()
    with tempfile.TemporaryDirectory() as work:
        cluster_storage = tempfile.mkdtemp(prefix="ctsim-", dir=args.cluster_storage or work)
        if args.simulator == "process":
            sim = simulator_process.OwnProcess(PASSWORD, 0.05, cluster_storage, os.path.join(work, "simulator.log"))
        else:
            sim = simulator_process.InProcess(PASSWORD, 0.05, cluster_storage)
        try:
            portal = sim.portal
            client = CloudTowerClient(ConnectionSettings(sim.url, "admin", PASSWORD))
            waiter = TaskWaiter(client, 600)
            vm = client.call("get-vms", {"where": {"name": "web-01"}})[0]
            disk = client.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}, "type": "DISK"}})[0]
            volume = client.call("get-vm-volumes", {"where": {"id": disk["vm_volume"]["id"]}})[0]
            write_random(sim, volume["id"], 64 * MIB, args.data_mib * MIB)
            settings = CopySettings(os.path.join(work, "repo"), iscsi_portal=portal, host_label="bench")
            first_path, entries = snapshot_manifest(client, waiter, vm, "bench-1", work)
            full, full_seconds = copy_once(client, waiter, settings, first_path)
            full_spent, full_cpu = dict(SPENT), dict(CPU)
            plain = plain_convert(client, waiter, settings, vm["cluster"]["id"], entries[0]["lun_snapshot"]["id"], portal,
                                  os.path.join(work, "plain.qcow2"))
            write_random(sim, volume["id"], 20 * 1024 * MIB, args.write_mib * MIB)
            second_path, _entries = snapshot_manifest(client, waiter, vm, "bench-2", work)
            incremental, incremental_seconds = copy_once(client, waiter, settings, second_path)
            steps = step_rounds(client, waiter, work, portal, first_path, args.step_rounds) if args.step_rounds else {}
            exports = export_rounds(client, waiter, work, first_path, args.export_rounds) if args.export_rounds else []
            levels = [int(level) for level in args.parallel.split(",")]
            parallel = (parallel_runs(sim, client, waiter, work, portal, args.disks, args.disk_data_mib, levels, args.parallel_rounds,
                                      args.settle)
                        if args.disks else {})
        finally:
            sim.stop()
            shutil.rmtree(cluster_storage, ignore_errors=True)
    disk, increment = full["disks"][0]["backup"], incremental["disks"][0]["backup"]
    print("| Measure | Value |\n|---|---|")
    print("| simulator | %s, its volumes in %s |" % (sim.where, args.cluster_storage or "the work directory (same disk)"))
    print("| disk | %.0f GiB holding %d MiB of data |" % (disk["virtual_size"] / 1024.0 ** 3, args.data_mib))
    print("| full backup stored | %.1f MiB |" % (disk["stored_size"] / float(MIB)))
    print("| full backup, whole copy step (clone, read, check, digest, delete) | %.2f s |" % full_seconds)
    print("| full backup, the disk's own time (clone, read, check, digest, delete) | %.2f s |" % disk["duration"])
    print("| plain qemu-img convert of the same LUN | %.2f s |" % plain)
    print("| throughput, plain convert time / our disk time | %.2fx |" % (plain / disk["duration"]))
    read = full_spent.get("qemu-img convert (read)")
    if read:
        print("| read phase: plain convert time / our qemu-img read of the LUN | %.2fx |" % (plain / read))
    for kind, seconds in sorted(full_spent.items()):
        print("| full backup: %s: wall / CPU | %.2f s / %.2f s |" % (kind, seconds, full_cpu.get(kind, 0.0)))
    print("| increment after %d MiB of guest writes | %.1f MiB stored, %.2f s |" % (
        args.write_mib, increment["stored_size"] / float(MIB), incremental_seconds))
    if steps:
        print_steps(steps, plain)
    if exports:
        print_export(exports)
    if parallel:
        print_parallel(parallel, args.disk_data_mib)


if __name__ == "__main__":
    main()
