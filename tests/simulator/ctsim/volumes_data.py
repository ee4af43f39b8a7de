"""The bytes behind iSCSI LUNs and LUN snapshots: sparse files under the simulator's data directory.

A VM volume's content is its LUN's content. Nothing is written until a byte is needed: a LUN or LUN snapshot
carries a content descriptor (`_content`) that says how its bytes would look -
    ("pattern", seed)   deterministic, recognisable demo content derived from the seed (see pattern_blocks)
    ("zero",)           a fresh, empty disk
    ("file",)           materialised: the bytes are the file at path_of(...)
so a 10,000-VM state costs one dict key per LUN, and a 40 GiB disk costs a few blocks on disk once touched.
A LUN snapshot taken of a LUN that was never materialised just copies the descriptor (its bytes are, by
definition, the same); one taken of a materialised LUN gets a copy-on-write copy of the file (reflink where the
filesystem has it, otherwise a copy of the data extents only, which keeps it sparse).

A LUN cloned from a snapshot (and a volume rebuilt from one) gets its bytes from a deferred copy (CopyJob): the
request prepares it under the simulator's lock, the request's thread copies after releasing the lock, and the
task's end only waits for it. CloudTower clones copy-on-write and serves other requests meanwhile; a copy under
the one lock made the simulated cluster serve every other request after it.
"""

import errno
import fcntl
import hashlib
import os
import shutil
import struct
import threading

BLOCK = 64 * 1024
SECTOR = 512
FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
MAGIC = b"CTSIM-DISK"


# ----- deterministic demo content -------------------------------------------------------------------------

def boot_sector(seed):
    """A 512-byte MBR-like header naming the seed, ending in the 0x55AA boot signature."""
    text = MAGIC + b"\0" + ("seed=%s" % seed).encode("utf-8")[:400]
    return text.ljust(SECTOR - 2, b"\0") + b"\x55\xaa"


def pattern_block(seed, offset):
    """64 KiB whose every 32 bytes are sha256(seed:offset): different per disk and per place."""
    return hashlib.sha256(("%s:%d" % (seed, offset)).encode("utf-8")).digest() * (BLOCK // 32)


def pattern_offsets(size):
    """Where demo content sits: a few blocks spread over the disk (start, 1 MiB, middle, end)."""
    candidates = (1024 * 1024, (size // 2) // BLOCK * BLOCK, (size - BLOCK) // BLOCK * BLOCK)
    return sorted({offset for offset in candidates if 0 < offset and offset + BLOCK <= size})


def pattern_blocks(seed, size):
    """[(offset, bytes)] of a pattern disk; everything else reads as zeros."""
    blocks = [(0, boot_sector(seed))] if size >= SECTOR else []
    return blocks + [(offset, pattern_block(seed, offset)) for offset in pattern_offsets(size)]


# ----- sparse files -----------------------------------------------------------------------------------

def data_extents(fd, size):
    """(start, end) ranges that may hold data; holes are skipped where the filesystem reports them."""
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as error:
            if error.errno == errno.ENXIO:
                return
            raise
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        if start >= size:
            return
        yield start, end
        offset = end


def nonzero_blocks(path, size):
    """(offset, bytes) of every 64 KiB-aligned block that is not all zeros, in order."""
    zero = bytes(BLOCK)
    with open(path, "rb") as stream:
        fd = stream.fileno()
        last = -BLOCK
        for start, end in data_extents(fd, size):
            offset = max(start // BLOCK * BLOCK, last + BLOCK)
            while offset < end:
                block = os.pread(fd, min(BLOCK, size - offset), offset)
                if block != zero[:len(block)]:
                    yield offset, block
                last = offset
                offset += BLOCK


def sparse_digest(path, size=None):
    """sha256 over the size and every non-zero aligned block with its offset.

    Two disks of the same size have the same digest exactly when they hold the same bytes, however their files
    are laid out (holes or written zeros), and the digest costs time only for the data, not the size: a 500 GiB
    demo disk is hashed in milliseconds. Tests use it on raw files written by qemu-img too."""
    size = os.path.getsize(path) if size is None else size
    digest = hashlib.sha256(b"ctsim-sparse-v1 size=%d\n" % size)
    for offset, block in nonzero_blocks(path, size):
        digest.update(struct.pack(">QI", offset, len(block)))
        digest.update(block)
    return digest.hexdigest()


def clone_file(source, target, size):
    """Copy-on-write copy into `target`, rewritten in place (same inode, so an iSCSI target that has it open
    sees the new bytes): reflink when the filesystem can, else copy only the data extents (stays sparse)."""
    with open(source, "rb") as src:
        dst_fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.ftruncate(dst_fd, 0)
            try:
                fcntl.ioctl(dst_fd, FICLONE, src.fileno())
                os.ftruncate(dst_fd, size)
                return "reflink"
            except OSError:
                pass
            for start, end in data_extents(src.fileno(), size):
                _copy_range(src.fileno(), dst_fd, start, end)
            os.ftruncate(dst_fd, size)
            return "sparse-copy"
        finally:
            os.close(dst_fd)


def _copy_range(src_fd, dst_fd, start, end):
    offset = start
    while offset < end:
        chunk = os.pread(src_fd, min(4 * 1024 * 1024, end - offset), offset)
        if not chunk:
            return
        os.pwrite(dst_fd, chunk, offset)
        offset += len(chunk)


class CopyJob:
    """The bytes of a snapshot copied into a new entity's (fresh, full-size, sparse) file, outside the simulator's
    lock. Whoever needs the bytes first runs it (claim); anyone else waits for it."""

    def __init__(self, source_path, length, target_path):
        self.source_path = source_path
        self.length = length
        self.target_path = target_path
        self.error = None
        self.done = threading.Event()
        self._claimed = False
        self._claim_lock = threading.Lock()

    def _claim(self):
        with self._claim_lock:
            claimed, self._claimed = self._claimed, True
            return not claimed

    def run(self):
        """Copy now unless someone already is (then return at once; complete() waits)."""
        if not self._claim():
            return
        try:
            with open(self.source_path, "rb") as src:
                dst_fd = os.open(self.target_path, os.O_RDWR)
                try:
                    for start, end in data_extents(src.fileno(), self.length):
                        _copy_range(src.fileno(), dst_fd, start, end)
                finally:
                    os.close(dst_fd)
        except OSError as error:  # the source went (snapshot deleted, state reset): the task's end decides
            self.error = error
        finally:
            self.done.set()

    def complete(self):
        """Run or wait for the copy; True when the bytes are in place."""
        self.run()
        self.done.wait()
        return self.error is None


# ----- the store ------------------------------------------------------------------------------------------

class VolumeData:
    """Content of the LUNs (table iscsi_luns) and LUN snapshots (iscsi_lun_snapshots) of one simulator state."""

    def __init__(self, root):
        self.root = root
        # entity id -> CopyJob of an entity whose bytes are still being copied in.
        self.copies = {}
        self._deferred = threading.local()

    @staticmethod
    def describe_new(entity, seed=None):
        """Give a new LUN its content: the demo pattern of `seed`, or zeros."""
        entity["_content"] = ("pattern", seed) if seed is not None else ("zero",)

    def path_of(self, table, entity):
        return os.path.join(self.root, table, entity["id"] + ".img")

    @staticmethod
    def size_of(table, entity):
        return entity["assigned_size"] if table == "iscsi_luns" else entity["_size"]

    def is_materialised(self, entity):
        return (entity.get("_content") or ("zero",))[0] == "file"

    def materialise(self, table, entity, wait_for_copy=True):
        """The file holding the entity's bytes, written now if it was only described so far. A file whose bytes are
        still being copied in is complete on return unless wait_for_copy is False (the portal exporting it: the
        file already has its size and is rewritten in place)."""
        path = self.path_of(table, entity)
        job = self.copies.get(entity["id"])
        if job is not None:
            if not wait_for_copy:
                return path
            if job.complete():
                entity["_content"] = ("file",)
        if self.is_materialised(entity):
            return path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        content = entity.get("_content") or ("zero",)
        size = self.size_of(table, entity)
        with open(path, "wb") as stream:
            stream.truncate(size)
            if content[0] == "pattern":
                for offset, block in pattern_blocks(content[1], size):
                    os.pwrite(stream.fileno(), block, offset)
        entity["_content"] = ("file",)
        return path

    def write(self, table, entity, offset, data):
        """A guest write: data lands at offset (the size never changes)."""
        size = self.size_of(table, entity)
        if offset < 0 or offset + len(data) > size:
            raise ValueError("write of %d bytes at %d is outside the volume (size %d)" % (len(data), offset, size))
        path = self.materialise(table, entity)
        with open(path, "r+b") as stream:
            os.pwrite(stream.fileno(), data, offset)
        return len(data)

    def read(self, table, entity, offset, length):
        size = self.size_of(table, entity)
        length = max(0, min(length, size - offset))
        with open(self.materialise(table, entity), "rb") as stream:
            return os.pread(stream.fileno(), length, offset)

    def digest(self, table, entity):
        return sparse_digest(self.materialise(table, entity), self.size_of(table, entity))

    def copy_content(self, source_table, source, target_table, target):
        """Make target hold source's bytes now (a snapshot, a clone, a rollback); later writes to either stay
        apart. A target that has a file is rewritten in place; otherwise an unwritten source of the same size
        just lends its description."""
        same_size = self.size_of(source_table, source) == self.size_of(target_table, target)
        if not self.is_materialised(source) and not self.is_materialised(target) and same_size:
            target["_content"] = tuple(source.get("_content") or ("zero",))
            return
        self.replace_with_file(target_table, target, self.materialise(source_table, source), self.size_of(source_table, source))

    def prepare_copy(self, source_table, source, target_table, target):
        """Like copy_content, with the bytes copied later: by the requesting thread after it leaves the
        simulator's lock (run_deferred), at the latest by finish_copy. Call under the lock, for a target that has
        no bytes of its own yet (a new LUN); it keeps its old description until finish_copy."""
        same_size = self.size_of(source_table, source) == self.size_of(target_table, target)
        if not self.is_materialised(source) and not self.is_materialised(target) and same_size:
            return  # finish_copy lends the description: nothing to copy
        source_path = self.materialise(source_table, source)
        path = self.path_of(target_table, target)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        target_size = self.size_of(target_table, target)
        with open(path, "wb") as stream:
            stream.truncate(target_size)
        job = CopyJob(source_path, min(self.size_of(source_table, source), target_size), path)
        self.copies[target["id"]] = job
        if not hasattr(self._deferred, "jobs"):
            self._deferred.jobs = []
        self._deferred.jobs.append(job)

    def run_deferred(self):
        """Run the copies this thread prepared (outside the simulator's lock)."""
        jobs, self._deferred.jobs = getattr(self._deferred, "jobs", []), []
        for job in jobs:
            job.run()

    def finish_copy(self, source_table, source, target_table, target):
        """At the task's end (under the lock): the target holds source's bytes, from its prepared copy if it had
        one (waiting for it if another thread is still copying), otherwise as copy_content makes them."""
        job = self.copies.pop(target["id"], None)
        if job is not None and job.complete():
            target["_content"] = ("file",)
            return
        self.copy_content(source_table, source, target_table, target)

    def replace_with_file(self, table, entity, source_path, source_size):
        """Rewrite the entity's bytes (in place) from a raw file; past source_size it reads zeros."""
        path = self.path_of(table, entity)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        clone_file(source_path, path, source_size)
        with open(path, "r+b") as stream:
            stream.truncate(self.size_of(table, entity))
        entity["_content"] = ("file",)

    def discard(self, table, entity):
        """Free the entity's file (deleted volume, LUN or snapshot)."""
        if entity is None:
            return
        job = self.copies.pop(entity["id"], None)
        if job is not None:
            job.complete()  # its writes must not land after the unlink
        try:
            os.unlink(self.path_of(table, entity))
        except FileNotFoundError:
            pass
        entity["_content"] = ("zero",)

    def remove_all(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def disk_usage(self):
        """Bytes actually allocated under the state's directory (sparse files count their data only)."""
        total = 0
        for directory, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.stat(os.path.join(directory, name)).st_blocks * 512
                except FileNotFoundError:
                    pass
        return total
