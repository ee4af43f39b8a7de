# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verifying repository backups: is every disk still what its manifest says, read through its whole chain?"""

from __future__ import annotations

import os

from ansible_collections.smartx.cloudtower.plugins.module_utils import repository as repo
from ansible_collections.smartx.cloudtower.plugins.module_utils import transports
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import read_manifest, safe_path_part
from ansible_collections.smartx.cloudtower.plugins.module_utils.snapshots import vm_stub


def vm_directories(repository, vm):
    """The repository directories of a VM given by name or id; an InputError when none, or a name two VMs share."""
    found = repo.find_vm_directories(repository, vm)
    if not found:
        raise InputError("vm", vm, "has no backup in repository %s" % repository)
    if len(found) > 1:
        raise InputError("vm", vm, "names several VMs in the repository (%s): give its id" % ", ".join(sorted(os.path.basename(p) for p in found)))
    return found[0]


def manifests_of(repository, vm, backup):
    """[manifest path] of the VM's backups: backup is a name, 'latest' or 'all' (oldest first)."""
    directory = vm_directories(repository, vm)
    if backup not in ("latest", "all"):
        path = os.path.join(directory, safe_path_part(backup), repo.MANIFEST_NAME)
        if not os.path.isfile(path):
            raise InputError("backup", backup, "is not a backup of %s in repository %s" % (vm, repository))
        return [path]
    paths = [os.path.join(d, repo.MANIFEST_NAME) for d, _m in repo.complete_backups(directory)]
    if not paths:
        raise InputError("vm", vm, "has no complete backup in repository %s" % repository)
    return paths if backup == "all" else paths[-1:]


def verify_disk(runner, directory, entry, token=None):
    """[problems] of one disk's file: present, unchanged (sha256), sound (qemu-img check), and the same content."""
    backup = entry.get("backup") or {}
    index = entry.get("index")
    if not backup.get("file"):
        return ["disk %s: the manifest records no copy" % index]
    path = os.path.join(directory, backup["file"])
    if not os.path.isfile(path):
        return ["disk %s: %s is missing" % (index, path)]
    problems = []
    if backup.get("file_sha256") and transports.file_sha256(path) != backup["file_sha256"]:
        problems.append("disk %s: %s changed since it was written (sha256 differs)" % (index, backup["file"]))
    try:
        chain = transports.image_info(runner, path)
        missing = [i.get("full-backing-filename") for i in chain if i.get("full-backing-filename") and not os.path.exists(i["full-backing-filename"])]
        if missing:
            return problems + ["disk %s: backing file %s is missing" % (index, ", ".join(missing))]
        for image in chain:
            complaint = transports.check_image(runner, image["filename"])
            if complaint:
                problems.append("disk %s: %s: %s" % (index, os.path.relpath(image["filename"], directory), complaint))
        if problems:
            return problems
        digest = transports.logical_digest(runner, path, int(chain[0]["virtual-size"]), token=token)
    except (transports.CopyError, ValueError, KeyError) as error:
        return problems + ["disk %s: %s" % (index, getattr(error, "message", None) or error)]
    expected = (backup.get("digest") or {}).get("value")
    if digest != expected:
        problems.append("disk %s: its content read through the chain differs from the manifest's digest" % index)
    return problems


def verify_backup(runner, manifest_path, token=None):
    """{vm, backup, path, status: ok|failed, disks: [{index, file, status, problems}]} of one backup."""
    directory = os.path.dirname(os.path.abspath(manifest_path))
    manifest = read_manifest(manifest_path)
    result = {"vm": None, "backup": os.path.basename(directory), "path": directory, "status": "failed", "disks": [], "problems": []}
    if not manifest or (manifest.get("repository") or {}).get("format") != repo.REPOSITORY_FORMAT:
        result["problems"].append("%s is not a repository backup manifest" % manifest_path)
        result["message"] = result["problems"][0]
        return result
    result["vm"] = vm_stub(manifest.get("vm"))
    if not (manifest.get("repository") or {}).get("complete"):
        result["problems"].append("the manifest does not claim a complete backup")
    for entry in manifest.get("disks") or []:
        problems = verify_disk(runner, directory, entry, token)
        result["disks"].append({"index": entry.get("index"), "file": (entry.get("backup") or {}).get("file"),
                                "status": "failed" if problems else "ok", "problems": problems})
        result["problems"].extend(problems)
    result["status"] = "failed" if result["problems"] else "ok"
    result["message"] = "; ".join(result["problems"]) or None
    return result
