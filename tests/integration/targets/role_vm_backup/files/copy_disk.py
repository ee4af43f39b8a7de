# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in data mover for the integration test: records what it was told about its disk, fails on request."""

from __future__ import annotations

import json
import os
import sys

FIELDS = ("CLOUDTOWER_VM_ID", "CLOUDTOWER_VM_NAME", "CLOUDTOWER_DISK_INDEX", "CLOUDTOWER_DISK_SIZE",
          "CLOUDTOWER_LUN_SNAPSHOT_LOCAL_ID", "CLOUDTOWER_LUN_SNAPSHOT_NAME", "CLOUDTOWER_MANIFEST", "CLOUDTOWER_PASSWORD")

with open(sys.argv[1], "a", encoding="utf-8") as log:
    log.write(json.dumps({name: os.environ.get(name) for name in FIELDS}) + "\n")
if os.environ.get("CLOUDTOWER_VM_NAME") in sys.argv[2:]:
    sys.stderr.write("copy target refused the disk\n")
    sys.exit(5)
