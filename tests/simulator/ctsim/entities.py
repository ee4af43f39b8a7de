"""Construction and teardown of entities, shared by the demo builder and the mutations.

A VM's data disks live on VM volumes, each backed by one iSCSI LUN; a VM snapshot freezes the VM's
configuration and, for every data disk, names an iSCSI LUN snapshot (`snapshot_local_id` is that LUN
snapshot's NAME, while the LUN snapshot's own `local_id` is a separate UUID, as on real clusters).
"""

from .schema import RESOURCES
from .store import iso_timestamp

GIB = 1024 ** 3
BUS_DEVICE_PREFIX = {"VIRTIO": "vd", "SCSI": "sd", "IDE": "hd", "USB": "sd"}
VOLUME_PATH = "/usr/share/smartx/volumes/%s"
IMAGE_PATH = "/usr/share/smartx/images/%s"


TARGET_SETTING_KEYS = ("ip_whitelist", "iqn_whitelist", "chap_enabled", "chap_name", "chap_secret", "description")
QOS_KEYS = tuple(prefix + suffix for prefix in ("bps", "iops")
                 for suffix in ("", "_max", "_max_length", "_rd", "_rd_max", "_rd_max_length", "_wr", "_wr_max", "_wr_max_length"))
BYTE_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4, "PB": 1024 ** 5}
BPS_UNITS = {"Bps": 1, "KBps": 1024, "MBps": 1024 ** 2, "GBps": 1024 ** 3, "TBps": 1024 ** 4}


def target_settings(params):
    """The access and QoS fields an iSCSI target takes from create/update params (units applied)."""
    settings = {key: params[key] for key in TARGET_SETTING_KEYS if params.get(key) is not None}
    if params.get("initiator_chaps") is not None:
        settings["initiator_chaps"] = [{"initiator_iqn": chap["initiator_iqn"], "chap_name": chap["chap_name"],
                                        "chap_secret": chap["chap_secret"]} for chap in params["initiator_chaps"]]
    for key in QOS_KEYS:
        if params.get(key) is not None:
            unit = params.get(key + "_unit") if key.startswith("bps") else None
            settings[key] = int(params[key] * BPS_UNITS[unit or "Bps"])
    return settings


def device_name(bus, position):
    return BUS_DEVICE_PREFIX.get(bus, "vd") + "abcdefghijklmnopqrstuvwxyz"[position % 26]


class EntityFactory:
    """Creates and removes entities in a store, keeping every relation consistent."""

    def __init__(self, store, version=None):
        self.store = store
        self.ids = store.ids
        # 4.6 lists a VM volume snapshot for every disk of a VM snapshot (get-vm-volume-snapshots); older versions do not.
        self.volume_snapshots = version is not None and RESOURCES["VmVolumeSnapshot"].exists_in(version)
        # The demo builder turns this on: its volumes get recognisable content (see volumes_data.pattern_blocks).
        self.demo_content = False

    # ----- infrastructure -------------------------------------------------------------------------------

    def cluster(self, now, name, ip, version="5.0.5", cpu_cores=96, memory=768 * GIB, capacity=40 * 1024 * GIB):
        cluster = {
            "id": self.ids.cuid(now), "local_id": self.ids.uuid(), "name": name, "ip": ip, "version": version,
            "type": "SMTX_OS", "architecture": "X86_64", "connect_state": "CONNECTED", "hypervisor": "ELF",
            "management_vip": ip, "iscsi_vip": None, "ntp_mode": "INTERNAL", "dns": ["114.114.114.114"],
            "ntp_servers": ["ntp.%s.local" % name], "recommended_cpu_models": ["Cascadelake-Server"],
            "total_cpu_models": ["Cascadelake-Server", "Skylake-Server"], "total_cpu_cores": cpu_cores,
            "total_cpu_sockets": 4, "total_memory_bytes": memory, "total_data_capacity": capacity,
            "used_data_space": capacity // 5, "valid_data_space": capacity // 2, "failure_data_space": 0,
            "total_cpu_hz": cpu_cores * 2_400_000_000, "used_cpu_hz": 0.0, "used_memory_bytes": 0.0,
            "software_edition": "ENTERPRISE", "license_type": "PERPETUAL", "license_serial": "SIM-" + name.upper(),
            "is_all_flash": False, "stretch": False, "has_metrox": False, "pmem_enabled": False, "rdma_enabled": False,
            "nvmf_enabled": False, "vhost_enabled": False, "auto_converge": True, "current_cpu_model": "Cascadelake-Server",
            "mgt_gateway": ip.rsplit(".", 1)[0] + ".1", "mgt_netmask": "255.255.255.0", "max_chunk_num": 255,
            "application_highest_version": None, "upgrade_tool_version": None,
            "nvme_over_rdma_enabled": False, "nvme_over_tcp_enabled": False, "local_created_at": iso_timestamp(now),
        }
        self.store.insert("clusters", cluster, now)
        cluster["_iscsi_target"] = self._iscsi_target(now, cluster)["id"]
        cluster["_vds"] = self._vds(now, cluster)["id"]
        return cluster

    def _iscsi_target(self, now, cluster):
        """The cluster's internal iSCSI target, which backs every VM volume's LUN."""
        name = "zbs-iscsi-target-" + cluster["name"]
        target = {
            "id": self.ids.cuid(now), "local_id": self.ids.uuid(), "name": name, "cluster": cluster["id"], "description": "",
            "iqn_name": "iqn.2016-02.com.smartx:system:" + name, "ip_whitelist": "*/*", "iqn_whitelist": "*/*",
            "chap_enabled": False, "external_use": False, "internal": True, "replica_num": 2, "stripe_num": 8,
            "stripe_size": 256 * 1024, "thin_provision": True, "initiator_chaps": [],
        }
        return self.store.insert("iscsi_targets", target, now)

    def external_iscsi_target(self, now, cluster, params):
        """A target made through create-iscsi-target (for initiators outside the cluster, e.g. a backup host)."""
        target = {
            "id": self.ids.cuid(now), "local_id": self.ids.uuid(), "name": params["name"], "cluster": cluster["id"],
            "description": params.get("description") or "", "iqn_name": "iqn.2016-02.com.smartx:system:" + params["name"],
            "ip_whitelist": "*/*", "iqn_whitelist": "*/*", "chap_enabled": False, "chap_name": None, "chap_secret": None,
            "initiator_chaps": [], "external_use": True, "internal": False, "replica_num": params["replica_num"],
            "stripe_num": params["stripe_num"], "stripe_size": params["stripe_size"], "thin_provision": params["thin_provision"],
            "entityAsyncStatus": "CREATING",
        }
        target.update(target_settings(params))
        return self.store.insert("iscsi_targets", target, now)

    def _vds(self, now, cluster):
        """The cluster's one distributed switch; every VLAN hangs off it (vlans_num counts them)."""
        vds = {
            "id": self.ids.cuid(now), "local_id": self.ids.uuid(), "name": "vds-ovsbr-" + cluster["name"], "cluster": cluster["id"],
            "ovsbr_name": "ovsbr-" + cluster["name"], "bond_mode": "active-backup", "type": "VM", "internal": False,
            "vlans_num": 0, "work_mode": None,
        }
        return self.store.insert("vdses", vds, now)

    def host(self, now, cluster, name, management_ip, data_ip):
        host = {
            "id": self.ids.cuid(now), "local_id": self.ids.uuid(), "name": name, "cluster": cluster["id"],
            "management_ip": management_ip, "data_ip": data_ip, "access_ip": management_ip, "hypervisor_ip": management_ip,
            "chunk_id": str(self.store.rng.randint(1, 255)), "cpu_brand": "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz",
            "cpu_model": "Cascadelake-Server", "cpu_vendor": "GenuineIntel", "model": "SMTX-NODE-2U", "serial": self.ids.uuid()[:12],
            "compatible_cpu_models": ["Cascadelake-Server", "Skylake-Server"], "cpu_fan_speed": [], "cpu_temperature_celsius": [],
            "cpu_hz_per_core": 3_000_000_000, "total_cpu_cores": 48, "total_cpu_sockets": 2, "total_cpu_hz": 48 * 3_000_000_000,
            "total_memory_bytes": 384 * GIB, "os_memory_bytes": 16 * GIB, "allocatable_memory_bytes": 360 * GIB,
            "provisioned_memory_bytes": 0, "running_pause_vm_memory_bytes": 0, "provisioned_cpu_cores": 0,
            "total_data_capacity": 20 * 1024 * GIB, "used_data_space": 4 * 1024 * GIB, "failure_data_space": 0,
            "hdd_data_capacity": 16 * 1024 * GIB, "ssd_data_capacity": 4 * 1024 * GIB, "hdd_disk_count": 8, "ssd_disk_count": 2,
            "nic_count": 4, "pmem_dimm_capacity": 0, "pmem_dimm_count": 0, "pmem_disk_count": 0,
            "state": "IN_USE", "status": "CONNECTED_HEALTHY", "nested_virtualization": False, "lsm_cap_disk_safe_umount": True,
            "os_version": "el7", "scvm_cpu": 8, "scvm_memory": 32 * GIB, "scvm_name": "scvm-" + name,
            "used_cpu_hz": 0.0, "used_memory_bytes": 0.0, "is_os_in_raid1": True, "with_faster_ssd_as_cache": True,
        }
        return self.store.insert("hosts", host, now)

    def vlan(self, now, cluster, name, vlan_id, network_type="VM", gateway=None, subnetmask="255.255.255.0"):
        vlan = {
            "id": self.ids.cuid(now), "local_id": "%s_%s" % (cluster["local_id"], self.ids.uuid()), "name": name,
            "vlan_id": vlan_id, "type": network_type, "vds": cluster["_vds"], "gateway_ip": gateway, "subnetmask": subnetmask,
            "gateway_subnetmask": subnetmask if gateway else None, "mode_type": "VLAN_ACCESS", "network_ids": [],
        }
        self.store.insert("vlans", vlan, now)
        self.store.update("vdses", vlan["vds"], {"vlans_num": len(self.store.children("vlans", "vds", vlan["vds"]))}, now)
        return vlan

    def cluster_of_vlan(self, vlan):
        vds = self.store.get("vdses", vlan.get("vds"))
        return vds["cluster"] if vds else None

    def deploy(self, now, version):
        """The CloudTower deployment itself; clients read its version to pick version-dependent behaviour."""
        return self.store.insert("deploys", {"id": self.ids.cuid(now), "version": version, "license": None}, now)

    def label(self, now, key, value=None):
        label = {"id": self.ids.cuid(now), "key": key, "value": value, "createdAt": iso_timestamp(now), "vms": [],
                 "vm_num": 0, "total_num": 0}
        return self.store.insert("labels", label, now)

    def vm_folder(self, now, cluster, name):
        folder = {"id": self.ids.cuid(now), "local_id": self.ids.uuid(), "name": name, "cluster": cluster["id"], "vm_num": 0}
        return self.store.insert("vm_folders", folder, now)

    def elf_image(self, now, cluster, name, size, description=""):
        """An ISO uploaded to a cluster, which CD-ROMs can mount (VmDisk.elf_image)."""
        local_id = self.ids.uuid()
        image = {
            "id": self.ids.cuid(now), "local_id": local_id, "name": name, "description": description, "size": size,
            "path": IMAGE_PATH % local_id, "cluster": cluster["id"], "local_created_at": iso_timestamp(now),
            "entityAsyncStatus": None, "content_library_image": None, "upload_task": None,
        }
        return self.store.insert("elf_images", image, now)

    def user(self, now, username, source="LOCAL", role="ROOT"):
        user = {
            "id": self.ids.cuid(now), "name": username, "username": username, "display_username": username,
            "source": source, "role": role, "internal": False, "email_address": None, "mobile_phone": None,
            "password_expired": False,
        }
        return self.store.insert("users", user, now)

    def iscsi_target_of(self, cluster_id):
        return self.store.get("iscsi_targets", self.store.get("clusters", cluster_id)["_iscsi_target"])

    # ----- storage --------------------------------------------------------------------------------------

    def volume(self, now, cluster_id, name, size, policy="REPLICA_2_THIN_PROVISION", local_id=None):
        """A VM volume and the iSCSI LUN behind it."""
        target = self.iscsi_target_of(cluster_id)
        volume_local_id = local_id or self.ids.uuid()
        lun = self.lun(now, target, volume_local_id, size, 3 if policy.startswith("REPLICA_3") else 2, "THIN" in policy)
        volume = {
            "id": self.ids.cuid(now), "local_id": volume_local_id, "name": name, "size": size, "cluster": cluster_id,
            "elf_storage_policy": policy, "path": VOLUME_PATH % volume_local_id, "lun": lun["id"], "mounting": False,
            "sharing": False, "local_created_at": iso_timestamp(now), "type": "KVM_VOLUME_ISCSI", "unique_size": 0,
            "guest_used_size": None, "description": None,
        }
        return self.store.insert("vm_volumes", volume, now)

    def lun(self, now, target, name, size, replica_num=2, thin_provision=True, lun_number=None):
        """An iSCSI LUN in a target (a VM volume's, or one made through the iSCSI API)."""
        lun = {
            "id": self.ids.cuid(now), "local_id": self.ids.uuid(), "name": name, "iscsi_target": target["id"],
            "lun_id": lun_number or self._next_lun_number(target), "assigned_size": size, "shared_size": 0, "unique_size": 0,
            "replica_num": replica_num, "thin_provision": thin_provision,
            "stripe_num": 8, "stripe_size": 256 * 1024, "snapshot_num": 0, "allowed_initiators": "*/*",
            "zbs_volume_id": self.ids.uuid(), "local_created_at": iso_timestamp(now), "io_size": 0,
        }
        for prefix in ("bps", "iops"):
            for suffix in ("", "_max", "_max_length", "_rd", "_rd_max", "_rd_max_length", "_wr", "_wr_max", "_wr_max_length"):
                lun[prefix + suffix] = 0
        # Only a description of the bytes: the file appears when something first reads or writes them.
        lun["_content"] = ("pattern", lun["zbs_volume_id"]) if self.demo_content else ("zero",)
        return self.store.insert("iscsi_luns", lun, now)

    @staticmethod
    def _next_lun_number(target):
        # LUN numbers are never reused within a target, like ZBS (LUN 0 is the target's controller).
        target["_luns"] = target.get("_luns", 0) + 1
        return target["_luns"]

    def remove_volume(self, now, volume):
        """Delete a volume and its LUN; the LUN's snapshots stay behind, detached (iscsi_lun: null)."""
        lun_id = volume.get("lun")
        for lun_snapshot in list(self.store.rows("iscsi_lun_snapshots")):
            if lun_snapshot.get("iscsi_lun") == lun_id:
                self.store.update("iscsi_lun_snapshots", lun_snapshot["id"], {"iscsi_lun": None}, now)
        for volume_snapshot in list(self.store.rows("vm_volume_snapshots")):
            if volume_snapshot.get("vm_volume") == volume["id"]:
                self.store.update("vm_volume_snapshots", volume_snapshot["id"], {"vm_volume": None}, now)
        self.store.data.discard("iscsi_luns", self.store.delete("iscsi_luns", lun_id))
        self.store.delete("vm_volumes", volume["id"])

    # ----- VMs ------------------------------------------------------------------------------------------

    def vm(self, now, spec, placeholder):
        """A VM row from a normalised spec (see operations.VmSpec); devices are attached separately."""
        vm = {
            "id": self.ids.cuid(now), "local_id": ("placeholder-" if placeholder else "") + self.ids.uuid(),
            "name": spec["name"], "description": spec.get("description") or "", "cluster": spec["cluster_id"],
            "host": spec.get("host_id"), "vcpu": spec["vcpu"], "cpu": {"sockets": spec["cpu_sockets"], "cores": spec["cpu_cores"]},
            "memory": spec["memory"], "status": "STOPPED", "ha": spec.get("ha", True), "firmware": spec.get("firmware", "BIOS"),
            "guest_os_type": spec.get("guest_os_type") or "LINUX", "clock_offset": "UTC", "cpu_model": "cluster_default",
            "in_recycle_bin": False, "internal": False, "ips": "", "nested_virtualization": False, "node_ip": "",
            "out_uninstall_usb": [], "protected": False, "vm_tools_status": "NOT_INSTALLED", "win_opt": False,
            "video_type": "CIRRUS", "io_policy": spec.get("io_policy") or "RESTRICT_EACH_DISK",
            "max_iops": spec.get("max_iops"), "max_iops_policy": spec.get("max_iops_policy") or "DYNAMIC",
            "max_bandwidth": spec.get("max_bandwidth"), "max_bandwidth_policy": spec.get("max_bandwidth_policy") or "DYNAMIC",
            "local_created_at": iso_timestamp(now), "bios_uuid": self.ids.uuid(), "cloud_init_supported": False,
            "entityAsyncStatus": "CREATING" if placeholder else None, "_tools_installed": bool(spec.get("tools_installed")),
            "size": 0, "provisioned_size": 0, "logical_size_bytes": 0, "unique_size": 0, "folder": spec.get("folder_id"),
        }
        self.store.insert("vms", vm, now)
        self._count_folder_vms(now, vm["folder"])
        return vm

    def _count_folder_vms(self, now, folder_id):
        # vm_num is stored rather than computed so that filters and orderBy on it see the same value.
        if folder_id is not None:
            self.store.update("vm_folders", folder_id, {"vm_num": len(self.store.children("vms", "folder", folder_id))}, now)

    def attach_devices(self, now, vm, disk_specs, nic_specs):
        """Create the VM's disks (new volumes, mounted volumes, CD-ROMs) and NICs, then refresh its totals."""
        for position, disk_spec in enumerate(disk_specs):
            self._attach_disk(now, vm, disk_spec, position)
        for position, nic_spec in enumerate(nic_specs):
            self._attach_nic(now, vm, nic_spec, position)
        self.refresh_vm(now, vm)

    def _attach_disk(self, now, vm, spec, position):
        volume_id = None
        if spec["kind"] == "new":
            volume = self.volume(now, vm["cluster"], spec["name"], spec["size"], spec.get("policy") or "REPLICA_2_THIN_PROVISION",
                                 local_id=spec.get("local_id"))
            volume_id = volume["id"]
        elif spec["kind"] == "mount":
            volume_id = spec["volume_id"]
        if volume_id is not None:
            self.store.update("vm_volumes", volume_id, {"mounting": True}, now)
        bus = spec.get("bus") or ("IDE" if spec["kind"] == "cdrom" else "VIRTIO")
        disk = {
            "id": self.ids.cuid(now), "vm": vm["id"], "vm_volume": volume_id, "type": "CD_ROM" if spec["kind"] == "cdrom" else "DISK",
            "bus": bus, "boot": spec.get("boot", position), "key": spec.get("key"), "device": device_name(bus, position),
            "disabled": False, "elf_image": spec.get("elf_image_id"), "max_iops": spec.get("max_iops"), "max_iops_policy": spec.get("max_iops_policy"),
            "max_bandwidth": spec.get("max_bandwidth"), "max_bandwidth_policy": spec.get("max_bandwidth_policy"),
            "serial": None if spec["kind"] == "cdrom" else self.ids.uuid().replace("-", "")[:20],
            "_index": spec.get("index", position),
        }
        self.store.insert("vm_disks", disk, now)

    def _attach_nic(self, now, vm, spec, position):
        nic = {
            "id": self.ids.cuid(now), "local_id": self.ids.uuid(), "vm": vm["id"], "vlan": spec["vlan_id"],
            "mac_address": spec.get("mac_address") or self.ids.mac(), "model": spec.get("model") or "VIRTIO",
            "enabled": spec.get("enabled", True), "mirror": spec.get("mirror", False), "ip_address": spec.get("ip_address"),
            "gateway": spec.get("gateway"), "subnet_mask": spec.get("subnet_mask"), "order": position, "interface_id": None,
            "type": "VLAN", "egress_rate_limit_enabled": False, "ingress_rate_limit_enabled": False,
        }
        self.store.insert("vm_nics", nic, now)

    def refresh_vm(self, now, vm):
        """Recompute what a VM derives from its devices and host."""
        data_disks = [disk for disk in self.store.children("vm_disks", "vm", vm["id"]) if disk["type"] == "DISK"]
        size = sum(self.store.get("vm_volumes", disk["vm_volume"])["size"] for disk in data_disks
                   if self.store.get("vm_volumes", disk["vm_volume"]) is not None)
        nics = self.store.children("vm_nics", "vm", vm["id"])
        host = self.store.get("hosts", vm.get("host"))
        self.store.update("vms", vm["id"], {
            "size": size, "provisioned_size": size, "logical_size_bytes": size,
            "ips": ",".join(nic["ip_address"] for nic in nics if nic.get("ip_address")) if vm["status"] == "RUNNING" else "",
            "node_ip": host["management_ip"] if host else "",
        }, now)

    def detach_all_devices(self, now, vm, keep_volumes=True):
        """Remove a VM's disks and NICs; volumes become unmounted (or are removed with their LUNs)."""
        for disk in self.store.children("vm_disks", "vm", vm["id"]):
            self.store.delete("vm_disks", disk["id"])
            volume = self.store.get("vm_volumes", disk.get("vm_volume"))
            if volume is None:
                continue
            if keep_volumes or volume.get("sharing"):
                self.store.update("vm_volumes", volume["id"], {"mounting": bool(self.store.children("vm_disks", "vm_volume", volume["id"]))}, now)
            else:
                self.remove_volume(now, volume)
        for nic in self.store.children("vm_nics", "vm", vm["id"]):
            self.store.delete("vm_nics", nic["id"])

    def destroy_vm(self, now, vm, include_snapshots):
        """Delete a VM with its devices and volumes; its snapshots go too, or stay behind with vm: null."""
        for snapshot in self.store.children("vm_snapshots", "vm", vm["id"]):
            if include_snapshots:
                self.destroy_snapshot(snapshot)
            else:
                self.store.update("vm_snapshots", snapshot["id"], {"vm": None}, now)
        self.detach_all_devices(now, vm, keep_volumes=False)
        self.store.delete("vms", vm["id"])
        self._count_folder_vms(now, vm.get("folder"))

    # ----- snapshots ------------------------------------------------------------------------------------

    def frozen_config(self, vm):
        """The part of a VM a snapshot keeps: frozen disks (with LUN snapshot names to be) and NICs."""
        frozen_disks = []
        snapshot_tag = self.ids.uuid()
        for disk in self.store.children("vm_disks", "vm", vm["id"]):
            volume = self.store.get("vm_volumes", disk.get("vm_volume"))
            image = self.store.get("elf_images", disk.get("elf_image")) or {}
            is_disk = disk["type"] == "DISK" and volume is not None
            frozen_disks.append({
                "boot": disk["boot"], "bus": disk["bus"], "disabled": disk.get("disabled"), "disk_name": None,
                "elf_image_local_id": image.get("local_id", ""), "image_name": image.get("name"), "index": disk.get("_index", 0),
                "key": disk.get("key"), "max_bandwidth": disk.get("max_bandwidth"), "max_bandwidth_policy": disk.get("max_bandwidth_policy"),
                "max_iops": disk.get("max_iops"), "max_iops_policy": disk.get("max_iops_policy"),
                "path": volume["path"] if is_disk else "", "size": volume["size"] if is_disk else 0,
                "snapshot_local_id": "%s-%s" % (volume["local_id"], snapshot_tag) if is_disk else None,
                "storage_policy_uuid": "", "svt_image_local_id": "",
                "type": "DISK" if is_disk else "CD_ROM", "vm_volume_local_id": volume["local_id"] if is_disk else "",
                "vm_volume_snapshot_uuid": None, "vm_volume_template_uuid": None,
                "_volume_id": volume["id"] if is_disk else None,
                "_policy": volume["elf_storage_policy"] if is_disk else None,
            })
        frozen_nics = []
        for nic in self.store.children("vm_nics", "vm", vm["id"]):
            vlan = self.store.get("vlans", nic.get("vlan")) or {}
            vds = self.store.get("vdses", vlan.get("vds")) or {}
            frozen_nics.append({
                "enabled": nic.get("enabled"), "gateway": nic.get("gateway") or "", "index": nic.get("order", 0),
                "ip_address": nic.get("ip_address") or "", "mac_address": nic["mac_address"], "mirror": nic.get("mirror"),
                "model": nic.get("model"), "subnet_mask": nic.get("subnet_mask") or "",
                "vlan": {"name": vlan.get("name", ""), "vds_ovs": vds.get("ovsbr_name", ""), "vlan_id": vlan.get("vlan_id", 0),
                         "vlan_local_id": vlan.get("local_id", ""), "network_ids": []},
            })
        return frozen_disks, frozen_nics

    def snapshot(self, now, vm, name, consistent_type, creating):
        frozen_disks, frozen_nics = self.frozen_config(vm)
        snapshot = {
            "id": self.ids.cuid(now), "local_id": self.ids.uuid(), "name": name, "description": "", "vm": vm["id"],
            "cluster": vm["cluster"], "consistent_type": consistent_type, "vcpu": vm["vcpu"], "cpu": dict(vm["cpu"]),
            "memory": vm["memory"], "size": vm.get("size") or 0, "firmware": vm["firmware"], "ha": vm["ha"],
            "clock_offset": vm["clock_offset"], "cpu_model": vm["cpu_model"], "win_opt": vm["win_opt"],
            "io_policy": vm.get("io_policy"), "max_iops": vm.get("max_iops"), "max_iops_policy": vm.get("max_iops_policy"),
            "max_bandwidth": vm.get("max_bandwidth"), "max_bandwidth_policy": vm.get("max_bandwidth_policy"),
            "local_created_at": iso_timestamp(now), "vm_disks": frozen_disks, "vm_nics": frozen_nics,
            "entityAsyncStatus": "CREATING" if creating else None, "_lun_snapshots": [], "_guest_os_type": vm.get("guest_os_type"),
        }
        return self.store.insert("vm_snapshots", snapshot, now)

    def take_lun_snapshots(self, now, snapshot):
        """Create the iSCSI LUN snapshots a VM snapshot's DISK entries name."""
        for frozen in snapshot["vm_disks"]:
            if frozen["type"] != "DISK":
                continue
            volume = self.store.get("vm_volumes", frozen.get("_volume_id"))
            lun = self.store.get("iscsi_luns", volume.get("lun")) if volume else None
            cluster_id = snapshot["cluster"]
            lun_snapshot = {
                "id": self.ids.cuid(now), "local_id": self.ids.uuid(), "name": frozen["snapshot_local_id"],
                "iscsi_lun": lun["id"] if lun else None, "iscsi_target": self.iscsi_target_of(cluster_id)["id"],
                "unique_size": 0, "local_created_at": iso_timestamp(now), "entityAsyncStatus": None,
                "_size": lun["assigned_size"] if lun else frozen["size"],
            }
            # The disk's bytes are frozen now: later guest writes go to the LUN, not to this copy.
            if lun:
                self.store.data.copy_content("iscsi_luns", lun, "iscsi_lun_snapshots", lun_snapshot)
            self.store.insert("iscsi_lun_snapshots", lun_snapshot, now)
            snapshot["_lun_snapshots"].append(lun_snapshot["id"])
            if self.volume_snapshots and volume:
                self.volume_snapshot(now, snapshot, frozen, volume, lun_snapshot)
            if lun:
                self.store.update("iscsi_luns", lun["id"], {"snapshot_num": lun["snapshot_num"] + 1}, now)

    def volume_snapshot(self, now, snapshot, frozen, volume, lun_snapshot):
        """The VM volume snapshot of one disk of a VM snapshot: its bytes are those of the disk's LUN snapshot.

        [assumed] It is named like the LUN snapshot (the frozen disk's snapshot_local_id), the frozen disk's
        vm_volume_snapshot_uuid is its local_id and its zbs_snapshot_uuid the LUN snapshot's local_id (the ZBS
        snapshot); its type is KVM_VOLUME_ISCSI_SNAPSHOT, as the volumes are KVM_VOLUME_ISCSI.
        """
        row = {
            "id": self.ids.cuid(now), "local_id": self.ids.uuid(), "name": frozen["snapshot_local_id"], "description": "",
            "cluster": snapshot["cluster"], "createAt": iso_timestamp(now), "elf_storage_policy": volume["elf_storage_policy"],
            "entityAsyncStatus": None, "local_created_at": iso_timestamp(now), "shared_size": 0.0, "size": float(volume["size"]),
            "type": "KVM_VOLUME_ISCSI_SNAPSHOT", "unique_size": 0.0, "vm_volume": volume["id"], "volume_sharing": volume["sharing"],
            "volume_size": float(volume["size"]), "zbs_snapshot_uuid": lun_snapshot["local_id"], "_lun_snapshot": lun_snapshot["id"],
        }
        self.store.insert("vm_volume_snapshots", row, now)
        frozen["vm_volume_snapshot_uuid"] = row["local_id"]
        snapshot.setdefault("_volume_snapshots", []).append(row["id"])

    def destroy_snapshot(self, snapshot):
        for volume_snapshot_id in snapshot.get("_volume_snapshots", ()):
            self.store.delete("vm_volume_snapshots", volume_snapshot_id)
        for lun_snapshot_id in snapshot.get("_lun_snapshots", ()):
            lun_snapshot = self.store.delete("iscsi_lun_snapshots", lun_snapshot_id)
            self.store.data.discard("iscsi_lun_snapshots", lun_snapshot)
            lun = self.store.get("iscsi_luns", lun_snapshot.get("iscsi_lun")) if lun_snapshot else None
            if lun is not None:
                lun["snapshot_num"] = max(0, lun["snapshot_num"] - 1)
        self.store.delete("vm_snapshots", snapshot["id"])
