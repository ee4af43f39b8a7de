# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge one run of vm_backup into a repository, in the controller.

query('repository_check', result=vm_backup_result, url=cloudtower_sim_url, simulator_dir=repo_simulator_dir) | first
reads the run's repository manifests and the simulator's state and returns {manifests, sim_state, problems}:
every VM copied and verified, every manifest complete, one backup target of ours admitting 127.0.0.1 with no cloned
LUN left in it, directories 0750 and disk files 0640, and every disk file byte-identical to its LUN snapshot
(qemu-img reads it through its backing chain into a raw file; the simulator's own sparse digest of that file must
be what /__sim/volumes/<id>/digest says of the LUN snapshot). sim_state holds only the tables the play reads, and
the backup target without its CHAP secret (-v prints the fact).

query('repository_check', 'digest', path=DISK_FILE, simulator_dir=...) | first is the digest of one disk file.

These checks were a stat, a command and an assert per disk file in tasks of their own (about 3 CPU-s per run of
the role, a fifth of the target); here they cost the qemu-img runs and milliseconds.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile

from ansible.errors import AnsibleError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase

OUR_PREFIX = "smartx-cloudtower-backup-"


def sparse_digest_function(simulator_dir):
    """The simulator's sparse_digest (ctsim.volumes_data), the one home of how a disk's bytes are digested."""
    if simulator_dir not in sys.path:
        sys.path.insert(0, simulator_dir)
    from ctsim.volumes_data import sparse_digest  # pylint: disable=import-error,import-outside-toplevel
    return sparse_digest


def restore_digest(path, simulator_dir):
    """The digest of what a restore of the disk file reads (qemu-img follows its backing chain)."""
    with tempfile.TemporaryDirectory() as work:
        raw = os.path.join(work, "restore.raw")
        done = subprocess.run(["qemu-img", "convert", "-O", "raw", path, raw], capture_output=True, text=True, check=False)
        if done.returncode:
            raise AnsibleError("qemu-img convert %s: %s" % (path, done.stderr.strip()))
        return sparse_digest_function(simulator_dir)(raw)


def read_manifests(result):
    manifests = []
    for backup in result["repository_backups"]:
        with open(os.path.join(backup["path"], "manifest.json"), encoding="utf-8") as stream:
            manifests.append(json.load(stream))
    return manifests


def without_chap_secret(target):
    return {key: value for key, value in target.items() if key != "chap_secret"}


def run_problems(result, manifests):
    """The role's own report: every VM copied and verified, every manifest complete."""
    problems = []
    if result.get("failed_vms"):
        problems.append("failed VMs: %s" % result["failed_vms"])
    wanted = {"repository_backups": ("status", ["copied", "copied"]), "verified": ("status", ["ok", "ok"])}
    for key, (field, values) in wanted.items():
        seen = [entry.get(field) for entry in result.get(key) or []]
        if seen != values:
            problems.append("%s %s: %s, expected %s" % (key, field, seen, values))
    complete = [manifest.get("repository", {}).get("complete") for manifest in manifests]
    if complete != [True, True]:
        problems.append("repository.complete of the manifests: %s, expected [True, True]" % complete)
    return problems


def target_problems(sim_state):
    """One backup target of ours, admitting 127.0.0.1, with no cloned LUN left in it."""
    ours = [t for t in sim_state["iscsi_targets"] if t["name"].startswith(OUR_PREFIX)]
    if len(ours) != 1:
        return ["%d backup targets named %s*, expected 1" % (len(ours), OUR_PREFIX)]
    problems = []
    if ours[0].get("ip_whitelist") != "127.0.0.1":
        problems.append("the backup target admits %r, expected '127.0.0.1'" % ours[0].get("ip_whitelist"))
    left = [lun["name"] for lun in sim_state["iscsi_luns"] if (lun.get("iscsi_target") or {}).get("id") == ours[0]["id"]]
    if left:
        problems.append("LUNs left in the backup target: %s" % left)
    return problems


def mode_problems(result, manifests):
    """Each backup's directory 0750, each of its disk files 0640."""
    problems = []
    for backup, manifest in zip(result["repository_backups"], manifests):
        disk_files = [os.path.join(backup["path"], disk["backup"]["file"]) for disk in manifest["disks"]]
        paths = [(backup["path"], "0750")] + [(path, "0640") for path in disk_files]
        for path, mode in paths:
            seen = "%04o" % stat.S_IMODE(os.stat(path).st_mode)
            if seen != mode:
                problems.append("%s has mode %s, expected %s" % (path, seen, mode))
    return problems


def identity_problems(result, manifests, admin, url, simulator_dir):
    """Each disk file reads back byte-identical to its LUN snapshot."""
    problems = []
    for backup, manifest in zip(result["repository_backups"], manifests):
        if not manifest["disks"]:
            problems.append("%s: the manifest lists no disk" % backup["path"])
        for disk in manifest["disks"]:
            got = restore_digest(os.path.join(backup["path"], disk["backup"]["file"]), simulator_dir)
            want = admin.run(["volumes/%s/digest" % disk["lun_snapshot"]["id"]], url=url)[0]["digest"]
            if got != want:
                problems.append("%s disk %s: restore digest %s, its LUN snapshot %s" % (manifest["vm"]["name"], disk["index"], got, want))
    return problems


class LookupModule(LookupBase):
    """See the module docstring."""

    def run(self, terms, variables=None, **kwargs):
        simulator_dir = kwargs.get("simulator_dir")
        if not simulator_dir:
            raise AnsibleError("repository_check needs simulator_dir")
        if terms == ["digest"]:
            return [restore_digest(kwargs["path"], simulator_dir)]
        if terms or "result" not in kwargs or "url" not in kwargs:
            raise AnsibleError("repository_check takes result= and url= (or the term 'digest' and path=)")
        result, url = kwargs["result"], kwargs["url"]
        admin = lookup_loader.get("simulator_admin", loader=self._loader, templar=self._templar)
        state = admin.run(["state"], url=url)[0]
        sim_state = {"iscsi_targets": [without_chap_secret(t) for t in state["iscsi_targets"]],
                     "iscsi_luns": state["iscsi_luns"], "vm_volumes": state["vm_volumes"]}
        manifests = read_manifests(result)
        problems = (run_problems(result, manifests) + target_problems(sim_state) + mode_problems(result, manifests)
                    + identity_problems(result, manifests, admin, url, simulator_dir))
        return [{"manifests": manifests, "sim_state": sim_state, "problems": problems}]
