# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print {disk index: the simulator's digest of what the disk file reads} of a repository backup, as JSON.

usage: backup_digests.py SIMULATOR_DIR BACKUP_DIR. qemu-img converts each disk file (through its backing chain) into
raw; the simulator's own sparse digest of it is what GET /__sim/volumes/<id>/digest says of a volume with those bytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, sys.argv[1])
from ctsim.volumes_data import sparse_digest  # noqa: E402  pylint: disable=wrong-import-position,import-error

with open(os.path.join(sys.argv[2], "manifest.json"), encoding="utf-8") as stream:
    manifest = json.load(stream)
digests = {}
with tempfile.TemporaryDirectory() as work:
    for disk in manifest["disks"]:
        raw = os.path.join(work, "disk.raw")
        subprocess.run(["qemu-img", "convert", "-O", "raw", os.path.join(sys.argv[2], disk["backup"]["file"]), raw], check=True)
        digests[str(disk["index"])] = sparse_digest(raw)
        os.unlink(raw)
print(json.dumps(digests))
