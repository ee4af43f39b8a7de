# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup repository: a directory tree that outlives the cluster.

Layout (stable; docs/backup.md documents it)::

    <repository>/<cluster name>/<vm name>-<vm id>/<backup name>/manifest.json
                                                             /disk-<index>.qcow2

A backup directory is complete exactly when it holds manifest.json with "complete": true. Disk files are written
under temporary names (a leading '.', the run's token and a '.tmp' suffix) and renamed only once complete and
checked; the manifest is written last, atomically. So a run killed at any point leaves no manifest claiming a
complete backup, and what it leaves (temporary files) is removed by the next run - not while it is alive
(RunRegistry), so two runs on one host never remove each other's files.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import os
import re
import secrets
import tempfile

from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest import render
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import read_manifest, safe_path_part, write_atomically

MANIFEST_NAME = "manifest.json"
REPOSITORY_FORMAT = "smartx.cloudtower/vm-backup-repository"
REPOSITORY_FORMAT_VERSION = 1
DIR_MODE = 0o750
FILE_MODE = 0o640
TEMPORARY_GLOB = ".*.tmp"
# The run a temporary file or a cloned LUN belongs to: '.<file>.<token>.tmp', '<clone name>-<token>'.
TOKEN_IN_TEMPORARY = re.compile(r"\.([0-9a-f]{8})\.")
TOKEN = re.compile(r"^[0-9a-f]{8}$")


def disk_file_name(index):
    return "disk-%s.qcow2" % index


def temporary_name(path, token):
    """A hidden sibling of path that no reader takes for a finished file, naming the run that writes it."""
    return os.path.join(os.path.dirname(path), ".%s.%s.tmp" % (os.path.basename(path), token))


def default_runs_directory():
    """Where this host's runs hold their locks: per user, as flock is per host and user ids are per host."""
    return os.path.join(tempfile.gettempdir(), "smartx.cloudtower-backup-runs-%d" % os.geteuid())


class RunRegistry:
    """Which runs on this host are alive, so that one never removes what another is still writing.

    A run takes a random token and holds an exclusive flock on <directory>/<token>.lock until its process ends (the
    kernel drops the lock when the process dies, even by SIGKILL). Temporary files and cloned LUNs carry the token;
    what carries the token of a run that no longer holds its lock is a leftover, anything else is in flight.
    """

    def __init__(self, directory=None):
        self.directory = directory or default_runs_directory()
        self.held = {}

    def lock_path(self, token):
        return os.path.join(self.directory, "%s.lock" % token)

    def start(self):
        """A new run's token, its lock held by this process."""
        make_directories(self.directory, 0o700)
        token = secrets.token_hex(4)
        fd = os.open(self.lock_path(token), os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.held[token] = fd
        return token

    def finish(self, token):
        fd = self.held.pop(token, None)
        if fd is not None:
            os.unlink(self.lock_path(token))
            os.close(fd)

    def is_alive(self, token):
        """True while a process holds token's lock; a dead run's lock file is removed on the way."""
        if not token or not TOKEN.match(token):
            return False
        if token in self.held:
            return True
        try:
            fd = os.open(self.lock_path(token), os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EACCES):
                return True
            raise
        try:
            os.unlink(self.lock_path(token))
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)
        return False


def token_of_temporary(path):
    match = TOKEN_IN_TEMPORARY.search(os.path.basename(path))
    return match.group(1) if match else None


def vm_path(repository, cluster_name, vm):
    return os.path.join(repository, safe_path_part(cluster_name or "unknown-cluster"),
                        "%s-%s" % (safe_path_part(vm.get("name")), safe_path_part(vm["id"])))


def find_vm_directories(repository, vm):
    """The repository directories of the VM with id vm or, when no id matches, named vm: [path] (any cluster)."""
    safe = safe_path_part(vm)
    # Directories are <vm name>-<vm id>; CloudTower ids hold no '-', so the last '-' splits the two.
    candidates = [path for path in glob.glob(os.path.join(repository, "*", "*")) if os.path.isdir(path)]
    return sorted([path for path in candidates if os.path.basename(path).rsplit("-", 1)[-1] == safe]
                  or [path for path in candidates if os.path.basename(path).rsplit("-", 1)[0] == safe])


def backup_path(repository, cluster_name, vm, backup_name):
    return os.path.join(vm_path(repository, cluster_name, vm), safe_path_part(backup_name))


def make_directories(path, mode=DIR_MODE):
    """Create path and its missing parents with mode (umask aside: backups are not for every local user)."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        current = os.path.dirname(current)
    for directory in reversed(missing):
        os.makedirs(directory, exist_ok=True)
        os.chmod(directory, mode)


def remove_temporary_files(vm_directory, registry):
    """Delete what interrupted runs left in a VM's backups: [paths removed]. Files of live runs stay."""
    removed = []
    for path in sorted(glob.glob(os.path.join(vm_directory, "*", TEMPORARY_GLOB))):
        if registry.is_alive(token_of_temporary(path)):
            continue
        try:
            os.unlink(path)
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


def read_backup(directory):
    """The manifest of a complete backup in directory, or None (no manifest, unreadable, or not complete)."""
    manifest = read_manifest(os.path.join(directory, MANIFEST_NAME))
    if not manifest or manifest.get("repository", {}).get("format") != REPOSITORY_FORMAT:
        return None
    return manifest if manifest.get("repository", {}).get("complete") else None


def backup_sort_key(manifest):
    backup = manifest.get("backup") or {}
    return (backup.get("snapshot_taken_at") or backup.get("started_at") or "", manifest.get("written_at") or "")


def complete_backups(vm_directory, exclude=None):
    """[(directory, manifest)] of the VM's complete backups, oldest first."""
    found = []
    for entry in sorted(os.listdir(vm_directory)) if os.path.isdir(vm_directory) else []:
        directory = os.path.join(vm_directory, entry)
        if entry == exclude or not os.path.isdir(directory):
            continue
        manifest = read_backup(directory)
        if manifest is not None:
            found.append((directory, manifest))
    return sorted(found, key=lambda item: backup_sort_key(item[1]))


def same_disk(entry, other):
    """Two manifests' disk entries are the same disk when index and volume agree (disk ids change on re-sync)."""
    return entry.get("index") == other.get("index") and entry.get("vm_volume_local_id") == other.get("vm_volume_local_id")


def previous_disk(backups, disk):
    """(directory, disk entry) of the newest complete backup holding this disk, or (None, None)."""
    for directory, manifest in reversed(backups):
        for entry in manifest.get("disks") or []:
            if same_disk(entry, disk) and (entry.get("backup") or {}).get("file"):
                return directory, entry
    return None, None


def chain_plan(backups, disk, incremental, full_every):
    """Where a disk's new file starts: {'backing': relative path or None, 'backing_backup', 'depth'}.

    depth counts the files below the new one; full_every N keeps chains at most N files long, so a restore
    never reads through more than N files and one damaged file costs at most N-1 later backups.
    """
    directory, previous = previous_disk(backups, disk) if incremental else (None, None)
    depth = (previous or {}).get("backup", {}).get("chain_depth", 0) + 1 if previous else 0
    if previous is None or (full_every and depth >= full_every):
        return {"backing": None, "backing_backup": None, "depth": 0}
    backing = os.path.join("..", os.path.basename(directory), previous["backup"]["file"])
    return {"backing": backing, "backing_backup": os.path.basename(directory), "depth": depth}


def finish_file(temporary, final, mode=FILE_MODE):
    """Give a checked temporary file its permissions and its final name."""
    os.chmod(temporary, mode)
    os.replace(temporary, final)


def write_manifest(directory, manifest, mode=FILE_MODE):
    """The backup's manifest, last and atomically: its presence is what makes the backup exist."""
    path = os.path.join(directory, MANIFEST_NAME)
    write_atomically(path, render(manifest), mode)
    return path


def stored_size(path):
    """Bytes the file occupies on disk (holes cost nothing)."""
    return os.stat(path).st_blocks * 512
