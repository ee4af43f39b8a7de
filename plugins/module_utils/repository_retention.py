# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retention in the backup repository, and manifests that say when their snapshot is gone.

A backup is pruned by the same policy as the snapshots (retention.RetentionPolicy: keep_last and/or older_than
over the backups whose names start with the prefix). A pruned backup that a kept one builds on is merged into it
first, so no chain breaks:

1. a marker (PRUNE_MARKER) is written into the pruned backup's directory, saying which disks merge into which
   backup, and its manifest.json is removed: from then on nothing counts it as a backup or chains onto it;
2. ``qemu-img commit -d <dependent file>`` writes the dependent's clusters into the pruned file. The dependent
   reads the same at every moment of this (it overrides every cluster commit writes), and so do backups further
   up its chain; only the pruned backup's own content changes, and its manifest is gone already;
3. the pruned file now holds the dependent's whole content: its digest is checked against the dependent's
   manifest, then it is hard-linked beside the dependent and renamed over the dependent's file (one atomic
   rename: the chain above reads through it unchanged);
4. the dependent's manifest records its new backing file, sha256 and size; the pruned directory is deleted.

Every step can be repeated, so a run killed anywhere is finished by the next one (it finds the marker). The cost
follows the dependent's increment (the size of what commit writes), not the size of the pruned full backup.
"""

from __future__ import annotations

import glob
import json
import os
import shutil

from ansible_collections.smartx.cloudtower.plugins.module_utils import repository as repo
from ansible_collections.smartx.cloudtower.plugins.module_utils import transports
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest import render, utc_timestamp
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import read_manifest, safe_path_part, write_atomically

PRUNE_MARKER = ".pruning.json"
# A merged file waiting beside its dependent; not '.tmp', which a copy run removes as an interrupted copy's.
MERGED_SUFFIX = ".merged"
# Statuses of cloudtower_vm_snapshot's RV deleted whose snapshot no longer exists (or would not, in check mode).
GONE_STATUSES = ("deleted", "absent")
PLANNED_STATUSES = ("would_delete",)


class PruneError(Exception):
    """A backup could not be pruned; it is left for the next run (its marker says what is left to do)."""


def backup_record(directory, manifest):
    """A backup seen as retention.RetentionPolicy sees a snapshot: name, creation time and a stable id."""
    backup = manifest.get("backup") or {}
    return {"id": os.path.basename(directory), "name": backup.get("snapshot_name") or os.path.basename(directory),
            "local_created_at": backup.get("snapshot_taken_at") or backup.get("started_at"), "directory": directory}


def select_backups(backups, policy, now, prefix=None):
    """[(directory, manifest, reason)] of the complete backups the policy prunes, oldest first."""
    manifests = dict(backups)
    records = [backup_record(directory, manifest) for directory, manifest in backups]
    return [(record["directory"], manifests[record["directory"]], reason)
            for record, reason in policy.select(records, now, prefix)]


def disk_backup(entry):
    return entry.get("backup") or {}


def dependents(backups, name, disk):
    """[(directory, manifest, entry)] of the backups whose copy of disk is an increment on backup name."""
    found = []
    for directory, manifest in backups:
        for entry in manifest.get("disks") or []:
            if repo.same_disk(entry, disk) and disk_backup(entry).get("backing_backup") == name:
                found.append((directory, manifest, entry))
    return found


def top_backing(runner, path):
    """The backing file path path names (as written in it), or None: of the file itself, the chain unread."""
    info = json.loads(transports.run_checked(runner, "merge", ["qemu-img", "info", "--output=json", "-f", "qcow2", path]))
    return info.get("backing-filename")


def chain_depths(backups):
    """{(backup name, disk index): depth} following each disk's backing_backup; 0 for a full copy."""
    by_name = {os.path.basename(directory): manifest for directory, manifest in backups}
    depths = {}

    def depth(name, entry, seen=()):
        key = (name, entry.get("index"))
        if key not in depths:
            below = disk_backup(entry).get("backing_backup")
            base = next((e for e in (by_name.get(below) or {}).get("disks") or [] if repo.same_disk(e, entry)), None)
            depths[key] = 0 if base is None or below in seen else depth(below, base, seen + (name,)) + 1
        return depths[key]

    for name, manifest in by_name.items():
        for entry in manifest.get("disks") or []:
            depth(name, entry)
    return depths


class Pruner:
    """Prunes one repository's backups per VM; in check mode it only says what it would do."""

    def __init__(self, runner, file_mode=repo.FILE_MODE, check_mode=False, token=None):
        self.runner = runner
        self.token = token
        self.file_mode = file_mode
        self.check_mode = check_mode

    # ----- the policy over one VM ---------------------------------------------------------------------------
    def prune_vm(self, vm_directory, policy, now, prefix=None):
        """{'pruned': [...], 'resumed': [...], 'failures': [...]} for one VM's directory."""
        outcome = {"pruned": [], "resumed": [], "failures": []}
        for directory in self.interrupted(vm_directory):
            try:
                if not self.check_mode:
                    self.finish(directory)
                outcome["resumed"].append(directory)
            except (PruneError, transports.CopyError, OSError, ValueError) as error:
                outcome["failures"].append({"path": directory, "message": "finishing an interrupted prune: %s" % describe(error)})
        backups = repo.complete_backups(vm_directory)
        for directory, _selected, reason in select_backups(backups, policy, now, prefix):
            name = os.path.basename(directory)
            # As it is now: pruning an older backup may have merged into this one.
            manifest = dict(backups)[directory]
            merges = [{"disk": entry.get("index"), "into": os.path.basename(dependent)}
                      for entry in manifest.get("disks") or []
                      for dependent, _m, _e in dependents(backups, name, entry)]
            record = {"backup": name, "path": directory, "reason": reason, "merged_into": merges}
            try:
                if not self.check_mode:
                    self.prune(directory, manifest, backups)
                    backups = repo.complete_backups(vm_directory)
                outcome["pruned"].append(record)
            except (PruneError, transports.CopyError, OSError, ValueError) as error:
                outcome["failures"].append(dict(record, message=describe(error)))
                break  # The next ones may build on this one: they wait for the next run.
        if outcome["pruned"] and not self.check_mode:
            self.renumber(repo.complete_backups(vm_directory))
        return outcome

    @staticmethod
    def interrupted(vm_directory):
        return sorted(os.path.dirname(path) for path in glob.glob(os.path.join(vm_directory, "*", PRUNE_MARKER)))

    # ----- one backup ---------------------------------------------------------------------------------------
    def prune(self, directory, manifest, backups):
        """Steps 1-4 of the module docstring for one backup."""
        name = os.path.basename(directory)
        merges = []
        for entry in manifest.get("disks") or []:
            found = dependents(backups, name, entry)
            if len(found) > 1:
                raise PruneError("disk %s of %s is the backing file of %d backups (%s): only one can absorb it"
                                 % (entry.get("index"), name, len(found), ", ".join(os.path.basename(d) for d, _m, _e in found)))
            if found:
                merges.append({"index": entry.get("index"), "vm_volume_local_id": entry.get("vm_volume_local_id"),
                               "into": os.path.basename(found[0][0]), "backup": disk_backup(entry)})
        marker = {"backup": name, "started_at": utc_timestamp(), "merges": merges}
        write_atomically(os.path.join(directory, PRUNE_MARKER), json.dumps(marker, indent=2, sort_keys=True) + "\n", self.file_mode)
        manifest_path = os.path.join(directory, repo.MANIFEST_NAME)
        if os.path.exists(manifest_path):
            os.unlink(manifest_path)
        self.finish(directory)

    def finish(self, directory):
        """Carry out a marker's merges (each one repeatable) and delete the pruned directory."""
        with open(os.path.join(directory, PRUNE_MARKER), "r", encoding="utf-8") as stream:
            marker = json.load(stream)
        vm_directory = os.path.dirname(directory)
        for merge in marker.get("merges") or []:
            dependent = os.path.join(vm_directory, merge["into"])
            manifest = repo.read_backup(dependent)
            if manifest is None:
                continue  # Pruned too, or never complete: nothing of it reads through this file.
            entry = next((e for e in manifest.get("disks") or [] if repo.same_disk(e, merge)), None)
            if entry is None or disk_backup(entry).get("backing_backup") != marker["backup"]:
                continue
            self.merge_disk(directory, merge["backup"], dependent, entry)
            entry["backup"].update(self.merged_entry(dependent, entry, merge["backup"], marker["backup"]))
            repo.write_manifest(dependent, manifest, self.file_mode)
        shutil.rmtree(directory)

    def merge_disk(self, directory, pruned, dependent, entry):
        """Make the dependent's file hold its whole content on the pruned file's backing (steps 2 and 3)."""
        pruned_file = os.path.join(directory, pruned["file"])
        dependent_file = os.path.join(dependent, disk_backup(entry)["file"])
        merged = os.path.join(dependent, "." + disk_backup(entry)["file"] + MERGED_SUFFIX)
        if os.path.exists(merged) and not os.path.exists(pruned_file):
            os.replace(merged, dependent_file)  # A run killed between the two renames of the fallback below.
            return
        if top_backing(self.runner, dependent_file) != os.path.join("..", os.path.basename(directory), pruned["file"]):
            return  # Merged already (a killed run got past the rename).
        transports.run_checked(self.runner, "merge", ["qemu-img", "commit", "-q", "-d", "-f", "qcow2", dependent_file])
        size = int(transports.image_info(self.runner, pruned_file, step="merge")[0]["virtual-size"])
        expected = (disk_backup(entry).get("digest") or {}).get("value")
        if transports.logical_digest(self.runner, pruned_file, size, step="merge", token=self.token) != expected:
            raise PruneError("the merge of %s into %s does not read back as %s's disk %s (digest differs); %s is unchanged"
                             % (pruned_file, dependent_file, os.path.basename(dependent), entry.get("index"), dependent_file))
        if os.path.exists(merged):
            os.unlink(merged)
        try:
            os.link(pruned_file, merged)
        except OSError:
            os.rename(pruned_file, merged)  # A file system without hard links: the marker covers the gap.
        os.chmod(merged, self.file_mode)
        os.replace(merged, dependent_file)

    @staticmethod
    def merged_entry(dependent, entry, pruned, pruned_name):
        """What the dependent's manifest says of its file once the pruned file is merged into it."""
        path = os.path.join(dependent, disk_backup(entry)["file"])
        return {"backing": pruned.get("backing"), "backing_backup": pruned.get("backing_backup"),
                "file_sha256": transports.file_sha256(path), "stored_size": repo.stored_size(path),
                "merged": list(pruned.get("merged") or []) + [pruned_name] + list(disk_backup(entry).get("merged") or []), "merged_at": utc_timestamp()}

    def renumber(self, backups):
        """Chain depths shrink when a chain loses a file: the manifests say so (full_every counts them)."""
        depths = chain_depths(backups)
        for directory, manifest in backups:
            changed = False
            for entry in manifest.get("disks") or []:
                depth = depths.get((os.path.basename(directory), entry.get("index")))
                if entry.get("backup") and depth is not None and entry["backup"].get("chain_depth") != depth:
                    entry["backup"]["chain_depth"] = depth
                    changed = True
            if changed:
                repo.write_manifest(directory, manifest, self.file_mode)


def describe(error):
    return getattr(error, "message", None) or str(error)


# ----- manifests of deleted snapshots -------------------------------------------------------------------------
def manifests_of_snapshot(backup_dir, repository, snapshot):
    """Paths of the snapshot manifest (in backup_dir) and the repository manifest of a snapshot, where they exist."""
    vm_id = safe_path_part((snapshot.get("vm") or {}).get("id") or "")
    name = safe_path_part(snapshot.get("name"))
    paths = []
    if backup_dir:
        paths += glob.glob(os.path.join(backup_dir, "*-%s" % vm_id, name + ".json"))
    if repository:
        paths += glob.glob(os.path.join(repository, "*", "*-%s" % vm_id, name, repo.MANIFEST_NAME))
    return sorted(paths)


def is_manifest_of(manifest, snapshot):
    recorded = manifest.get("snapshot") or {}
    if snapshot.get("id") and recorded.get("id"):
        return recorded["id"] == snapshot["id"]
    return recorded.get("name") == snapshot.get("name")


def mark_snapshot_deleted(path, snapshot, check_mode=False):
    """Say in the manifest at path that its snapshot is gone; True when it did not say so yet."""
    manifest = read_manifest(path)
    if not manifest or not is_manifest_of(manifest, snapshot):
        return False
    if (manifest.get("backup") or {}).get("snapshot_status") == "deleted":
        return False
    if not check_mode:
        manifest.setdefault("backup", {})["snapshot_status"] = "deleted"
        manifest["snapshot_deleted"] = {"at": utc_timestamp(), "reason": snapshot.get("reason"), "task_id": snapshot.get("task_id")}
        write_atomically(path, render(manifest), os.stat(path).st_mode & 0o777)
    return True


def mark_deleted_snapshots(backup_dir, repository, deleted, check_mode=False):
    """[{path, snapshot}] of the manifests now saying (or that would say) their snapshot was deleted."""
    statuses = GONE_STATUSES + (PLANNED_STATUSES if check_mode else ())
    marked = []
    for snapshot in deleted or []:
        if snapshot.get("status") not in statuses:
            continue
        for path in manifests_of_snapshot(backup_dir, repository, snapshot):
            if mark_snapshot_deleted(path, snapshot, check_mode):
                marked.append({"path": path, "snapshot": {"id": snapshot.get("id"), "name": snapshot.get("name")}})
    return marked
