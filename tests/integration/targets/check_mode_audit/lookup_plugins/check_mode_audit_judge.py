# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge the check mode audit, in the controller.

query('check_mode_audit_judge', 'role_run', run=audit_run, outcome={failed, msg}, result=<the role's result fact>,
      dir=audit_dir, url=cloudtower_sim_url) | first
  is the record of one run of a role: its label, whether it ran in check mode, how it ended, the mutating requests
  it sent (the simulator's request log, read and emptied: call it right after the run), what it decided (the part
  of its result fact that check mode must predict) and, after a check-mode run, every path under dir.

query('check_mode_audit_judge', 'verdict', totals=audit_totals, version=audit_api_version, cases=<simulator_run loop
      results of the module cases>, manifest=[<simulator_run of the manifest in check mode>, <for real>],
      roles=<the role run records>, dir=audit_dir) | first
  is audit_totals with this API version's figures and findings added: check mode must send no mutating request,
  write no file and predict `changed` as the case expects; the same task run for real must decide the same, and
  send the operations check mode announced.

The same checks were Jinja expressions over the variables of about ten tasks per role run and four per manifest run;
in Python they cost milliseconds and read more plainly.
"""

from __future__ import annotations

import json
import os

from ansible.errors import AnsibleError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase


def names(items):
    return sorted((item or {}).get("name") for item in items or [])


def role_decision(role, result):
    """What a role decided, in the form its check-mode run must predict it."""
    result = result or {}
    if role == "vm_backup":
        # Manifests are compared by VM, deletions by snapshot name (their status differs by design).
        return {"manifests": [(manifest.get("vm") or {}).get("name") for manifest in result.get("manifests") or []],
                "deleted": names(result.get("deleted_snapshots"))}
    if role == "snapshot_retention":
        return names(result.get("deleted"))
    return result.get("changed")


def paths_under(directory):
    """Every directory (ending with a separator) and file under directory; none when it does not exist."""
    found = []
    for root, dirs, files in os.walk(directory):
        found += [os.path.join(root, name, "") for name in dirs] + [os.path.join(root, name) for name in files]
    return sorted(found)


def backup_traces(directory):
    """What vm_backup's check-mode run must not leave: its manifest directory and its data mover's trace."""
    return (os.path.join(directory, "backup", ""), os.path.join(directory, "backup-mover-ran"))


def module_case_verdict(run):
    """(tally, problems) of one module case: check mode, then (unless the case says real: false) the real run."""
    case = run[run.get("ansible_loop_var", "item")]
    label = case["label"]
    steps = run["steps"]
    predicted, check_mutations = steps[0]["result"], steps[0]["mutations"]
    problems = []
    if predicted.get("failed"):
        problems.append("check mode failed: %s" % (predicted.get("msg") or ""))
    if check_mutations:
        problems.append("check mode sent mutating requests %s" % json.dumps([r.get("endpoint") for r in check_mutations]))
    if "changed" in case and bool(predicted.get("changed", False)) != bool(case["changed"]):
        problems.append("check mode predicted changed=%s, expected %s" % (predicted.get("changed", False), case["changed"]))
    if len(steps) > 1:
        real = steps[-1]["result"]
        announced = [action.get("operation") for action in predicted.get("actions") or []]
        sent = [request.get("endpoint") for request in steps[-1]["mutations"]]
        if real.get("failed"):
            problems.append("the real run failed: %s" % (real.get("msg") or ""))
        if not real.get("failed") and predicted.get("changed") != real.get("changed"):
            problems.append("check mode said changed=%s, the real run changed=%s" % (predicted.get("changed"), real.get("changed")))
        if not real.get("failed") and "actions" in predicted and announced != sent:
            problems.append("check mode announced %s, the real run sent %s" % (json.dumps(announced), json.dumps(sent)))
    tally = {"cases": 1, "check_mode_mutations": len(check_mutations), "real_runs": len(steps) - 1}
    return tally, ["%s: %s" % (label, problem) for problem in problems]


def manifest_verdict(check_run, real_run, check_listing, directory):
    """cloudtower_backup_manifest writes files on the controller: in check mode none, for real its manifest and the
    data mover's trace. check_listing: the paths under directory after its check-mode run."""
    check, real = check_run["steps"][0], real_run["steps"][0]
    manifests_dir = os.path.join(directory, "manifests")
    mover_trace = os.path.join(directory, "manifest-mover-ran")
    problems = []
    for name, step in (("check mode", check), ("real run", real)):
        if step["result"].get("failed"):
            problems.append("cloudtower_backup_manifest (%s) failed: %s" % (name, step["result"].get("msg") or ""))
        if not step["result"].get("changed"):
            problems.append("cloudtower_backup_manifest (%s) reported changed=false" % name)
    if check["mutations"]:
        problems.append("cloudtower_backup_manifest (check mode) sent mutating requests")
    # vm_backup's check-mode run (judged on its own traces) also ran before the listing; every other file is the
    # manifest module's.
    written = [path for path in check_listing
               if not path.endswith(os.sep) and not path.startswith(backup_traces(directory))]
    if written:
        problems.append("cloudtower_backup_manifest (check mode) wrote %s" % json.dumps(written))
    manifests = [path for path in paths_under(manifests_dir) if os.path.isfile(path)]
    if not manifests or not os.path.exists(mover_trace):
        problems.append("cloudtower_backup_manifest (real run) wrote no manifest or ran no data mover: %s"
                        % json.dumps(paths_under(directory)))
    tally = {"cases": 1, "check_mode_mutations": len(check["mutations"]), "real_runs": 1}
    return tally, problems


def role_verdict(records, directory):
    """(tally, problems) of the role runs: each check-mode run sent nothing, wrote nothing (vm_backup) and predicted
    what the real run of the same role and mode that follows it decided."""
    tally = {"cases": 0, "check_mode_mutations": 0, "real_runs": 0}
    problems = []
    for index, record in enumerate(records):
        label = "%s (%s)" % (record["label"], "check mode" if record["check"] else "real run")
        if record["check"]:
            tally["cases"] += 1
            tally["check_mode_mutations"] += len(record["mutations"])
        else:
            tally["real_runs"] += 1
        if record["failed"]:
            problems.append("%s failed: %s" % (label, record["msg"]))
        if record["check"] and record["mutations"]:
            problems.append("%s sent mutating requests %s" % (label, json.dumps(record["mutations"])))
        if record["check"] and record["role"] == "vm_backup":
            left = [path for path in record["paths"] if path in backup_traces(directory)]
            if left:
                problems.append("%s left %s" % (label, json.dumps(left)))
        if record["check"]:
            real = [later for later in records[index + 1:] if later["label"] == record["label"] and not later["check"]][:1]
            if not real:
                problems.append("%s has no real run to compare with" % label)
            elif record["decision"] != real[0]["decision"]:
                problems.append("%s: check mode predicted %s, the real run decided %s"
                                % (record["label"], json.dumps(record["decision"]), json.dumps(real[0]["decision"])))
    return tally, problems


class LookupModule(LookupBase):
    """query('check_mode_audit_judge', 'role_run' or 'verdict', ...): see the module docstring."""

    def role_run(self, run, outcome, result, directory, url):
        admin = lookup_loader.get("simulator_admin", loader=self._loader, templar=self._templar)
        requests = admin.run(["requests?clear=1"], url=url)[0]
        mode = (run.get("vars") or {}).get("mode")
        return {
            "role": run["role"], "label": "role %s%s" % (run["role"], " " + mode if mode else ""), "check": bool(run["check"]),
            "failed": bool(outcome.get("failed")), "msg": outcome.get("msg") or "",
            "mutations": [request.get("endpoint") for request in requests if request.get("mutating")],
            "decision": role_decision(run["role"], result),
            "paths": paths_under(directory) if run["check"] else [],
        }

    def verdict(self, totals, version, cases, manifest, roles, directory):
        parts = [module_case_verdict(run) for run in cases]
        # The listing after the manifest's check-mode run is the one of the first check-mode role run after it.
        check_listing = next((record["paths"] for record in roles if record["check"]), [])
        parts.append(manifest_verdict(manifest[0], manifest[1], check_listing, directory))
        parts.append(role_verdict(roles, directory))
        new = dict(totals)
        for key in ("cases", "real_runs", "check_mode_mutations"):
            new[key] = int(totals.get(key) or 0) + sum(tally[key] for tally, _problems in parts)
        new["findings"] = list(totals.get("findings") or []) + ["%s: %s" % (version, p) for _tally, problems in parts for p in problems]
        return new

    def run(self, terms, variables=None, **kwargs):
        if terms == ["role_run"]:
            return [self.role_run(kwargs["run"], kwargs["outcome"], kwargs.get("result"), kwargs["dir"], kwargs["url"])]
        if terms == ["verdict"]:
            return [self.verdict(kwargs["totals"], kwargs["version"], kwargs["cases"], kwargs["manifest"], kwargs["roles"],
                                 kwargs["dir"])]
        raise AnsibleError("check_mode_audit_judge takes 'role_run' or 'verdict', got %s" % terms)
