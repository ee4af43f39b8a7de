#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads every file under a vm_backup directory and prints, as JSON, the VMs with a complete manifest and the
files that are not one (a partial write, a temporary file left behind, a manifest missing a disk's LUN snapshot).
The fault matrix's judge (lookup_plugins/fault_matrix_judge.py) imports survey() in the controller instead.

usage: check_manifests.py DIR
"""

import json
import os
import sys

FORMAT = "smartx.cloudtower/vm-backup-manifest"


def problem_of(manifest):
    """Why a parsed manifest is not complete, or None."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return "not a vm_backup manifest"
    for part, key in (("vm", "name"), ("vm", "id"), ("snapshot", "id"), ("snapshot", "name")):
        if not (manifest.get(part) or {}).get(key):
            return "no %s.%s" % (part, key)
    disks = manifest.get("disks")
    if not disks:
        return "no disks"
    lost = [d.get("index") for d in disks if not (d.get("lun_snapshot") or {}).get("local_id")]
    if lost:
        return "disks without a LUN snapshot: %s" % lost
    return None


def survey(root):
    """{"complete": [{"vm", "snapshot_id", "path"}], "broken": [{"path", "problem"}]} of every file under root."""
    complete, broken = [], []
    for directory, _dirs, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(directory, name)
            try:
                with open(path, encoding="utf-8") as stream:
                    manifest = json.load(stream)
            except (OSError, ValueError) as error:
                broken.append({"path": path, "problem": "unreadable: %s" % error})
                continue
            problem = problem_of(manifest) if name.endswith(".json") else "not a .json file"
            if problem:
                broken.append({"path": path, "problem": problem})
            else:
                complete.append({"vm": manifest["vm"]["name"], "snapshot_id": manifest["snapshot"]["id"], "path": path})
    return {"complete": complete, "broken": broken}


def main():
    json.dump(survey(sys.argv[1]), sys.stdout)


if __name__ == "__main__":
    main()
