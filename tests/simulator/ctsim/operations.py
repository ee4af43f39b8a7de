"""The mutating endpoints: validation, prechecks, and the task each matched entity gets.

Every handler answers at once with [{task_id, data}] (data = the entity as it is now) and leaves the actual
change to its task's effect, which the task engine applies when the task ends.
"""

import re

from . import query
from .errors import bad_request, resource_locked
from .params import BodyValidator
from .schema import RESOURCES
from .device_operations import DeviceMutations
from .exports import ExportMutations
from .label_operations import LabelMutations
from .storage_operations import StorageMutations
from .disk_operations import DiskMutations
from .uploads import UploadMutations
from .store import iso_timestamp
from .tasks import TaskFailure, TaskPlan
from .content_library_operations import ContentLibraryTemplateMutations
from .template_operations import TemplateMutations

BYTE_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4, "PB": 1024 ** 5}
BPS_UNITS = {"Bps": 1, "KBps": 1024, "MBps": 1024 ** 2, "GBps": 1024 ** 3, "TBps": 1024 ** 4}
MAC_PATTERN = re.compile(r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")

# endpoint: (states it may start from, task description, state it ends in)
POWER_OPERATIONS = {
    "start-vm": (("STOPPED",), "Start VM", "RUNNING"),
    "shutdown-vm": (("RUNNING",), "Shut down VM", "STOPPED"),
    "poweroff-vm": (("RUNNING", "SUSPENDED"), "Power off VM", "STOPPED"),
    "restart-vm": (("RUNNING",), "Restart VM", "RUNNING"),
    "force-restart-vm": (("RUNNING",), "Force restart VM", "RUNNING"),
    "suspend-vm": (("RUNNING",), "Suspend VM", "SUSPENDED"),
    "resume-vm": (("SUSPENDED",), "Resume VM", "RUNNING"),
}
LOCKED_TASK_ERROR = "JOB_RESOURCE_IS_LOCKED"
DUPLICATE_SNAPSHOT = ("VM_SNAPSHOT_DUPLICATE_NAME", "A VM snapshot with the same name already exists in the cluster")


class Mutations:
    """Handlers for every mutating endpoint, bound to one simulator state."""

    def __init__(self, state):
        self.state = state
        self.handlers = {
            "create-vm": self.create_vm, "clone-vm": self.clone_vm, "rebuild-vm-from-snapshot": self.rebuild_vm,
            "update-vm-basic-info": self.update_vm, "delete-vm": self.delete_vm, "move-vm-to-recycle": self.recycle_vm,
            "rollback-vm": self.rollback_vm, "create-vm-snapshot": self.create_snapshots,
            "delete-vm-snapshot": self.delete_snapshots,
        }
        for endpoint in POWER_OPERATIONS:
            self.handlers[endpoint] = self._power_handler(endpoint)
        self.storage = StorageMutations(self)
        self.handlers.update(self.storage.handlers)
        self.exports = ExportMutations(self)
        self.handlers.update(self.exports.handlers)
        self.handlers.update(UploadMutations(self).handlers)
        self.handlers.update(DiskMutations(self).handlers)
        self.handlers.update(DeviceMutations(self).handlers)
        self.handlers.update(TemplateMutations(self).handlers)
        self.handlers.update(ContentLibraryTemplateMutations(self).handlers)
        self.handlers.update(LabelMutations(self).handlers)

    def run(self, endpoint, body, now, user_id):
        BodyValidator(self.state.version).validate(endpoint, body)
        return self.handlers[endpoint](body, now, user_id)

    # ----- shared helpers -------------------------------------------------------------------------------

    @property
    def store(self):
        return self.state.store

    def _select(self, resource_name, where):
        return query.select(self.store, RESOURCES[resource_name], {"where": where}, self.state.version,
                            self.state.settings["default_order"])

    def _locked_ids(self, entities, kind, now):
        """Ids of busy entities. From 3.3 any busy entity refuses the whole call with ResourceLocked; before,
        the call is accepted and the tasks of the busy entities fail."""
        locked = [entity for entity in entities if self.state.engine.lock_holder(entity["id"])
                  or (kind == "VM" and self.state.faults.vm_lock_window(entity, now))]
        if locked and self.state.features.resource_locked_error:
            raise resource_locked([(entity["id"], kind) for entity in locked])
        return {entity["id"] for entity in locked}

    def _submit(self, plan, now, user_id, locked):
        if locked:
            plan.failure = (LOCKED_TASK_ERROR, "Resource [%s] locked" % plan.resource_id)
            plan.fails_before_start = True
        return self.state.engine.submit(plan, now, user_id)

    def _vm_plan(self, endpoint, vm, description, on_success, busy_status="UPDATING", args=None):
        plan = TaskPlan(endpoint, description, "Vm", vm["id"], on_success)
        plan.cluster_id, plan.vm_name, plan.args = vm.get("cluster"), vm.get("name"), args or {}
        plan.locks = (vm["id"],)
        plan.busy = (("vms", vm["id"], busy_status),)
        return plan

    def _answer(self, task, resource_name, entity):
        return {"task_id": task["id"], "data": self.state.serializer.serialize(resource_name, entity)}

    def _vm_or_failure(self, vm_id):
        vm = self.store.get("vms", vm_id)
        if vm is None:
            raise TaskFailure("VM_NOT_FOUND", "The VM no longer exists")
        return vm

    # ----- create / clone / rebuild ---------------------------------------------------------------------

    def create_vm(self, body, now, user_id):
        specs = [self._creation_spec(item, {}, path="body[%d]" % position) for position, item in enumerate(body)]
        return [self._create_from_spec("create-vm", "Create a VM", spec, now, user_id) for spec in specs]

    def clone_vm(self, body, now, user_id):
        answers = []
        for position, item in enumerate(body):
            source = self.store.get("vms", item["src_vm_id"])
            if source is None:
                raise bad_request("VM_NOT_FOUND", "src_vm_id %s does not exist" % item["src_vm_id"])
            spec = self._creation_spec(item, self._spec_from_vm(source), path="body[%d]" % position)
            answers.append(self._create_from_spec("clone-vm", "Clone VM %s" % source["name"], spec, now, user_id))
        return answers

    def rebuild_vm(self, body, now, user_id):
        answers = []
        for position, item in enumerate(body):
            snapshot = self.store.get("vm_snapshots", item["rebuild_from_snapshot_id"])
            if snapshot is None:
                raise bad_request("VM_SNAPSHOT_NOT_FOUND", "rebuild_from_snapshot_id %s does not exist" % item["rebuild_from_snapshot_id"])
            self._locked_ids([snapshot], "VM_SNAPSHOT", now)
            spec = self._creation_spec(item, self._spec_from_snapshot(snapshot), path="body[%d]" % position)
            answers.append(self._create_from_spec("rebuild-vm-from-snapshot", "Rebuild a VM from snapshot %s" % snapshot["name"],
                                                  spec, now, user_id))
        return answers

    def _create_from_spec(self, endpoint, description, spec, now, user_id):
        factory = self.state.factory
        vm = factory.vm(now, spec, placeholder=True)
        vm_id = vm["id"]

        def finish(when):
            created = self._vm_or_failure(vm_id)
            factory.attach_devices(when, created, spec["disks"], spec["nics"])
            changes = {"local_id": created["local_id"].replace("placeholder-", "", 1), "status": spec["status"]}
            if spec["status"] == "RUNNING":
                changes["host"] = created.get("host") or self._pick_host(created["cluster"])
                # A guest with VMTools (a VM from a template of such a guest) starts them as it boots.
                if created.get("_tools_installed"):
                    changes["vm_tools_status"] = "RUNNING"
            self.store.update("vms", vm_id, changes, when)
            factory.refresh_vm(when, created)

        def roll_back(when):
            placeholder = self.store.get("vms", vm_id)
            if placeholder is not None:
                factory.destroy_vm(when, placeholder, include_snapshots=True)
            return True

        plan = self._vm_plan(endpoint, vm, description, finish, busy_status="CREATING", args=spec["args"])
        plan.on_failure = roll_back
        return self._answer(self.state.engine.submit(plan, now, user_id), "Vm", vm)

    def _pick_host(self, cluster_id):
        hosts = self.store.children("hosts", "cluster", cluster_id)
        return hosts[0]["id"] if hosts else None

    def _spec_from_vm(self, vm):
        disks, nics = [], []
        for disk in self.store.children("vm_disks", "vm", vm["id"]):
            volume = self.store.get("vm_volumes", disk.get("vm_volume"))
            if disk["type"] == "DISK" and volume is not None:
                disks.append({"kind": "new", "name": volume["name"] + "-clone", "size": volume["size"],
                              "policy": volume["elf_storage_policy"], "bus": disk["bus"], "boot": disk["boot"],
                              "index": disk.get("_index"), "key": disk.get("key")})
            else:
                disks.append({"kind": "cdrom", "bus": disk["bus"], "boot": disk["boot"], "index": disk.get("_index"),
                              "elf_image_id": disk.get("elf_image")})
        for nic in self.store.children("vm_nics", "vm", vm["id"]):
            nics.append({"vlan_id": nic["vlan"], "model": nic.get("model"), "enabled": nic.get("enabled"), "mirror": nic.get("mirror")})
        return {"cluster_id": vm["cluster"], "description": vm.get("description"), "vcpu": vm["vcpu"],
                "cpu_sockets": vm["cpu"]["sockets"], "cpu_cores": vm["cpu"]["cores"], "memory": vm["memory"], "ha": vm["ha"],
                "firmware": vm["firmware"], "guest_os_type": vm.get("guest_os_type"), "status": "STOPPED",
                "disks": disks, "nics": nics}

    def _spec_from_snapshot(self, snapshot):
        disks, nics = [], []
        for position, frozen in enumerate(snapshot.get("vm_disks") or ()):
            if frozen["type"] == "DISK":
                disks.append({"kind": "new", "name": "%s-disk%d" % (snapshot["name"], position), "size": frozen["size"],
                              "policy": frozen.get("_policy"), "bus": frozen["bus"], "boot": frozen["boot"],
                              "index": frozen["index"], "key": frozen.get("key")})
            else:
                disks.append(self._cdrom_from_frozen(frozen))
        for frozen in snapshot.get("vm_nics") or ():
            vlan = self._by_local_id("vlans", frozen["vlan"]["vlan_local_id"])
            if vlan is not None:
                nics.append({"vlan_id": vlan["id"], "model": frozen.get("model"), "enabled": frozen.get("enabled"),
                             "mirror": frozen.get("mirror")})
        return {"cluster_id": snapshot["cluster"], "vcpu": snapshot["vcpu"], "cpu_sockets": snapshot["cpu"]["sockets"],
                "cpu_cores": snapshot["cpu"]["cores"], "memory": snapshot["memory"], "ha": snapshot["ha"],
                "firmware": snapshot["firmware"], "guest_os_type": snapshot.get("_guest_os_type"), "status": "STOPPED",
                "disks": disks, "nics": nics}

    def _by_local_id(self, table, local_id):
        # Snapshots refer to VLANs and images by local_id; both tables are small, so a scan will do.
        for entity in self.store.rows(table):
            if entity["local_id"] == local_id:
                return entity
        return None

    def _cdrom_from_frozen(self, frozen):
        """A CD-ROM spec from a snapshot's frozen CD_ROM entry, with its image if that still exists."""
        image = self._by_local_id("elf_images", frozen.get("elf_image_local_id")) if frozen.get("elf_image_local_id") else None
        return {"kind": "cdrom", "bus": frozen["bus"], "boot": frozen["boot"], "index": frozen["index"],
                "elf_image_id": image["id"] if image else None}

    def _creation_spec(self, item, base, path):
        """Merge request params over a base spec (empty for create-vm) and check every reference."""
        spec = dict(base)
        for key in ("name", "description", "cluster_id", "host_id", "folder_id", "ha", "firmware", "guest_os_type", "status",
                    "io_policy", "max_iops", "max_iops_policy", "max_bandwidth_policy"):
            if item.get(key) is not None:
                spec[key] = item[key]
        if item.get("max_bandwidth") is not None:
            spec["max_bandwidth"] = int(item["max_bandwidth"] * BPS_UNITS[item.get("max_bandwidth_unit") or "Bps"])
        if item.get("memory") is not None:
            spec["memory"] = int(item["memory"] * BYTE_UNITS[item.get("memory_unit") or "B"])
        self._merge_cpu(spec, item, path)
        cluster = self.store.get("clusters", spec.get("cluster_id"))
        if cluster is None:
            raise bad_request("CLUSTER_NOT_FOUND", "%s.cluster_id %s does not exist" % (path, spec.get("cluster_id")))
        self._check_host(spec.get("host_id"), cluster["id"], path)
        self._check_member("vm_folders", spec.get("folder_id"), cluster["id"], "VM_FOLDER_NOT_FOUND", path + ".folder_id")
        if spec.get("status", "STOPPED") not in ("RUNNING", "STOPPED"):
            raise bad_request("VM_STATUS_NOT_SUPPORTED", "%s.status must be RUNNING or STOPPED" % path)
        if not spec.get("memory") or spec["memory"] <= 0:
            raise bad_request("VM_MEMORY_INVALID", "%s.memory must be positive" % path)
        spec.setdefault("status", "STOPPED")
        if item.get("vm_disks") is not None:
            spec["disks"] = self._disk_specs(item["vm_disks"], cluster["id"], path + ".vm_disks")
        else:
            for disk in spec.get("disks", ()):
                self._check_member("elf_images", disk.get("elf_image_id"), cluster["id"], "ELF_IMAGE_NOT_FOUND", path)
        if item.get("vm_nics") is not None:
            spec["nics"] = [self._nic_spec(nic, cluster["id"], "%s.vm_nics[%d]" % (path, position))
                            for position, nic in enumerate(item["vm_nics"])]
        else:
            for nic in spec.get("nics", ()):
                self._check_vlan(nic["vlan_id"], cluster["id"], path)
        spec.setdefault("disks", [])
        spec.setdefault("nics", [])
        spec["args"] = {key: value for key, value in item.items() if key in ("name", "cluster_id", "src_vm_id", "rebuild_from_snapshot_id")}
        return spec

    @staticmethod
    def _merge_cpu(spec, item, path):
        for key in ("cpu_sockets", "cpu_cores", "vcpu"):
            if item.get(key) is not None:
                spec[key] = item[key]
        if "cpu_sockets" not in spec or "cpu_cores" not in spec:
            raise bad_request("VM_CPU_INVALID", "%s needs cpu_sockets and cpu_cores" % path)
        topology = spec["cpu_sockets"] * spec["cpu_cores"]
        if item.get("vcpu") is not None and item["vcpu"] != topology:
            raise bad_request("VM_CPU_INVALID", "%s.vcpu must equal cpu_sockets * cpu_cores" % path)
        if topology <= 0:
            raise bad_request("VM_CPU_INVALID", "%s needs a positive cpu topology" % path)
        spec["vcpu"] = topology

    def _check_host(self, host_id, cluster_id, path):
        if host_id is None:
            return
        host = self.store.get("hosts", host_id)
        if host is None or host["cluster"] != cluster_id:
            raise bad_request("HOST_NOT_FOUND", "%s.host_id %s is not a host of the cluster" % (path, host_id))

    def _check_vlan(self, vlan_id, cluster_id, path):
        vlan = self.store.get("vlans", vlan_id)
        if vlan is None or self.state.factory.cluster_of_vlan(vlan) != cluster_id:
            raise bad_request("VLAN_NOT_FOUND", "%s: VLAN %s is not a VLAN of the cluster" % (path, vlan_id))

    def _check_member(self, table, entity_id, cluster_id, code, path):
        """A folder or image named by id must exist in the VM's cluster (None names nothing)."""
        if entity_id is None:
            return
        entity = self.store.get(table, entity_id)
        if entity is None or entity["cluster"] != cluster_id:
            raise bad_request(code, "%s: %s is not in the VM's cluster" % (path, entity_id))

    def _disk_specs(self, vm_disks, cluster_id, path):
        disks = []
        for position, cd_rom in enumerate(vm_disks.get("mount_cd_roms") or ()):
            where = "%s.mount_cd_roms[%d]" % (path, position)
            self._check_member("elf_images", cd_rom.get("elf_image_id"), cluster_id, "ELF_IMAGE_NOT_FOUND", where + ".elf_image_id")
            disks.append({"kind": "cdrom", "boot": cd_rom["boot"], "index": cd_rom.get("index"), "key": cd_rom.get("key"),
                          "elf_image_id": cd_rom.get("elf_image_id"), "bus": "IDE"})
        claimed = set()
        for position, mount in enumerate(vm_disks.get("mount_disks") or ()):
            volume = self.store.get("vm_volumes", mount["vm_volume_id"])
            where = "%s.mount_disks[%d]" % (path, position)
            if volume is None or volume["cluster"] != cluster_id:
                raise bad_request("VM_VOLUME_NOT_FOUND", "%s.vm_volume_id %s is not a volume of the cluster" % (where, mount["vm_volume_id"]))
            if (volume["mounting"] or volume["id"] in claimed) and not volume["sharing"]:
                raise bad_request("VM_VOLUME_IN_USE", "%s: volume %s is already mounted" % (where, volume["id"]))
            claimed.add(volume["id"])
            disks.append(dict(self._disk_limits(mount), kind="mount", volume_id=volume["id"], bus=mount["bus"],
                              boot=mount["boot"], index=mount.get("index"), key=mount.get("key")))
        for new in vm_disks.get("mount_new_create_disks") or ():
            volume = new["vm_volume"]
            size = int(volume["size"] * BYTE_UNITS[volume.get("size_unit") or "B"])
            if size <= 0:
                raise bad_request("VM_VOLUME_SIZE_INVALID", "%s: a new volume needs a positive size" % path)
            disks.append(dict(self._disk_limits(new), kind="new", name=volume["name"], size=size, policy=volume["elf_storage_policy"],
                              bus=new["bus"], boot=new["boot"], index=new.get("index"), key=new.get("key")))
        disks.sort(key=lambda disk: disk["boot"])
        for position, disk in enumerate(disks):
            if disk.get("index") is None:
                disk["index"] = position
        return disks

    @staticmethod
    def _disk_limits(params):
        limits = {key: params.get(key) for key in ("max_iops", "max_iops_policy", "max_bandwidth_policy")}
        if params.get("max_bandwidth") is not None:
            limits["max_bandwidth"] = int(params["max_bandwidth"] * BPS_UNITS[params.get("max_bandwidth_unit") or "Bps"])
        return limits

    def _nic_spec(self, nic, cluster_id, path):
        if nic.get("type") == "VPC" or nic.get("vpc_nic") is not None:
            raise bad_request("VPC_NIC_NOT_SUPPORTED", "%s: the simulator has no VPC networks" % path)
        if nic.get("connect_vlan_id") is None:
            raise bad_request("VLAN_NOT_FOUND", "%s.connect_vlan_id is required" % path)
        self._check_vlan(nic["connect_vlan_id"], cluster_id, path)
        if nic.get("mac_address") is not None and not MAC_PATTERN.match(nic["mac_address"]):
            raise bad_request("MAC_ADDRESS_INVALID", "%s.mac_address %s is not a MAC address" % (path, nic["mac_address"]))
        return {"vlan_id": nic["connect_vlan_id"], "mac_address": nic.get("mac_address"), "model": nic.get("model"),
                "enabled": nic.get("enabled", True), "mirror": nic.get("mirror", False), "ip_address": nic.get("ip_address"),
                "gateway": nic.get("gateway"), "subnet_mask": nic.get("subnet_mask")}

    # ----- edit / delete --------------------------------------------------------------------------------

    def update_vm(self, body, now, user_id):
        vms = self._select("Vm", body["where"])
        if not vms:
            return []
        data = body["data"]
        locked = self._locked_ids(vms, "VM", now)
        answers = []
        for vm in vms:
            changes = self._basic_info_changes(vm, data)
            plan = self._vm_plan("update-vm-basic-info", vm, "Edit VM", self._apply_changes(vm["id"], changes),
                                 args={"data": data})
            answers.append(self._answer(self._submit(plan, now, user_id, vm["id"] in locked), "Vm", vm))
        return answers

    def _apply_changes(self, vm_id, changes):
        def apply(when):
            self._vm_or_failure(vm_id)
            self.store.update("vms", vm_id, changes, when)
        return apply

    def _basic_info_changes(self, vm, data):
        changes = {key: data[key] for key in ("name", "description", "ha") if data.get(key) is not None}
        if data.get("memory") is not None:
            changes["memory"] = int(data["memory"] * BYTE_UNITS[data.get("memory_unit") or "B"])
            if changes["memory"] <= 0:
                raise bad_request("VM_MEMORY_INVALID", "data.memory must be positive")
        sockets = data.get("cpu_sockets", vm["cpu"]["sockets"])
        cores = data.get("cpu_cores", vm["cpu"]["cores"])
        if data.get("vcpu") is not None and data.get("cpu_sockets") is None and data.get("cpu_cores") is None:
            cores = cores if data["vcpu"] % cores == 0 else 1
            sockets = data["vcpu"] // cores
        if data.get("vcpu") is not None and data["vcpu"] != sockets * cores:
            raise bad_request("VM_CPU_INVALID", "data.vcpu must equal cpu_sockets * cpu_cores")
        if sockets * cores <= 0:
            raise bad_request("VM_CPU_INVALID", "data needs a positive cpu topology")
        if (sockets, cores) != (vm["cpu"]["sockets"], vm["cpu"]["cores"]):
            changes["cpu"] = {"sockets": sockets, "cores": cores}
            changes["vcpu"] = sockets * cores
        return changes

    def delete_vm(self, body, now, user_id):
        include_snapshots = bool((body.get("effect") or {}).get("include_snapshots"))
        return self._removal("delete-vm", body, now, user_id, "Delete VM", "DELETING",
                             lambda when, vm: self.state.factory.destroy_vm(when, vm, include_snapshots))

    def recycle_vm(self, body, now, user_id):
        def to_recycle_bin(when, vm):
            self.store.update("vms", vm["id"], {"in_recycle_bin": True, "deleted_at": iso_timestamp(when)}, when)
        return self._removal("move-vm-to-recycle", body, now, user_id, "Move VM to the recycle bin", "UPDATING", to_recycle_bin)

    def _removal(self, endpoint, body, now, user_id, description, busy_status, effect):
        vms = self._select("Vm", body["where"])
        locked = self._locked_ids(vms, "VM", now) if vms else set()
        answers = []
        for vm in vms:
            def run(when, vm_id=vm["id"]):
                effect(when, self._vm_or_failure(vm_id))
            plan = self._vm_plan(endpoint, vm, description, run, busy_status=busy_status)
            task = self._submit(plan, now, user_id, vm["id"] in locked)
            answers.append({"task_id": task["id"], "data": {"id": vm["id"]}})
        return answers

    # ----- power ----------------------------------------------------------------------------------------

    def _power_handler(self, endpoint):
        def handler(body, now, user_id):
            return self.power(endpoint, body, now, user_id)
        return handler

    def power(self, endpoint, body, now, user_id):
        vms = self._select("Vm", body["where"])
        if not vms:
            return []
        allowed, description, target = POWER_OPERATIONS[endpoint]
        locked = self._locked_ids(vms, "VM", now)
        wrong_state = [vm for vm in vms if vm["status"] not in allowed and vm["id"] not in locked]
        if wrong_state and self.state.settings["vm_state_error"] == "400":
            raise bad_request("PRECHECK_VMS_STATE_UNMATCH", "%s needs a VM in state %s; %s" % (
                endpoint, "/".join(allowed), ", ".join("%s is %s" % (vm["name"], vm["status"]) for vm in wrong_state)))
        host_id = (body.get("data") or {}).get("host_id")
        for vm in vms:
            self._check_host(host_id, vm["cluster"], "data")
        answers = []
        for vm in vms:
            plan = self._vm_plan(endpoint, vm, description, self._power_effect(vm["id"], target, host_id))
            if vm in wrong_state:
                plan.failure = ("EC_JOB_VM_STATE_MACHINE_ERROR", "VM %s cannot go from %s to %s" % (vm["name"], vm["status"], target))
            answers.append(self._answer(self._submit(plan, now, user_id, vm["id"] in locked), "Vm", vm))
        return answers

    def _power_effect(self, vm_id, target, host_id):
        def apply(when):
            vm = self._vm_or_failure(vm_id)
            changes = {"status": target}
            installed = vm.get("_tools_installed")
            if target == "RUNNING":
                changes["host"] = host_id or vm.get("host") or self._pick_host(vm["cluster"])
                changes["vm_tools_status"] = "RUNNING" if installed else "NOT_INSTALLED"
            else:
                changes["vm_tools_status"] = "NOT_RUNNING" if installed else "NOT_INSTALLED"
            if target == "STOPPED":
                changes["last_shutdown_time"] = iso_timestamp(when)
            self.store.update("vms", vm_id, changes, when)
            self.state.factory.refresh_vm(when, vm)
        return apply

    # ----- snapshots ------------------------------------------------------------------------------------

    def create_snapshots(self, body, now, user_id):
        items = body["data"]
        vms = []
        for position, item in enumerate(items):
            vm = self.store.get("vms", item["vm_id"])
            if vm is None:
                raise bad_request("VM_NOT_FOUND", "data[%d].vm_id %s does not exist" % (position, item["vm_id"]))
            vms.append(vm)
        locked = self._locked_ids(vms, "VM", now) if vms else set()
        duplicates = self._duplicate_snapshot_positions(items, vms)
        if duplicates and self.state.settings["snapshot_duplicate_name_error"] == "400":
            raise bad_request(DUPLICATE_SNAPSHOT[0], "%s: %s" % (DUPLICATE_SNAPSHOT[1], ", ".join(items[p]["name"] for p in duplicates)))
        return [self._snapshot_task(item, vm, now, user_id, vm["id"] in locked, position in duplicates)
                for position, (item, vm) in enumerate(zip(items, vms))]

    def _duplicate_snapshot_positions(self, items, vms):
        taken = {(snapshot["cluster"], snapshot["name"]) for snapshot in self.store.rows("vm_snapshots")}
        duplicates = set()
        for position, (item, vm) in enumerate(zip(items, vms)):
            key = (vm["cluster"], item["name"])
            if key in taken:
                duplicates.add(position)
            taken.add(key)
        return duplicates

    def _snapshot_task(self, item, vm, now, user_id, locked, duplicate):
        factory = self.state.factory
        consistent_type = item.get("consistent_type") or "CRASH_CONSISTENT"
        snapshot = factory.snapshot(now, vm, item["name"], consistent_type, creating=True)
        snapshot_id, vm_id = snapshot["id"], vm["id"]

        def finish(when):
            current = self._vm_or_failure(vm_id)
            if consistent_type == "FILE_SYSTEM_CONSISTENT" and current.get("vm_tools_status") != "RUNNING":
                raise TaskFailure("SVT_SERVICE_NOT_CONNECTED", "VMTools is not running in VM %s" % current["name"])
            factory.take_lun_snapshots(when, self.store.get("vm_snapshots", snapshot_id))

        def roll_back(_when):
            doomed = self.store.get("vm_snapshots", snapshot_id)
            if doomed is not None:
                factory.destroy_snapshot(doomed)
            return True

        plan = TaskPlan("create-vm-snapshot", "Creates a snapshot %s for VM %s" % (item["name"], vm["name"]), "VmSnapshot",
                        snapshot_id, finish, roll_back)
        plan.cluster_id, plan.vm_name, plan.args = vm["cluster"], vm["name"], dict(item)
        plan.locks = (vm_id, snapshot_id)
        plan.busy = (("vm_snapshots", snapshot_id, "CREATING"),)
        if consistent_type == "FILE_SYSTEM_CONSISTENT":
            plan.extra_seconds = self.state.settings["fs_consistent_extra_seconds"]
        if duplicate and not locked:
            plan.failure, plan.fails_before_start = DUPLICATE_SNAPSHOT, True
        return self._answer(self._submit(plan, now, user_id, locked), "VmSnapshot", snapshot)

    def delete_snapshots(self, body, now, user_id):
        snapshots = self._select("VmSnapshot", body["where"])
        locked = self._locked_ids(snapshots, "VM_SNAPSHOT", now) if snapshots else set()
        answers = []
        for snapshot in snapshots:
            vm = self.store.get("vms", snapshot.get("vm")) or {}

            def destroy(_when, snapshot_id=snapshot["id"]):
                doomed = self.store.get("vm_snapshots", snapshot_id)
                if doomed is None:
                    raise TaskFailure("VM_SNAPSHOT_NOT_FOUND", "The snapshot no longer exists")
                self.state.factory.destroy_snapshot(doomed)
            plan = TaskPlan("delete-vm-snapshot", "Delete VM snapshot %s" % snapshot["name"], "VmSnapshot", snapshot["id"], destroy)
            plan.cluster_id, plan.vm_name = snapshot["cluster"], vm.get("name")
            plan.locks = (snapshot["id"],)
            plan.busy = (("vm_snapshots", snapshot["id"], "DELETING"),)
            task = self._submit(plan, now, user_id, snapshot["id"] in locked)
            answers.append({"task_id": task["id"], "data": {"id": snapshot["id"]}})
        return answers

    def rollback_vm(self, body, now, user_id):
        vms = self._select("Vm", body["where"])
        if not vms:
            return []
        snapshot_id = body["data"]["snapshot_id"]
        snapshot = self.store.get("vm_snapshots", snapshot_id)
        for vm in vms:
            if snapshot is None or snapshot.get("vm") != vm["id"]:
                raise bad_request("VM_SNAPSHOT_NOT_FOUND", "snapshot %s is not a snapshot of VM %s" % (snapshot_id, vm["name"]))
        locked = self._locked_ids(vms, "VM", now) | self._locked_ids([snapshot], "VM_SNAPSHOT", now)
        running = [vm for vm in vms if vm["status"] != "STOPPED" and vm["id"] not in locked]
        if running and self.state.settings["rollback_not_stopped_error"] == "400":
            raise bad_request("VM_NOT_STOPPED", "stop %s before rolling back" % ", ".join(vm["name"] for vm in running))
        answers = []
        for vm in vms:
            plan = self._vm_plan("rollback-vm", vm, "Roll back VM %s to snapshot %s" % (vm["name"], snapshot["name"]),
                                 self._rollback_effect(vm["id"], snapshot_id), args={"snapshot_id": snapshot_id})
            plan.locks = (vm["id"], snapshot_id)
            if vm in running:
                plan.failure = ("VM_NOT_STOPPED", "VM %s is %s" % (vm["name"], vm["status"]))
            is_locked = vm["id"] in locked or snapshot_id in locked
            answers.append(self._answer(self._submit(plan, now, user_id, is_locked), "Vm", vm))
        return answers

    def _rollback_effect(self, vm_id, snapshot_id):
        def apply(when):
            vm = self._vm_or_failure(vm_id)
            snapshot = self.store.get("vm_snapshots", snapshot_id)
            if snapshot is None:
                raise TaskFailure("VM_SNAPSHOT_NOT_FOUND", "The snapshot no longer exists")
            disks = []
            for frozen in snapshot.get("vm_disks") or ():
                volume = self.store.get("vm_volumes", frozen.get("_volume_id"))
                if frozen["type"] != "DISK":
                    disks.append(self._cdrom_from_frozen(frozen))
                elif volume is not None:
                    disks.append({"kind": "mount", "volume_id": volume["id"], "bus": frozen["bus"], "boot": frozen["boot"],
                                  "index": frozen["index"], "key": frozen.get("key")})
                else:
                    disks.append({"kind": "new", "name": "restored-" + frozen["vm_volume_local_id"][:8], "size": frozen["size"],
                                  "policy": frozen.get("_policy"), "bus": frozen["bus"], "boot": frozen["boot"],
                                  "index": frozen["index"], "key": frozen.get("key")})
            nics = []
            for frozen in snapshot.get("vm_nics") or ():
                vlan = self._by_local_id("vlans", frozen["vlan"]["vlan_local_id"])
                if vlan is not None:
                    nics.append({"vlan_id": vlan["id"], "mac_address": frozen["mac_address"], "model": frozen.get("model"),
                                 "enabled": frozen.get("enabled"), "mirror": frozen.get("mirror"),
                                 "ip_address": frozen.get("ip_address") or None, "gateway": frozen.get("gateway") or None,
                                 "subnet_mask": frozen.get("subnet_mask") or None})
            factory = self.state.factory
            factory.detach_all_devices(when, vm, keep_volumes=True)
            self.store.update("vms", vm_id, {"vcpu": snapshot["vcpu"], "cpu": dict(snapshot["cpu"]), "memory": snapshot["memory"],
                                             "firmware": snapshot["firmware"], "ha": snapshot["ha"]}, when)
            factory.attach_devices(when, vm, disks, nics)
        return apply
