"""4.6 export files: export-vm-volume / export-vm make real QCOW2, RAW, VMDK (and OVF) files with qemu-img,
get-vm-export-files lists them, get-export-file-download-links gives links the simulator's own HTTP(S) listener
serves (Content-Length, Range requests) for as long as the file exists.
"""

import hashlib
import os
import secrets
import shutil
import subprocess
from xml.sax.saxutils import escape

from .errors import bad_request
from .store import iso_timestamp
from .tasks import TaskFailure, TaskPlan
from .volumes_data import clone_file

DOWNLOAD_PREFIX = "/export-files/"
EXTENSIONS = {"QCOW2": "qcow2", "RAW": "raw", "VMDK": "vmdk"}
QEMU_FORMATS = {"QCOW2": ("qcow2", []), "VMDK": ("vmdk", ["-o", "subformat=streamOptimized"])}
# md5 of a file is computed when it is at most this large (a sparse RAW export is the full disk size) [assumed].
MD5_LIMIT = 1024 ** 3


def convert(source, size, file_type, target):
    """Write one disk's bytes as an export file; RAW stays sparse without qemu-img, the rest need it."""
    if file_type == "RAW":
        clone_file(source, target, size)
        return
    if shutil.which("qemu-img") is None:
        raise TaskFailure("EXPORT_TOOL_MISSING", "qemu-img (Debian package qemu-utils) is needed for %s exports" % file_type)
    output_format, options = QEMU_FORMATS[file_type]
    result = subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", output_format] + options + [source, target],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise TaskFailure("EXPORT_FAILED", "qemu-img convert failed: %s" % result.stderr.strip()[:300])


def md5_of(path):
    if os.path.getsize(path) > MD5_LIMIT:
        return ""
    digest = hashlib.md5()  # the field is an md5 (integrity, not security)
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def ovf_descriptor(vm_name, disks):
    """A minimal OVF 1.0 envelope naming the VM's VMDK disks (what export-vm OVF packs beside them)."""
    references = "".join('<File ovf:href="%s" ovf:id="file%d" ovf:size="%d"/>' % (escape(name), index, size)
                         for index, (name, size, _capacity) in enumerate(disks))
    sections = "".join('<Disk ovf:capacity="%d" ovf:diskId="disk%d" ovf:fileRef="file%d" '
                       'ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>'
                       % (capacity, index, index) for index, (_name, _size, capacity) in enumerate(disks))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" '
            'xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References>%s</References><DiskSection><Info>Disks</Info>%s'
            '</DiskSection><VirtualSystem ovf:id="%s"><Info>%s</Info></VirtualSystem></Envelope>\n'
            % (references, sections, escape(vm_name), escape(vm_name)))


class ExportMutations:
    def __init__(self, core):
        self.core = core
        self.handlers = {"export-vm-volume": self.export_volumes, "export-vm": self.export_vms,
                         "get-export-file-download-links": self.download_links}

    @property
    def store(self):
        return self.core.store

    def _export_dir(self, row_id):
        return os.path.join(self.store.data.root, "exports", row_id)

    def _new_row(self, now, file_type, cluster_id, vm_id=None, volume_id=None):
        row = {"id": self.store.ids.cuid(now), "createdAt": iso_timestamp(now), "damaged": False, "data_port_id": self.store.ids.uuid(),
               "entityAsyncStatus": "CREATING", "files": [], "storage_cluster_id": cluster_id, "type": file_type, "vm": vm_id,
               "vm_volume": volume_id, "content_library_vm_template": None, "_paths": {}}
        return self.store.insert("vm_export_files", row, now)

    def _submit(self, endpoint, description, row, produce, cluster_id, vm_name, now, user_id, locked):
        row_id = row["id"]

        def finish(when):
            current = self.store.get("vm_export_files", row_id)
            os.makedirs(self._export_dir(row_id), exist_ok=True)
            files = [self._file_entry(row_id, name, path, file_type) for name, path, file_type in produce(self._export_dir(row_id))]
            current["_paths"] = {entry["fileUUID"]: (entry["fileName"], path, entry["fileSecret"]) for entry, path in files}
            self.store.update("vm_export_files", row_id, {"files": [entry for entry, _path in files], "entityAsyncStatus": None}, when)

        def roll_back(_when):
            self.remove(row_id)
            return True
        plan = TaskPlan(endpoint, description, "VmExportFile", row_id, finish, roll_back)
        plan.cluster_id, plan.vm_name = cluster_id, vm_name
        plan.locks = (row_id,)
        return self.core._answer(self.core._submit(plan, now, user_id, locked), "VmExportFile", row)

    def _file_entry(self, _row_id, name, path, file_type):
        entry = {"fileName": name, "fileSecret": secrets.token_hex(16), "fileSize": os.path.getsize(path),
                 "fileUUID": self.store.ids.uuid(), "md5": md5_of(path), "type": file_type}
        return entry, path

    def remove(self, row_id):
        """Delete an export file row and its files (links stop working)."""
        self.store.delete("vm_export_files", row_id)
        shutil.rmtree(self._export_dir(row_id), ignore_errors=True)

    # ----- export-vm-volume --------------------------------------------------------------------------------

    def export_volumes(self, body, now, user_id):
        volumes = self.core._select("VmVolume", body["where"])
        locked = self.core._locked_ids(volumes, "VM_VOLUME", now) if volumes else set()
        file_type = body["data"]["type"]
        answers = []
        for volume in volumes:
            row = self._new_row(now, file_type, volume["cluster"], volume_id=volume["id"])
            produce = self._volume_producer(volume["id"], file_type)
            answers.append(self._submit("export-vm-volume", "Export VM volume %s" % volume["name"], row, produce, volume["cluster"],
                                        None, now, user_id, volume["id"] in locked))
        return answers

    def _disk_file(self, volume_id, file_type, directory):
        volume = self.store.get("vm_volumes", volume_id)
        if volume is None:
            raise TaskFailure("VM_VOLUME_NOT_FOUND", "The VM volume no longer exists")
        lun = self.store.get("iscsi_luns", volume["lun"])
        name = "%s.%s" % (volume["name"], EXTENSIONS[file_type])
        path = os.path.join(directory, name)
        convert(self.store.data.materialise("iscsi_luns", lun), lun["assigned_size"], file_type, path)
        return name, path, volume["size"]

    def _volume_producer(self, volume_id, file_type):
        def produce(directory):
            name, path, _capacity = self._disk_file(volume_id, file_type, directory)
            return [(name, path, file_type)]
        return produce

    # ----- export-vm ----------------------------------------------------------------------------------------

    def export_vms(self, body, now, user_id):
        vms = self.core._select("Vm", body["where"])
        locked = self.core._locked_ids(vms, "VM", now) if vms else set()
        file_type = body["data"]["type"]
        answers = []
        for vm in vms:
            row = self._new_row(now, file_type, vm["cluster"], vm_id=vm["id"])
            answers.append(self._submit("export-vm", "Export VM %s" % vm["name"], row, self._vm_producer(vm["id"], file_type),
                                        vm["cluster"], vm["name"], now, user_id, vm["id"] in locked))
        return answers

    def _vm_producer(self, vm_id, file_type):
        def produce(directory):
            vm = self.core._vm_or_failure(vm_id)
            volume_ids = [disk["vm_volume"] for disk in self.store.children("vm_disks", "vm", vm_id)
                          if disk["type"] == "DISK" and disk.get("vm_volume")]
            disk_type = "VMDK" if file_type == "OVF" else file_type
            disks = [self._disk_file(volume_id, disk_type, directory) for volume_id in volume_ids]
            produced = [(name, path, disk_type) for name, path, _capacity in disks]
            if file_type == "OVF":
                descriptor = os.path.join(directory, vm["name"] + ".ovf")
                with open(descriptor, "w", encoding="utf-8") as stream:
                    stream.write(ovf_descriptor(vm["name"], [(name, os.path.getsize(path), capacity) for name, path, capacity in disks]))
                produced.insert(0, (vm["name"] + ".ovf", descriptor, "OVF"))
            return produced
        return produce

    # ----- links --------------------------------------------------------------------------------------------

    def download_links(self, body, _now, _user_id):
        where = body["where"]
        if not where.get("id") and not where.get("data_port_id"):
            raise bad_request("VM_EXPORT_FILE_NOT_FOUND", "where needs id or data_port_id")
        rows = [row for row in self.store.rows("vm_export_files")
                if (not where.get("id") or row["id"] == where["id"]) and (not where.get("data_port_id") or row["data_port_id"] == where["data_port_id"])]
        if not rows:
            raise bad_request("VM_EXPORT_FILE_NOT_FOUND", "no export file matches %s" % where)
        base = self.core.state.base_url or ""
        return [{"filename": entry["fileName"],
                 "link": "%s%s%s/%s?secret=%s" % (base, DOWNLOAD_PREFIX, entry["fileUUID"], entry["fileName"], entry["fileSecret"])}
                for row in rows for entry in row["files"]]


def find_download(store, file_uuid, secret):
    """(name, path) of an export file by its uuid and secret, or None (gone, unknown or wrong secret)."""
    for row in store.rows("vm_export_files"):
        found = row.get("_paths", {}).get(file_uuid)
        if found is not None and secrets.compare_digest(found[2], secret or "") and os.path.exists(found[1]):
            return found[0], found[1]
    return None
