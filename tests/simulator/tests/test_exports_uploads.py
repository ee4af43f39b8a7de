"""4.6 data path without a portal: exports downloaded (with a resumed Range request), uploads + imports, and the
data faults of downloads, uploads and export/import tasks."""

import shutil
import threading

import pytest
import requests

from dataplane_support import GIB, digest, digest_of_file, qemu_img, volume_of

needs_qemu = pytest.mark.skipif(shutil.which("qemu-img") is None,
                                reason="qemu-img missing: apt-get install qemu-utils (see ctsim/dataplane_deps.py)")


def _export(api, volume, file_type="QCOW2"):
    answers, tasks = api.run("export-vm-volume", {"where": {"id": volume["id"]}, "data": {"type": file_type}})
    return answers[0]["data"], tasks[0]


def _links(api, export_id):
    return api.call("get-export-file-download-links", {"where": {"id": export_id}})


def _download_resuming(url, target, first_bytes):
    """Download in two requests: the first stops after first_bytes, the second resumes with a Range header."""
    with requests.get(url, stream=True, timeout=60) as response:
        assert response.status_code == 200
        total = int(response.headers["Content-Length"])
        assert response.headers["Accept-Ranges"] == "bytes"
        with open(target, "wb") as stream:
            stream.write(response.raw.read(first_bytes))
    resumed = requests.get(url, headers={"Range": "bytes=%d-" % first_bytes}, timeout=60)
    assert resumed.status_code == 206
    assert resumed.headers["Content-Range"] == "bytes %d-%d/%d" % (first_bytes, total - 1, total)
    with open(target, "ab") as stream:
        stream.write(resumed.content)
    return total


def _upload(api, path, name, chunk_size, cluster_id):
    """upload-elf-file in chunks; returns the upload task after each call."""
    data = open(path, "rb").read()
    seen = []
    task = api.call("upload-elf-file", **_multipart(
        {"name": name, "size": str(len(data)), "size_unit": "B", "cluster_id": cluster_id}, b""))
    seen.append(task)
    for offset in range(0, len(data), chunk_size):
        task = api.call("upload-elf-file", **_multipart({"upload_task_id": task["id"]}, data[offset:offset + chunk_size]))
        seen.append(task)
    return seen


def _multipart(fields, chunk):
    """Keyword arguments for Api.call sending multipart/form-data (requests builds the body)."""
    request = requests.Request("POST", "http://x/", data=fields, files={"file": ("chunk", chunk)}).prepare()
    return {"raw_body": request.body, "headers": {"Content-Type": request.headers["Content-Type"]}}


@needs_qemu
def test_an_export_downloads_byte_identical_with_a_resumed_range_request(api, tmp_path):
    volume = volume_of(api, "db-01", 0)
    api.admin("POST", "volumes/%s/write" % volume["id"], {"offset": 3 * 1024 * 1024, "pattern": "exported", "length": 300000})
    expected = digest(api, volume["id"])
    export, task = _export(api, volume)
    assert task["status"] == "SUCCESSED", task
    assert export["entityAsyncStatus"] == "CREATING"
    row = api.call("get-vm-export-files", {"where": {"id": export["id"]}})[0]
    assert (row["type"], row["vm_volume"]["id"], row["entityAsyncStatus"]) == ("QCOW2", volume["id"], None)
    entry = row["files"][0]
    assert entry["fileName"].endswith(".qcow2") and entry["type"] == "QCOW2" and len(entry["md5"]) == 32
    links = _links(api, export["id"])
    assert [link["filename"] for link in links] == [entry["fileName"]]
    target = tmp_path / entry["fileName"]
    total = _download_resuming(links[0]["link"], target, 100000)
    assert total == entry["fileSize"] == target.stat().st_size
    raw = tmp_path / "restored.raw"
    assert qemu_img("convert", "-O", "raw", target, raw).returncode == 0
    assert digest_of_file(raw) == expected
    head = requests.head(links[0]["link"], timeout=30)
    assert (head.status_code, head.headers["Content-Length"]) == (200, str(total))
    assert requests.get(links[0]["link"], headers={"Range": "bytes=%d-" % total}, timeout=30).status_code == 416
    assert requests.get(links[0]["link"].replace("secret=", "secret=x"), timeout=30).status_code == 404


def test_a_raw_export_needs_no_qemu_and_keeps_the_bytes(api, tmp_path):
    cluster = api.call("get-clusters", {"where": {"name": "cluster-a"}})[0]
    answers, _tasks = api.run("create-vm-volume", [{"name": "small", "cluster_id": cluster["id"], "size": 8, "size_unit": "MB",
                                                    "elf_storage_policy": "REPLICA_2_THIN_PROVISION", "sharing": False}])
    volume_id = answers[0]["data"]["id"]
    api.settle()
    api.admin("POST", "volumes/%s/write" % volume_id, {"offset": 4096, "pattern": "raw!", "length": 5000})
    export, task = _export(api, {"id": volume_id}, "RAW")
    assert task["status"] == "SUCCESSED"
    link = _links(api, export["id"])[0]["link"]
    body = requests.get(link, timeout=30)
    assert (body.status_code, len(body.content)) == (200, 8 * 1024 ** 2)
    (tmp_path / "small.raw").write_bytes(body.content)
    assert digest_of_file(tmp_path / "small.raw") == digest(api, volume_id)


@needs_qemu
def test_export_vm_packs_every_disk_and_an_ovf(api):
    vm = api.vm("build-01")
    answers, tasks = api.run("export-vm", {"where": {"id": vm["id"]}, "data": {"type": "OVF"}})
    assert tasks[0]["status"] == "SUCCESSED", tasks
    row = api.call("get-vm-export-files", {"where": {"vm": {"id": vm["id"]}}})[0]
    assert [entry["type"] for entry in row["files"]] == ["OVF", "VMDK", "VMDK", "VMDK"]
    ovf = requests.get(_links(api, answers[0]["data"]["id"])[0]["link"], timeout=30).text
    assert ovf.startswith("<?xml") and "build-01-disk2.vmdk" in ovf


@needs_qemu
def test_upload_then_import_makes_a_volume_with_the_uploaded_bytes(api, tmp_path):
    api.call("get-clusters", {})
    api.admin("POST", "settings", {"upload_chunk_size": 64 * 1024})
    source = tmp_path / "source.raw"
    with open(source, "wb") as stream:
        stream.truncate(64 * 1024 ** 2)
        stream.seek(1024 * 1024)
        stream.write(b"uploaded-bytes" * 20000)
    image = tmp_path / "disk.qcow2"
    assert qemu_img("convert", "-f", "raw", "-O", "qcow2", source, image).returncode == 0
    cluster = api.call("get-clusters", {"where": {"name": "cluster-b"}})[0]
    seen = _upload(api, image, "disk.qcow2", 64 * 1024, cluster["id"])
    assert seen[0]["status"] == "INITIALIZING" and seen[0]["current_chunk"] == 0 and seen[0]["chunk_size"] == 64 * 1024
    assert [task["current_chunk"] for task in seen[1:]] == list(range(1, len(seen)))
    assert all(task["status"] == "UPLOADING" for task in seen[1:-1]) and seen[-1]["status"] == "SUCCESSED"
    upload = api.call("get-upload-tasks", {"where": {"id": seen[0]["id"]}})[0]
    assert (upload["resource_type"], upload["size"], upload["status"]) == ("VM_VOLUME_QCOW2", image.stat().st_size, "SUCCESSED")
    answers, tasks = api.run("import-vm-volume", [{"cluster_id": cluster["id"], "name": "imported", "storage_policy":
                                                   "REPLICA_2_THIN_PROVISION", "upload_task_id": upload["id"]}])
    assert tasks[0]["status"] == "SUCCESSED", tasks
    volume = api.call("get-vm-volumes", {"where": {"id": answers[0]["data"]["id"]}})[0]
    assert volume["size"] == 64 * 1024 ** 2
    assert digest(api, volume["id"]) == digest_of_file(source)


def test_a_chunk_of_the_wrong_size_and_an_unfinished_import_are_refused(api):
    cluster = api.call("get-clusters", {"first": 1})[0]
    api.admin("POST", "settings", {"upload_chunk_size": 1024})
    task = api.call("upload-elf-file", **_multipart({"name": "d.raw", "size": "3000", "cluster_id": cluster["id"]}, b"x" * 1024))
    response = api.post("upload-elf-file", raw_body=_multipart({"upload_task_id": task["id"]}, b"y" * 10)["raw_body"],
                        headers=_multipart({"upload_task_id": task["id"]}, b"y" * 10)["headers"])
    assert response.status_code == 400
    response = api.post("import-vm-volume", [{"cluster_id": cluster["id"], "name": "early", "storage_policy": "REPLICA_2_THIN_PROVISION",
                                              "upload_task_id": task["id"]}])
    assert response.status_code == 400


# ----- data-plane faults ---------------------------------------------------------------------------------------

def _raw_export_link_of_new_volume(api, name):
    """The download link of a RAW export of a new 2 MB volume named name (the data-plane fault tests' source)."""
    cluster = api.call("get-clusters", {"first": 1})[0]
    answers, _tasks = api.run("create-vm-volume", [{"name": name, "cluster_id": cluster["id"], "size": 2, "size_unit": "MB",
                                                    "elf_storage_policy": "REPLICA_2_THIN_PROVISION", "sharing": False}])
    api.settle()
    export, _task = _export(api, {"id": answers[0]["data"]["id"]}, "RAW")
    return _links(api, export["id"])[0]["link"]


def test_download_faults_answer_500_or_close_early(api):
    link = _raw_export_link_of_new_volume(api, "dl")
    api.admin("POST", "dataplane/faults", {"download_errors": [{"status": 500, "nth": 1}],
                                           "download_truncations": [{"after_bytes": 1000, "next": 1}]})
    assert requests.get(link, timeout=30).status_code == 500
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(link, timeout=30).raise_for_status()
    assert len(requests.get(link, timeout=30).content) == 2 * 1024 ** 2
    kinds = [event["kind"] for event in api.admin("GET", "dataplane/faults")["events"]]
    assert kinds == ["download_status", "download_truncate"]


def test_a_closing_truncation_delivers_its_bytes_and_the_download_log_keeps_each_request_without_the_secret(api):
    link = _raw_export_link_of_new_volume(api, "logged")
    api.admin("POST", "dataplane/faults", {"download_truncations": [{"after_bytes": 1, "reset": "no"}]}, status=400)
    api.admin("DELETE", "dataplane/downloads")
    api.admin("POST", "dataplane/faults", {"download_truncations": [{"after_bytes": 300000, "reset": False, "next": 1}]})
    with requests.get(link, stream=True, timeout=30) as response:
        arrived = bytearray()
        with pytest.raises(requests.exceptions.RequestException):
            for chunk in response.iter_content(chunk_size=1000):  # urllib3 drops a chunk it cannot read whole
                arrived += chunk
    assert len(arrived) == 300000
    assert requests.get(link, headers={"Range": "bytes=300000-"}, timeout=30).status_code == 206
    served = api.admin("GET", "dataplane/downloads")
    assert [(s["range"], s["status"], s["bytes_sent"], s["dropped"]) for s in served] == [
        (None, 200, 300000, True), ("bytes=300000-", 206, 2 * 1024 ** 2 - 300000, False)]
    assert all(s["path"] == link.split("?")[0][-len(s["path"]):] and "secret" not in str(s) for s in served)


def test_the_download_log_waits_for_a_download_still_being_logged(sim):
    # The client can hold a reply's last byte before the handler has logged it (a loaded machine showed it): a read
    # of the log waits for the downloads in flight.
    sim.dataplane_downloads(clear=True)
    sim.dataplane.download_started()
    finishing = threading.Timer(0.3, sim.dataplane.record_download, [{"method": "GET", "status": 200, "dropped": False}])
    finishing.start()
    try:
        assert [entry["status"] for entry in sim.dataplane_downloads()] == [200]
    finally:
        finishing.join()
    # A stalled download is left out once the wait is over.
    sim.dataplane.download_started()
    try:
        assert len(sim.dataplane.download_log(settle_seconds=0.1)) == 1
    finally:
        sim.dataplane.record_download({"method": "GET", "status": 200, "dropped": True})
    sim.dataplane_downloads(clear=True)


def test_a_link_works_only_while_its_export_file_exists(api):
    cluster = api.call("get-clusters", {"first": 1})[0]
    answers, _tasks = api.run("create-vm-volume", [{"name": "gone", "cluster_id": cluster["id"], "size": 1, "size_unit": "MB",
                                                    "elf_storage_policy": "REPLICA_2_THIN_PROVISION", "sharing": False}])
    api.settle()
    export, _task = _export(api, {"id": answers[0]["data"]["id"]}, "RAW")
    link = _links(api, export["id"])[0]["link"]
    assert requests.get(link, timeout=30).status_code == 200
    api.admin("DELETE", "dataplane/export-files/%s" % export["id"])
    assert requests.get(link, timeout=30).status_code == 404
    assert api.call("get-vm-export-files", {"where": {"id": export["id"]}}) == []


def test_an_upload_chunk_refused_leaves_the_task_where_it_was(api):
    cluster = api.call("get-clusters", {"first": 1})[0]
    api.admin("POST", "settings", {"upload_chunk_size": 1024})
    api.admin("POST", "dataplane/faults", {"upload_chunk_refusals": [{"chunk": 2, "status": 500, "next": 1}]})
    task = api.call("upload-elf-file", **_multipart({"name": "d.raw", "size": "2048", "cluster_id": cluster["id"]}, b"a" * 1024))
    assert task["current_chunk"] == 1
    second = _multipart({"upload_task_id": task["id"]}, b"b" * 1024)
    refused = api.post("upload-elf-file", raw_body=second["raw_body"], headers=second["headers"])
    assert refused.status_code == 500
    assert api.call("get-upload-tasks", {"where": {"id": task["id"]}})[0]["current_chunk"] == 1
    retried = api.call("upload-elf-file", **_multipart({"upload_task_id": task["id"]}, b"b" * 1024))
    assert (retried["current_chunk"], retried["status"]) == (2, "SUCCESSED")


def test_export_and_import_tasks_fail_on_request(api):
    api.admin("POST", "faults", {"task_failures": [{"operations": ["export-vm-volume", "import-vm-volume"], "error_code": "ZBS_IO_ERROR"}]})
    volume = volume_of(api, "web-01")
    export, task = _export(api, volume, "RAW")
    assert (task["status"], task["error_code"], task["resource_rollbacked"]) == ("FAILED", "ZBS_IO_ERROR", True)
    assert api.call("get-vm-export-files", {"where": {"id": export["id"]}}) == []
    cluster = api.call("get-clusters", {"first": 1})[0]
    api.admin("POST", "settings", {"upload_chunk_size": 1024 * 1024})
    upload = api.call("upload-elf-file", **_multipart({"name": "d.raw", "size": str(GIB // 1024), "cluster_id": cluster["id"]},
                                                      b"z" * (GIB // 1024)))
    answers, tasks = api.run("import-vm-volume", [{"cluster_id": cluster["id"], "name": "imp", "storage_policy": "REPLICA_2_THIN_PROVISION",
                                                   "upload_task_id": upload["id"]}])
    assert (tasks[0]["status"], tasks[0]["error_code"]) == ("FAILED", "ZBS_IO_ERROR")
    assert api.call("get-vm-volumes", {"where": {"id": answers[0]["data"]["id"]}}) == []


def test_a_vm_snapshot_disk_rebuilds_into_a_volume_holding_the_snapshot_bytes(api):
    """4.6: every DISK of a VM snapshot has a VM volume snapshot (named by the frozen disk's vm_volume_snapshot_uuid);
    rebuild-vm-volume makes a volume of it whose bytes are the disk's at snapshot time, not the live ones."""
    volume = volume_of(api, "db-01", 0)
    api.admin("POST", "volumes/%s/write" % volume["id"], {"offset": 2 * 1024 * 1024, "pattern": "before", "length": 70000})
    at_snapshot = digest(api, volume["id"])
    vm = api.vm("db-01")
    _answers, tasks = api.run("create-vm-snapshot", {"data": [{"vm_id": vm["id"], "name": "vs-1"}]})
    assert tasks[0]["status"] == "SUCCESSED", tasks[0]
    api.admin("POST", "volumes/%s/write" % volume["id"], {"offset": 2 * 1024 * 1024, "pattern": "after", "length": 70000})
    snapshot = api.call("get-vm-snapshots", {"where": {"name": "vs-1"}})[0]
    frozen = [disk for disk in snapshot["vm_disks"] if disk["type"] == "DISK" and disk["vm_volume_local_id"] == volume["local_id"]][0]
    found = api.call("get-vm-volume-snapshots", {"where": {"local_id": frozen["vm_volume_snapshot_uuid"]}})
    assert len(found) == 1 and found[0]["vm_volume"]["id"] == volume["id"] and found[0]["name"] == frozen["snapshot_local_id"]
    lun_snapshot = api.call("get-iscsi-lun-snapshots", {"where": {"name": frozen["snapshot_local_id"]}})[0]
    assert found[0]["zbs_snapshot_uuid"] == lun_snapshot["local_id"]
    uuids = [d["vm_volume_snapshot_uuid"] for d in snapshot["vm_disks"] if d["type"] == "DISK"]
    every_disk = api.call("get-vm-volume-snapshots", {"where": {"local_id_in": uuids}})
    assert len(every_disk) == sum(d["type"] == "DISK" for d in snapshot["vm_disks"])

    answers, tasks = api.run("rebuild-vm-volume", [{"name": "rebuilt-1", "description": "test", "volume_snapshot_id": found[0]["id"]}])
    assert tasks[0]["status"] == "SUCCESSED", tasks[0]
    rebuilt = api.call("get-vm-volumes", {"where": {"id": answers[0]["data"]["id"]}})[0]
    assert (rebuilt["name"], rebuilt["size"], rebuilt["description"]) == ("rebuilt-1", volume["size"], "test")
    assert digest(api, rebuilt["id"]) == at_snapshot != digest(api, volume["id"])

    api.settle(0.2)
    _answers, tasks = api.run("delete-vm-volume", {"where": {"id": rebuilt["id"]}})
    assert tasks[0]["status"] == "SUCCESSED" and not api.call("get-vm-volumes", {"where": {"id": rebuilt["id"]}})
    api.settle(0.2)
    _answers, tasks = api.run("delete-vm-snapshot", {"where": {"id": snapshot["id"]}})
    assert tasks[0]["status"] == "SUCCESSED" and not api.call("get-vm-volume-snapshots", {"where": {"id": found[0]["id"]}})
    missing = api.post("rebuild-vm-volume", [{"name": "r2", "description": "", "volume_snapshot_id": found[0]["id"]}])
    assert missing.status_code == 400 and "VM_VOLUME_SNAPSHOT_NOT_FOUND" in missing.text


def test_volume_snapshots_and_rebuild_are_4_6_only(api):
    api.reset(state="demo", api_version="1.10.0", task_seconds=0.05, seed=7)
    assert api.post("get-vm-volume-snapshots", {}).status_code == 404
    assert api.post("rebuild-vm-volume", [{"name": "r", "description": "", "volume_snapshot_id": "x"}]).status_code == 404
