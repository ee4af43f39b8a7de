# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Disks, CD-ROMs, NICs, host and folder of an existing VM: match what the task declares with what the VM has.

Entries are matched on stable keys, never on list position alone: a disk entry naming a volume matches the disk on
that volume; other disk entries match the VM's disks of the same bus in boot order (the first VIRTIO entry the first
VIRTIO disk, and so on); CD-ROM entries match the VM's CD-ROM drives in boot order; a NIC entry with a MAC address
matches the NIC with that MAC, the others the NIC at their position. So a re-run after a disk was grown or added
finds it and plans nothing, and a declared list never duplicates a device.

The result is a list of DeviceChange: the request (operation, body as a function of the VM id), a sentence, the
field changes it makes, and whether CloudTower needs the VM stopped for it (an IDE disk, a CD-ROM drive, a NIC's
model or MAC address).
"""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_spec import DEFAULT_NIC_MODEL, References, format_size, option_path


class DeviceChange:
    """One request on an existing VM and what it changes."""

    def __init__(self, operation, body, summary, changes, needs_stop=None):
        self.operation = operation
        self.body = body
        self.summary = summary
        self.changes = changes
        # Why CloudTower needs the VM stopped for this request (None: it does not).
        self.needs_stop = needs_stop


def _as_bytes(value):
    return None if value is None else int(float(value))


def _by_boot(records):
    return sorted(records, key=lambda r: (r.get("boot") if r.get("boot") is not None else 1 << 30))


def read_disks(client, vm, with_sizes):
    """The VM's disks in boot order, each with `_size` (its volume's size) when with_sizes."""
    disks = vms.disks(client, vm["id"])
    if with_sizes:
        sizes = vms.volume_sizes(client, [d["vm_volume"]["id"] for d in disks if d.get("vm_volume")])
        for disk in disks:
            disk["_size"] = _as_bytes(sizes.get((disk.get("vm_volume") or {}).get("id")))
    return _by_boot(disks)


def _change(before, after):
    return {"before": before, "after": after}


class DevicePlanner:
    """Plans the device changes of one existing VM from a VmSpec, its References and the VM's devices."""

    def __init__(self, client, spec, refs, vm, purge_disks=False, purge_nics=False, can_expand=None, can_eject=None):
        self.client = client
        self.spec = spec
        self.refs = refs
        self.vm = vm
        self.purge_disks = purge_disks
        self.purge_nics = purge_nics
        # can_expand() -> whether this CloudTower has expand-vm-disk (1.10 on); asked only when a disk must grow.
        self.can_expand = can_expand or (lambda: True)
        # can_eject() -> whether this CloudTower has eject-iso-from-vm-cd-rom (1.10 on); asked only when an ISO must go.
        self.can_eject = can_eject or (lambda: True)
        self.changes = []
        self.disks = None
        self.nics = None

    def read(self):
        """Read the VM's disks and NICs the task declares (one request each, and the volumes' sizes when needed)."""
        if self.spec.disks is not None and self.disks is None:
            self.disks = read_disks(self.client, self.vm, with_sizes=any(d.is_new for d in self.spec.disks))
        if self.spec.nics is not None and self.nics is None:
            self.nics = sorted(vms.nics(self.client, self.vm["id"]), key=lambda n: n.get("order") or 0)
        return self

    def known_references(self):
        """References the VM already shows for the names the task gives: its host, folder, NICs' VLANs, CD-ROMs' ISOs.

        A value is known only when every entry giving it is matched with a device that already has it, so a value
        that must be chosen (a new NIC, another VLAN) is still looked up, and refused when ambiguous.
        """
        known = References()
        for attribute, option in (("host", self.spec.host), ("folder", self.spec.folder)):
            current = self.vm.get(attribute) or {}
            if option and option in (current.get("id"), current.get("name")):
                setattr(known, attribute, current)
        self.read()
        if self.nics is not None:
            pairs, _free = self.match_nics(self.nics)
            known.vlans = _known_values(pairs, lambda entry: entry.vlan, lambda nic: nic.get("vlan"))
        if self.disks is not None:
            drives = [d for d in self.disks if d.get("type") == "CD_ROM"]
            entries = [d for d in self.spec.disks if d.is_cdrom and d.image]
            positions = {id(d): n for n, d in enumerate(d for d in self.spec.disks if d.is_cdrom)}
            pairs = [(entry, drives[positions[id(entry)]] if positions[id(entry)] < len(drives) else None) for entry in entries]
            known.images = _known_values(pairs, lambda entry: entry.image, lambda drive: drive.get("elf_image"))
        return known

    def plan(self, refs=None):
        if refs is not None:
            self.refs = refs
        self.read()
        if self.disks is not None:
            self.plan_disks([d for d in self.disks if d.get("type") == "DISK"])
            self.plan_cd_roms([d for d in self.disks if d.get("type") == "CD_ROM"], self.disks)
        if self.nics is not None:
            self.plan_nics(self.nics)
        return self.changes

    def _add(self, operation, body, summary, changes, needs_stop=None):
        self.changes.append(DeviceChange(operation, body, summary, changes, needs_stop))

    # ----- disks -----------------------------------------------------------------------------------------
    def match_disks(self, current):
        """[(entry, disk or None)] for the disk entries, and the VM's disks no entry matched."""
        entries = [d for d in self.spec.disks if not d.is_cdrom]
        free = list(current)
        matched = {}
        for entry in entries:
            if entry.volume:
                volume_id = self.refs.volumes[entry.volume]["id"]
                disk = next((d for d in free if (d.get("vm_volume") or {}).get("id") == volume_id), None)
                if disk is not None:
                    free.remove(disk)
                    matched[entry.position] = disk
        for entry in entries:
            if entry.volume:
                continue
            disk = next((d for d in free if d.get("bus") == entry.bus), None)
            if disk is not None:
                free.remove(disk)
                matched[entry.position] = disk
        return [(entry, matched.get(entry.position)) for entry in entries], free

    def plan_disks(self, current):
        pairs, unmatched = self.match_disks(current)
        next_boot = max([d.get("boot") or 0 for d in current] + [-1]) + 1
        new_disks, mounts, added = [], [], []
        for entry, disk in pairs:
            if disk is not None:
                if entry.is_new:
                    self.plan_size(entry, disk)
                continue
            boot = next_boot + len(added)
            added.append(entry)
            if entry.volume:
                mounts.append({"vm_volume_id": self.refs.volumes[entry.volume]["id"], "bus": entry.bus, "boot": boot, "index": boot})
            else:
                new_disks.append({"bus": entry.bus, "boot": boot, "index": boot, "vm_volume": {
                    "name": entry.name or "%s-disk%d" % (self.vm.get("name"), boot),
                    "size": entry.size, "elf_storage_policy": entry.storage_policy}})
        if added:
            vm_disks = {}
            if new_disks:
                vm_disks["mount_new_create_disks"] = new_disks
            if mounts:
                vm_disks["mount_disks"] = mounts
            data = {"vm_disks": vm_disks}
            ide = any(entry.bus == "IDE" for entry in added)
            self._add(vms.ADD_DISK, lambda vm_id: vms.update_body(vm_id, data),
                      "Add %s to VM %s" % (", ".join(e.describe() for e in added), self.vm.get("name")),
                      {option_path("disks", e.position, "exists"): _change(False, True) for e in added},
                      "adding an IDE disk" if ide else None)
        if unmatched and self.purge_disks:
            ids = [d["id"] for d in unmatched]
            ide = any(d.get("bus") == "IDE" for d in unmatched)
            self._add(vms.REMOVE_DISK, lambda vm_id: vms.update_body(vm_id, {"disk_ids": ids}),
                      "Remove %s from VM %s (purge_disks: true; their volumes are kept)" % (
                          ", ".join(describe_disk(d) for d in unmatched), self.vm.get("name")),
                      {"disks.removed": _change([d["id"] for d in unmatched], [])}, "removing an IDE disk" if ide else None)

    def plan_size(self, entry, disk):
        have, want = disk.get("_size"), entry.size
        if have is None or have == want:
            return
        option = option_path("disks", entry.position, "size")
        if want < have:
            raise InputError(option, format_size(want), "is smaller than the %s disk of VM %s (%s, disk id %s): CloudTower cannot "
                             "shrink a disk" % (disk.get("bus"), self.vm.get("name"), format_size(have), disk["id"]))
        if not self.can_expand():
            raise InputError(option, format_size(want), "would grow disk %s of VM %s from %s: this CloudTower has no expand-vm-disk "
                             "(it appeared in API 1.10)" % (disk["id"], self.vm.get("name"), format_size(have)))
        summary = "Grow the %s disk %s of VM %s from %s to %s" % (
            disk.get("bus"), disk["id"], self.vm.get("name"), format_size(have), format_size(want))
        self._add(vms.EXPAND_DISK, vms.expand_disk_body(disk["id"], want), summary, {option: _change(have, want)})

    # ----- CD-ROMs ----------------------------------------------------------------------------------------
    def plan_cd_roms(self, current, all_disks):
        entries = [d for d in self.spec.disks if d.is_cdrom]
        next_boot = max([d.get("boot") or 0 for d in all_disks] + [-1]) + 1
        added = []
        for number, entry in enumerate(entries):
            want = self.refs.images[entry.image]["id"] if entry.image else None
            option = option_path("disks", entry.position, "image")
            if number >= len(current):
                boot = next_boot + len(added)
                drive = {"boot": boot, "index": boot}
                if want:
                    drive["elf_image_id"] = want
                added.append((entry, drive))
                continue
            drive = current[number]
            have = (drive.get("elf_image") or {}).get("id")
            if have == want:
                continue
            shown = (drive.get("elf_image") or {}).get("name") or have
            if want:
                data = {"vm_disk_id": drive["id"], "elf_image_id": want}
                self._add(vms.UPDATE_DISK, lambda vm_id, data=data: vms.update_body(vm_id, data),
                          "Mount ISO %s in CD-ROM %s of VM %s" % (entry.image, drive["id"], self.vm.get("name")),
                          {option: _change(shown, entry.image)})
            else:
                if not self.can_eject():
                    why = ("would eject ISO %s from CD-ROM %s of VM %s: this CloudTower has no eject-iso-from-vm-cd-rom (it "
                           "appeared in API 1.10); mount another ISO instead" % (shown, drive["id"], self.vm.get("name")))
                    raise InputError(option, None, why)
                self._add(vms.EJECT_ISO, vms.eject_body(drive["id"]),
                          "Eject ISO %s from CD-ROM %s of VM %s" % (shown, drive["id"], self.vm.get("name")), {option: _change(shown, None)})
        if added:
            drives = [drive for _entry, drive in added]
            self._add(vms.ADD_CD_ROM, lambda vm_id: vms.update_body(vm_id, {"vm_cd_roms": drives}),
                      "Add %s to VM %s" % (", ".join(e.describe() for e, _d in added), self.vm.get("name")),
                      {option_path("disks", e.position, "exists"): _change(False, True) for e, _d in added}, "adding a CD-ROM drive")
        extra = current[len(entries):]
        if extra and self.purge_disks:
            ids = [d["id"] for d in extra]
            self._add(vms.REMOVE_CD_ROM, lambda vm_id: vms.update_body(vm_id, {"cd_rom_ids": ids}),
                      "Remove %d CD-ROM drive(s) from VM %s (purge_disks: true)" % (len(ids), self.vm.get("name")),
                      {"cd_roms.removed": _change(ids, [])}, "removing a CD-ROM drive")

    # ----- NICs ---------------------------------------------------------------------------------------------
    def match_nics(self, current):
        free = list(current)
        matched = {}
        for entry in self.spec.nics:
            if entry.mac_address:
                nic = next((n for n in free if (n.get("mac_address") or "").lower() == entry.mac_address), None)
                if nic is not None:
                    free.remove(nic)
                    matched[entry.position] = nic
        for entry in self.spec.nics:
            if entry.position in matched or entry.position >= len(current):
                continue
            nic = current[entry.position]
            if nic in free:
                free.remove(nic)
                matched[entry.position] = nic
        return [(entry, matched.get(entry.position)) for entry in self.spec.nics], free

    def plan_nics(self, current):
        pairs, unmatched = self.match_nics(current)
        added = []
        for entry, nic in pairs:
            if nic is None:
                added.append(entry)
            else:
                self.plan_nic_update(entry, nic)
        if unmatched and self.purge_nics:
            indexes = [n.get("order") for n in unmatched]
            self._add(vms.REMOVE_NIC, lambda vm_id: vms.update_body(vm_id, {"nic_index": indexes}),
                      "Remove %s from VM %s (purge_nics: true)" % (", ".join(describe_nic(n) for n in unmatched), self.vm.get("name")),
                      {"nics.removed": _change([n.get("mac_address") for n in unmatched], [])})
        if added:
            params = [self.nic_params(entry) for entry in added]
            self._add(vms.ADD_NIC, lambda vm_id: vms.update_body(vm_id, {"vm_nics": params}),
                      "Add %s to VM %s" % (", ".join(e.describe() for e in added), self.vm.get("name")),
                      {option_path("nics", e.position, "exists"): _change(False, True) for e in added})

    def nic_params(self, entry):
        params = {"connect_vlan_id": self.refs.vlans[entry.vlan]["id"], "model": entry.model or DEFAULT_NIC_MODEL}
        if entry.mac_address:
            params["mac_address"] = entry.mac_address
        if entry.enabled is not None:
            params["enabled"] = entry.enabled
        return params

    def plan_nic_update(self, entry, nic):
        data, changes, stop_for = {}, {}, []
        vlan = nic.get("vlan") or {}
        want_vlan = self.refs.vlans[entry.vlan]["id"]
        if vlan.get("id") != want_vlan:
            data["connect_vlan_id"] = want_vlan
            changes[option_path("nics", entry.position, "vlan")] = _change(vlan.get("name") or vlan.get("id"), entry.vlan)
        if entry.model and nic.get("model") != entry.model:
            data["model"] = entry.model
            changes[option_path("nics", entry.position, "model")] = _change(nic.get("model"), entry.model)
            stop_for.append("changing the model of a NIC")
        if entry.mac_address and (nic.get("mac_address") or "").lower() != entry.mac_address:
            data["mac_address"] = entry.mac_address
            changes[option_path("nics", entry.position, "mac_address")] = _change(nic.get("mac_address"), entry.mac_address)
            stop_for.append("changing the MAC address of a NIC")
        if entry.enabled is not None and bool(nic.get("enabled")) != entry.enabled:
            data["enabled"] = entry.enabled
            changes[option_path("nics", entry.position, "enabled")] = _change(bool(nic.get("enabled")), entry.enabled)
        if not data:
            return
        data["nic_index"] = nic.get("order")
        what = ", ".join("%s %s -> %s" % (key.split(".")[-1], c["before"], c["after"]) for key, c in changes.items())
        summary = "Update NIC %d (MAC %s) of VM %s: %s" % (nic.get("order"), nic.get("mac_address"), self.vm.get("name"), what)
        self._add(vms.UPDATE_NIC, lambda vm_id: vms.update_body(vm_id, data), summary, changes, " and ".join(stop_for) or None)


def _known_values(pairs, value_of, record_of):
    """{value: record} for the values every entry of which is matched with a device whose record has that id or name."""
    known, refused = {}, set()
    for entry, device in pairs:
        value = value_of(entry)
        record = (record_of(device) or {}) if device is not None else {}
        if value in (record.get("id"), record.get("name")):
            known.setdefault(value, record)
        else:
            refused.add(value)
    return {value: record for value, record in known.items() if value not in refused}


def describe_disk(disk):
    if disk.get("type") == "CD_ROM":
        image = disk.get("elf_image") or {}
        return "CD-ROM (%s)" % ("image %s" % (image.get("name") or image.get("id")) if image else "empty")
    size = disk.get("_size")
    return "%s disk %s%s" % (disk.get("bus"), disk.get("id"), " of %s" % format_size(size) if size is not None else "")


def describe_nic(nic):
    vlan = nic.get("vlan") or {}
    return "NIC on VLAN %s (%s, MAC %s)" % (vlan.get("name") or vlan.get("id"), nic.get("model"), nic.get("mac_address"))


def placement_changes(spec, vm, refs, will_start):
    """DeviceChanges for the host (a live migration of a running VM) and the folder the task names."""
    changes = []
    host = vm.get("host") or {}
    if refs.host and host.get("id") != refs.host["id"] and vm.get("status") == "RUNNING" and not will_start:
        changes.append(DeviceChange(vms.MIGRATE, vms.migrate_body(vm["id"], refs.host["id"]),
                                    "Migrate VM %s live from host %s to host %s" % (vm.get("name"), host.get("name"), refs.host.get("name")),
                                    {"host": _change(host.get("name"), refs.host.get("name"))}))
    folder = vm.get("folder") or {}
    if refs.folder and folder.get("id") != refs.folder["id"]:
        changes.append(DeviceChange(vms.ADD_TO_FOLDER, vms.update_body(vm["id"], {"folder_id": refs.folder["id"]}),
                                    "Move VM %s to folder %s" % (vm.get("name"), refs.folder.get("name")),
                                    {"folder": _change(folder.get("name"), refs.folder.get("name"))}))
    return changes


# ----- a VM created from a template ----------------------------------------------------------------------------
def template_disks(template):
    """A template's frozen disks in the shape of a VM's disks: `id` is the position disk_operate names them by."""
    disks = []
    for position, frozen in enumerate(template.get("vm_disks") or ()):
        disks.append({"id": position, "type": frozen.get("type"), "bus": frozen.get("bus"), "boot": frozen.get("boot"),
                      "_size": _as_bytes(frozen.get("size")), "vm_volume": None, "elf_image": None})
    return _by_boot(disks)


class TemplateDiskPlanner(DevicePlanner):
    """The disks option against a template's disks, matched as on an existing VM, as one disk_operate.

    A template disk no entry matches is left out of the VM with purge_disks (remove_disks); an entry that matches
    nothing is a new disk (new_disks); a bigger size grows the disk once the VM exists (expand-vm-disk); a smaller one
    is refused. CD-ROM entries are not part of disk_operate: the VM keeps the template's drives.
    """

    def __init__(self, client, spec, refs, template, purge_disks, can_expand):
        super().__init__(client, spec, refs, {"name": spec.final_name}, purge_disks, False, can_expand)
        self.template = template
        self.disk_operate = {}
        self.grows = []

    def plan_template(self):
        current = [d for d in template_disks(self.template) if d.get("type") == "DISK"]
        pairs, unmatched = self.match_disks(current)
        next_boot = max([d.get("boot") or 0 for d in template_disks(self.template)] + [-1]) + 1
        new = []
        for entry, disk in pairs:
            if disk is None:
                boot = next_boot + len(new)
                new.append({"bus": entry.bus, "boot": boot, "index": boot, "vm_volume": {
                    "name": entry.name or "%s-disk%d" % (self.spec.final_name, boot), "size": entry.size,
                    "elf_storage_policy": entry.storage_policy}} if entry.is_new else
                    {"vm_volume_id": self.refs.volumes[entry.volume]["id"], "bus": entry.bus, "boot": boot, "index": boot})
            elif entry.is_new and disk["_size"] is not None and entry.size != disk["_size"]:
                self.plan_template_size(entry, disk, current)
        if new:
            self.disk_operate["new_disks"] = {}
            for disk in new:
                kind = "mount_new_create_disks" if "vm_volume" in disk else "mount_disks"
                self.disk_operate["new_disks"].setdefault(kind, []).append(disk)
        if unmatched and self.purge_disks:
            self.disk_operate["remove_disks"] = {"disk_index": sorted(d["id"] for d in unmatched)}
        return self.disk_operate or None

    def plan_template_size(self, entry, disk, current):
        option = option_path("disks", entry.position, "size")
        if entry.size < disk["_size"]:
            raise InputError(option, format_size(entry.size), "is smaller than disk %d of template %s (%s): CloudTower cannot shrink "
                             "a disk" % (disk["id"], self.template.get("name"), format_size(disk["_size"])))
        if not self.can_expand():
            raise InputError(option, format_size(entry.size), "would grow disk %d of template %s: this CloudTower has no "
                             "expand-vm-disk (it appeared in API 1.10)" % (disk["id"], self.template.get("name")))
        ordinal = [d for d in current if d.get("bus") == disk.get("bus")].index(disk)
        self.grows.append((entry, disk, ordinal))

    def grow_changes(self):
        """Steps that grow the new VM's disks, their bodies resolving the disk once the VM exists."""
        changes = []
        for entry, disk, ordinal in self.grows:
            def body(vm_id, bus=disk["bus"], ordinal=ordinal, size=entry.size):
                same_bus = [d for d in read_disks(self.client, {"id": vm_id}, False) if d.get("type") == "DISK" and d.get("bus") == bus]
                return vms.expand_disk_body(same_bus[ordinal]["id"], size)
            changes.append(DeviceChange(vms.EXPAND_DISK, body, "Grow the %s disk %d of the template to %s on the new VM" % (
                disk["bus"], disk["id"], format_size(entry.size)),
                {option_path("disks", entry.position, "size"): _change(disk["_size"], entry.size)}))
        return changes
