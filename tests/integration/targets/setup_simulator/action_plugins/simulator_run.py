# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one module several times in one task, each run with the simulator's requests it caused.

A test helper of the setup_simulator role. The targets prove idempotence as check mode -> apply -> apply again ->
check mode, each step followed by a read of the simulator's request log. As separate tasks that is about 25
tasks around 4 module runs, and each task costs a worker fork and its templating; here it is one task. The
module still runs the way Ansible runs it (AnsiballZ, its own process, check and diff mode set per step), so the
results are the module's own. It logs in to the suite's simulator (cloudtower_sim_url, cloudtower_sim_username,
cloudtower_sim_password) unless args name cloudtower_host and the rest, or login is false (for a module that
takes no connection, e.g. cloudtower_backup_manifest): module_defaults apply to this task's own
action, not to the module it runs, and ansible-core applies them to another module only through private functions.

    simulator_run:
      module: smartx.cloudtower.cloudtower_vm_snapshot
      args: {vm: db-01, name: nightly}
      steps: [check, apply, apply, check]      # default: [apply]
      login: true                              # default: log in to the suite's simulator
      before: [[faults, {task_failures: [...]}]]  # admin calls ([route, body]) before the first step
      after: [[faults, {}]]                    # and after the last one (also when a step raised)
    register: runs

runs.steps: one entry per step, in order: {step, result (the module's result), requests (the simulator's request
log entries of that step), mutations (those with mutating true)}. The task itself never fails or reports a
change: the caller asserts on the steps.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader

try:
    # ansible-core 2.19+ moves a module's warnings out of its result into the task's deferred warning context; a
    # context per step gives each step its own, as a task of its own would have them. Older releases leave them in
    # the result.
    from ansible._internal import _display_utils
except ImportError:
    _display_utils = None

STEPS = ("check", "apply")


class ActionModule(ActionBase):
    """simulator_run: see the module docstring."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("module", "args", "steps", "url", "login", "before", "after"))

    def run(self, tmp=None, task_vars=None):
        super().run(tmp, task_vars)
        task_vars = task_vars or {}
        module = self._task.args.get("module")
        steps = self._task.args.get("steps", ["apply"])
        url = self._task.args.get("url") or task_vars.get("cloudtower_sim_url")
        if not module or not url:
            raise AnsibleActionFail("simulator_run needs module and the simulator's url (cloudtower_sim_url)")
        unknown = [step for step in steps if step not in STEPS]
        if unknown:
            raise AnsibleActionFail("simulator_run steps must be among %s, got %s" % (list(STEPS), unknown))
        admin = lookup_loader.get("simulator_admin", loader=self._loader, templar=self._templar)
        args = dict(self._task.args.get("args") or {})
        if self._task.args.get("login", True):
            args = self.with_simulator_connection(args, url, task_vars)
        try:
            self.admin_calls(admin, url, "before")
            return {"changed": False, "steps": [self.run_step(module, args, step, admin, url, task_vars) for step in steps]}
        finally:
            try:
                self.admin_calls(admin, url, "after")
            finally:
                self._remove_tmp_path(self._connection._shell.tmpdir)

    def admin_calls(self, admin, url, when):
        """The simulator admin calls of before or after, each [route, body] (a case's faults, a patch), in order."""
        for route, body in self._task.args.get(when) or []:
            admin.run([route], url=url, body=body)

    @staticmethod
    def with_simulator_connection(args, url, task_vars):
        """args, connecting to the suite's simulator unless they name a CloudTower themselves."""
        if "cloudtower_host" not in args:
            args.update(cloudtower_host=url, cloudtower_username=task_vars.get("cloudtower_sim_username"),
                        cloudtower_password=task_vars.get("cloudtower_sim_password"))
        return args

    def run_step(self, module, args, step, admin, url, task_vars):
        admin.run(["requests?clear=1"], url=url)
        saved_check_mode = self._task.check_mode
        self._task.check_mode = step == "check"
        try:
            result = self.execute_keeping_warnings(module, args, task_vars)
        finally:
            self._task.check_mode = saved_check_mode
        requests = admin.run(["requests"], url=url)[0]
        return {"step": step, "result": result, "requests": requests,
                "mutations": [request for request in requests if request.get("mutating")]}

    def execute_keeping_warnings(self, module, args, task_vars):
        """The module's result, with the warnings it gave in result["warnings"] on every ansible-core release."""
        if _display_utils is None:
            return self._execute_module(module_name=module, module_args=dict(args), task_vars=task_vars)
        with _display_utils.DeferredWarningContext(variables=task_vars) as warnings:
            result = self._execute_module(module_name=module, module_args=dict(args), task_vars=task_vars)
        result["warnings"] = list(result.get("warnings") or []) + [
            _display_utils.format_message(warning, False) for warning in warnings.get_warnings()]
        return result


# ----- reading what simulator_run returns ----------------------------------------------------------------------
# The targets that judge many runs in Python (cloudtower_vm's vm_scenario and cloudtower_vm_snapshot's
# vm_snapshot_scenario lookups, and the unit tests that play their cases in-process) import these:
#   from ansible_collections.smartx.cloudtower.tests.integration.targets.setup_simulator.action_plugins import simulator_run
# A run is one loop item's result: {<its loop variable>: the case, steps: [{step, result, requests, mutations}]}.

def case_of(run):
    """The case a looped run played (its loop variable, named by ansible_loop_var)."""
    return run[run.get("ansible_loop_var", "item")]


def by_name(runs):
    """The runs by the name of their case."""
    return {case_of(run)["name"]: run for run in runs}


def result_of(runs, name, step=0):
    """The module's result of one step of the run named name."""
    return runs[name]["steps"][step]["result"]


def step_names(run):
    return [step["step"] for step in run["steps"]]


def operations(result):
    """The operations of a result's actions (what the module did, or in check mode would do)."""
    return [action["operation"] for action in result["actions"]]


def endpoints(requests):
    return [request["endpoint"] for request in requests]


def sent(requests):
    """The mutating endpoints requested."""
    return [request["endpoint"] for request in requests if request.get("mutating")]


def accepted(requests):
    """The mutating endpoints CloudTower carried out (a ResourceLocked refusal is retried: sent, not accepted)."""
    return [request["endpoint"] for request in requests if request.get("mutating") and request.get("status") == 200]


def warning_texts(result):
    """The texts of a result's warnings: strings through Ansible, warning records from an in-process main() on
    ansible-core 2.19+ ({event: {msg}})."""
    return [warning if isinstance(warning, str) else str((warning.get("event") or warning).get("msg"))
            for warning in result.get("warnings") or []]


class Verdict:
    """The problems of one check: each expectation, and what to say when it does not hold."""

    def __init__(self, label):
        self.label = label
        self.problems = []

    def expect(self, holds, what):
        if not holds:
            self.problems.append("%s: %s" % (self.label, what))


def problems_of(checks):
    """Every problem of checks, [(label, function of a Verdict)]; a result without what a check reads is a problem of
    that check, not an error that hides the others."""
    problems = []
    for label, check in checks:
        verdict = Verdict(label)
        try:
            check(verdict)
        except (KeyError, IndexError, TypeError, AttributeError) as error:
            verdict.expect(False, "the result lacks what is expected (%s: %s)" % (type(error).__name__, error))
        problems += verdict.problems
    return problems
