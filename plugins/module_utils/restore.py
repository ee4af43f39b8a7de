# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restoring a VM, or some of its disks, from a repository backup alone (cloudtower_backup_restore).

Nothing of the source is needed: not the VM, not its snapshots, not its cluster. The backup's manifest says what
the VM was (CPU, memory, firmware, disks with bus and boot order, NICs and their VLANs, as frozen by the snapshot);
its disk files hold the bytes. The restore writes each disk into a new volume (restore_data.py), reads it back and
compares it with the manifest's digest, then creates the VM with the volumes mounted where the disks were.

Idempotence: the new VM carries a marker naming the backup in its description. A VM of the target name with that
marker is the restore done already; a VM of the name without it is someone else's and is refused. A restore of
disks to an existing VM names the new volumes after the VM and the backup, and a disk of that name on the VM is
that disk restored already. A failure after something was created deletes it again, and says what could not be.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.smartx.cloudtower.plugins.module_utils import repository as repo
from ansible_collections.smartx.cloudtower.plugins.module_utils import restore_data as data
from ansible_collections.smartx.cloudtower.plugins.module_utils import transports
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import elf_images
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import iscsi
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vlans
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import volumes
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError, InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import CLUSTER, HOST, VM, VM_FOLDER
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import read_manifest
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import paginate
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import wait_until_idle
from ansible_collections.smartx.cloudtower.plugins.module_utils.verify import manifests_of

MARKER = "smartx.cloudtower restore of backup"
TRANSPORTS = ("auto", "upload", "iscsi")
VERIFY_MODES = ("readback", "source")
DISCONNECTED_VLAN = "default"


# ----- the backup --------------------------------------------------------------------------------------------
def backup_manifest_path(params):
    """The manifest.json of the backup to restore, from manifest (a file or a backup directory) or repository + vm + backup."""
    if params.get("manifest"):
        value = params["manifest"]
        path = os.path.join(value, repo.MANIFEST_NAME) if os.path.isdir(value) else value
        if not os.path.isfile(path):
            raise InputError("manifest", value, "is not a file (nor a backup directory holding %s)" % repo.MANIFEST_NAME)
        return path
    if not params.get("repository") or not params.get("vm"):
        raise InputError("vm" if params.get("repository") else "repository", None,
                         "give manifest, or repository together with vm (and backup, default latest)")
    if not os.path.isdir(params["repository"]):
        raise InputError("repository", params["repository"], "is not a directory")
    return manifests_of(params["repository"], params["vm"], params.get("backup") or "latest")[0]


def load_backup(params):
    """(directory, manifest) of a complete repository backup; an InputError naming the option otherwise."""
    path = backup_manifest_path(params)
    option = "manifest" if params.get("manifest") else "backup"
    directory = os.path.dirname(os.path.abspath(path))
    manifest = read_manifest(path)
    if not manifest or (manifest.get("repository") or {}).get("format") != repo.REPOSITORY_FORMAT:
        raise InputError(option, params.get(option) or path, "%s is not a repository backup manifest (a snapshot manifest"
                         " of vm_backup without vm_backup_repository cannot be restored without its snapshot)" % path)
    if not (manifest.get("repository") or {}).get("complete"):
        raise InputError(option, params.get(option) or path, "%s does not claim a complete backup" % path)
    return directory, manifest


def marker_of(directory, manifest):
    vm = manifest.get("vm") or {}
    return "%s %s of VM %s (id %s)" % (MARKER, os.path.basename(directory), vm.get("name"), vm.get("id"))


def frozen(manifest):
    """The VM as the backup's snapshot froze it, falling back to the VM record of the backup."""
    return manifest.get("snapshot") or manifest.get("vm") or {}


def backed_up_disks(directory, manifest, indexes):
    """[(entry, file path)] of the disks to restore (all when indexes is empty), each with its file present."""
    entries = {entry.get("index"): entry for entry in manifest.get("disks") or []}
    wanted = indexes or sorted(i for i in entries if i is not None)
    unknown = [i for i in wanted if i not in entries]
    if unknown:
        raise InputError("disks", unknown, "the backup has disks %s only" % sorted(i for i in entries if i is not None))
    chosen = []
    for index in wanted:
        entry = entries[index]
        file_name = (entry.get("backup") or {}).get("file")
        path = os.path.join(directory, file_name) if file_name else None
        if not path or not os.path.isfile(path):
            raise InputError("disks", index, "the backup holds no file for disk %s (%s)" % (index, path or "none recorded"))
        chosen.append((entry, path))
    return chosen


# ----- where it goes ---------------------------------------------------------------------------------------------
def choose_transport(requested, version):
    """'upload' or 'iscsi' for this CloudTower version; an InputError when the version lacks what was asked."""
    has_upload = version is not None and version >= volumes.UPLOAD_SINCE
    if requested == "upload" and not has_upload:
        raise InputError("transport", requested, "CloudTower %s has no upload-elf-file/import-vm-volume (they are in 4.6): "
                         "use transport iscsi (or auto)" % version_text(version))
    if requested == "auto":
        return "upload" if has_upload else "iscsi"
    return requested


def version_text(version):
    return "%d.%d" % version if version else "of unknown version"


def nic_plan(source_nics, vlans, network_map, isolated_vlan=None, disconnect=False):
    """[(nic params, warning or None)]: each backed-up NIC on its VLAN mapped by name, or disconnected.

    network_map maps a VLAN name of the backup to one of the target cluster; a name it does not map is looked up as
    it is. A NIC whose VLAN the target cluster lacks is created disabled (disconnected) on its 'default' VLAN.
    isolated_vlan puts every NIC on that VLAN instead; disconnect leaves every NIC disabled (a test restore).
    """
    by_name = {}
    for vlan in vlans:
        by_name.setdefault(vlan.get("name"), []).append(vlan)
    wanted_names = list(network_map.values()) + ([isolated_vlan] if isolated_vlan else [])
    unknown = sorted(set(v for v in wanted_names if v not in by_name))
    if unknown:
        option = "isolated_vlan" if isolated_vlan in unknown else "network_map"
        raise InputError(option, unknown[0] if len(unknown) == 1 else unknown, "no VLAN of this name in the target cluster "
                         "(it has %s)" % ", ".join(sorted(n for n in by_name if n)))
    planned = []
    for nic in sorted(source_nics or [], key=lambda n: n.get("index") if n.get("index") is not None else 0):
        source = (nic.get("vlan") or {}).get("name")
        wanted = isolated_vlan or network_map.get(source, source)
        params = {"model": nic.get("model") or "VIRTIO", "mirror": bool(nic.get("mirror"))}
        if wanted in by_name:
            enabled = not disconnect and nic.get("enabled", True) is not False
            planned.append((dict(params, connect_vlan_id=pick_vlan(by_name[wanted])["id"], enabled=enabled), None))
            continue
        fallback = by_name.get(DISCONNECTED_VLAN)
        if not fallback:
            planned.append((None, "NIC %s (VLAN %s) is not restored: the target cluster has neither VLAN %s nor %s" % (
                nic.get("index"), source, wanted, DISCONNECTED_VLAN)))
            continue
        warning = None if disconnect else "NIC %s (VLAN %s) is restored disconnected: the target cluster has no VLAN %s; map it with " \
            "network_map" % (nic.get("index"), source, wanted)
        planned.append((dict(params, connect_vlan_id=pick_vlan(fallback)["id"], enabled=False), warning))
    return planned


def pick_vlan(candidates):
    """Of VLANs sharing a name, the one for VMs."""
    return ([v for v in candidates if v.get("type") in (None, "VM")] or candidates)[0]


def disk_mounts(entries, volume_ids, first_boot=None):
    """mount_disks params: each restored volume on the bus, boot position and index its disk had."""
    mounts = []
    for offset, (entry, _path) in enumerate(entries):
        boot = entry.get("boot") if first_boot is None else first_boot + offset
        index = entry.get("index") if first_boot is None else boot
        mounts.append({"vm_volume_id": volume_ids[entry.get("index")], "bus": entry.get("bus") or "VIRTIO",
                       "boot": int(boot if boot is not None else offset), "index": int(index if index is not None else offset)})
    return mounts


def cd_rom_mounts(snapshot_disks, images):
    """mount_cd_roms params of the backed-up CD-ROMs, each with its image when the target cluster has one of that name."""
    mounts, warnings = [], []
    for disk in snapshot_disks or []:
        if disk.get("type") != "CD_ROM":
            continue
        mount = {"boot": int(disk.get("boot") or 0), "index": int(disk.get("index") or 0)}
        name = disk.get("image_name")
        if name and name in images:
            mount["elf_image_id"] = images[name]
        elif name:
            warnings.append("CD-ROM %s is restored empty: the target cluster has no image %s" % (disk.get("index"), name))
        mounts.append(mount)
    return mounts, warnings


def creation_params(spec, manifest, cluster, name, marker):
    """The create-vm params of the restored VM: created stopped, so nothing runs before every disk is checked."""
    vm = manifest.get("vm") or {}
    cpu = spec.get("cpu") or vm.get("cpu") or {}
    sockets, cores = int(cpu.get("sockets") or 1), int(cpu.get("cores") or 1)
    return {
        "cluster_id": cluster["id"], "name": name, "description": marker, "status": "STOPPED",
        "vcpu": int(spec.get("vcpu") or sockets * cores), "cpu_sockets": sockets, "cpu_cores": cores,
        "memory": int(spec.get("memory") or vm.get("memory")), "firmware": spec.get("firmware") or vm.get("firmware") or "BIOS",
        "ha": bool(spec.get("ha") if spec.get("ha") is not None else vm.get("ha")),
        "guest_os_type": vm.get("guest_os_type") or "UNKNOWN",
    }


# ----- the run ---------------------------------------------------------------------------------------------------
class Restore:
    """One restore: what it planned, what it created, what it found; the module's result."""

    def __init__(self, module):
        self.module = module
        self.client = module.client
        self.params = module.params
        self.runner = module.run_command
        self.actions = []
        self.warnings = []
        self.created_volumes = []
        self.created_vm = None
        self.disks = []
        self.work_dir = None
        self.place = None

    # ----- shared ------------------------------------------------------------------------------------------------
    def wait(self, task_ids, context):
        if task_ids:
            self.module.waiter.wait(task_ids, context=context)

    def plan(self, text):
        self.actions.append(text)

    def target_cluster(self, manifest):
        wanted = self.params.get("cluster") or ((manifest.get("vm") or {}).get("cluster") or {}).get("name")
        option = "cluster" if self.params.get("cluster") else "manifest"
        if not wanted:
            raise InputError("cluster", None, "the backup names no cluster: give cluster")
        return CLUSTER.resolve(self.client, option, wanted)

    def iscsi_place(self, cluster, version):
        """(portal host, port, initiator) when this host may write the LUNs of new volumes; else a refusal naming the version."""
        portal = self.params.get("iscsi_portal") or cluster.get("iscsi_vip")
        target = volumes.volume_target(self.client, cluster["id"])
        if not portal:
            raise InputError("iscsi_portal", None, "cluster %s has no iSCSI VIP: give the portal (host:port)" % cluster.get("name"))
        host, port = iscsi.parse_portal("iscsi_portal", portal)
        address = iscsi.local_address_towards(host, port)
        initiator = iscsi.initiator_name(iscsi.host_label(self.params.get("host_label")))
        if not data.admits(target, address, initiator):
            raise CloudTowerError(
                "CloudTower %s cannot restore here: it has no upload-elf-file/import-vm-volume (4.6 and later), and the "
                "iSCSI target holding the LUNs of new volumes in cluster %s (%s) does not admit this host (address %s, "
                "initiator %s) without CHAP, so the new volumes cannot be written. Nothing was sent." % (
                    version_text(self.version), cluster.get("name"), (target or {}).get("name") or "not listed", address, initiator),
                option="transport", value=self.params.get("transport"))
        return {"host": host, "port": port, "initiator": initiator}

    # ----- writing one disk ------------------------------------------------------------------------------------------
    def write_disk(self, cluster, entry, path, volume_name):
        """Write one backed-up disk into a new volume of cluster, read it back, and return its record for the result."""
        index = entry.get("index")
        started = time.monotonic()
        size = int((entry.get("backup") or {}).get("virtual_size") or entry.get("size") or 0)
        files = data.chain_files(self.runner, path)
        policy = self.params["storage_policy"]
        image, scratch = None, False
        # The files are hashed while the disk is written (hashlib runs outside the GIL): a damaged file fails the disk
        # before any VM uses the volume, and the volume goes with the rest of what this run created.
        checker = ThreadPoolExecutor(max_workers=1)
        checked = checker.submit(data.check_files, files)
        try:
            if self.transport == "upload":
                image, scratch = data.standalone_image(self.runner, files, index, self.work_dir)
                sent = os.path.getsize(image)
                upload = data.upload_file(self.client, cluster["id"], volume_name + ".qcow2", image)
                volume_id, tasks = data.import_volume(self.client, self.module.waiter, cluster["id"], volume_name, upload["id"], policy)
                self.created_volumes.append(volume_id)
                self.wait(tasks, "import volume %s" % volume_name)
            else:
                volume_id, tasks = data.create_volume(self.client, cluster["id"], volume_name, size, policy)
                self.created_volumes.append(volume_id)
                self.wait(tasks, "create volume %s" % volume_name)
                data.write_lun(self.runner, path, self.lun_image_opts(volume_id))
                sent = None
        finally:
            checker.shutdown(wait=True)
            if scratch:
                data.remove_scratch(image)
        checked.result()
        written = time.monotonic() - started
        digest = self.read_back(volume_id, size, index) if self.params["verify"] == "readback" else data.expected_digest(entry)
        if digest != data.expected_digest(entry):
            raise data.RestoreError("verify", "volume %s read back differs from the backup's digest" % volume_id)
        return {"index": index, "volume_id": volume_id, "volume_name": volume_name, "size": size, "transport": self.transport,
                "bytes_sent": sent, "digest": digest, "verified": self.params["verify"], "chain": len(files),
                "write_seconds": round(written, 3), "seconds": round(time.monotonic() - started, 3)}

    def lun_image_opts(self, volume_id):
        volume = volumes.read(self.client, volume_id)
        lun, target = volumes.lun_of(self.client, volume or {})
        if lun is None or target is None:
            raise data.RestoreError("write", "CloudTower names no iSCSI LUN for the new volume %s" % volume_id)
        return transports.iscsi_image_opts(self.place["host"], self.place["port"], target["iqn_name"], lun["lun_id"],
                                           self.place["initiator"])

    def read_back(self, volume_id, size, index):
        """The digest of what the new volume holds, read back through CloudTower's own data path."""
        if self.transport == "iscsi":
            return data.lun_digest(self.runner, self.lun_image_opts(volume_id), size, index, self.work_dir)
        return data.export_digest(self.client, self.module.waiter, self.runner, volume_id, size, index, self.work_dir,
                                  self.client.session)

    # ----- cleaning up -----------------------------------------------------------------------------------------------
    def clean_up(self):
        """Delete what this run created; [what is left, by id] when that fails too."""
        left = []
        # A VM whose creation failed may be gone already (CloudTower rolls a failed creation back).
        if self.created_vm and self.idle(self.created_vm, raise_on_timeout=False) is not None:
            try:
                self.wait([r["task_id"] for r in self.client.mutate(vms.DELETE, vms.delete_body(self.created_vm)) if r.get("task_id")],
                          "delete the half-restored VM %s" % self.created_vm)
            except CloudTowerError as error:
                left.append("VM %s (%s)" % (self.created_vm, error.message))
        remaining = [v for v in self.created_volumes if volumes.read(self.client, v) is not None] if self.created_volumes else []
        if remaining:
            try:
                self.wait([r["task_id"] for r in self.client.mutate(volumes.DELETE, volumes.delete_body(remaining)) if r.get("task_id")],
                          "delete restored volumes")
            except CloudTowerError as error:
                left.extend("volume %s (%s)" % (v, error.message) for v in remaining)
        return left

    def fail_cleanly(self, error, step, disk=None):
        message = getattr(error, "message", None) or str(error)
        what = "disk %s [%s]" % (disk, step) if disk is not None else "[%s]" % step
        try:
            left = self.clean_up()
        except CloudTowerError as cleanup_error:
            left = ["unknown: the clean-up failed: %s" % cleanup_error.message]
        if left:
            tail = "; NOT removed, delete by hand: %s" % "; ".join(left)
        elif self.created_vm or self.created_volumes:
            tail = "; removed what this run had created (%s)" % ", ".join(
                (["VM %s" % self.created_vm] if self.created_vm else []) + ["volume %s" % v for v in self.created_volumes])
        else:
            tail = "; nothing had been created"
        raise CloudTowerError("restore failed at %s: %s%s" % (what, message, tail), step=step, disk=disk, left_behind=left or None,
                              backup=self.backup_record())

    # ----- the two kinds of restore -----------------------------------------------------------------------------------
    def run(self):
        directory, manifest = load_backup(self.params)
        self.directory, self.manifest = directory, manifest
        self.version = vms.server_version(self.client)
        self.transport = choose_transport(self.params["transport"], self.version)
        entries = backed_up_disks(directory, manifest, self.params.get("disks") or [])
        if self.params.get("target_vm"):
            return self.restore_disks(entries)
        return self.restore_vm(entries)

    def prepare_writes(self, cluster):
        if self.transport == "iscsi":
            self.place = self.iscsi_place(cluster, self.version)
        if self.module.get_bin_path("qemu-img") is None:
            raise CloudTowerError("cloudtower_backup_restore needs qemu-img on this host (Debian: qemu-utils)")

    def restore_vm(self, entries):
        manifest = self.manifest
        source_vm = manifest.get("vm") or {}
        cluster = self.target_cluster(manifest)
        name = self.params.get("name") or "%s%s" % (source_vm.get("name"), self.params.get("name_suffix") or "-restored")
        marker = marker_of(self.directory, manifest)
        existing = vms.find(self.client, {"name": name, "cluster": {"id": cluster["id"]}})
        ours = [vm for vm in existing if (vm.get("description") or "").startswith(marker)]
        if existing and not ours:
            raise InputError("name", name, "a VM of this name in cluster %s (id %s) was not made by a restore of this backup: "
                             "choose another name" % (cluster.get("name"), existing[0]["id"]))
        if ours:
            return self.finish(ours[0], changed=self.power_on(ours[0]), cluster=cluster)
        spec = frozen(manifest)
        params = creation_params(spec, manifest, cluster, name, marker)
        params.update(self.placement(cluster))
        nics = nic_plan(spec.get("vm_nics"), self.cluster_vlans(cluster), self.params.get("network_map") or {},
                        self.params.get("isolated_vlan"), self.params.get("disconnect_nics"))
        params["vm_nics"] = [nic for nic, _warning in nics if nic]
        self.warnings.extend(warning for _nic, warning in nics if warning)
        cd_roms, cd_warnings = cd_rom_mounts(spec.get("vm_disks"), self.cluster_images(cluster, spec.get("vm_disks")))
        self.warnings.extend(cd_warnings)
        for entry, _path in entries:
            self.plan("write disk %s (%d bytes) into a new volume %s-disk%s of cluster %s by %s, then read it back" % (
                entry.get("index"), int((entry.get("backup") or {}).get("virtual_size") or 0), name, entry.get("index"),
                cluster.get("name"), self.transport))
        self.plan("create VM %s in cluster %s with %d disk(s), %d CD-ROM(s), %d NIC(s), stopped" % (
            name, cluster.get("name"), len(entries), len(cd_roms), len(params["vm_nics"])))
        if self.params.get("power_on"):
            self.plan("start VM %s" % name)
        if self.module.check_mode:
            return self.finish(None, changed=True, cluster=cluster, name=name)
        self.prepare_writes(cluster)
        volume_ids = self.write_all(cluster, entries, lambda entry: "%s-disk%s" % (name, entry.get("index")))
        params["vm_disks"] = {"mount_disks": disk_mounts(entries, volume_ids), "mount_cd_roms": cd_roms}
        try:
            replies = self.client.mutate(vms.CREATE, [params])
            self.created_vm = vms.created_id(vms.CREATE, replies)
            self.wait([r["task_id"] for r in replies if r.get("task_id")], "create the restored VM %s" % name)
            self.power_on(self.idle(self.created_vm))
        except CloudTowerError as error:
            self.fail_cleanly(error, "create")
        return self.finish(vms.read(self.client, self.created_vm), changed=True, cluster=cluster)

    def restore_disks(self, entries):
        vm = VM.resolve(self.client, "target_vm", self.params["target_vm"])
        if vm.get("status") != "STOPPED":
            raise InputError("target_vm", self.params["target_vm"], "the VM is %s: a disk is restored to a stopped VM only" % vm.get("status"))
        cluster = CLUSTER.resolve(self.client, "target_vm", vm["cluster"]["id"])
        backup = os.path.basename(self.directory)

        def volume_name(entry):
            return "%s-%s-disk%s" % (vm.get("name"), backup, entry.get("index"))
        attached = vms.disks(self.client, vm["id"])
        names = self.volume_names([d["vm_volume"]["id"] for d in attached if (d.get("vm_volume") or {}).get("id")])
        missing = [(entry, path) for entry, path in entries if volume_name(entry) not in names]
        if not missing:
            return self.finish(vm, changed=False, cluster=cluster)
        first_boot = max([int(d.get("boot") or 0) for d in attached] + [-1]) + 1
        for entry, _path in missing:
            self.plan("write disk %s of backup %s into a new volume %s by %s, read it back, and add it to VM %s" % (
                entry.get("index"), backup, volume_name(entry), self.transport, vm.get("name")))
        if self.module.check_mode:
            return self.finish(vm, changed=True, cluster=cluster)
        self.prepare_writes(cluster)
        volume_ids = self.write_all(cluster, missing, volume_name)
        try:
            replies = self.client.mutate(vms.ADD_DISK, vms.add_disk_body(vm["id"], disk_mounts(missing, volume_ids, first_boot)))
            self.wait([r["task_id"] for r in replies if r.get("task_id")], "add the restored disks to VM %s" % vm.get("name"))
        except CloudTowerError as error:
            self.fail_cleanly(error, "add-disk")
        return self.finish(vms.read(self.client, vm["id"]), changed=True, cluster=cluster)

    def write_all(self, cluster, entries, volume_name):
        """{index: volume id} of every disk written and read back; a failure removes what was created."""
        self.work_dir = tempfile.mkdtemp(prefix=".restore-", dir=self.params.get("work_dir") or self.directory)
        volume_ids = {}
        try:
            for entry, path in entries:
                try:
                    record = self.write_disk(cluster, entry, path, volume_name(entry))
                except data.RestoreError as error:
                    self.fail_cleanly(error, error.step, entry.get("index"))
                except CloudTowerError as error:
                    self.fail_cleanly(error, "write", entry.get("index"))
                self.disks.append(record)
                volume_ids[entry.get("index")] = record["volume_id"]
        finally:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        return volume_ids

    # ----- reads -----------------------------------------------------------------------------------------------------
    def idle(self, vm_id, raise_on_timeout=True):
        """The VM once CloudTower no longer holds it busy (None when it is gone): it stays locked a moment after its
        task, and before 3.3 a call on it then starts a task that fails (JOB_RESOURCE_IS_LOCKED)."""
        return wait_until_idle(self.client, vms.READ, [vm_id], self.module.waiter.timeout, raise_on_timeout=raise_on_timeout).get(vm_id)

    def placement(self, cluster):
        scope = {"cluster": {"id": cluster["id"]}}
        placed = {}
        if self.params.get("host"):
            placed["host_id"] = HOST.resolve(self.client, "host", self.params["host"], scope)["id"]
        if self.params.get("folder"):
            placed["folder_id"] = VM_FOLDER.resolve(self.client, "folder", self.params["folder"], scope)["id"]
        return placed

    def cluster_vlans(self, cluster):
        return paginate(self.client, vlans.READ, where=vlans.in_cluster(cluster))

    def cluster_images(self, cluster, snapshot_disks):
        names = sorted({d.get("image_name") for d in snapshot_disks or [] if d.get("type") == "CD_ROM" and d.get("image_name")})
        if not names:
            return {}
        found = paginate(self.client, elf_images.READ, where={"name_in": names, "cluster": {"id": cluster["id"]}})
        return {image["name"]: image["id"] for image in found}

    def volume_names(self, volume_ids):
        if not volume_ids:
            return set()
        return {v.get("name") for v in paginate(self.client, volumes.READ, where={"id_in": volume_ids})}

    # ----- power and result ------------------------------------------------------------------------------------------
    def power_on(self, vm):
        """Start the VM when asked and it is stopped; True when that is (or in check mode would be) sent."""
        if not self.params.get("power_on") or not vm or vm.get("status") != "STOPPED":
            return False
        if "start VM %s" % vm.get("name") not in self.actions:
            self.plan("start VM %s" % vm.get("name"))
        if self.module.check_mode:
            return True
        host = self.params.get("host")
        host_id = HOST.resolve(self.client, "host", host, {"cluster": {"id": vm["cluster"]["id"]}})["id"] if host else None
        replies = self.client.mutate(vms.START, vms.start_body(vm["id"], host_id))
        self.wait([r["task_id"] for r in replies if r.get("task_id")], "start the restored VM %s" % vm.get("name"))
        return True

    def backup_record(self):
        vm = self.manifest.get("vm") or {}
        return {"name": os.path.basename(self.directory), "path": self.directory, "vm": {"id": vm.get("id"), "name": vm.get("name")}}

    def finish(self, vm, changed, cluster, name=None):
        for warning in self.warnings:
            self.module.warn(warning)
        return {"changed": changed, "vm": vm, "vm_name": (vm or {}).get("name") or name,
                "cluster": {"id": cluster["id"], "name": cluster.get("name")},
                "backup": self.backup_record(),
                "transport": self.transport, "disks": self.disks, "actions": self.actions if changed else [],
                "warnings_list": self.warnings, "api_version": version_text(self.version) if self.version else None,
                "check_mode": self.module.check_mode}


def run(module):
    """The module's run: restore, report; a failure names the step, the disk and what is left."""
    restore = Restore(module)
    result = restore.run()
    module.exit_json(**result)
