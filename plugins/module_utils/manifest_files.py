# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup manifests on disk: where each VM's manifest goes, reading it back, writing it atomically, and the
checks of backup_dir made before anything is written.
"""

from __future__ import annotations

import os
import re
import tempfile

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest import parse

UNSAFE_PATH_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]")


def safe_path_part(text):
    """A file-name-safe form of a VM or snapshot name: no separators, no leading dot, never empty."""
    cleaned = UNSAFE_PATH_CHARACTERS.sub("_", text or "").lstrip(".")
    return cleaned or "_"


def vm_directory(backup_dir, vm):
    """<backup_dir>/<vm name>-<vm id>: the id keeps two VMs of the same name apart."""
    return os.path.join(backup_dir, "%s-%s" % (safe_path_part(vm.get("name")), safe_path_part(vm["id"])))


def manifest_path(backup_dir, vm, snapshot_name):
    return os.path.join(vm_directory(backup_dir, vm), safe_path_part(snapshot_name) + ".json")


def read_manifest(path):
    """The manifest at path, or None when there is none (or it cannot be read as JSON)."""
    try:
        with open(path, "r", encoding="utf-8") as stream:
            return parse(stream.read())
    except (OSError, ValueError):
        return None


def write_atomically(path, text, mode):
    """Write text to path so that a reader sees the old file or the new one, never a part.

    A temporary file in the same directory is written, flushed and fsynced, then
    renamed over path; the directory is fsynced so the rename survives a crash.
    """
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    replaced = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            os.fchmod(stream.fileno(), mode)
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
        replaced = True
    finally:
        if not replaced and os.path.exists(temporary):
            os.unlink(temporary)
    sync_directory(directory)


def sync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # Some file systems cannot fsync a directory; the rename itself is still atomic.
    finally:
        os.close(fd)


def parse_mode(option, value):
    """File permissions from an octal string such as 0640."""
    text = str(value)
    if not re.match(r"^0?[0-7]{3,4}$", text):
        raise InputError(option, value, "must be octal permissions such as '0640'")
    return int(text, 8)


def nearest_existing(path):
    current = os.path.abspath(path)
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def check_backup_dir(option, path, probe=False):
    """Refuse a backup directory that is a file, or that cannot be created or written to.

    Permission bits do not tell everything (root may write anywhere by them, yet not under /proc, nor on a
    read-only mount): with probe, the directory is created and a file is written and removed in it, so the
    refusal comes before the first snapshot rather than after it.
    """
    if not path or not str(path).strip():
        raise InputError(option, path, "must name a directory (an empty value would mean the current directory)")
    absolute = os.path.abspath(path)
    existing = nearest_existing(absolute)
    if existing == absolute and not os.path.isdir(absolute):
        raise InputError(option, path, "exists and is not a directory")
    if not os.path.isdir(existing):
        raise InputError(option, path, "cannot be created: %s is not a directory" % existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(option, path, "is not writable: no write permission on %s" % existing)
    if probe:
        probe_directory(option, path, absolute, existing)
    return absolute


def probe_directory(option, path, absolute, existing):
    """Create absolute, write and remove a file in it, then remove the directories made for this: nothing stays."""
    made = []
    parent = absolute
    while parent != existing:
        made.append(parent)
        parent = os.path.dirname(parent)
    try:
        for directory in reversed(made):
            os.mkdir(directory)
        handle, probe_path = tempfile.mkstemp(prefix=".write-probe-", dir=absolute)
        os.close(handle)
        os.unlink(probe_path)
    except OSError as error:
        raise InputError(option, path, "cannot be written to: %s" % (error.strerror or error))
    finally:
        for directory in made:
            try:
                os.rmdir(directory)
            except OSError:
                pass
