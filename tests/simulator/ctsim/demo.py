"""The start-up states: "demo" (two clusters, a dozen varied VMs, some snapshots) and "empty" (no VMs).

Both have the deployment (whose version is the API version served), clusters, hosts, VLANs, a VM folder and
two ISO images per cluster.

Everything is derived from the seed and a fixed base time, so the same seed gives the same ids, MACs and
UUIDs on every run. `vms=N` trims the demo list or extends it with generated VMs up to N.
"""

from .entities import GIB, EntityFactory

BASE_TIME = 1714550400.0  # 2024-05-01T08:00:00Z; demo rows are "created" from here on, a minute apart

CLUSTERS = (
    {"name": "cluster-a", "ip": "10.0.0.10", "hosts": ("node-a1", "node-a2", "node-a3"),
     "vlans": (("default", 0, "VM"), ("vm-network", 100, "VM"), ("storage-net", 300, "VM"), ("mgmt", 0, "MANAGEMENT"))},
    {"name": "cluster-b", "ip": "10.0.1.10", "hosts": ("node-b1", "node-b2"),
     "vlans": (("default", 0, "VM"), ("prod-vlan-100", 100, "VM"), ("prod-vlan-200", 200, "VM"), ("mgmt", 0, "MANAGEMENT"))},
)

# The same folder and image names in both clusters, so clients must scope lookups by cluster (like "default").
FOLDERS = ("production",)
IMAGES = (("CentOS-7-x86_64-Minimal-2009.iso", 1020264448, "CentOS 7.9 minimal installer"),
          ("ubuntu-22.04.4-live-server-amd64.iso", 2104408064, "Ubuntu Server 22.04.4 LTS installer"))

# name, cluster, status, (sockets, cores), memory GiB, data disks GiB, CD-ROM, VLAN names, VMTools, guest OS
DEMO_VMS = (
    ("web-01", 0, "RUNNING", (2, 2), 4, (40,), False, ("vm-network",), "RUNNING", "LINUX"),
    ("web-02", 0, "RUNNING", (1, 2), 4, (40,), False, ("vm-network",), "NOT_INSTALLED", "LINUX"),
    ("web-dup", 0, "RUNNING", (1, 2), 2, (20,), False, ("vm-network",), "RUNNING", "LINUX"),
    ("web-dup", 0, "STOPPED", (1, 2), 2, (20,), False, ("vm-network",), "NOT_RUNNING", "LINUX"),
    ("db-01", 0, "RUNNING", (2, 4), 16, (100, 500), True, ("vm-network", "storage-net"), "RUNNING", "LINUX"),
    ("db-02", 0, "STOPPED", (2, 4), 16, (100, 500), False, ("vm-network",), "NOT_RUNNING", "LINUX"),
    ("app-01", 1, "RUNNING", (1, 4), 8, (60,), True, ("prod-vlan-100",), "RUNNING", "LINUX"),
    ("app-02", 1, "SUSPENDED", (1, 4), 8, (60,), False, ("prod-vlan-100",), "NOT_RUNNING", "LINUX"),
    ("win-ad-01", 1, "RUNNING", (2, 2), 8, (80,), True, ("prod-vlan-100",), "RUNNING", "WINDOWS"),
    ("cache-01", 1, "STOPPED", (1, 2), 32, (20,), False, ("prod-vlan-200",), "NOT_INSTALLED", "LINUX"),
    ("build-01", 0, "STOPPED", (4, 2), 8, (200, 50, 50), False, ("vm-network",), "NOT_RUNNING", "LINUX"),
    ("legacy-01", 1, "RUNNING", (1, 1), 2, (10,), True, (), "NOT_INSTALLED", "UNKNOWN"),
    ("monitor-01", 0, "RUNNING", (1, 2), 4, (30,), False, ("vm-network", "default"), "RUNNING", "LINUX"),
    ("installer-01", 1, "STOPPED", (1, 2), 4, (), True, ("prod-vlan-200",), "NOT_INSTALLED", "LINUX"),
)

# VM name (first VM of that name), snapshot name, consistent type. Only some names carry a backup prefix,
# so retention logic can be checked to leave foreign snapshots alone.
DEMO_SNAPSHOTS = (
    ("db-01", "backup-20240501T010000", "FILE_SYSTEM_CONSISTENT"),
    ("db-01", "manual-before-upgrade", "CRASH_CONSISTENT"),
    ("db-02", "backup-20240430T010000", "CRASH_CONSISTENT"),
    ("web-01", "pre-patch-2024-04", "CRASH_CONSISTENT"),
    ("web-dup", "checkpoint", "CRASH_CONSISTENT"),
    ("app-01", "backup-20240501T020000", "CRASH_CONSISTENT"),
)
ORPHAN_SNAPSHOT = ("decommissioned-01", "final-state-before-delete")


class DemoBuilder:
    def __init__(self, store, username, version):
        self.store = store
        self.version = version
        self.factory = EntityFactory(store, version)
        self.factory.demo_content = True
        self.username = username
        self.clock = BASE_TIME
        self.clusters = []
        self.hosts = {}
        self.vlans = {}
        self.users = {}

    def tick(self):
        self.clock += 60.0
        return self.clock

    def build(self, state, vms=None):
        self._infrastructure()
        if state == "empty":
            return self.clock
        count = len(DEMO_VMS) if vms is None else vms
        created = [self._demo_vm(row, position) for position, row in enumerate(DEMO_VMS[:count])]
        for number in range(len(created), count):
            self._generated_vm(number)
        self._snapshots(created)
        if count >= len(DEMO_VMS):
            self._orphan_snapshot()
        return self.clock

    def _infrastructure(self):
        for source in ("LOCAL", "LDAP"):
            self.users[source] = self.factory.user(self.tick(), self.username, source=source)
        self.factory.deploy(self.tick(), self.version)
        for number, layout in enumerate(CLUSTERS):
            cluster = self.factory.cluster(self.tick(), layout["name"], layout["ip"])
            self.clusters.append(cluster)
            prefix = layout["ip"].rsplit(".", 1)[0]
            self.hosts[number] = [
                self.factory.host(self.tick(), cluster, name, "%s.%d" % (prefix, 11 + index), "10.10.%d.%d" % (number, 11 + index))
                for index, name in enumerate(layout["hosts"])]
            self.vlans[number] = {
                name: self.factory.vlan(self.tick(), cluster, name, vlan_id, network_type,
                                        gateway="10.%d.%d.1" % (20 + number, vlan_id % 256) if network_type == "VM" else None)
                for name, vlan_id, network_type in layout["vlans"]}
            self.store.update("clusters", cluster["id"], {"host_num": len(layout["hosts"])}, self.clock)
            for name in FOLDERS:
                self.factory.vm_folder(self.tick(), cluster, name)
            for name, size, description in IMAGES:
                self.factory.elf_image(self.tick(), cluster, name, size, description)

    def _demo_vm(self, row, position):
        name, cluster_number, status, (sockets, cores), memory_gib, disk_sizes, cd_rom, vlan_names, tools, guest_os = row
        disks = [{"kind": "new", "name": "%s-disk%d" % (name, index), "size": size * GIB, "bus": "VIRTIO", "boot": index}
                 for index, size in enumerate(disk_sizes)]
        if cd_rom:
            disks.append({"kind": "cdrom", "bus": "IDE", "boot": len(disks)})
        nics = [{"vlan_id": self.vlans[cluster_number][vlan]["id"],
                 "ip_address": "10.%d.%d.%d" % (20 + cluster_number, self.vlans[cluster_number][vlan]["vlan_id"] % 256, 10 + position)
                 if status != "STOPPED" else None,
                 "subnet_mask": "255.255.255.0", "gateway": self.vlans[cluster_number][vlan]["gateway_ip"]}
                for vlan in vlan_names]
        return self._vm(name, cluster_number, status, sockets, cores, memory_gib * GIB, disks, nics, tools, guest_os,
                        host_index=position)

    def _generated_vm(self, number):
        rng = self.store.rng
        cluster_number = number % len(self.clusters)
        status = rng.choices(("RUNNING", "STOPPED", "SUSPENDED"), weights=(60, 35, 5))[0]
        tools = rng.choice(("RUNNING", "NOT_RUNNING", "NOT_INSTALLED")) if status == "RUNNING" else "NOT_INSTALLED"
        vlan = next(vlan for vlan in self.vlans[cluster_number].values() if vlan["type"] == "VM" and vlan["vlan_id"])
        name = "vm-%05d" % number
        disks = [{"kind": "new", "name": name + "-disk0", "size": 40 * GIB, "bus": "VIRTIO", "boot": 0}]
        nics = [{"vlan_id": vlan["id"], "ip_address": "10.%d.%d.%d" % (100 + cluster_number, number // 250 % 256, number % 250 + 2)
                 if status == "RUNNING" else None}]
        self._vm(name, cluster_number, status, 1, rng.choice((1, 2, 4)), rng.choice((2, 4, 8)) * GIB, disks, nics, tools,
                 "LINUX", host_index=number)

    def _vm(self, name, cluster_number, status, sockets, cores, memory, disks, nics, tools, guest_os, host_index):
        hosts = self.hosts[cluster_number]
        now = self.tick()
        spec = {"name": name, "cluster_id": self.clusters[cluster_number]["id"], "host_id": hosts[host_index % len(hosts)]["id"],
                "vcpu": sockets * cores, "cpu_sockets": sockets, "cpu_cores": cores, "memory": memory, "ha": True,
                "firmware": "UEFI" if guest_os == "WINDOWS" else "BIOS", "guest_os_type": guest_os,
                "tools_installed": tools != "NOT_INSTALLED"}
        vm = self.factory.vm(now, spec, placeholder=False)
        changes = {"status": status, "vm_tools_status": tools, "vm_tools_version": "3.1.0" if tools != "NOT_INSTALLED" else None,
                   "win_opt": guest_os == "WINDOWS"}
        if status == "RUNNING":
            changes.update(cpu_usage=12.5, memory_usage=41.0, os="Windows Server 2019" if guest_os == "WINDOWS" else "CentOS 7.9",
                           hostname=name)
        if status == "STOPPED":
            changes["last_shutdown_time"] = "2024-04-30T22:00:00.000Z"
        self.store.update("vms", vm["id"], changes, now)
        self.factory.attach_devices(now, vm, disks, nics)
        return vm

    def _snapshots(self, created):
        first_by_name = {}
        for vm in created:
            first_by_name.setdefault(vm["name"], vm)
        for vm_name, snapshot_name, consistent_type in DEMO_SNAPSHOTS:
            vm = first_by_name.get(vm_name)
            if vm is not None:
                snapshot = self.factory.snapshot(self.tick(), vm, snapshot_name, consistent_type, creating=False)
                self.factory.take_lun_snapshots(self.clock, snapshot)

    def _orphan_snapshot(self):
        """A snapshot left behind by a VM deleted without include_snapshots (vm: null)."""
        vm_name, snapshot_name = ORPHAN_SNAPSHOT
        vm = self._vm(vm_name, 0, "STOPPED", 1, 1, 2 * GIB,
                      [{"kind": "new", "name": vm_name + "-disk0", "size": 10 * GIB, "bus": "VIRTIO", "boot": 0}], [], "NOT_INSTALLED",
                      "LINUX", host_index=0)
        snapshot = self.factory.snapshot(self.tick(), vm, snapshot_name, "CRASH_CONSISTENT", creating=False)
        self.factory.take_lun_snapshots(self.clock, snapshot)
        self.factory.destroy_vm(self.tick(), vm, include_snapshots=False)
