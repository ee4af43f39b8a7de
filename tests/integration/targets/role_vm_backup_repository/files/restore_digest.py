# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the simulator's digest of what a restore of a repository disk file reads.

usage: restore_digest.py SIMULATOR_DIR DISK.qcow2. qemu-img converts the file (through its backing chain) into a
raw file; the simulator's own sparse digest of it is what GET /__sim/volumes/<id>/digest says of the source.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, sys.argv[1])
from ctsim.volumes_data import sparse_digest  # noqa: E402  pylint: disable=wrong-import-position,import-error

with tempfile.TemporaryDirectory() as work:
    raw = os.path.join(work, "restore.raw")
    subprocess.run(["qemu-img", "convert", "-O", "raw", sys.argv[2], raw], check=True)
    print(sparse_digest(raw))
