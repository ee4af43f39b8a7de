"""4.6 uploads and imports: upload-elf-file takes a file in chunks (multipart/form-data) and tracks it as an
UploadTask (get-upload-tasks: status, current_chunk move as chunks arrive); import-vm-volume turns an uploaded
QCOW2/RAW/VMDK into a VM volume holding exactly the uploaded disk's bytes.

Protocol (the chunk rules are the simulator's [assumed] reading of the spec): the first call has no
upload_task_id and names the file (`name`, `size` + optional `size_unit`, `cluster_id`); it creates the task and
may carry the first chunk (or none, to learn `chunk_size`). Every later call sends `upload_task_id` and the next
chunk; each chunk is exactly `chunk_size` bytes except the last. The task is SUCCESSED when `size` bytes arrived.
"""

import json
import os
import shutil
import subprocess
from email.parser import BytesParser
from email.policy import HTTP

from .entities import BYTE_UNITS
from .errors import bad_request
from .store import iso_timestamp
from .tasks import TaskFailure

RESOURCE_TYPES = {".qcow2": "VM_VOLUME_QCOW2", ".raw": "VM_VOLUME_RAW", ".img": "VM_VOLUME_RAW", ".vmdk": "VM_VOLUME_VMDK",
                  ".ovf": "OVF"}
VOLUME_FORMATS = {"VM_VOLUME_QCOW2": "qcow2", "VM_VOLUME_RAW": "raw", "VM_VOLUME_VMDK": "vmdk"}


def parse_multipart(content_type, raw):
    """{field: str, file: bytes} of a multipart/form-data body (stdlib email parser; cgi is gone in 3.13)."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw)
    if not message.is_multipart():
        raise ValueError("body is not multipart/form-data")
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        fields[name] = payload if part.get_param("filename", header="content-disposition") is not None or name == "file" \
            else payload.decode("utf-8")
    return fields


def loggable(fields):
    """The multipart fields as the request log keeps them: the file's bytes become a short description."""
    return {key: ("<%d bytes>" % len(value) if isinstance(value, bytes) else value) for key, value in fields.items()}


def virtual_size(path, image_format):
    """The disk size an image describes (qemu-img info), or the file size for raw."""
    if image_format == "raw":
        return os.path.getsize(path)
    if shutil.which("qemu-img") is None:
        raise bad_request("IMPORT_TOOL_MISSING", "qemu-img (Debian package qemu-utils) is needed to import %s" % image_format)
    result = subprocess.run(["qemu-img", "info", "--output=json", "-f", image_format, path], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise bad_request("UPLOAD_FILE_INVALID", "the upload is not a %s image: %s" % (image_format, result.stderr.strip()[:200]))
    return json.loads(result.stdout)["virtual-size"]


class UploadMutations:
    def __init__(self, core):
        self.core = core
        self.handlers = {"upload-elf-file": self.upload, "import-vm-volume": self.import_volumes}

    @property
    def store(self):
        return self.core.store

    def _path(self, task_id):
        return os.path.join(self.store.data.root, "uploads", task_id + ".part")

    # ----- upload-elf-file ----------------------------------------------------------------------------------

    def upload(self, body, now, _user_id):
        chunk = body["file"] if isinstance(body["file"], bytes) else str(body["file"]).encode("utf-8")
        if body.get("upload_task_id"):
            task = self.store.get("upload_tasks", body["upload_task_id"])
            if task is None:
                raise bad_request("UPLOAD_TASK_NOT_FOUND", "upload_task_id %s does not exist" % body["upload_task_id"])
        else:
            task = self._new_task(body, now)
        if chunk:
            self._append(task, chunk, now)
        return self.core.state.serializer.serialize("UploadTask", task)

    def _new_task(self, body, now):
        name = body.get("name")
        try:
            size = int(float(body.get("size")) * BYTE_UNITS[body.get("size_unit") or "B"])
        except (TypeError, ValueError, KeyError) as error:
            raise bad_request("UPLOAD_SIZE_INVALID", "a new upload needs name, size (and size_unit B..PB)") from error
        if not name or size <= 0:
            raise bad_request("UPLOAD_SIZE_INVALID", "a new upload needs a name and a positive size")
        if body.get("cluster_id") and self.store.get("clusters", body["cluster_id"]) is None:
            raise bad_request("CLUSTER_NOT_FOUND", "cluster_id %s does not exist" % body["cluster_id"])
        resource_type = RESOURCE_TYPES.get(os.path.splitext(name)[1].lower(), "ELF_IMAGE")
        task = {"id": self.store.ids.cuid(now), "args": {"name": name, "cluster_id": body.get("cluster_id"), "size": size},
                "chunk_size": int(self.core.state.settings["upload_chunk_size"]), "current_chunk": 0, "finished_at": None,
                "resource_type": resource_type, "size": size, "started_at": iso_timestamp(now), "status": "INITIALIZING",
                "updatedAt": iso_timestamp(now), "_received": 0}
        os.makedirs(os.path.dirname(self._path(task["id"])), exist_ok=True)
        with open(self._path(task["id"]), "wb"):
            pass
        return self.store.insert("upload_tasks", task, now)

    def _append(self, task, chunk, now):
        if task["status"] in ("SUCCESSED", "FAILED"):
            raise bad_request("UPLOAD_TASK_FINISHED", "upload task %s is %s" % (task["id"], task["status"]))
        number = task["current_chunk"] + 1
        refused = self.core.state.dataplane.faults.upload_chunk_fault(number)
        if refused:
            raise _refusal(refused, "chunk %d of upload %s refused (simulated fault)" % (number, task["id"]))
        remaining = task["size"] - task["_received"]
        if len(chunk) > remaining or (len(chunk) != task["chunk_size"] and len(chunk) != remaining):
            raise bad_request("UPLOAD_CHUNK_INVALID", "chunk %d has %d bytes; chunks are %d bytes, the last one %d" % (
                number, len(chunk), task["chunk_size"], remaining if remaining < task["chunk_size"] else task["chunk_size"]))
        with open(self._path(task["id"]), "ab") as stream:
            stream.write(chunk)
        received = task["_received"] + len(chunk)
        changes = {"_received": received, "current_chunk": number, "status": "UPLOADING", "updatedAt": iso_timestamp(now)}
        if received == task["size"]:
            changes.update(status="SUCCESSED", finished_at=iso_timestamp(now))
        self.store.update("upload_tasks", task["id"], changes, now)
        if changes["status"] == "SUCCESSED" and task["resource_type"] == "ELF_IMAGE" and task["args"].get("cluster_id"):
            cluster = self.store.get("clusters", task["args"]["cluster_id"])
            self.core.state.factory.elf_image(now, cluster, task["args"]["name"], task["size"])

    # ----- import-vm-volume ---------------------------------------------------------------------------------

    def import_volumes(self, body, now, user_id):
        storage = self.core.storage
        answers = []
        for position, params in enumerate(body):
            path = "body[%d]" % position
            task = self.store.get("upload_tasks", params["upload_task_id"])
            if task is None or task["status"] != "SUCCESSED" or task["resource_type"] not in VOLUME_FORMATS:
                raise bad_request("UPLOAD_TASK_NOT_READY", "%s.upload_task_id must name a finished QCOW2/RAW/VMDK upload" % path)
            cluster = storage._cluster(params["cluster_id"], path)  # pylint: disable=protected-access
            image_format = VOLUME_FORMATS[task["resource_type"]]
            size = virtual_size(self._path(task["id"]), image_format)
            volume = storage.new_volume(now, cluster["id"], params["name"], size, params["storage_policy"])
            fill = self._filler(self._path(task["id"]), image_format)
            answers.append(storage._volume_creation("import-vm-volume", "Import VM volume %s" % params["name"],  # pylint: disable=protected-access
                                                    volume, fill, user_id, now))
        return answers

    def _filler(self, upload_path, image_format):
        def fill(_when, volume):
            if not os.path.exists(upload_path):
                raise TaskFailure("UPLOAD_TASK_NOT_FOUND", "The uploaded file is gone")
            lun = self.store.get("iscsi_luns", volume["lun"])
            raw = upload_path + ".raw"
            if image_format == "raw":
                self.store.data.replace_with_file("iscsi_luns", lun, upload_path, os.path.getsize(upload_path))
                return
            if shutil.which("qemu-img") is None:
                raise TaskFailure("IMPORT_TOOL_MISSING", "qemu-img (Debian package qemu-utils) is needed to import %s" % image_format)
            result = subprocess.run(["qemu-img", "convert", "-f", image_format, "-O", "raw", upload_path, raw],
                                    capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise TaskFailure("IMPORT_FAILED", "qemu-img convert failed: %s" % result.stderr.strip()[:300])
            try:
                self.store.data.replace_with_file("iscsi_luns", lun, raw, os.path.getsize(raw))
            finally:
                os.unlink(raw)
        return fill


def _refusal(status, detail):
    error = bad_request("UPLOAD_CHUNK_REFUSED", detail)
    error.status = status
    return error
