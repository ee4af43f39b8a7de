# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run modules in-process against the CloudTower simulator (tests/simulator) over real HTTP.

One home for what every simulator-backed unit test needs: starting the
simulator, calling a module's main() with options, and reading back its
result and the requests it sent.
"""

from __future__ import annotations

import json
import os
import sys
from collections import namedtuple

import pytest

from ansible.module_utils import _internal as ansible_internal
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

SIMULATOR_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "simulator"))
if SIMULATOR_DIR not in sys.path:
    sys.path.insert(0, SIMULATOR_DIR)

from ctsim import Simulator  # noqa: E402  pylint: disable=wrong-import-position,import-error

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


def call_module(module, capsys, args):
    """main() of module with args; its decoded result, failed or not."""
    forget_warnings()
    # Once controller code (an inventory plugin test) ran in this process, Ansible
    # sends module warnings to the display instead of the result; a module runs
    # as a module here.
    was_controller = getattr(ansible_internal, "is_controller", False)
    ansible_internal.is_controller = False
    try:
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
    finally:
        ansible_internal.is_controller = was_controller
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
