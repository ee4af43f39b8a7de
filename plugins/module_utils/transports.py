# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moving disk bytes: qemu-img reads an iSCSI LUN into QCOW2, builds increments, checks and digests files.

Every byte is read and written by qemu-img (libiscsi for iSCSI, its own QCOW2 code): this module only composes
its command lines. Nothing here holds a secret: the portal serves this host's target by address and initiator
name, so no password is ever on a command line.

Digests: sha256 over 40 GiB of (mostly zero) disk costs over a minute of CPU on a small backup host, so the
logical content is digested the way the CloudTower simulator digests volumes: sha256 over the size and every
non-zero 64 KiB block with its offset (DIGEST_ALGORITHM). Two disks of one size have equal digests exactly when
they hold the same bytes, and the cost follows the data, not the size.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import subprocess
import threading

DIGEST_ALGORITHM = "sha256-sparse-64k-v1"
BLOCK = 64 * 1024
SEEK_DATA = getattr(os, "SEEK_DATA", 3)
SEEK_HOLE = getattr(os, "SEEK_HOLE", 4)
# qemu-io commands per process when marking blocks zero: one process, not one per block, within argv limits.
ZERO_COMMANDS_PER_RUN = 2000
# What qemu-img -p prints as it goes: "    (12.00/100%)" lines ended by carriage returns.
PROGRESS = re.compile(rb"\((\d+(?:\.\d+)?)/100%\)")
SECRET_ID = "chap0"


class CopyError(Exception):
    """A step of one disk's copy failed; step is clone, read, write or verify."""

    def __init__(self, step, message):
        super().__init__(message)
        self.step = step
        self.message = message


def iscsi_image_opts(host, port, iqn, lun, initiator, chap_user=None):
    """qemu's --image-opts for a LUN, read as initiator (the name the target's whitelist holds).

    With chap_user, the CHAP secret is the qemu secret object SECRET_ID, which run_with_secret hands to qemu-img
    through a pipe: never on the command line, never in a file.
    """
    portal = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    opts = "driver=iscsi,transport=tcp,portal=%s,target=%s,lun=%d,initiator-name=%s" % (portal, iqn, int(lun), initiator)
    return opts + (",user=%s,password-secret=%s" % (chap_user, SECRET_ID) if chap_user else "")


def run_with_secret(argv, secret, on_percent=None):
    """(rc, stdout, stderr) of a qemu-img command reading a LUN with CHAP: the secret goes through a pipe.

    qemu reads "--object secret,file=/dev/fd/N" to its end; the pipe's write end is closed before qemu-img starts,
    so the secret is never on a command line (ps shows /dev/fd/N) nor in any file.
    """
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, secret.encode("utf-8"))
        os.close(write_end)
        write_end = None
        argv = argv[:2] + ["--object", "secret,id=%s,file=/dev/fd/%d" % (SECRET_ID, read_end)] + argv[2:]
        return run_streaming(argv, on_percent, pass_fds=(read_end,))
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)


def run_checked(runner, step, argv):
    """stdout of argv; CopyError(step) naming the command's first words and its stderr when it fails."""
    rc, out, err = runner(argv)
    if rc != 0:
        detail = (err or out or "").strip().splitlines()
        raise CopyError(step, "%s exited %s: %s" % (" ".join(argv[:2]), rc, detail[-1] if detail else "no output"))
    return out


def run_streaming(argv, on_percent=None, pass_fds=()):
    """(rc, stdout, stderr) of a qemu-img command; with on_percent, given -p and calling on_percent(percent) as it goes.

    AnsibleModule.run_command returns the output only at the end and passes no file descriptor (pass_fds, for a
    CHAP secret's pipe): this is its contract otherwise, argv with no shell.
    """
    if on_percent is not None:
        argv = argv[:2] + ["-p"] + argv[2:]
    with subprocess.Popen(  # pylint: disable=ansible-bad-function
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=pass_fds) as process:
        errors = []
        reader = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)
        reader.start()
        pending = b""
        for chunk in iter(lambda: process.stdout.read1(4096), b""):
            *lines, pending = re.split(rb"[\r\n]", pending + chunk)
            for line in lines:
                match = PROGRESS.search(line)
                if match and on_percent is not None:
                    on_percent(float(match.group(1)))
        process.wait()
        reader.join()
    return process.returncode, "", b"".join(errors).decode("utf-8", "replace")


def convert(runner, step, argv, progress=None, phase=None, secret=None):
    """run_checked of a qemu-img convert; with progress(phase, percent), streaming its progress; with secret, CHAP."""
    on_percent = (lambda percent: progress(phase, percent)) if progress is not None else None
    if secret is not None:
        return run_checked(lambda command: run_with_secret(command, secret, on_percent), step, argv)
    if progress is None:
        return run_checked(runner, step, argv)
    return run_checked(lambda command: run_streaming(command, on_percent), step, argv)


def read_lun(runner, image_opts, output, backing=None, progress=None, secret=None):
    """read_image of a LUN given as qemu's --image-opts (see iscsi_image_opts)."""
    return read_image(runner, ["--image-opts", image_opts], output, backing, progress, secret)


def read_image(runner, source, output, backing=None, progress=None, secret=None):
    """Read a disk into output (QCOW2, zero blocks not stored); with backing, store only what differs from it.

    source: qemu-img's arguments naming the disk - ["--image-opts", <LUN>] over iSCSI, ["-f", "qcow2", <file>] for a
    downloaded export. Every transport ends here, so the chain rule and the increments are made one way.

    Returns the digest of what was read when it was read through a raw copy (increments), else None.
    progress(phase, percent), when given, hears how far each long qemu-img command is. secret: the CHAP secret of
    a LUN's password-secret (see iscsi_image_opts).

    qemu-img convert -B writes every allocated block whatever the backing holds, and qemu-img rebase compares the
    whole virtual size (minutes for a 500 GiB disk). So an increment is made from sparse raw copies whose cost
    follows the data: the LUN and the previous backup (through its chain) are converted to raw, the 64 KiB blocks
    that differ are put into a sparse raw "patch" (holes elsewhere), qemu-img converts the patch to QCOW2 (holes
    stay unallocated) and points it at the previous backup as its backing file, so the holes read through to it.
    The backing stays a relative path, so the repository can move. QCOW2 is only ever written by qemu-img.
    """
    if backing is None:
        convert(runner, "read", ["qemu-img", "convert", "-O", "qcow2"] + list(source) + [output], progress, "reading", secret)
        return None
    directory = os.path.dirname(output)
    new_raw, old_raw, patch = (os.path.join(directory, ".%s.%s.tmp" % (os.path.basename(output).lstrip("."), part))
                               for part in ("new", "old", "patch"))
    try:
        convert(runner, "read", ["qemu-img", "convert", "-O", "raw"] + list(source) + [new_raw], progress, "reading", secret)
        convert(runner, "read", ["qemu-img", "convert", "-O", "raw", os.path.join(directory, backing), old_raw], progress,
                "reading the previous backup")
        size = os.path.getsize(new_raw)
        zeroed = write_patch(new_raw, old_raw, patch, size)
        run_checked(runner, "write", ["qemu-img", "convert", "-O", "qcow2", patch, output])
        # Unallocated clusters of the increment read through to the previous backup: setting the backing file
        # without comparing anything (-u) is exactly right, as the patch holds every block that differs...
        run_checked(runner, "write", ["qemu-img", "rebase", "-u", "-f", "qcow2", "-b", backing, "-F", "qcow2", output])
        # ...except the blocks that became zero, which qemu-img convert leaves unallocated: qemu-io marks them zero.
        for start in range(0, len(zeroed), ZERO_COMMANDS_PER_RUN):
            commands = []
            for offset, length in zeroed[start:start + ZERO_COMMANDS_PER_RUN]:
                commands.extend(["-c", "write -z %d %d" % (offset, length)])
            run_checked(runner, "write", ["qemu-io", "-f", "qcow2"] + commands + [output])
        return sparse_digest_of_raw(new_raw, size)
    finally:
        for path in (new_raw, old_raw, patch):
            if os.path.exists(path):
                os.unlink(path)


def block_ranges(extents):
    """Sorted, merged [(start, end)] of extents widened to whole 64 KiB blocks."""
    merged = []
    for start, end in sorted((s - s % BLOCK, e + (-e) % BLOCK) for s, e in extents):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def write_patch(new_raw, old_raw, patch, size):
    """Write into patch (a sparse raw file of size bytes) every 64 KiB block where new_raw differs from old_raw.

    Only blocks holding data in either file can differ (holes read as zeros in both), so the cost follows the data.
    Blocks that became zero are not written (a converted patch would not store them): their [(offset, length)]
    is returned, merged, to be marked zero in the increment, where they must hide what the backing file holds.
    """
    zeroed = []
    with open(new_raw, "rb") as new, open(old_raw, "rb") as old, open(patch, "wb") as out:
        out.truncate(size)
        old_size = os.path.getsize(old_raw)
        extents = data_extents(new.fileno(), size) + data_extents(old.fileno(), min(old_size, size))
        for start, end in block_ranges(extents):
            for offset in range(start, min(end, size), BLOCK):
                length = min(BLOCK, size - offset)
                block = os.pread(new.fileno(), length, offset).ljust(length, b"\0")
                if block == os.pread(old.fileno(), length, offset).ljust(length, b"\0"):
                    continue
                if block.count(0) == length:
                    if zeroed and zeroed[-1][0] + zeroed[-1][1] == offset:
                        zeroed[-1] = (zeroed[-1][0], zeroed[-1][1] + length)
                    else:
                        zeroed.append((offset, length))
                else:
                    os.pwrite(out.fileno(), block, offset)
    return zeroed


def image_info(runner, path, step="verify"):
    """qemu-img info of path with its whole backing chain: [{filename, virtual-size, backing-filename, ...}]."""
    out = run_checked(runner, step, ["qemu-img", "info", "--backing-chain", "--output=json", path])
    data = json.loads(out)
    return data if isinstance(data, list) else [data]


def check_image(runner, path):
    """None when qemu-img check finds the file sound (leaked clusters only waste space), else its complaint."""
    rc, out, err = runner(["qemu-img", "check", "--output=json", path])
    if rc in (0, 3):
        return None
    try:
        report = json.loads(out)
        return "qemu-img check: %s corruption(s), %s error(s)" % (report.get("corruptions", "?"), report.get("check-errors", "?"))
    except ValueError:
        lines = (err or out or "").strip().splitlines()
        return "qemu-img check exited %s: %s" % (rc, lines[-1] if lines else "no output")


def data_extents(fd, size):
    """[(start, end)] of the data of a sparse file (the whole file where the file system cannot say)."""
    extents = []
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, SEEK_DATA)
        except OSError:
            break  # ENXIO: only a hole is left.
        end = os.lseek(fd, start, SEEK_HOLE)
        extents.append((start, min(end, size)))
        offset = end
    return extents


def sparse_digest_of_raw(path, size):
    """DIGEST_ALGORITHM over a raw file: size, then every non-zero 64 KiB block (aligned) with its offset."""
    digest = hashlib.sha256(b"smartx.cloudtower sparse-sha256 v1 size=%d\n" % size)
    zero = bytes(BLOCK)
    with open(path, "rb") as stream:
        for start, end in data_extents(stream.fileno(), size):
            offset = start - start % BLOCK
            while offset < end:
                block = os.pread(stream.fileno(), min(BLOCK, size - offset), offset)
                if block and block != zero[:len(block)]:
                    digest.update(struct.pack(">QI", offset, len(block)))
                    digest.update(block)
                offset += BLOCK
    return digest.hexdigest()


def logical_digest(runner, path, virtual_size, step="verify", token=None, progress=None):
    """The digest of what a restore of path (through its backing chain) reads.

    qemu-img converts the chain into a hidden sparse raw file beside it (only data is written), which is hashed
    and deleted: reading QCOW2 stays qemu-img's job.
    """
    # Named with the run's token: a copy run cleaning up leaves the files of live runs alone.
    raw = os.path.join(os.path.dirname(path), ".%s.%s.verify.tmp" % (os.path.basename(path), token or "run"))
    try:
        convert(runner, step, ["qemu-img", "convert", "-O", "raw", path, raw], progress, "verifying")
        return sparse_digest_of_raw(raw, virtual_size)
    finally:
        if os.path.exists(raw):
            os.unlink(raw)


def file_sha256(path):
    """sha256 of the stored file itself: a flipped byte anywhere in it changes this."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
