# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
import re

from ansible_collections.smartx.cloudtower.plugins.module_utils.version import COLLECTION_VERSION


def test_collection_version_matches_galaxy_yml():
    galaxy = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "galaxy.yml")
    with open(galaxy) as handle:
        declared = re.search(r"^version:\s*(\S+)", handle.read(), re.MULTILINE).group(1)
    assert COLLECTION_VERSION == declared
