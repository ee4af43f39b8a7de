# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The protection report: which VMs are protected, how old their last good backup is, and whether it ever restored.

Reads the backup repository (repository.py's layout, one manifest.json per complete backup, restore-test records
beside them) and, when given, CloudTower's list of VMs, so a VM that was never backed up shows up too. Writes
report.json (the data) and report.html (one self-contained file: inline CSS and SVG, no script, nothing fetched).

Cost: one pass over the repository keeping a small summary per backup, so 1,000 VMs x 30 backups is a few seconds
and the memory of the summaries, not of the manifests.
"""

from __future__ import annotations

import html
import json
import os
from datetime import datetime, timezone

from ansible_collections.smartx.cloudtower.plugins.module_utils import repository as repo
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import write_atomically

REPORT_FORMAT = "smartx.cloudtower/protection-report"
REPORT_FORMAT_VERSION = 1
RESTORE_TEST_PREFIX = "restore-test-"
STATUS_ORDER = {"missing": 0, "stale": 1, "ok": 2}
STATUS_WORDS = {"missing": "no backup", "stale": "older than the RPO", "ok": "protected"}


def parse_time(text):
    """A CloudTower/manifest timestamp as an aware datetime, or None."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text)[:19]).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def stamp(text):
    """A timestamp cut to YYYY-MM-DDTHH:MM:SS: such strings sort as the moments they name, without parsing them."""
    return str(text)[:19] if text else None


def iso(text):
    return text + "Z" if text else None


def read_json(path):
    try:
        with open(path, "rb") as stream:
            data = json.loads(stream.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# ----- reading the repository --------------------------------------------------------------------------------------
def backup_summary(name, manifest):
    """What the report needs of one backup's manifest (the manifest itself is not kept): JSON, so it can be cached."""
    backup = manifest.get("backup") or {}
    location = manifest.get("repository") or {}
    disks = manifest.get("disks") or []
    copies = [d.get("backup") or {} for d in disks]
    verified = [stamp(c.get("verified_at")) for c in copies]
    record = manifest.get("vm") or {}
    return {
        "name": name,
        "vm": {"id": record.get("id"), "name": record.get("name")},
        "cluster": (record.get("cluster") or {}).get("name") or location.get("cluster"),
        "taken_at": stamp(backup.get("snapshot_taken_at") or backup.get("started_at") or manifest.get("written_at")),
        "written_at": stamp(location.get("written_at") or manifest.get("written_at")),
        "stored": sum(int(c.get("stored_size") or 0) for c in copies),
        "provisioned": sum(int(c.get("virtual_size") or d.get("size") or 0) for c, d in zip(copies, disks)),
        "chain": max([int(c.get("chain_depth") or 0) + 1 for c in copies] or [0]),
        "verified_at": min(verified) if verified and all(verified) else None,
    }


class SummaryCache:
    """Backup summaries of earlier reports, keyed by manifest path, size and mtime: a manifest is written once (atomically)
    and never changed in place, so an unchanged size and mtime mean an unchanged backup. Only new manifests are parsed."""

    def __init__(self, path=None):
        self.path = path
        self.entries = {}
        self.used = {}
        self.parsed = 0
        if path:
            loaded = read_json(path) or {}
            if loaded.get("format") == REPORT_FORMAT + "-cache":
                self.entries = loaded.get("entries") or {}

    def summary(self, directory, name):
        """The summary of the complete backup in directory, or None (no manifest, unreadable, not complete)."""
        path = os.path.join(directory, repo.MANIFEST_NAME)
        try:
            info = os.stat(path)
        except OSError:
            return None
        key = "%d:%d" % (info.st_size, info.st_mtime_ns)
        cached = self.entries.get(path)
        if cached and cached[0] == key:
            self.used[path] = cached
            return cached[1]
        self.parsed += 1
        manifest = read_json(path)
        location = (manifest or {}).get("repository") or {}
        result = None
        if manifest and location.get("format") == repo.REPOSITORY_FORMAT and location.get("complete"):
            result = backup_summary(name, manifest)
        self.used[path] = [key, result]
        return result

    def save(self, mode):
        if self.path:
            write_atomically(self.path, json.dumps({"format": REPORT_FORMAT + "-cache", "entries": self.used}), mode)


def scan_vm(vm_directory, cache):
    """(vm stub, cluster name, [backup summaries] oldest first) of one VM directory of the repository."""
    vm, cluster, backups = None, None, []
    for name in sorted(os.listdir(vm_directory)):
        directory = os.path.join(vm_directory, name)
        try:
            entries = os.listdir(directory)
        except (NotADirectoryError, FileNotFoundError):
            continue
        summary = cache.summary(directory, name) if repo.MANIFEST_NAME in entries else None
        if summary is None:
            continue
        tests = sorted(entry for entry in entries if entry.startswith(RESTORE_TEST_PREFIX) and entry.endswith(".json"))
        backups.append(dict(summary, restore_test=os.path.join(directory, tests[-1]) if tests else None))
        vm, cluster = summary["vm"], summary["cluster"]
    backups.sort(key=lambda b: (b["taken_at"] or "", b["name"]))
    return vm, cluster, backups


def scan_repository(repository, cache=None):
    """{vm id: (vm stub, cluster, backups)} of every VM that has a directory in the repository."""
    cache = cache or SummaryCache()
    found = {}
    for cluster_name in sorted(os.listdir(repository)):
        cluster_directory = os.path.join(repository, cluster_name)
        if not os.path.isdir(cluster_directory):
            continue
        for vm_name in sorted(os.listdir(cluster_directory)):
            vm_directory = os.path.join(cluster_directory, vm_name)
            if not os.path.isdir(vm_directory):
                continue
            vm, cluster, backups = scan_vm(vm_directory, cache)
            if vm is None:
                # Directories without a complete backup still name a VM: <vm name>-<vm id>.
                name, _dash, vm_id = vm_name.rpartition("-")
                vm, cluster = {"id": vm_id, "name": name}, cluster_name
            known = found.get(vm["id"])
            if known:
                backups = sorted(known[2] + backups, key=lambda b: (b["taken_at"] or "", b["name"]))
            found[vm["id"]] = (vm, cluster, backups)
    return found


def restore_test_result(path):
    """{status, finished_at, seconds} of a restore-test record, or None."""
    record = read_json(path) if path else None
    if not record:
        return None
    return {"status": record.get("status"), "finished_at": record.get("finished_at"), "seconds": record.get("seconds"),
            "backup": os.path.basename(os.path.dirname(path))}


# ----- the report -------------------------------------------------------------------------------------------------
def vm_row(vm, cluster, backups, now, rpo_hours, in_cloudtower):
    last = backups[-1] if backups else None
    taken = parse_time(last["taken_at"]) if last else None
    age = (now - taken).total_seconds() / 3600.0 if taken else None
    status = "missing" if last is None else ("stale" if age is None or age > rpo_hours else "ok")
    tested = [b["restore_test"] for b in backups if b["restore_test"]]
    return {
        "vm": vm, "cluster": cluster, "in_cloudtower": in_cloudtower, "status": status,
        "backups": len(backups),
        "last_backup": {"name": last["name"], "taken_at": iso(last["taken_at"])} if last else None,
        "age_hours": round(age, 2) if age is not None else None,
        "stored_bytes": sum(b["stored"] for b in backups),
        "provisioned_bytes": last["provisioned"] if last else None,
        "chain_length": last["chain"] if last else None,
        "last_verify": iso(last["verified_at"]) if last else None,
        "last_restore_test": restore_test_result(max(tested)) if tested else None,
    }


def sort_key(row):
    # No backup at all first, then the stalest; names break ties.
    return (STATUS_ORDER[row["status"]], -(row["age_hours"] or 0), row["vm"].get("name") or "", row["vm"].get("id") or "")


def growth(found):
    """[{date, added_bytes, total_bytes}] of what the repository stored, by the day each backup was written."""
    by_day = {}
    for _vm, _cluster, backups in found.values():
        for backup in backups:
            moment = backup["written_at"] or backup["taken_at"]
            if moment:
                day = moment[:10]
                by_day[day] = by_day.get(day, 0) + backup["stored"]
    total, points = 0, []
    for day in sorted(by_day):
        total += by_day[day]
        points.append({"date": day, "added_bytes": by_day[day], "total_bytes": total})
    return points


def build(repository, cloudtower_vms, now, rpo_hours, cloudtower_host=None, cache=None):
    """The report's data: every VM of the repository and of CloudTower, missing and stale ones first."""
    found = scan_repository(repository, cache)
    rows = []
    listed = set()
    for record in cloudtower_vms or []:
        listed.add(record["id"])
        vm, cluster, backups = found.get(record["id"], (None, None, []))
        stub = {"id": record["id"], "name": record.get("name")}
        rows.append(vm_row(stub, (record.get("cluster") or {}).get("name") or cluster, backups, now, rpo_hours, True))
    for vm_id, (vm, cluster, backups) in found.items():
        if vm_id not in listed:
            rows.append(vm_row(vm, cluster, backups, now, rpo_hours, None if cloudtower_vms is None else False))
    rows.sort(key=sort_key)
    counts = {status: sum(1 for r in rows if r["status"] == status) for status in STATUS_ORDER}
    return {
        "format": REPORT_FORMAT, "format_version": REPORT_FORMAT_VERSION, "generated_at": iso(stamp(now.isoformat())),
        "repository": repository, "cloudtower": cloudtower_host, "rpo_hours": rpo_hours,
        "summary": dict(counts, vms=len(rows), stored_bytes=sum(r["stored_bytes"] for r in rows),
                        restore_tests_failed=sum(1 for r in rows if (r["last_restore_test"] or {}).get("status") == "failed")),
        "vms": rows, "growth": growth(found),
    }


# ----- rendering ----------------------------------------------------------------------------------------------------
def size_text(value):
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024.0
    return "-"


def age_text(hours):
    if hours is None:
        return "-"
    return "%.1f h" % hours if hours < 48 else "%.1f d" % (hours / 24.0)


def age_chart(rows, rpo_hours, width=960, height=220):
    """Bars of each VM's backup age (missing ones at full height), with the RPO as a line."""
    shown = rows[:600]
    ceiling = max([rpo_hours * 2] + [r["age_hours"] for r in shown if r["age_hours"] is not None])
    # One VM's bar is at most 24 px wide, so a few VMs do not make a wall of colour.
    step = min(width / float(max(1, len(shown))), 24.0)
    bars = []
    for position, row in enumerate(shown):
        hours = row["age_hours"] if row["age_hours"] is not None else ceiling
        bar_height = max(1.0, height * min(hours, ceiling) / ceiling)
        bars.append('<rect class="bar %s" x="%.2f" y="%.2f" width="%.2f" height="%.2f"><title>%s: %s</title></rect>' % (
            row["status"], position * step, height - bar_height, max(step - 1, 0.5), bar_height, html.escape(row["vm"].get("name") or "?"),
            html.escape(age_text(row["age_hours"]) if row["age_hours"] is not None else "no backup")))
    rpo_y = height - height * rpo_hours / ceiling
    return ('<svg id="age-chart" role="img" aria-label="backup age per VM" viewBox="0 0 %d %d" width="100%%" height="%d" '
            'preserveAspectRatio="xMinYMin meet">%s'
            '<line class="rpo" x1="0" x2="%d" y1="%.2f" y2="%.2f"/><text class="axis" x="4" y="%.2f">RPO %s h</text></svg>' % (
                width, height + 4, height + 4, "".join(bars), width, rpo_y, rpo_y, max(rpo_y - 4, 10), html.escape("%g" % rpo_hours)))


def growth_chart(points, width=960, height=200):
    """A line of the repository's total stored bytes over time."""
    if not points:
        return '<svg id="growth-chart" role="img" aria-label="repository growth" viewBox="0 0 %d 40" width="100%%" height="40">' \
               '<text class="axis" x="4" y="24">no backups yet</text></svg>' % width
    top = max(p["total_bytes"] for p in points) or 1
    step = width / float(max(1, len(points) - 1))
    spots = [(i * step, height - height * p["total_bytes"] / top) for i, p in enumerate(points)]
    coordinates = " ".join("%.2f,%.2f" % spot for spot in spots)
    dots = "".join('<circle class="growth-point" cx="%.2f" cy="%.2f" r="3"/>' % spot for spot in spots)
    return ('<svg id="growth-chart" role="img" aria-label="repository growth" viewBox="0 0 %d %d" width="100%%" height="%d" '
            'preserveAspectRatio="xMinYMin meet"><polyline class="growth" points="%s"/>%s<text class="axis" x="4" y="14">%s</text>'
            '<text class="axis" x="4" y="%d">%s</text><text class="axis end" x="%d" y="%d">%s</text></svg>' % (
                width, height + 16, height + 16, coordinates, dots, html.escape(size_text(top)), height + 14, html.escape(points[0]["date"]),
                width - 4, height + 14, html.escape(points[-1]["date"])))


STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2433;background:#fff}
h1{font-size:22px;margin:0 0 4px}.meta{color:#5b6475;margin-bottom:16px}
.cards{display:flex;gap:12px;margin:12px 0 20px}.card{border:1px solid #d8dde6;border-radius:6px;padding:10px 16px;min-width:120px}
.card .n{font-size:26px;font-weight:600}.card.missing .n{color:#b42318}.card.stale .n{color:#b54708}.card.ok .n{color:#067647}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff3;white-space:nowrap}
th{background:#f5f7fa;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.missing td.status{color:#b42318;font-weight:600}tr.stale td.status{color:#b54708;font-weight:600}tr.ok td.status{color:#067647}
.bar.ok{fill:#12b76a}.bar.stale{fill:#f79009}.bar.missing{fill:#d92d20}.rpo{stroke:#1d2433;stroke-dasharray:4 3}
.growth{fill:none;stroke:#2e90fa;stroke-width:2}.growth-point{fill:#2e90fa}.axis{font-size:11px;fill:#5b6475}.axis.end{text-anchor:end}
.failed{color:#b42318;font-weight:600}.passed{color:#067647}
"""


def restore_test_cell(result):
    if not result:
        return '<td class="restore-test">never</td>'
    status = html.escape(str(result.get("status")))
    return '<td class="restore-test %s">%s %s</td>' % (status, status, html.escape(str(result.get("finished_at") or "")))


def row_html(row):
    vm = row["vm"]
    last = row["last_backup"] or {}
    return ('<tr class="%s" data-vm-id="%s" data-status="%s"><td class="vm-name">%s</td><td class="cluster">%s</td>'
            '<td class="status">%s</td><td class="last-backup">%s</td><td class="num age" data-hours="%s">%s</td>'
            '<td class="num backups">%d</td><td class="num stored" data-bytes="%d">%s</td>'
            '<td class="num provisioned" data-bytes="%s">%s</td><td class="num chain">%s</td><td class="last-verify">%s</td>%s</tr>') % (
        row["status"], html.escape(vm.get("id") or ""), row["status"], html.escape(vm.get("name") or "?"),
        html.escape(row["cluster"] or "-"),
        html.escape(STATUS_WORDS[row["status"]] + ("" if row["in_cloudtower"] is not False else " (VM gone)")),
        html.escape(last.get("name") or "-"), "" if row["age_hours"] is None else row["age_hours"], html.escape(age_text(row["age_hours"])),
        row["backups"], row["stored_bytes"], html.escape(size_text(row["stored_bytes"])),
        "" if row["provisioned_bytes"] is None else row["provisioned_bytes"], html.escape(size_text(row["provisioned_bytes"])),
        "-" if row["chain_length"] is None else row["chain_length"], html.escape(row["last_verify"] or "-"),
        restore_test_cell(row["last_restore_test"]))


def render_html(report):
    summary = report["summary"]
    cards = "".join('<div class="card %s"><div class="n" id="summary-%s">%d</div>%s</div>' % (
        status, status, summary[status], html.escape(STATUS_WORDS[status])) for status in ("missing", "stale", "ok"))
    cards += '<div class="card"><div class="n" id="summary-stored">%s</div>stored in the repository</div>' % html.escape(
        size_text(summary["stored_bytes"]))
    columns = ("VM", "cluster", "status", "last good backup", "age", "backups", "stored", "provisioned", "chain", "last verify",
               "last restore test")
    header = "".join("<th>%s</th>" % column for column in columns)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            "<title>Backup protection report</title><style>%s</style></head><body>"
            "<h1>Backup protection report</h1><div class=\"meta\">generated <span id=\"generated-at\">%s</span> - RPO "
            "<span id=\"rpo-hours\">%s</span> h - repository %s%s</div><div class=\"cards\">%s</div>"
            "<h2>Backup age per VM</h2>%s<h2>Repository growth</h2>%s"
            "<h2>VMs</h2><table id=\"vms\"><thead><tr>%s</tr></thead><tbody>%s</tbody></table></body></html>\n") % (
        STYLE, html.escape(report["generated_at"]), html.escape("%g" % report["rpo_hours"]), html.escape(report["repository"]),
        (" - CloudTower " + html.escape(report["cloudtower"])) if report.get("cloudtower") else "", cards,
        age_chart(report["vms"], report["rpo_hours"]), growth_chart(report["growth"]), header,
        "".join(row_html(row) for row in report["vms"]))


def render_json(report):
    return json.dumps(report, indent=1, sort_keys=True) + "\n"
