# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run modules in-process against the CloudTower simulator (tests/simulator) over real HTTP.

One home for what every simulator-backed unit test needs: starting the
simulator, calling a module's main() with options, and reading back its
result and the requests it sent.
"""

from __future__ import annotations

import contextlib
import json
from collections import namedtuple

import pytest

from ansible.module_utils import basic as ansible_basic
from ansible.module_utils.common import warnings as ansible_warnings

try:  # ansible-core >= 2.19
    from ansible.module_utils import _internal as ansible_internal
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.16 - 2.18: module arguments are a serialized global
    ansible_internal = None
    patch_module_args = None

# The simulator is a package of this collection's tree (tests/simulator/ctsim, relative imports only), so the
# unit tests import it by its collection path: no sys.path edit. Every unit test reaches it through this helper.
from ansible_collections.smartx.cloudtower.tests.simulator import ctsim  # pylint: disable=import-error
from ansible_collections.smartx.cloudtower.tests.simulator.ctsim import Simulator  # pylint: disable=import-error

__all__ = ["ctsim", "Simulator", "call_module", "run_module", "request_log", "play_case"]

USERNAME = "admin"
PASSWORD = "unit-test-password"
TASK_SECONDS = 0.05

Run = namedtuple("Run", "result requested sent accepted")


def start_simulator(**options):
    """A started simulator in a background thread on a free port."""
    settings = dict(username=USERNAME, password=PASSWORD, task_seconds=TASK_SECONDS)
    settings.update(options)
    return Simulator(**settings).start()


def request_log(sim):
    log = sim.requests()
    return log.get("requests", log) if isinstance(log, dict) else log


def forget_warnings():
    """Ansible keeps warnings process-wide and de-duplicates them; each run must start clean."""
    for name in ("_global_warnings", "_global_deprecations"):
        store = getattr(ansible_warnings, name, None)
        if store is not None:
            store.clear()


@contextlib.contextmanager
def module_args(args):
    """The module's arguments, the way the running ansible-core reads them."""
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
        return
    saved = getattr(ansible_basic, "_ANSIBLE_ARGS", None)
    ansible_basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8")  # pylint: disable=protected-access
    try:
        yield
    finally:
        ansible_basic._ANSIBLE_ARGS = saved  # pylint: disable=protected-access


@contextlib.contextmanager
def running_as_module():
    """Once controller code (an inventory plugin test) ran in this process, ansible-core >= 2.19 sends module
    warnings to the display instead of the result; a module runs as a module here."""
    if ansible_internal is None:
        yield
        return
    was_controller = getattr(ansible_internal, "is_controller", False)
    ansible_internal.is_controller = False
    try:
        yield
    finally:
        ansible_internal.is_controller = was_controller


def call_module(module, capsys, args):
    """main() of module with args; its decoded result, failed or not."""
    forget_warnings()
    with running_as_module(), module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def run_module(module, sim, capsys, check_mode=False, diff=False, password=PASSWORD, **options):
    """main() of module with options against sim.

    Returns the result, every endpoint requested, the mutating ones sent and
    the mutating ones CloudTower accepted (a ResourceLocked refusal is retried
    by the client, so it is sent but not accepted).
    """
    args = dict(options, cloudtower_host=sim.url, cloudtower_username=USERNAME, cloudtower_password=password,
                _ansible_check_mode=check_mode, _ansible_diff=diff)
    sim.clear_requests()
    result = call_module(module, capsys, args)
    log = request_log(sim)
    mutating = [r for r in log if r.get("mutating")]
    return Run(result, [r["endpoint"] for r in log], [r["endpoint"] for r in mutating],
               [r["endpoint"] for r in mutating if r.get("status") == 200])


def admin_call(sim, route, body):
    """One of the simulator admin calls a played case makes before or after its steps ([route, body])."""
    if route == "faults":
        sim.set_faults(body)
    elif route == "patch":
        sim.patch(body["resource"], body["id"], body["set"])
    else:
        raise AssertionError("no in-process admin call %r" % route)


def play_case(sim, capsys, case, modules):
    """One case of a target's scenario lookup, as setup_simulator's simulator_run plays it through Ansible: the admin
    calls before it, each step (check mode or apply, with --diff) with the simulator's requests of that step, the
    admin calls after it. Returns it in the shape of a looped simulator_run task's item (loop variable "item").

    case: {name, module (a key of modules), args, steps, before, after}; modules: module name -> Python module.
    """
    for route, body in case["before"]:
        admin_call(sim, route, body)
    steps = []
    try:
        for step in case["steps"]:
            args = dict(case["args"], cloudtower_host=sim.url, cloudtower_username=USERNAME, cloudtower_password=PASSWORD,
                        _ansible_check_mode=step == "check", _ansible_diff=True)
            sim.clear_requests()
            result = call_module(modules[case["module"]], capsys, args)
            requests = request_log(sim)
            steps.append({"step": step, "result": result, "requests": requests,
                          "mutations": [request for request in requests if request.get("mutating")]})
    finally:
        for route, body in case["after"]:
            admin_call(sim, route, body)
    return {"ansible_loop_var": "item", "item": case, "steps": steps}
