# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import start_simulator


@pytest.fixture(scope="module")
def simulator():
    """One simulator per test module; tests reset it to the state they need."""
    sim = start_simulator()
    yield sim
    sim.stop()
