"""iSCSI targets and LUNs, LUN clones from snapshots, VM volumes: every version, checked against its spec."""

import os

GIB = 1024 ** 3


def _target_params(cluster_id, name="backup-target", **extra):
    return dict({"name": name, "cluster_id": cluster_id, "thin_provision": True, "replica_num": 2, "stripe_num": 4,
                 "stripe_size": 256 * 1024}, **extra)


def _demo_lun_snapshot(api, snapshot_name="backup-20240501T010000"):
    snapshot = api.call("get-vm-snapshots", {"where": {"name": snapshot_name}})[0]
    names = [disk["snapshot_local_id"] for disk in snapshot["vm_disks"] if disk["type"] == "DISK"]
    return api.call("get-iscsi-lun-snapshots", {"where": {"name_in": names}, "orderBy": "name_ASC"})


def _cluster(api, name="cluster-a"):
    return api.call("get-clusters", {"where": {"name": name}})[0]


def _digest(api, entity_id):
    return api.admin("GET", "volumes/%s/digest" % entity_id)["digest"]


def test_clone_a_lun_from_a_snapshot_into_a_new_target(api, version):
    api.reset(api_version=version)
    cluster = _cluster(api)
    answers, tasks = api.run("create-iscsi-target", [_target_params(cluster["id"], ip_whitelist="127.0.0.1",
                                                                    iqn_whitelist="iqn.2024-01.test:backup")])
    assert tasks[0]["status"] == "SUCCESSED", tasks
    target = api.call("get-iscsi-targets", {"where": {"id": answers[0]["data"]["id"]}})[0]
    assert target["iqn_name"] == "iqn.2016-02.com.smartx:system:backup-target"
    assert (target["ip_whitelist"], target["iqn_whitelist"], target["internal"]) == ("127.0.0.1", "iqn.2024-01.test:backup", False)
    lun_snapshot = _demo_lun_snapshot(api)[0]
    answers, tasks = api.run("clone-iscsi-lun-from-snapshot", [{"iscsi_target_id": target["id"], "name": "restore-disk0",
                                                                "snapshot_id": lun_snapshot["id"]}])
    assert tasks[0]["status"] == "SUCCESSED", tasks
    assert answers[0]["data"]["entityAsyncStatus"] == "CREATING"
    lun = api.call("get-iscsi-luns", {"where": {"id": answers[0]["data"]["id"]}})[0]
    assert lun["iscsi_target"]["id"] == target["id"]
    assert lun["lun_id"] == 1
    source = api.call("get-iscsi-luns", {"where": {"id": lun_snapshot["iscsi_lun"]["id"]}})[0]
    assert lun["assigned_size"] == source["assigned_size"]
    assert _digest(api, lun["id"]) == _digest(api, lun_snapshot["id"])
    api.settle()
    targets = api.call("get-iscsi-targets", {"where": {"luns_some": {"id": lun["id"]}}})
    assert [found["id"] for found in targets] == [target["id"]]


def test_target_settings_change_and_deletion_needs_an_empty_target(api, version):
    api.reset(api_version=version)
    cluster = _cluster(api)
    target_id = api.run("create-iscsi-target", [_target_params(cluster["id"], chap_enabled=True, chap_name="backup",
                                                               chap_secret="backup-secret-1")])[0][0]["data"]["id"]
    api.settle()
    _answers, tasks = api.run("update-iscsi-target", {"where": {"id": target_id}, "data": {
        "ip_whitelist": "10.0.0.0/8", "initiator_chaps": [{"initiator_iqn": "iqn.2024-01.test:a", "chap_name": "a",
                                                           "chap_secret": "secret-of-a-1"}]}})
    assert tasks[0]["status"] == "SUCCESSED"
    target = api.call("get-iscsi-targets", {"where": {"id": target_id}})[0]
    assert target["ip_whitelist"] == "10.0.0.0/8"
    assert target["chap_enabled"] is True and target["chap_name"] == "backup"
    assert target["initiator_chaps"] == [{"initiator_iqn": "iqn.2024-01.test:a", "chap_name": "a", "chap_secret": "secret-of-a-1"}]
    api.settle()
    size = 1.0 * GIB if version == "1.8.0" else GIB
    lun_id = api.run("create-iscsi-lun", [{"name": "scratch", "iscsi_target_id": target_id, "replica_num": 2,
                                           "assigned_size": size}])[0][0]["data"]["id"]
    api.settle()
    _answers, tasks = api.run("delete-iscsi-target", {"where": {"id": target_id}})
    assert (tasks[0]["status"], tasks[0]["error_code"]) == ("FAILED", "ISCSI_TARGET_NOT_EMPTY")
    api.settle()
    _answers, tasks = api.run("delete-iscsi-lun", {"where": {"id": lun_id}, "data": {"remove_snapshot": True}})
    assert tasks[0]["status"] == "SUCCESSED"
    api.settle()
    _answers, tasks = api.run("delete-iscsi-target", {"where": {"id": target_id}})
    assert tasks[0]["status"] == "SUCCESSED"
    assert api.call("get-iscsi-targets", {"where": {"id": target_id}}) == []


def test_cluster_targets_and_volume_luns_are_protected(api, version):
    api.reset(api_version=version)
    internal = api.call("get-iscsi-targets", {"where": {"internal": True}, "first": 1})[0]
    refused = api.post("delete-iscsi-target", {"where": {"id": internal["id"]}})
    assert refused.status_code == 400
    volume_lun = api.call("get-vm-volumes", {"first": 1})[0]["lun"]
    refused = api.post("delete-iscsi-lun", {"where": {"id": volume_lun["id"]}, "data": {"remove_snapshot": False}})
    assert refused.status_code == 400


def test_standalone_volumes_are_created_mounted_and_deleted(api, version):
    api.reset(api_version=version)
    cluster = _cluster(api)
    answers, tasks = api.run("create-vm-volume", [{"name": "data-vol", "cluster_id": cluster["id"], "size": 2 * GIB,
                                                   "elf_storage_policy": "REPLICA_2_THIN_PROVISION", "sharing": False}])
    assert tasks[0]["status"] == "SUCCESSED"
    volume = api.call("get-vm-volumes", {"where": {"id": answers[0]["data"]["id"]}})[0]
    assert (volume["size"], volume["mounting"], volume["lun"] is not None) == (2 * GIB, False, True)
    api.settle()
    creation = {"name": "mounts-it", "cluster_id": cluster["id"], "cpu_sockets": 1, "cpu_cores": 1, "vcpu": 1, "memory": GIB,
                "ha": False, "firmware": "BIOS", "status": "STOPPED", "vm_nics": [],
                "vm_disks": {"mount_disks": [{"vm_volume_id": volume["id"], "bus": "VIRTIO", "boot": 0, "index": 0}]}}
    vm_answers, tasks = api.run("create-vm", [creation])
    assert tasks[0]["status"] == "SUCCESSED"
    assert api.call("get-vm-volumes", {"where": {"id": volume["id"]}})[0]["mounting"] is True
    assert api.post("delete-vm-volume", {"where": {"id": volume["id"]}}).status_code == 400
    api.settle()
    api.run("delete-vm", {"where": {"id": vm_answers[0]["data"]["id"]}})
    assert api.call("get-vm-volumes", {"where": {"id": volume["id"]}}) == []


def test_a_free_volume_is_deleted_with_its_lun(api, version):
    api.reset(api_version=version)
    cluster = _cluster(api)
    answers, _tasks = api.run("create-vm-volume", [{"name": "gone", "cluster_id": cluster["id"], "size": GIB,
                                                    "elf_storage_policy": "REPLICA_2_THIN_PROVISION", "sharing": False}])
    volume = api.call("get-vm-volumes", {"where": {"id": answers[0]["data"]["id"]}})[0]
    api.settle()
    _answers, tasks = api.run("delete-vm-volume", {"where": {"id": volume["id"]}})
    assert tasks[0]["status"] == "SUCCESSED"
    assert api.call("get-iscsi-luns", {"where": {"id": volume["lun"]["id"]}}) == []


def test_iscsi_connections_are_empty_without_a_portal(api, version):
    api.reset(api_version=version)
    assert api.call("get-iscsi-connections", {}) == []
    assert api.call("get-iscsi-connections-connection", {}) == {"aggregate": {"count": 0}}


def test_data_path_operations_of_4_6_are_unknown_paths_before(api):
    for version in ("1.8.0", "1.10.0"):
        api.reset(api_version=version)
        for endpoint in ("export-vm-volume", "export-vm", "get-vm-export-files", "get-export-file-download-links",
                         "upload-elf-file", "import-vm-volume"):
            response = api.post(endpoint, {})
            assert response.status_code == 404, (version, endpoint)
    api.reset(api_version="4.6.0")
    assert api.call("get-vm-export-files", {}) == []
    assert api.call("get-upload-tasks", {}) == []


def test_a_clone_of_written_snapshot_bytes_is_copied_outside_the_simulator_lock(api, sim, monkeypatch):
    """CloudTower serves other requests while it clones; the simulator copies a clone's bytes after the request
    left its one lock, and the task still ends with the snapshot's bytes."""
    from ctsim import volumes_data
    cluster = _cluster(api)
    answers, _tasks = api.run("create-iscsi-target", [_target_params(cluster["id"])])
    lun_snapshot = _demo_lun_snapshot(api)[0]
    api.admin("POST", "volumes/%s/write" % lun_snapshot["id"], {"offset": 4096, "pattern": "written", "length": 3 * 1024 * 1024})
    lock_owned_while_copying = []
    original_run = volumes_data.CopyJob.run

    def recording_run(job):
        lock_owned_while_copying.append(sim.lock._is_owned())  # pylint: disable=protected-access
        return original_run(job)
    monkeypatch.setattr(volumes_data.CopyJob, "run", recording_run)
    clone_answers, tasks = api.run("clone-iscsi-lun-from-snapshot", [{"iscsi_target_id": answers[0]["data"]["id"],
                                                                      "name": "copied-disk0", "snapshot_id": lun_snapshot["id"]}])
    assert tasks[0]["status"] == "SUCCESSED", tasks
    assert lock_owned_while_copying and lock_owned_while_copying[0] is False
    assert _digest(api, clone_answers[0]["data"]["id"]) == _digest(api, lun_snapshot["id"])


def test_a_prepared_copy_is_finished_or_dropped_by_whoever_comes_first(tmp_path):
    from ctsim.volumes_data import VolumeData
    data = VolumeData(str(tmp_path))
    source = {"id": "snap", "_size": 1024 * 1024}
    data.describe_new(source, seed="s1")
    data.materialise("iscsi_lun_snapshots", source)  # written bytes: a clone copies them (no description to lend)
    source_digest = data.digest("iscsi_lun_snapshots", source)
    read_first = {"id": "lun-a", "assigned_size": 1024 * 1024}
    data.describe_new(read_first)
    data.prepare_copy("iscsi_lun_snapshots", source, "iscsi_luns", read_first)
    assert list(data.copies) == ["lun-a"] and not data.is_materialised(read_first)
    assert data.digest("iscsi_luns", read_first) == source_digest  # a reader before the task's end waits for the bytes
    data.finish_copy("iscsi_lun_snapshots", source, "iscsi_luns", read_first)
    assert data.digest("iscsi_luns", read_first) == source_digest and not data.copies
    dropped = {"id": "lun-b", "assigned_size": 1024 * 1024}
    data.describe_new(dropped)
    data.prepare_copy("iscsi_lun_snapshots", source, "iscsi_luns", dropped)
    assert list(data.copies) == ["lun-b"]
    data.discard("iscsi_luns", dropped)  # a clone deleted (or its task failed) before anyone copied
    data.run_deferred()
    assert not os.path.exists(data.path_of("iscsi_luns", dropped)) and not data.copies
