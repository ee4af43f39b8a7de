"""Volume content: sparse files made on first access, admin writes and digests, snapshots that freeze bytes."""

import base64
import os


def _volume(api, vm_name, position=0):
    vm = api.vm(vm_name)
    disks = api.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}, "type": "DISK"}, "orderBy": "boot_ASC"})
    return api.call("get-vm-volumes", {"where": {"id": disks[position]["vm_volume"]["id"]}})[0]


def _digest(api, entity_id):
    return api.admin("GET", "volumes/%s/digest" % entity_id)


def _read(api, entity_id, offset, length):
    answer = api.admin("GET", "volumes/%s/read?offset=%d&length=%d" % (entity_id, offset, length))
    return base64.b64decode(answer["data"])


def _lun_snapshots_of(api, snapshot):
    names = [disk["snapshot_local_id"] for disk in snapshot["vm_disks"] if disk["type"] == "DISK"]
    return api.call("get-iscsi-lun-snapshots", {"where": {"name_in": names}})


def test_nothing_is_written_until_a_volume_is_touched(api):
    info = api.reset()
    assert info["dataplane"]["allocated_bytes"] == 0
    assert not os.path.exists(info["dataplane"]["state_dir"])


def test_demo_disks_have_a_recognisable_deterministic_header(api):
    volume = _volume(api, "db-01", 1)
    header = _read(api, volume["id"], 0, 512)
    assert header.startswith(b"CTSIM-DISK\0seed=")
    assert header[510:] == b"\x55\xaa"
    first = _digest(api, volume["id"])
    assert first["size"] == volume["size"] == 500 * 1024 ** 3
    # A 500 GiB disk costs a few blocks on disk.
    assert os.stat(first["path"]).st_blocks * 512 < 4 * 1024 * 1024
    other = _digest(api, _volume(api, "db-01", 0)["id"])
    assert other["digest"] != first["digest"]
    api.reset()
    assert _digest(api, _volume(api, "db-01", 1)["id"])["digest"] == first["digest"]


def test_admin_write_changes_the_bytes_and_the_digest(api):
    volume = _volume(api, "web-01")
    before = _digest(api, volume["id"])["digest"]
    api.admin("POST", "volumes/%s/write" % volume["id"], {"offset": 8192, "data": base64.b64encode(b"guest data").decode()})
    assert _read(api, volume["id"], 8192, 10) == b"guest data"
    assert _digest(api, volume["id"])["digest"] != before
    api.admin("POST", "volumes/%s/write" % volume["id"], {"offset": 1 << 30, "pattern": "ab", "length": 5})
    assert _read(api, volume["id"], 1 << 30, 6) == b"ababa\0"


def test_admin_write_refuses_bad_requests(api):
    volume = _volume(api, "web-01")
    api.admin("POST", "volumes/%s/write" % volume["id"], {"offset": volume["size"] - 2, "pattern": "x", "length": 3}, status=400)
    api.admin("POST", "volumes/%s/write" % volume["id"], {"offset": 0}, status=400)
    api.admin("POST", "volumes/%s/write" % volume["id"], {"offset": 0, "data": "not base64!"}, status=400)
    api.admin("GET", "volumes/no-such-volume/digest", status=404)


def test_a_snapshot_freezes_each_disk_when_its_task_succeeds(api):
    vm = api.vm("db-01")
    volumes = [_volume(api, "db-01", position) for position in (0, 1)]
    for volume in volumes:
        api.admin("POST", "volumes/%s/write" % volume["id"], {"offset": 0, "pattern": "before-snapshot", "length": 4096})
    at_snapshot = {volume["id"]: _digest(api, volume["id"])["digest"] for volume in volumes}
    answers, tasks = api.run("create-vm-snapshot", {"data": [{"vm_id": vm["id"], "name": "freeze"}]})
    assert tasks[0]["status"] == "SUCCESSED"
    snapshot = api.call("get-vm-snapshots", {"where": {"id": answers[0]["data"]["id"]}})[0]
    for volume in volumes:
        api.admin("POST", "volumes/%s/write" % volume["id"], {"offset": 0, "pattern": "after-snapshot", "length": 4096})
        assert _digest(api, volume["id"])["digest"] != at_snapshot[volume["id"]]
    lun_snapshots = _lun_snapshots_of(api, snapshot)
    assert len(lun_snapshots) == 2
    luns = {volume["lun"]["id"]: volume["id"] for volume in volumes}
    for lun_snapshot in lun_snapshots:
        frozen = _digest(api, lun_snapshot["id"])
        assert frozen["table"] == "iscsi_lun_snapshots"
        assert frozen["digest"] == at_snapshot[luns[lun_snapshot["iscsi_lun"]["id"]]]
        assert _read(api, lun_snapshot["id"], 0, 15) == b"before-snapshot"


def test_demo_snapshots_hold_the_demo_content(api):
    snapshot = api.call("get-vm-snapshots", {"where": {"name": "pre-patch-2024-04"}})[0]
    lun_snapshot = _lun_snapshots_of(api, snapshot)[0]
    volume = _volume(api, "web-01")
    assert _digest(api, lun_snapshot["id"])["digest"] == _digest(api, volume["id"])["digest"]


def test_deleting_snapshots_and_volumes_frees_their_files(api):
    vm = api.vm("db-02")
    answers, _tasks = api.run("create-vm-snapshot", {"data": [{"vm_id": vm["id"], "name": "to-delete"}]})
    snapshot = api.call("get-vm-snapshots", {"where": {"id": answers[0]["data"]["id"]}})[0]
    lun_snapshot_paths = [_digest(api, lun_snapshot["id"])["path"] for lun_snapshot in _lun_snapshots_of(api, snapshot)]
    volume_paths = [_digest(api, _volume(api, "db-02", position)["id"])["path"] for position in (0, 1)]
    assert all(os.path.exists(path) for path in lun_snapshot_paths + volume_paths)
    api.settle()
    api.run("delete-vm-snapshot", {"where": {"id": snapshot["id"]}})
    assert not any(os.path.exists(path) for path in lun_snapshot_paths)
    api.settle()
    api.run("delete-vm", {"where": {"id": vm["id"]}})
    assert not any(os.path.exists(path) for path in volume_paths)


def test_a_reset_removes_the_previous_state_files(api):
    path = _digest(api, _volume(api, "web-01")["id"])["path"]
    assert os.path.exists(path)
    api.reset()
    assert not os.path.exists(path)
