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
