"""Mutations of an existing VM's disks, CD-ROMs, NICs, host and folder (every version; expand and eject from 1.10).

add-vm-disk lives in disk_operations.py (a restore of one disk came first); the rule that an IDE disk needs a
stopped VM is checked there with needs_stopped() from here.

Like every mutation, a call answers at once with one {task_id, data} per matched VM and its task makes the change
when it ends; a busy VM refuses the call with ResourceLocked from 3.3 and fails its task before. What CloudTower
refuses up front is refused here with a 400 before any task: shrinking a disk, a VLAN, host, folder or image of
another cluster, a disk or NIC the VM does not have, and the changes a running VM cannot take (an IDE disk, a CD-ROM
drive, a NIC's model or MAC address: CloudTower needs the VM stopped for those), or a migration of a VM that is not
running.
"""

import os

from .entities import BYTE_UNITS
from .errors import bad_request
from .tasks import TaskFailure

# [assumed] error codes: CloudTower's own wording for these refusals is not public.
NOT_STOPPED = "VM_NOT_STOPPED"
NOT_RUNNING = "VM_NOT_RUNNING"
SHRINK = "VM_VOLUME_SIZE_CANNOT_SHRINK"
DISK_NOT_FOUND = "VM_DISK_NOT_FOUND"
NIC_NOT_FOUND = "VM_NIC_NOT_FOUND"
CLUSTER_NOT_FOUND = "CLUSTER_NOT_FOUND"
VLAN_NOT_MAPPED = "VM_MIGRATE_VLAN_NOT_MAPPED"
# The power state each migrate_type of migrate-vm-across-cluster moves ([assumed]: CloudTower's UI offers live
# migration for a running VM and cold migration for a stopped one; cut-over starts live and ends with a short stop).
ACROSS_CLUSTER_STATES = {"LIVE_MIGRATE": ("RUNNING",), "CUTOVER_MIGRATE": ("RUNNING",), "COLD_MIGRATE": ("STOPPED",)}


def needs_stopped(vm, what):
    """Refuse, before any task, a change CloudTower only makes on a stopped VM."""
    if vm["status"] != "STOPPED":
        raise bad_request(NOT_STOPPED, "VM %s is %s: %s needs the VM stopped" % (vm["name"], vm["status"], what))


class DeviceMutations:
    """Handlers bound to the core Mutations object (whose helpers they share)."""

    def __init__(self, core):
        self.core = core
        self.handlers = {
            "expand-vm-disk": self.expand_disks, "remove-vm-disk": self.remove_disks,
            "update-vm-disk": self.update_disk, "eject-iso-from-vm-cd-rom": self.eject_isos,
            "add-vm-cd-rom": self.add_cd_roms, "remove-vm-cd-rom": self.remove_cd_roms,
            "add-vm-nic": self.add_nics, "update-vm-nic": self.update_nic, "remove-vm-nic": self.remove_nics,
            "migrate-vm": self.migrate, "migrate-vm-across-cluster": self.migrate_across_cluster,
            "add-vm-to-folder": self.add_to_folder, "remove-vm-from-folder": self.remove_from_folder,
        }

    @property
    def store(self):
        return self.core.store

    @property
    def factory(self):
        return self.core.state.factory

    # ----- shared ---------------------------------------------------------------------------------------

    def _each_vm(self, endpoint, body, now, user_id, description, precheck, effect):
        """One task per VM the where matches: precheck(vm) refuses before any task, effect(when, vm) is the change."""
        vms = self.core._select("Vm", body["where"])
        if not vms:
            return []
        locked = self.core._locked_ids(vms, "VM", now)
        for vm in vms:
            if vm["id"] not in locked:
                precheck(vm)
        answers = []
        for vm in vms:
            def run(when, vm_id=vm["id"]):
                effect(when, self.core._vm_or_failure(vm_id))
                self.factory.refresh_vm(when, self.core._vm_or_failure(vm_id))
            plan = self.core._vm_plan(endpoint, vm, description % vm["name"], run, args={"data": body.get("data")})
            answers.append(self.core._answer(self.core._submit(plan, now, user_id, vm["id"] in locked), "Vm", vm))
        return answers

    @staticmethod
    def _needs_stopped(vm, what):
        needs_stopped(vm, what)

    def _disks_of(self, vm, kind=None):
        disks = self.store.children("vm_disks", "vm", vm["id"])
        return sorted((d for d in disks if kind is None or d["type"] == kind), key=lambda d: d["boot"])

    def _own_disk(self, vm, disk_id, kind, path):
        disk = self.store.get("vm_disks", disk_id)
        if disk is None or disk["vm"] != vm["id"] or disk["type"] != kind:
            raise bad_request(DISK_NOT_FOUND, "%s: %s is not a %s of VM %s" % (path, disk_id, kind, vm["name"]))
        return disk

    def _append_devices(self, when, vm, disk_specs):
        """Attach disks after the VM's existing ones (device names and boot order continue from theirs)."""
        existing = self._disks_of(vm)
        next_boot = max([d["boot"] for d in existing] + [-1]) + 1
        for offset, spec in enumerate(disk_specs):
            spec = dict(spec)
            if spec.get("boot") is None:
                spec["boot"] = next_boot + offset
            self.factory._attach_disk(when, vm, spec, len(existing) + offset)

    # ----- disks ----------------------------------------------------------------------------------------

    def expand_disks(self, body, now, user_id):
        disks = self.core._select("VmDisk", body["where"])
        if not disks:
            return []
        size = int(body["size"] * BYTE_UNITS[body.get("size_unit") or "B"])
        vms = {}
        for disk in disks:
            volume = self.store.get("vm_volumes", disk.get("vm_volume"))
            if disk["type"] != "DISK" or volume is None:
                raise bad_request(DISK_NOT_FOUND, "disk %s has no volume to expand" % disk["id"])
            if size < volume["size"]:
                raise bad_request(SHRINK, "disk %s is %d bytes: a disk cannot shrink to %d bytes" % (disk["id"], volume["size"], size))
            vms[disk["vm"]] = self.store.get("vms", disk["vm"])
        locked = self.core._locked_ids(list(vms.values()), "VM", now)
        answers = []
        for disk in disks:
            vm = vms[disk["vm"]]

            def grow(when, volume_id=disk["vm_volume"], vm_id=vm["id"]):
                self._grow_volume(when, volume_id, size)
                self.factory.refresh_vm(when, self.core._vm_or_failure(vm_id))
            plan = self.core._vm_plan("expand-vm-disk", vm, "Expand a disk of VM %s" % vm["name"], grow, args={"size": size})
            answers.append(self.core._answer(self.core._submit(plan, now, user_id, vm["id"] in locked), "Vm", vm))
        return answers

    def _grow_volume(self, when, volume_id, size):
        volume = self.store.get("vm_volumes", volume_id)
        if volume is None:
            raise TaskFailure("VM_VOLUME_NOT_FOUND", "The volume no longer exists")
        self.store.update("vm_volumes", volume_id, {"size": size}, when)
        lun = self.store.get("iscsi_luns", volume.get("lun"))
        if lun is None:
            return
        self.store.update("iscsi_luns", lun["id"], {"assigned_size": size}, when)
        if self.store.data.is_materialised(lun):
            # The bytes grow too: what the guest wrote stays, the new tail reads as zeros.
            os.truncate(self.store.data.path_of("iscsi_luns", lun), size)

    def remove_disks(self, body, now, user_id):
        disk_ids = body["data"]["disk_ids"]

        def precheck(vm):
            disks = [self._own_disk(vm, disk_id, "DISK", "data.disk_ids[%d]" % n) for n, disk_id in enumerate(disk_ids)]
            if any(disk["bus"] == "IDE" for disk in disks):
                self._needs_stopped(vm, "removing an IDE disk")

        def effect(when, vm):
            self._detach(when, vm, disk_ids)
        return self._each_vm("remove-vm-disk", body, now, user_id, "Remove disks from VM %s", precheck, effect)

    def _detach(self, when, vm, disk_ids):
        """Remove disks or CD-ROMs; a volume is kept, unmounted (remove-vm-disk never deletes data)."""
        for disk_id in disk_ids:
            disk = self.store.delete("vm_disks", disk_id)
            volume = self.store.get("vm_volumes", (disk or {}).get("vm_volume"))
            if volume is not None:
                mounted = bool(self.store.children("vm_disks", "vm_volume", volume["id"]))
                self.store.update("vm_volumes", volume["id"], {"mounting": mounted}, when)

    def update_disk(self, body, now, user_id):
        data = body["data"]

        def precheck(vm):
            disk = self.store.get("vm_disks", data["vm_disk_id"])
            if disk is None or disk["vm"] != vm["id"]:
                raise bad_request(DISK_NOT_FOUND, "data.vm_disk_id %s is not a disk of VM %s" % (data["vm_disk_id"], vm["name"]))
            if data.get("elf_image_id") is not None:
                if disk["type"] != "CD_ROM":
                    raise bad_request(DISK_NOT_FOUND, "data.elf_image_id: disk %s is not a CD-ROM" % disk["id"])
                self.core._check_member("elf_images", data["elf_image_id"], vm["cluster"], "ELF_IMAGE_NOT_FOUND", "data.elf_image_id")
            if data.get("bus") is not None and data["bus"] != disk["bus"]:
                self._needs_stopped(vm, "changing the bus of a disk")

        def effect(when, _vm):
            changes = {}
            if data.get("elf_image_id") is not None:
                changes["elf_image"] = data["elf_image_id"]
            if data.get("bus") is not None:
                changes["bus"] = data["bus"]
            if self.store.get("vm_disks", data["vm_disk_id"]) is None:
                raise TaskFailure(DISK_NOT_FOUND, "The disk no longer exists")
            self.store.update("vm_disks", data["vm_disk_id"], changes, when)
        return self._each_vm("update-vm-disk", body, now, user_id, "Edit a disk of VM %s", precheck, effect)

    # ----- CD-ROMs --------------------------------------------------------------------------------------

    def eject_isos(self, body, now, user_id):
        disks = [d for d in self.core._select("VmDisk", body["where"]) if d["type"] == "CD_ROM"]
        if not disks:
            return []
        vms = {d["vm"]: self.store.get("vms", d["vm"]) for d in disks}
        locked = self.core._locked_ids(list(vms.values()), "VM", now)
        answers = []
        for disk in disks:
            vm = vms[disk["vm"]]

            def eject(when, disk_id=disk["id"]):
                if self.store.get("vm_disks", disk_id) is None:
                    raise TaskFailure(DISK_NOT_FOUND, "The CD-ROM no longer exists")
                self.store.update("vm_disks", disk_id, {"elf_image": None}, when)
            plan = self.core._vm_plan("eject-iso-from-vm-cd-rom", vm, "Eject the ISO of VM %s" % vm["name"], eject)
            answers.append(self.core._answer(self.core._submit(plan, now, user_id, vm["id"] in locked), "Vm", vm))
        return answers

    def add_cd_roms(self, body, now, user_id):
        cd_roms = body["data"]["vm_cd_roms"]

        def precheck(vm):
            self._needs_stopped(vm, "adding a CD-ROM drive")
            for n, cd_rom in enumerate(cd_roms):
                self.core._check_member("elf_images", cd_rom.get("elf_image_id"), vm["cluster"], "ELF_IMAGE_NOT_FOUND",
                                        "data.vm_cd_roms[%d].elf_image_id" % n)

        def effect(when, vm):
            specs = [{"kind": "cdrom", "bus": "IDE", "boot": c["boot"], "index": c.get("index"), "key": c.get("key"),
                      "elf_image_id": c.get("elf_image_id")} for c in cd_roms]
            self._append_devices(when, vm, specs)
        return self._each_vm("add-vm-cd-rom", body, now, user_id, "Add CD-ROMs to VM %s", precheck, effect)

    def remove_cd_roms(self, body, now, user_id):
        cd_rom_ids = body["data"]["cd_rom_ids"]

        def precheck(vm):
            for n, disk_id in enumerate(cd_rom_ids):
                self._own_disk(vm, disk_id, "CD_ROM", "data.cd_rom_ids[%d]" % n)
            self._needs_stopped(vm, "removing a CD-ROM drive")

        def effect(when, vm):
            self._detach(when, vm, cd_rom_ids)
        return self._each_vm("remove-vm-cd-rom", body, now, user_id, "Remove CD-ROMs from VM %s", precheck, effect)

    # ----- NICs -----------------------------------------------------------------------------------------

    def _nics_of(self, vm):
        return sorted(self.store.children("vm_nics", "vm", vm["id"]), key=lambda n: n["order"])

    def add_nics(self, body, now, user_id):
        params = body["data"]["vm_nics"]

        def specs_for(vm):
            return [self.core._nic_spec(nic, vm["cluster"], "data.vm_nics[%d]" % n) for n, nic in enumerate(params)]

        def effect(when, vm):
            first = len(self._nics_of(vm))
            for offset, spec in enumerate(specs_for(vm)):
                self.factory._attach_nic(when, vm, spec, first + offset)
        return self._each_vm("add-vm-nic", body, now, user_id, "Add NICs to VM %s", specs_for, effect)

    def update_nic(self, body, now, user_id):
        data = body["data"]

        def nic_of(vm):
            nics = self._nics_of(vm)
            if not 0 <= data["nic_index"] < len(nics):
                raise bad_request(NIC_NOT_FOUND, "data.nic_index %d: VM %s has %d NICs" % (data["nic_index"], vm["name"], len(nics)))
            return nics[data["nic_index"]]

        def precheck(vm):
            nic = nic_of(vm)
            if data.get("connect_vlan_id") is not None:
                self.core._check_vlan(data["connect_vlan_id"], vm["cluster"], "data.connect_vlan_id")
            if data.get("mac_address") is not None and data["mac_address"].lower() != nic["mac_address"].lower():
                self._needs_stopped(vm, "changing the MAC address of a NIC")
            if data.get("model") is not None and data["model"] != nic["model"]:
                self._needs_stopped(vm, "changing the model of a NIC")

        def effect(when, vm):
            changes = {key: data[key] for key in ("mac_address", "model", "enabled", "mirror", "ip_address", "gateway", "subnet_mask")
                       if data.get(key) is not None}
            if data.get("connect_vlan_id") is not None:
                changes["vlan"] = data["connect_vlan_id"]
            self.store.update("vm_nics", nic_of(vm)["id"], changes, when)
        return self._each_vm("update-vm-nic", body, now, user_id, "Edit a NIC of VM %s", precheck, effect)

    def remove_nics(self, body, now, user_id):
        indexes = body["data"]["nic_index"]

        def precheck(vm):
            count = len(self._nics_of(vm))
            for index in indexes:
                if not 0 <= index < count:
                    raise bad_request(NIC_NOT_FOUND, "data.nic_index %d: VM %s has %d NICs" % (index, vm["name"], count))

        def effect(when, vm):
            nics = self._nics_of(vm)
            for index in indexes:
                self.store.delete("vm_nics", nics[index]["id"])
            for order, nic in enumerate(self._nics_of(vm)):
                self.store.update("vm_nics", nic["id"], {"order": order}, when)
        return self._each_vm("remove-vm-nic", body, now, user_id, "Remove NICs from VM %s", precheck, effect)

    # ----- host and folder ------------------------------------------------------------------------------

    def migrate(self, body, now, user_id):
        host_id = (body.get("data") or {}).get("host_id")

        def precheck(vm):
            if vm["status"] != "RUNNING":
                raise bad_request(NOT_RUNNING, "VM %s is %s: only a running VM is migrated" % (vm["name"], vm["status"]))
            self.core._check_host(host_id, vm["cluster"], "data")

        def effect(when, vm):
            target = host_id or next((h["id"] for h in self.store.children("hosts", "cluster", vm["cluster"]) if h["id"] != vm.get("host")),
                                     vm.get("host"))
            self.store.update("vms", vm["id"], {"host": target}, when)
        return self._each_vm("migrate-vm", body, now, user_id, "Migrate VM %s", precheck, effect)

    def migrate_across_cluster(self, body, now, user_id):
        """The VM moves to data.cluster_id (onto data.host_id, else a host there), its NICs onto the VLANs
        vm_config.network_mapping names by local_id, its volumes with it; it leaves its folder (folders are per cluster)
        and ejects the ISOs of its CD-ROMs (images are per cluster). The VM keeps its id [assumed]. Keeping the source
        (delete_src_vm: false, a copy across clusters) is not simulated and refused."""
        data = body["data"]
        config = data["vm_config"]
        target = self.store.get("clusters", data["cluster_id"])
        if target is None:
            raise bad_request(CLUSTER_NOT_FOUND, "data.cluster_id %s is not a cluster" % data["cluster_id"])
        if config.get("delete_src_vm") is False:
            raise bad_request("SIMULATOR_UNSUPPORTED", "[simulator] vm_config.delete_src_vm: false (a copy across clusters) is not simulated")
        vlans_by_local_id = {vlan["local_id"]: vlan for vlan in self.store.rows("vlans")}
        mapping = {entry["src_vlan_local_id"]: entry["dest_vlan_local_id"] for entry in config["network_mapping"]}

        def precheck(vm):
            if vm["cluster"] == target["id"]:
                raise bad_request("VM_ALREADY_IN_CLUSTER", "VM %s is already in cluster %s" % (vm["name"], target["name"]))
            allowed = ACROSS_CLUSTER_STATES[config["migrate_type"]]
            if vm["status"] not in allowed:
                code = NOT_RUNNING if config["migrate_type"] != "COLD_MIGRATE" else NOT_STOPPED
                raise bad_request(code, "VM %s is %s: a %s needs it %s" % (vm["name"], vm["status"], config["migrate_type"], " or ".join(allowed)))
            self.core._check_host(data.get("host_id"), target["id"], "data")
            for nic in self._nics_of(vm):
                source = self.store.get("vlans", nic.get("vlan")) or {}
                dest = vlans_by_local_id.get(mapping.get(source.get("local_id")))
                if dest is None or self.factory.cluster_of_vlan(dest) != target["id"]:
                    raise bad_request(VLAN_NOT_MAPPED, "vm_config.network_mapping: VLAN %s of VM %s's NIC %s has no VLAN of cluster %s "
                                                       "mapped to it" % (source.get("name"), vm["name"], nic.get("order"), target["name"]))

        def effect(when, vm):
            host_id = data.get("host_id") or next(h["id"] for h in self.store.children("hosts", "cluster", target["id"]))
            previous_folder = vm.get("folder")
            for nic in self._nics_of(vm):
                source = self.store.get("vlans", nic.get("vlan")) or {}
                self.store.update("vm_nics", nic["id"], {"vlan": vlans_by_local_id[mapping[source["local_id"]]]["id"]}, when)
            for disk in self._disks_of(vm):
                if disk["type"] == "CD_ROM" and disk.get("elf_image"):
                    self.store.update("vm_disks", disk["id"], {"elf_image": None}, when)
                if disk.get("vm_volume"):
                    self.store.update("vm_volumes", disk["vm_volume"], {"cluster": target["id"]}, when)
            changes = {"cluster": target["id"], "host": host_id, "folder": None}
            if config.get("new_name"):
                changes["name"] = config["new_name"]
            self.store.update("vms", vm["id"], changes, when)
            if previous_folder:
                self.factory._count_folder_vms(when, previous_folder)
        return self._each_vm("migrate-vm-across-cluster", body, now, user_id, "Migrate VM %s across clusters", precheck, effect)

    def add_to_folder(self, body, now, user_id):
        folder_id = body["data"]["folder_id"]

        def precheck(vm):
            self.core._check_member("vm_folders", folder_id, vm["cluster"], "VM_FOLDER_NOT_FOUND", "data.folder_id")

        def effect(when, vm):
            self._move_to_folder(when, vm, folder_id)
        return self._each_vm("add-vm-to-folder", body, now, user_id, "Move VM %s to a folder", precheck, effect)

    def remove_from_folder(self, body, now, user_id):
        def effect(when, vm):
            self._move_to_folder(when, vm, None)
        return self._each_vm("remove-vm-from-folder", body, now, user_id, "Remove VM %s from its folder", lambda vm: None, effect)

    def _move_to_folder(self, when, vm, folder_id):
        previous = vm.get("folder")
        self.store.update("vms", vm["id"], {"folder": folder_id}, when)
        for changed in {previous, folder_id} - {None}:
            self.factory._count_folder_vms(when, changed)
