# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Copying a batch of VM backups into the repository over iSCSI, one disk at a time per worker.

For each VM (a snapshot manifest written by cloudtower_backup_manifest): each disk's LUN snapshot is cloned
into this host's backup target, read with qemu-img into <backup>/disk-<index>.qcow2 (an increment on the
previous backup of the disk where there is one), checked and digested through its chain, and the clone is
deleted whatever happened. Only when every disk of the VM is done is its manifest.json written. A VM that
fails is reported with the disk, the step and the API request id; the other VMs go on.
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait as futures_wait

from ansible_collections.smartx.cloudtower.plugins.module_utils import volume_export
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import iscsi
from ansible_collections.smartx.cloudtower.plugins.module_utils.downloads import DownloadError, file_digest
from ansible_collections.smartx.cloudtower.plugins.module_utils.copy_progress import ProgressBoard
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest import utc_timestamp
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import read_manifest
from ansible_collections.smartx.cloudtower.plugins.module_utils import repository as repo
from ansible_collections.smartx.cloudtower.plugins.module_utils import transports
from ansible_collections.smartx.cloudtower.plugins.module_utils.snapshots import vm_label, vm_stub
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter


class CopySettings:
    """What the module was asked to do, checked before any request."""

    def __init__(self, repository, incremental=True, full_every=0, parallel_disks=2, iscsi_portal=None,
                 host_label=None, dir_mode=repo.DIR_MODE, file_mode=repo.FILE_MODE, chap=None, transport="iscsi"):
        self.repository = repository
        # iscsi or export: how the disks leave the cluster (the module resolves auto by CloudTower's version).
        self.transport = transport
        self.incremental = incremental
        self.full_every = full_every
        self.parallel_disks = parallel_disks
        self.iscsi_portal = iscsi_portal
        self.host_label = iscsi.host_label(host_label)
        self.dir_mode = dir_mode
        self.file_mode = file_mode
        # (name, secret) when the backup target asks for CHAP; the secret goes to CloudTower and to qemu-img's pipe only.
        self.chap = chap


class VmCopy:
    """One VM's backup into the repository: its snapshot manifest, where it goes, and what became of each disk."""

    def __init__(self, manifest_path, manifest, settings):
        self.manifest_path = manifest_path
        self.source = manifest
        self.vm = manifest.get("vm") or {}
        self.cluster = self.vm.get("cluster") or {}
        self.name = (manifest.get("backup") or {}).get("snapshot_name") or (manifest.get("snapshot") or {}).get("name")
        self.vm_directory = repo.vm_path(settings.repository, self.cluster.get("name"), self.vm)
        self.directory = repo.backup_path(settings.repository, self.cluster.get("name"), self.vm, self.name)
        self.disks = [dict(entry) for entry in manifest.get("disks") or []]
        self.failure = None
        self.status = None

    @property
    def label(self):
        return vm_label(self.vm)

    def fail(self, disk, step, message):
        # The first failure is the cause; later disks of the same VM are not copied in vain beyond it. The message
        # leaves the VM out: the role's report puts "<vm> (id <id>) [copy]: " before it, as for every other stage.
        if self.failure is None:
            self.failure = {"vm": vm_stub(self.vm), "stage": "copy", "disk": disk, "step": step,
                            "backup": self.name, "message": "disk %s [%s]: %s" % (disk, step, message)}


def load_vm_copies(paths, settings):
    """[VmCopy] of the snapshot manifests; a missing or unreadable manifest is a failed VM, not a crash."""
    copies, failures = [], []
    for path in paths:
        manifest = read_manifest(path)
        if not manifest or not manifest.get("vm") or manifest.get("disks") is None:
            failures.append({"vm": None, "stage": "copy", "disk": None, "step": "read_manifest", "backup": None,
                             "message": "cannot read the snapshot manifest %s" % path})
            continue
        copies.append(VmCopy(path, manifest, settings))
    return copies, failures


class SerialClient:
    """The module's client shared by the copy's threads: one request at a time (the client is not thread-safe),
    but no lock is held between requests, so one disk's task wait does not hold up another disk's clone.

    Each thread keeps the request id of its own last mutation, for its error messages.
    """

    def __init__(self, client):
        self._client = client
        self._lock = threading.Lock()
        self._local = threading.local()

    def call(self, *args, **kwargs):
        with self._lock:
            return self._client.call(*args, **kwargs)

    def mutate(self, *args, **kwargs):
        with self._lock:
            sent = len(self._client.mutations)
            try:
                return self._client.mutate(*args, **kwargs)
            finally:
                if len(self._client.mutations) > sent:
                    self._local.request_id = self._client.mutations[-1].get("request_id")

    @property
    def mutations(self):
        return self._client.mutations

    def last_request_id(self):
        """The request id of this thread's last mutation, or None."""
        return getattr(self._local, "request_id", None)


class Copier:
    """Runs the copies of a batch: API requests one at a time, task waits and copies side by side."""

    def __init__(self, client, waiter, runner, settings, clock=time.monotonic, registry=None, progress=None):
        self.client = SerialClient(client)
        # A waiter of its own over the serial client: polls are requests like any other, sleeps hold no lock.
        serial_waiter = TaskWaiter(self.client, waiter.timeout)
        self.api = iscsi.IscsiApi(self.client, serial_waiter)
        self.exporter = volume_export.VolumeExporter(self.client, serial_waiter)
        # Downloads of export links share the module's HTTP session (its TLS settings); requests are thread-safe enough
        # for concurrent GETs on one session.
        self.session = getattr(client, "session", None)
        self.volume_snapshots = {}
        self.runner = runner
        self.settings = settings
        self.clock = clock
        self.registry = registry or repo.RunRegistry()
        self.progress = progress or ProgressBoard()
        self.token = None
        self.targets = {}
        self.leftovers = []
        self.in_flight = []
        self.target_actions = []
        self.undeleted = []
        self.background = None

    # ----- per cluster -----------------------------------------------------------------------------------------
    def api_step(self, call, *args):
        """call(*args); a CloudTowerError's message gains the request id (of this thread's request) when it lacks one."""
        try:
            return call(*args)
        except CloudTowerError as error:
            request_id = getattr(error, "request_id", None) or self.client.last_request_id()
            message = error.message
            if self.settings.chap and self.settings.chap[1]:
                message = message.replace(self.settings.chap[1], "********")  # should CloudTower echo the secret
            if request_id and request_id not in message:
                message += " (x-tower-request-id: %s)" % request_id
            raise transports.CopyError(None, message)

    def prepare_cluster(self, cluster_id):
        """This host's target on the cluster, and the portal address: once per cluster, before any clone."""
        if cluster_id in self.targets:
            return self.targets[cluster_id]
        if self.settings.transport == "export":
            self.remove_leftover_volumes(cluster_id)
            self.targets[cluster_id] = {"cluster_id": cluster_id}
            return self.targets[cluster_id]
        portal = self.settings.iscsi_portal or self.api_step(self.api.cluster_iscsi_vip, cluster_id)
        if not portal:
            raise transports.CopyError("clone", "the cluster has no iSCSI VIP (iscsi_vip): give the portal in iscsi_portal")
        host, port = iscsi.parse_portal("iscsi_portal", portal)
        address = iscsi.local_address_towards(host, port)
        initiator = iscsi.initiator_name(self.settings.host_label)
        name = iscsi.backup_target_name(self.settings.host_label)
        target, action = self.api_step(self.api.ensure_target, cluster_id, name, address, initiator, self.settings.chap)
        if action:
            self.target_actions.append({"cluster_id": cluster_id, "target": name, "action": action, "ip_whitelist": address})
        self.remove_leftovers(target)
        self.targets[cluster_id] = {"target": target, "host": host, "port": port, "initiator": initiator}
        return self.targets[cluster_id]

    def remove_leftovers(self, target):
        """Clones an interrupted run left in our target are deleted and reported; those of live runs are not.

        Every LUN of the target is ours; its name ends with the token of the run that made it (iscsi.clone_name).
        """
        found = []
        for lun in self.api_step(self.api.find_clones, target["id"]):
            if self.registry.is_alive(lun["name"].rsplit("-", 1)[-1]):
                self.in_flight.append({"id": lun["id"], "name": lun["name"], "target": target["name"]})
            else:
                found.append(lun)
        if found:
            self.api_step(self.api.delete_luns, [lun["id"] for lun in found])
            self.leftovers.extend({"id": lun["id"], "name": lun["name"], "target": target["name"]} for lun in found)

    def remove_leftover_volumes(self, cluster_id):
        """Temporary volumes an interrupted export run left in the cluster are deleted and reported; those of live
        runs are not. Every volume named with our prefix is one (volume_export.temporary_volume_name)."""
        found = []
        for volume in self.api_step(self.exporter.find_temporary_volumes, cluster_id):
            if self.registry.is_alive(volume_export.token_of(volume["name"])):
                self.in_flight.append({"id": volume["id"], "name": volume["name"], "cluster_id": cluster_id})
            else:
                found.append(volume)
        if found:
            self.api_step(self.exporter.delete, [volume["id"] for volume in found])
            self.leftovers.extend({"id": v["id"], "name": v["name"], "cluster_id": cluster_id} for v in found)

    # ----- per disk --------------------------------------------------------------------------------------------
    def copy_disk(self, vm_copy, disk, plan, place):
        """Read (through the transport), check, digest, rename. Returns the disk's backup entry.

        What the transport made on the cluster for the read (a cloned LUN, a temporary volume) is deleted in every
        case: after a failed read at once, after a good one beside the verification (the deletion is mostly a task
        wait on the cluster's side, the verification this host's CPU and disk). The file keeps its temporary name
        until both are over and the transport's own checks (an export's md5) passed.
        """
        index = disk.get("index")
        final = os.path.join(vm_copy.directory, repo.disk_file_name(index))
        temporary = repo.temporary_name(final, self.token)
        started = self.clock()
        # Streaming qemu-img's progress only pays when someone reads the board.
        progress = self.progress.reporter((id(vm_copy), index)) if self.progress.path else None
        opened = self.export_source if self.settings.transport == "export" else self.iscsi_source
        with contextlib.ExitStack() as stack:
            source, secret = stack.enter_context(opened(vm_copy, disk, place, temporary, progress))
            source_digest = transports.read_image(self.runner, source, temporary, plan["backing"], progress, secret)
            release = stack.pop_all()
        released = self.background.submit(release.close)
        try:
            entry = self.check_new_file(temporary, disk, source_digest, progress)
        except BaseException:
            futures_wait([released])  # over before the disk counts as failed; its own error would hide this one
            raise
        released.result()
        repo.finish_file(temporary, final, self.settings.file_mode)
        entry.update(file=os.path.basename(final), transport=self.settings.transport, backing=plan["backing"],
                     backing_backup=plan["backing_backup"], chain_depth=plan["depth"], stored_size=repo.stored_size(final),
                     duration=round(self.clock() - started, 3))
        return entry

    @contextlib.contextmanager
    def iscsi_source(self, vm_copy, disk, place, _temporary, _progress):
        """The disk's LUN snapshot cloned into this host's target, as qemu-img reads it: (source, CHAP secret)."""
        clone = None
        try:
            try:
                clone = self.api_step(self.api.clone_lun, place["target"]["id"], iscsi.clone_name(vm_copy.vm["id"], disk.get("index"), self.token),
                                      (disk.get("lun_snapshot") or {}).get("id"))
            except transports.CopyError as error:
                raise transports.CopyError("clone", error.message)
            chap = self.settings.chap
            opts = transports.iscsi_image_opts(place["host"], place["port"], place["target"]["iqn_name"], clone["lun_id"], place["initiator"],
                                               chap[0] if chap else None)
            yield ["--image-opts", opts], (chap[1] if chap else None)
        finally:
            if clone is not None:
                self.delete_clone(clone)

    @contextlib.contextmanager
    def export_source(self, vm_copy, disk, _place, temporary, progress):
        """The disk's volume snapshot rebuilt into a temporary volume, exported as QCOW2 and downloaded beside the new
        file: (source, no secret). The download's md5 is checked while qemu-img reads it, before the new file can be
        kept. The temporary volume and the download are removed in every case."""
        index = disk.get("index")
        found = self.volume_snapshots.get(id(disk))
        if found is None:
            raise transports.CopyError("clone", "CloudTower lists no VM volume snapshot for the disk (snapshot_local_id %s)"
                                       % disk.get("snapshot_local_id"))
        name = volume_export.temporary_volume_name(vm_copy.vm["id"], index, self.token)
        download = temporary[:-len(".tmp")] + ".export.tmp"
        volume_id, md5 = None, None
        with ThreadPoolExecutor(max_workers=1) as pool:
            try:
                try:
                    volume_id, tasks = self.api_step(self.exporter.start_rebuild, found[0]["id"], name, "smartx.cloudtower backup %s" % vm_copy.name)
                    self.api_step(self.exporter.wait, tasks, "rebuild volume %s" % name)
                except transports.CopyError as error:
                    raise transports.CopyError("clone", error.message)
                try:
                    export_file = self.api_step(self.exporter.export, volume_id, "export volume %s" % name)
                    link = self.api_step(self.exporter.link, export_file)
                    on_bytes = (lambda done, total: progress("downloading", 100.0 * done / total if total else 0.0)) if progress else None
                    volume_export.download_export(self.session, link, export_file, download, "the export of disk %s" % index, on_bytes,
                                                  check_md5=False)
                except (transports.CopyError, DownloadError) as error:
                    raise transports.CopyError("read", error.message)
                listed = volume_export.listed_md5(export_file)
                md5 = pool.submit(file_digest, download, "md5") if listed else None
                yield ["-f", "qcow2", download], None
                if md5 is not None and md5.result() != listed:
                    raise transports.CopyError("read", "the export of disk %s: its md5 is %s, CloudTower lists %s" % (index, md5.result(), listed))
            finally:
                if md5 is not None:
                    md5.exception()  # the hash has read the file to its end before the file goes
                if os.path.exists(download):
                    os.unlink(download)
                if volume_id is not None:
                    self.delete_volume(volume_id, name)

    def delete_volume(self, volume_id, name):
        try:
            self.api_step(self.exporter.delete, [volume_id], "delete temporary volume %s" % name)
        except transports.CopyError as error:
            # The next run finds it by name and deletes it; the user hears about it now.
            self.undeleted.append({"id": volume_id, "name": name, "message": error.message})

    def check_new_file(self, path, disk, source_digest=None, progress=None):
        """qemu-img check and digests of a new file, before it gets its final name: nothing unchecked is kept.

        An increment is also compared with the digest of the LUN as it was read: the chain must read back the same.
        """
        problem = transports.check_image(self.runner, path)
        if problem:
            raise transports.CopyError("verify", problem)
        info = transports.image_info(self.runner, path)[0]
        size = int(info["virtual-size"])
        if disk.get("size") and int(disk["size"]) != size:
            raise transports.CopyError("verify", "the copy has %d bytes, the disk %s" % (size, disk["size"]))
        # The stored file's sha256 is taken while qemu-img reads the content back: two passes, one wait.
        with ThreadPoolExecutor(max_workers=1) as pool:
            file_sha256 = pool.submit(transports.file_sha256, path)
            digest = transports.logical_digest(self.runner, path, size, token=self.token, progress=progress)
            file_sha256 = file_sha256.result()
        if source_digest is not None and digest != source_digest:
            raise transports.CopyError("verify", "the increment read through its chain differs from the disk as read")
        return {"format": "qcow2", "virtual_size": size, "file_sha256": file_sha256,
                "digest": {"algorithm": transports.DIGEST_ALGORITHM, "value": digest}, "verified_at": utc_timestamp()}

    def delete_clone(self, clone):
        try:
            self.api_step(self.api.delete_luns, [clone["id"]])
        except transports.CopyError as error:
            # The next run finds it by name and deletes it; the user hears about it now.
            self.undeleted.append({"id": clone["id"], "name": clone.get("name"), "message": error.message})

    # ----- the batch -------------------------------------------------------------------------------------------
    def plan_vm(self, vm_copy):
        """Prepare a VM's directory and each disk's chain: [(disk, plan)]; cleans what a killed run left."""
        repo.make_directories(vm_copy.directory, self.settings.dir_mode)
        removed = repo.remove_temporary_files(vm_copy.vm_directory, self.registry)
        backups = repo.complete_backups(vm_copy.vm_directory, exclude=os.path.basename(vm_copy.directory))
        plans = [(disk, repo.chain_plan(backups, disk, self.settings.incremental, self.settings.full_every)) for disk in vm_copy.disks]
        return plans, removed

    def plan(self, vm_copies):
        """Check mode: which backups a real run would copy (V(planned)) and which exist already; nothing is sent."""
        for vm_copy in vm_copies:
            vm_copy.status = "exists" if repo.read_backup(vm_copy.directory) is not None else "planned"
        return vm_copies

    def run(self, vm_copies):
        """Copy every VM; returns (results, removed temporary files). The run is registered alive meanwhile."""
        self.token = self.registry.start()
        self.progress.start()
        try:
            return self.copy_all(vm_copies)
        finally:
            self.progress.finish()
            self.registry.finish(self.token)

    def copy_all(self, vm_copies):
        jobs, removed = [], []
        for vm_copy in vm_copies:
            if repo.read_backup(vm_copy.directory) is not None:
                vm_copy.status = "exists"
                continue
            try:
                place = self.prepare_cluster(vm_copy.cluster.get("id"))
                plans, cleaned = self.plan_vm(vm_copy)
            except (transports.CopyError, CloudTowerError, OSError) as error:
                vm_copy.fail(None, getattr(error, "step", None) or "prepare", getattr(error, "message", None) or str(error))
                continue
            removed.extend(cleaned)
            jobs.extend((vm_copy, disk, plan, place) for disk, plan in plans)
            for disk, _plan in plans:
                self.progress.add((id(vm_copy), disk.get("index")), vm_copy.label, disk.get("index"), disk.get("size"))
        if self.settings.transport == "export" and jobs:
            self.find_volume_snapshots(jobs)
        outcomes = self.run_jobs(jobs)
        for vm_copy in vm_copies:
            if vm_copy.status is None and vm_copy.failure is None:
                self.finish_vm(vm_copy, outcomes)
        return vm_copies, removed

    def find_volume_snapshots(self, jobs):
        """The VM volume snapshot of every disk to export, in one request for the batch."""
        disks = [(disk, volume_export.frozen_disk(vm_copy.source, disk)) for vm_copy, disk, _plan, _place in jobs]
        try:
            self.volume_snapshots = self.api_step(volume_export.find_volume_snapshots, self.client, disks)
        except transports.CopyError as error:
            for vm_copy, disk, _plan, _place in jobs:
                vm_copy.fail(disk.get("index"), "clone", error.message)

    def run_jobs(self, jobs):
        """{(id(vm_copy), index): entry} of the disks copied, at most parallel_disks at a time."""
        outcomes = {}

        def work(job):
            vm_copy, disk, plan, place = job
            key = (id(vm_copy), disk.get("index"))
            if vm_copy.failure is not None:
                self.progress.done(key, "failed")
                return  # A disk of this VM failed already: its backup cannot be complete.
            try:
                outcomes[key] = self.copy_disk(vm_copy, disk, plan, place)
                self.progress.done(key, "copied")
                return
            except transports.CopyError as error:
                vm_copy.fail(disk.get("index"), error.step or "read", error.message)
            except (OSError, ValueError, KeyError) as error:
                vm_copy.fail(disk.get("index"), "write", str(error))
            self.progress.done(key, "failed")

        workers = max(1, self.settings.parallel_disks)
        # The transports' cleanups (copy_disk) have threads of their own, so a worker verifies while its clone goes.
        with ThreadPoolExecutor(max_workers=workers) as pool, ThreadPoolExecutor(max_workers=workers) as background:
            self.background = background
            list(pool.map(work, jobs))
        return outcomes

    def finish_vm(self, vm_copy, outcomes):
        """Write manifest.json once every disk is copied: the one step that makes the backup exist."""
        manifest = copy.deepcopy(vm_copy.source)
        for entry in manifest.get("disks") or []:
            entry["backup"] = outcomes.get((id(vm_copy), entry.get("index")))
            if entry["backup"] is None:
                vm_copy.fail(entry.get("index"), "write", "the disk was not copied")
                return
        manifest["repository"] = {"format": repo.REPOSITORY_FORMAT, "format_version": repo.REPOSITORY_FORMAT_VERSION,
                                  "complete": True, "backup": os.path.basename(vm_copy.directory),
                                  "cluster": vm_copy.cluster.get("name"), "transport": self.settings.transport,
                                  "snapshot_manifest": vm_copy.manifest_path, "written_at": utc_timestamp()}
        repo.write_manifest(vm_copy.directory, manifest, self.settings.file_mode)
        vm_copy.status = "copied"


def result_of(vm_copy):
    return {"vm": vm_stub(vm_copy.vm), "backup": vm_copy.name, "path": vm_copy.directory,
            "status": vm_copy.status or "failed", "failure": vm_copy.failure}
