# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM a cloudtower_vm task asks for: validated options, resolved references and API bodies.

Everything that can be judged without CloudTower is judged in ``VmSpec.from_params``, before any
request, so a typo never costs a half-made VM. Names of hosts, folders, VLANs, images and volumes
are resolved later by ``resolve_references``, one query per kind, once the VM's cluster is known.
The bodies built here follow VmCreationParams / VmCloneParams / VmRebuildParams of the 1.8, 1.10
and 4.6 specs: sizes and memory in bytes (no ``*_unit`` keys, which 1.8 and 1.10 refuse), and an
``index`` on every disk because 1.8 requires it on CD-ROMs and existing volumes.
"""

from __future__ import annotations

import re

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vlans as api_vlans
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError, NotFoundError
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import ELF_IMAGE, HOST, VLAN, VM_FOLDER, VM_VOLUME, related_to, scope_text
from ansible_collections.smartx.cloudtower.plugins.module_utils.units import parse_size

# Enum values of all supported versions; a value an older CloudTower lacks (USB, EC...) is refused by it.
BUSES = ("IDE", "SCSI", "USB", "VIRTIO")
NIC_MODELS = ("E1000", "SRIOV", "VIRTIO")
FIRMWARES = ("BIOS", "UEFI")
GUEST_OS_TYPES = ("LINUX", "UNKNOWN", "WINDOWS")
STORAGE_POLICIES = (
    "REPLICA_1_THICK_PROVISION", "REPLICA_1_THIN_PROVISION", "REPLICA_2_THICK_PROVISION", "REPLICA_2_THIN_PROVISION",
    "REPLICA_3_THICK_PROVISION", "REPLICA_3_THIN_PROVISION", "ELF_CP_REPLICA_2_THICK_PROVISION",
    "ELF_CP_REPLICA_2_THIN_PROVISION", "ELF_CP_REPLICA_3_THICK_PROVISION", "ELF_CP_REPLICA_3_THIN_PROVISION", "EC",
)
DISK_TYPES = ("disk", "cdrom")

DEFAULT_BUS = "VIRTIO"
DEFAULT_NIC_MODEL = "VIRTIO"
DEFAULT_STORAGE_POLICY = "REPLICA_2_THIN_PROVISION"
DEFAULT_FIRMWARE = "BIOS"
DEFAULT_HA = True


MAC_PATTERN = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


def disk_suboptions():
    """argument_spec options of one entry of the disks option."""
    return dict(
        type=dict(type="str", choices=list(DISK_TYPES), default="disk"),
        size=dict(type="str"),
        volume=dict(type="str"),
        name=dict(type="str"),
        bus=dict(type="str", choices=list(BUSES)),
        storage_policy=dict(type="str", choices=list(STORAGE_POLICIES)),
        image=dict(type="str"),
    )


def nic_suboptions():
    """argument_spec options of one entry of the nics option."""
    return dict(
        vlan=dict(type="str", required=True),
        model=dict(type="str", choices=list(NIC_MODELS)),
        mac_address=dict(type="str"),
        enabled=dict(type="bool"),
    )


def cloud_init_suboptions():
    """argument_spec options of the cloud_init option (TemplateCloudInit of every supported API version)."""
    return dict(
        hostname=dict(type="str"),
        default_user_password=dict(type="str", no_log=True),
        public_keys=dict(type="list", elements="str", no_log=False),
        nameservers=dict(type="list", elements="str"),
        user_data=dict(type="str"),
        networks=dict(type="list", elements="dict", options=dict(
            nic=dict(type="int"),
            type=dict(type="str", choices=["dhcp", "static"], default="dhcp"),
            ip_address=dict(type="str"),
            netmask=dict(type="str"),
            gateway=dict(type="str"),
            routes=dict(type="list", elements="dict", options=dict(
                network=dict(type="str", required=True),
                netmask=dict(type="str", required=True),
                gateway=dict(type="str", required=True),
            )),
        )),
    )


def cloud_init_body(cloud_init):
    """TemplateCloudInit from the cloud_init option; a network's nic defaults to its position, gateway is the default route."""
    body = {key: cloud_init[key] for key in ("hostname", "default_user_password", "public_keys", "nameservers", "user_data")
            if cloud_init.get(key) not in (None, [])}
    networks = []
    for position, network in enumerate(cloud_init.get("networks") or ()):
        entry = {"nic_index": position if network.get("nic") is None else network["nic"],
                 "type": "IPV4" if network.get("type") == "static" else "IPV4_DHCP"}
        if network.get("type") == "static":
            entry["ip_address"], entry["netmask"] = network["ip_address"], network["netmask"]
        routes = [dict(r) for r in network.get("routes") or ()]
        if network.get("gateway"):
            routes.insert(0, {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": network["gateway"]})
        if routes:
            entry["routes"] = routes
        networks.append(entry)
    if networks:
        body["networks"] = networks
    return body


def check_cloud_init(cloud_init):
    """Contradictions in cloud_init, refused naming cloud_init.networks[N].<key> before any request."""
    for position, network in enumerate(cloud_init.get("networks") or ()):
        path = "cloud_init.networks[%d]" % position
        if network.get("nic") is not None and network["nic"] < 0:
            raise InputError(path + ".nic", network["nic"], "must be a NIC position (0 for the first NIC)")
        if network.get("type") == "static":
            for key in ("ip_address", "netmask"):
                if not network.get(key):
                    raise InputError("%s.%s" % (path, key), network.get(key), "is required for a static network (type: static)")
        else:
            for key in ("ip_address", "netmask"):
                if network.get(key):
                    raise InputError("%s.%s" % (path, key), network[key], "applies only to type: static (this network uses DHCP)")


def format_size(size):
    """Bytes as the largest binary unit that divides them: 10737418240 -> 10GiB."""
    size = int(size)
    for unit, factor in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return "%d%s" % (size // factor, unit)
    return "%dB" % size


def cpu_topology(vcpu, sockets, cores, current=None):
    """(vcpu, sockets, cores) the options ask for, or None when they ask nothing.

    CloudTower stores all three and vcpu must be sockets x cores. Values the task leaves out are
    derived: from the VM's current topology on an update (so ``vcpu: 8`` keeps 2 cores per socket),
    and with one core per socket on a create.
    """
    if vcpu is None and sockets is None and cores is None:
        return None
    for option, value in (("vcpu", vcpu), ("cpu_sockets", sockets), ("cpu_cores", cores)):
        if value is not None and value < 1:
            raise InputError(option, value, "must be at least 1")
    if sockets is not None and cores is not None:
        if vcpu is not None and vcpu != sockets * cores:
            raise InputError("vcpu", vcpu, "conflicts with cpu_sockets x cpu_cores = %d x %d = %d" % (sockets, cores, sockets * cores))
        return sockets * cores, sockets, cores
    current_sockets, current_cores = current or (1, 1)
    if vcpu is None:
        sockets = current_sockets if sockets is None else sockets
        cores = current_cores if cores is None else cores
        return sockets * cores, sockets, cores
    if cores is not None:
        if vcpu % cores:
            raise InputError("vcpu", vcpu, "must be a multiple of cpu_cores (%d)" % cores)
        return vcpu, vcpu // cores, cores
    if sockets is not None:
        if vcpu % sockets:
            raise InputError("vcpu", vcpu, "must be a multiple of cpu_sockets (%d)" % sockets)
        return vcpu, sockets, vcpu // sockets
    cores = current_cores if vcpu % current_cores == 0 else 1
    return vcpu, vcpu // cores, cores


class DiskSpec:
    """One entry of the disks option: a new disk, an existing volume, or a CD-ROM."""

    def __init__(self, position, kind, bus=None, size=None, volume=None, image=None, name=None, storage_policy=None):
        self.position = position
        self.kind = kind
        self.bus = bus
        self.size = size
        self.volume = volume
        self.image = image
        self.name = name
        self.storage_policy = storage_policy

    @property
    def is_cdrom(self):
        return self.kind == "cdrom"

    @property
    def is_new(self):
        return self.kind == "disk" and self.volume is None

    def describe(self):
        if self.is_cdrom:
            return "CD-ROM (%s)" % ("image %s" % self.image if self.image else "empty")
        if self.is_new:
            return "new %s disk of %s" % (self.bus, format_size(self.size))
        return "%s disk on volume %s" % (self.bus, self.volume)


def option_path(option, position, key):
    return "%s[%d].%s" % (option, position, key)


def refuse_blank_entries(option, position, entry, keys):
    """A blank name in an entry of disks or nics would be looked up as "": refused naming <option>[N].<key>."""
    for key in keys:
        value = entry.get(key)
        if isinstance(value, str) and not value.strip():
            raise InputError(option_path(option, position, key), value, "must not be empty or blank")


def parse_disk(position, entry):
    """A DiskSpec from one disks entry; refuses contradictions naming disks[N].<key>."""
    refuse_blank_entries("disks", position, entry, ("size", "volume", "name", "image"))
    kind = entry.get("type") or "disk"
    if kind == "cdrom":
        for key in ("size", "volume", "bus", "storage_policy", "name"):
            if entry.get(key) is not None:
                raise InputError(option_path("disks", position, key), entry[key],
                                 "does not apply to a CD-ROM (type: cdrom takes only image)")
        return DiskSpec(position, kind, image=entry.get("image"))
    if entry.get("image") is not None:
        raise InputError(option_path("disks", position, "image"), entry["image"], "applies only to type: cdrom")
    bus = entry.get("bus") or DEFAULT_BUS
    if entry.get("volume") is not None:
        for key in ("size", "storage_policy", "name"):
            if entry.get(key) is not None:
                raise InputError(option_path("disks", position, key), entry[key],
                                 "conflicts with volume: an existing volume keeps its own %s" % key.replace("_", " "))
        return DiskSpec(position, kind, bus=bus, volume=entry["volume"])
    if entry.get("size") is None:
        raise InputError(option_path("disks", position, "size"), None, "is required for a new disk (or give volume to attach an existing one)")
    size = parse_size(option_path("disks", position, "size"), entry["size"])
    return DiskSpec(position, kind, bus=bus, size=size, name=entry.get("name"),
                    storage_policy=entry.get("storage_policy") or DEFAULT_STORAGE_POLICY)


class NicSpec:
    """One entry of the nics option."""

    def __init__(self, position, vlan, model=None, mac_address=None, enabled=None):
        self.position = position
        self.vlan = vlan
        self.model = model
        self.mac_address = mac_address
        self.enabled = enabled

    def describe(self):
        parts = ["VLAN %s" % self.vlan]
        if self.model:
            parts.append(self.model)
        if self.mac_address:
            parts.append("MAC %s" % self.mac_address)
        if self.enabled is not None:
            parts.append("enabled" if self.enabled else "disabled")
        return "NIC on %s" % ", ".join(parts)


def parse_nic(position, entry):
    refuse_blank_entries("nics", position, entry, ("vlan", "mac_address"))
    mac = entry.get("mac_address")
    if mac is not None and not MAC_PATTERN.match(mac):
        raise InputError(option_path("nics", position, "mac_address"), mac, "must be a MAC address such as 52:54:00:12:34:56")
    return NicSpec(position, entry["vlan"], entry.get("model"), mac.lower() if mac else None, entry.get("enabled"))


class VmSpec:
    """The options of a cloudtower_vm task that describe the VM, checked without CloudTower."""

    def __init__(self, params):
        self.name = params.get("name")
        self.new_name = params.get("new_name")
        self.description = params.get("description")
        self.cluster = params.get("cluster")
        self.host = params.get("host")
        self.folder = params.get("folder")
        self.firmware = params.get("firmware")
        self.guest_os_type = params.get("guest_os_type")
        self.ha = params.get("ha")
        self.vcpu = params.get("vcpu")
        self.cpu_sockets = params.get("cpu_sockets")
        self.cpu_cores = params.get("cpu_cores")
        self.memory = None if params.get("memory") is None else parse_size("memory", params["memory"])
        self.clone_from = params.get("clone_from")
        self.from_snapshot = params.get("from_snapshot")
        self.template = params.get("template")
        self.template_content_library = bool(params.get("template_content_library"))
        if self.template_content_library and not self.template:
            raise InputError("template_content_library", True, "applies only with template (the content-library template to create the VM from)")
        self.cloud_init = params.get("cloud_init")
        if self.cloud_init is not None:
            if not self.template:
                raise InputError("cloud_init", "(given)", "applies only to a VM created from a template (give template)")
            check_cloud_init(self.cloud_init)
        self.disks = None if params.get("disks") is None else [parse_disk(i, d) for i, d in enumerate(params["disks"])]
        self.nics = None if params.get("nics") is None else [parse_nic(i, n) for i, n in enumerate(params["nics"])]
        # Judged now, so a contradiction fails before any request; an update derives it again from the VM.
        self.topology(None)
        if self.disks is not None and self.source_option in ("clone_from", "from_snapshot"):
            raise InputError("disks", "(%d entries)" % len(self.disks),
                             "cannot be combined with %s: the new VM gets the disks of its source" % self.source_option)

    @property
    def source_option(self):
        if self.clone_from:
            return "clone_from"
        if self.from_snapshot:
            return "from_snapshot"
        if self.template:
            return "template"
        return None

    @property
    def final_name(self):
        return self.new_name or self.name

    def topology(self, current):
        """(vcpu, sockets, cores) asked for, relative to current (sockets, cores), or None."""
        return cpu_topology(self.vcpu, self.cpu_sockets, self.cpu_cores, current)

    def names_references(self):
        """Whether the task names a host, folder, VLAN, image or volume that must be resolved."""
        return bool(self.host or self.folder or self.nics is not None or self.disks is not None)


class References:
    """CloudTower records the spec's names resolved to, keyed by the value the user wrote."""

    def __init__(self):
        self.host = None
        self.folder = None
        self.vlans = {}
        self.images = {}
        self.volumes = {}


def _resolve_per_entry(resource, client, option, entries, attribute, scope, text):
    """{value: record} for entries' attribute; an unknown value is reported as <option>[N].<attribute>."""
    values = [getattr(e, attribute) for e in entries if getattr(e, attribute)]
    if not values:
        return {}
    try:
        records = resource.resolve_many(client, option, values, scope, text)
    except NotFoundError as error:
        bad = error.value if not isinstance(error.value, list) else error.value[0]
        position = next(e.position for e in entries if getattr(e, attribute) == bad)
        raise NotFoundError(option_path(option, position, attribute), bad, resource.label, text)
    except InputError as error:
        position = next((e.position for e in entries if getattr(e, attribute) == error.value), None)
        if position is None:
            raise
        error.message = error.message.replace("option '%s'" % option, "option '%s'" % option_path(option, position, attribute))
        error.details["option"] = option_path(option, position, attribute)
        raise
    return dict(zip(list(dict.fromkeys(values)), records))


def resolve_references(client, spec, cluster, known=None):
    """Resolve the host, folder, VLANs, images and volumes the spec names, within cluster (a record).

    known: References the VM already shows (its host, folder, its NICs' VLANs, its CD-ROMs' images), keyed by the
    value the task gives; those values are not looked up again. Only the VM's current state makes a name known, so
    an ambiguous name is still refused wherever it would have to be chosen.
    """
    known = known or References()
    refs = References()
    in_cluster = related_to("cluster", cluster)
    text = scope_text("cluster", cluster)
    if spec.host:
        refs.host = known.host or HOST.resolve(client, "host", spec.host, in_cluster, text)
    if spec.folder:
        refs.folder = known.folder or VM_FOLDER.resolve(client, "folder", spec.folder, in_cluster, text)
    if spec.nics:
        unknown = [n for n in spec.nics if n.vlan not in known.vlans]
        refs.vlans = dict(known.vlans, **_resolve_per_entry(VLAN, client, "nics", unknown, "vlan", api_vlans.in_cluster(cluster), text))
    if spec.disks:
        cdroms = [d for d in spec.disks if d.is_cdrom and d.image not in known.images]
        attached = [d for d in spec.disks if d.volume]
        refs.images = dict(known.images, **_resolve_per_entry(ELF_IMAGE, client, "disks", cdroms, "image", in_cluster, text))
        refs.volumes = _resolve_per_entry(VM_VOLUME, client, "disks", attached, "volume", in_cluster, text)
    return refs


def disk_params(spec, refs, vm_name):
    """VmDiskParams: boot order and index follow the order of the disks option."""
    params = {}
    for disk in spec.disks or []:
        entry = {"boot": disk.position, "index": disk.position}
        if disk.is_cdrom:
            if disk.image:
                entry["elf_image_id"] = refs.images[disk.image]["id"]
            params.setdefault("mount_cd_roms", []).append(entry)
        elif disk.volume:
            entry.update(bus=disk.bus, vm_volume_id=refs.volumes[disk.volume]["id"])
            params.setdefault("mount_disks", []).append(entry)
        else:
            entry.update(bus=disk.bus, vm_volume={
                "name": disk.name or "%s-disk%d" % (vm_name, disk.position),
                "size": disk.size,
                "elf_storage_policy": disk.storage_policy,
            })
            params.setdefault("mount_new_create_disks", []).append(entry)
    return params


def nic_params(spec, refs):
    """VmNicParams, in the order of the nics option."""
    nics = []
    for nic in spec.nics or []:
        entry = {"connect_vlan_id": refs.vlans[nic.vlan]["id"], "model": nic.model or DEFAULT_NIC_MODEL}
        if nic.mac_address:
            entry["mac_address"] = nic.mac_address
        if nic.enabled is not None:
            entry["enabled"] = nic.enabled
        nics.append(entry)
    return nics


def _common_fields(spec, refs, topology):
    body = {}
    if topology:
        body["vcpu"], body["cpu_sockets"], body["cpu_cores"] = topology
    optional = (
        ("memory", spec.memory), ("description", spec.description), ("ha", spec.ha), ("firmware", spec.firmware),
        ("guest_os_type", spec.guest_os_type),
        ("host_id", refs.host["id"] if refs.host else None), ("folder_id", refs.folder["id"] if refs.folder else None),
    )
    body.update((key, value) for key, value in optional if value is not None)
    return body


def missing_for_create(spec):
    """The first option a plain create needs and the task lacks, as an InputError, or None."""
    if spec.cluster is None:
        return InputError("cluster", None, "is required to create VM %r (or give clone_from or from_snapshot)" % spec.final_name)
    if spec.memory is None:
        return InputError("memory", None, "is required to create VM %r, e.g. memory: 4GiB" % spec.final_name)
    if spec.topology(None) is None:
        return InputError("vcpu", None, "is required to create VM %r (or give cpu_sockets and cpu_cores)" % spec.final_name)
    return None


def creation_body(spec, refs, cluster, status):
    """One VmCreationParams for create-vm."""
    name = spec.final_name
    body = {
        "name": name,
        "cluster_id": cluster["id"],
        "firmware": spec.firmware or DEFAULT_FIRMWARE,
        "ha": DEFAULT_HA if spec.ha is None else spec.ha,
        "status": status,
        "vm_disks": disk_params(spec, refs, name),
        "vm_nics": nic_params(spec, refs),
    }
    body.update(_common_fields(spec, refs, spec.topology(None)))
    return body


def clone_body(spec, refs, source_vm, cluster, status):
    """One VmCloneParams for clone-vm: what the task gives overrides the source VM."""
    body = {"src_vm_id": source_vm["id"], "name": spec.final_name, "status": status}
    return _derived_body(body, spec, refs, cluster, source_vm)


def rebuild_body(spec, refs, snapshot, cluster, status):
    """One VmRebuildParams for rebuild-vm-from-snapshot."""
    body = {"rebuild_from_snapshot_id": snapshot["id"], "name": spec.final_name, "status": status}
    return _derived_body(body, spec, refs, cluster, snapshot)


def template_body(spec, refs, template, cluster, status, disk_operate=None):
    """One VmCreateVmFromTemplateParams (or VmCreateVmFromContentLibraryTemplateParams, the same keys; a content-library
    template has no cluster, so cluster_id is always set): a linked clone of the template, with the task's overrides and cloud-init."""
    body = {"template_id": template["id"], "name": spec.final_name, "is_full_copy": False, "status": status}
    body = _derived_body(body, spec, refs, cluster, template)
    if disk_operate:
        body["disk_operate"] = disk_operate
    if spec.cloud_init is not None:
        body["cloud_init"] = cloud_init_body(spec.cloud_init)
    return body


def _derived_body(body, spec, refs, cluster, source):
    if cluster and cluster["id"] != ((source.get("cluster") or {}).get("id")):
        body["cluster_id"] = cluster["id"]
    cpu = source.get("cpu") or {}
    body.update(_common_fields(spec, refs, spec.topology((cpu.get("sockets") or 1, cpu.get("cores") or 1))))
    if spec.nics is not None:
        body["vm_nics"] = nic_params(spec, refs)
    return body
