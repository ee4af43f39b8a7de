# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge one run of a fault matrix cell, in the controller.

query('fault_matrix_judge', url=cloudtower_sim_url, cell=fm_cell, index=fm_index, subject=fm_subject,
      phase='fault' or 'recovery', result=fm_result, manifest_dir=fm_dir) | first
reads the simulator's requests since the previous read (and empties its log), its state and, for the backup role,
the manifests on disk, and returns {cell, label, phase, expect, problems, line}.

The same checks were one Jinja expression over variables of six tasks per run (about a third of the target's CPU);
in Python they cost milliseconds and read more plainly.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import re
import time

from ansible.errors import AnsibleError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase

NO_MANIFESTS = {"complete": [], "broken": []}


def load_check_manifests():
    """files/check_manifests.py, the one home of what a complete manifest is."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "files", "check_manifests.py")
    spec = importlib.util.spec_from_file_location("fault_matrix_check_manifests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fault_seen(kind, requests, state):
    """Whether the run met the cell's fault at all (a fault that never fired proves nothing)."""
    mutations = [r for r in requests if r.get("mutating")]
    if kind == "reads_5xx":
        return len([r for r in requests if r.get("status") in (500, 502, 503)]) == 3
    if kind == "reset_reads":
        return len([r for r in requests if r.get("status") is None]) == 2
    if kind == "reset_mutation":
        return any(r.get("status") is None for r in mutations)
    if kind.startswith("slow"):
        return any((r.get("duration") or 0) >= 1.4 for r in requests)
    if kind.startswith("token"):
        return any(r.get("status") == 401 for r in requests)
    if kind.startswith("locked"):
        return any(r.get("status") == 400 for r in mutations)
    if kind == "task_fails":
        return any(t.get("status") == "FAILED" for t in state["tasks"])
    return kind == "task_paused"


def wanted_in_message(cell, subject, message, requests, state):
    """What the failure message must name: the cell's text:/endpoint: entries, the unfinished tasks' ids and
    messages, and the request id of the last refused request (else of the last accepted mutation)."""
    names = cell.get("names") or []
    resource = subject["resource"]
    # The resource may be named by its name or its id.
    resource_ids = [vm["id"] for vm in state["vms"] if vm.get("name") == resource]
    names_resource = re.search("|".join(re.escape(str(n)) for n in [resource] + resource_ids), message)
    wanted = [n.split(":", 1)[1] for n in names if re.match("^(text|endpoint):", n)]
    if names_resource:
        wanted = [w for w in wanted if w != resource]
    unfinished = [t for t in state["tasks"] if t.get("status") != "SUCCESSED"]
    if "task_id" in names:
        wanted += [t["id"] for t in unfinished]
    if "task_message" in names:
        wanted += [t["error_message"] for t in unfinished if t.get("error_message")]
    if "request_id" in names:
        refused = [r for r in requests if r.get("status") and r["status"] >= 400]
        accepted = [r["request_id"] for r in requests if r.get("mutating") and r.get("status") == 200 and r.get("request_id")]
        request_id = refused[-1].get("request_id") if refused else (accepted[-1] if accepted else "")
        wanted.append(request_id or "a request id")
    return wanted


def login_problems(cell, requests):
    problems = []
    if "logins" in cell:
        logins = len([r for r in requests if r.get("endpoint") == "login"])
        bounds = cell["logins"] if isinstance(cell["logins"], list) else [cell["logins"]]
        if not bounds[0] <= logins <= bounds[-1]:
            problems.append("logged in %d time(s), expected %s" % (logins, cell["logins"]))
    if "first_401" in cell:
        refused = [r for r in requests if r.get("status") == 401]
        endpoint = refused[0].get("endpoint") if refused else None
        if endpoint != cell["first_401"]:
            problems.append("the token was not refused during the wait but on %s" % (endpoint or "nothing"))
    return problems


def state_problems(subject, failed, state):
    problems = []
    vm_names = [vm["name"] for vm in state["vms"] if not vm.get("in_recycle_bin") and vm.get("name") != "web-dup"]
    if len(set(vm_names)) != len(vm_names):
        problems.append("a VM exists twice: %s" % json.dumps(vm_names))
    snapshot_names = [s["name"] for s in state["vm_snapshots"]]
    if len(set(snapshot_names)) != len(snapshot_names):
        problems.append("a snapshot exists twice: %s" % json.dumps(snapshot_names))
    if subject["module"] == "vm" and subject["resource"] == "fm-vm" and not failed:
        made = len([vm for vm in state["vms"] if vm.get("name") == "fm-vm"])
        if made != 1:
            problems.append("the simulator shows %d VM(s) fm-vm after a run that succeeded" % made)
    return problems


def manifest_problems(manifests, expected, state, is_backup):
    problems = ["partial or stray file: " + broken["path"] for broken in manifests["broken"]]
    complete = sorted(m["vm"] for m in manifests["complete"])
    if is_backup and complete != sorted(expected):
        problems.append("manifests for %s, expected %s" % (json.dumps(complete), json.dumps(sorted(expected))))
    snapshot_ids = set(s["id"] for s in state["vm_snapshots"])
    if any(m["snapshot_id"] not in snapshot_ids for m in manifests["complete"]):
        problems.append("a manifest names a snapshot CloudTower does not have")
    return problems


def judge(cell, subject, phase, result, requests, state, manifests):
    """The problems of one run; [] when the cell survived its fault (or recovered from it)."""
    message = str(result.get("msg") or "")
    failed = bool(result.get("failed"))
    expect_failure = phase == "fault" and cell["expect"] == "failure"
    is_backup = subject["module"] == "role_vm_backup"
    problems = []
    if phase == "fault" and not fault_seen(cell["fault"], requests, state):
        problems.append("the fault was never triggered")
    if failed and not expect_failure:
        problems.append("failed: " + message)
    if not failed and expect_failure:
        problems.append("succeeded, where a clear failure was expected")
    if failed and expect_failure:
        problems += ["the message does not name %s: %s" % (w, message)
                     for w in wanted_in_message(cell, subject, message, requests, state) if w not in message]
    problems += state_problems(subject, failed, state)
    if phase == "fault":
        problems += login_problems(cell, requests)
    expected = cell.get("manifests", []) if phase == "fault" else subject["args"].get("vms", [])
    problems += manifest_problems(manifests, expected, state, is_backup)
    return problems


class LookupModule(LookupBase):
    """query('fault_matrix_judge', url=..., cell=..., index=..., subject=..., phase=..., result=..., manifest_dir=...)."""

    def admin(self, route, url):
        return lookup_loader.get("simulator_admin", loader=self._loader, templar=self._templar).run([route], url=url)[0]

    def run(self, terms, variables=None, **kwargs):
        missing = [k for k in ("url", "cell", "index", "subject", "phase", "result", "manifest_dir") if k not in kwargs]
        if terms or missing:
            raise AnsibleError("fault_matrix_judge takes no terms and url, cell, index, subject, phase, result, "
                               "manifest_dir (missing: %s)" % ", ".join(missing))
        cell, subject, phase, result = kwargs["cell"], kwargs["subject"], kwargs["phase"], kwargs["result"]
        if phase == "fault" and cell["fault"].startswith("slow"):
            # Let a reply the module gave up on reach the simulator's log (and its state).
            time.sleep(1)
        log = self.admin("requests?clear=1", kwargs["url"])
        requests = log.get("requests", log) if isinstance(log, dict) else log
        state = self.admin("state", kwargs["url"])
        is_backup = subject["module"] == "role_vm_backup"
        manifests = load_check_manifests().survey(kwargs["manifest_dir"]) if is_backup else NO_MANIFESTS
        label = "%s x %s" % (cell["fault"], cell["subject"])
        problems = judge(cell, subject, phase, result, requests, state, manifests)
        line = "%s %s (%s): %s" % (datetime.datetime.now().strftime("%H:%M:%S"), label, phase,
                                   "FAILED: %s" % (result.get("msg") or "") if result.get("failed") else "ok")
        return [{"cell": kwargs["index"], "label": label, "phase": phase, "expect": cell["expect"],
                 "problems": ["%s (%s): %s" % (label, phase, p) for p in problems], "line": line}]
