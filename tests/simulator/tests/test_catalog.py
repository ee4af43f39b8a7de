"""The deployment, VM folders, ELF images, VDSes and iSCSI targets, and VMs that use folders and images."""

GIB = 1024 ** 3
IMAGE_NAMES = ["CentOS-7-x86_64-Minimal-2009.iso", "ubuntu-22.04.4-live-server-amd64.iso"]


def _cluster(api, name):
    return api.call("get-clusters", {"where": {"name": name}})[0]


def _in_cluster(api, endpoint, cluster, **where):
    return api.call(endpoint, {"where": dict(where, cluster={"id": cluster["id"]})})


def _vm_body(cluster, name="iso-vm", **extra):
    body = {"name": name, "cluster_id": cluster["id"], "cpu_sockets": 1, "cpu_cores": 2, "vcpu": 2, "memory": 2 * GIB,
            "ha": False, "firmware": "BIOS", "status": "STOPPED", "vm_nics": [], "vm_disks": {}}
    body.update(extra)
    return body


def _cd_rom(image, boot=0):
    return {"mount_cd_roms": [{"boot": boot, "index": boot, "elf_image_id": image["id"]}]}


def test_deploy_reports_the_api_version(api, version):
    api.reset(api_version=version)
    deploys = api.call("get-deploys", {})
    assert len(deploys) == 1 and deploys[0]["version"] == version and deploys[0]["license"] is None
    assert api.call("get-deploys", {"first": 1, "where": {"version_starts_with": version.split(".")[0]}}) == deploys
    assert api.call("get-deploys-connection", {}) == {"aggregate": {"count": 1}}
    api.reset(state="empty", api_version=version)
    assert [deploy["version"] for deploy in api.call("get-deploys", {})] == [version]


def test_folders_and_images_per_cluster(api):
    for cluster in api.call("get-clusters", {}):
        folders = _in_cluster(api, "get-vm-folders", cluster)
        assert [(folder["name"], folder["vm_num"], folder["vms"]) for folder in folders] == [("production", 0, [])]
        assert {"id": folders[0]["id"], "name": "production"} in cluster["vm_folders"]
        images = _in_cluster(api, "get-elf-images", cluster)
        assert sorted(image["name"] for image in images) == IMAGE_NAMES
        for image in images:
            assert image["cluster"] == {"id": cluster["id"], "name": cluster["name"]} and image["vm_disks"] == []
            assert image["path"].endswith(image["local_id"]) and image["size"] > 0.5 * GIB
    assert api.call("get-elf-images-connection", {"where": {"name_ends_with": ".iso"}}) == {"aggregate": {"count": 4}}
    assert api.call("get-vm-folders-connection", {}) == {"aggregate": {"count": 2}}
    assert [image["name"] for image in api.call("get-elf-images", {"orderBy": "size_DESC", "first": 1})] == [IMAGE_NAMES[1]]
    assert api.post("get-elf-images", {"where": {"nme": "x"}}).status_code == 400
    api.reset(state="empty")
    assert len(api.call("get-elf-images", {})) == 4 and len(api.call("get-vm-folders", {})) == 2


def test_vdses_and_iscsi_targets(api):
    cluster = _cluster(api, "cluster-b")
    vds = _in_cluster(api, "get-vdses", cluster)[0]
    vlans = api.call("get-vlans", {"where": {"vds": {"id": vds["id"]}}})
    assert vds["vlans_num"] == 4 and sorted(stub["id"] for stub in vds["vlans"]) == sorted(vlan["id"] for vlan in vlans)
    assert cluster["vdses"] == [{"id": vds["id"], "name": vds["name"]}]
    target = _in_cluster(api, "get-iscsi-targets", cluster)[0]
    luns = api.call("get-iscsi-luns", {"where": {"iscsi_target": {"id": target["id"]}}})
    assert luns and sorted(stub["id"] for stub in target["luns"]) == sorted(lun["id"] for lun in luns)
    assert target["iqn_name"].endswith(target["name"]) and target["initiator_chaps"] == []


def test_create_vm_in_a_folder_with_an_iso(api, version):
    api.reset(api_version=version)
    cluster = _cluster(api, "cluster-a")
    folder = _in_cluster(api, "get-vm-folders", cluster)[0]
    image = _in_cluster(api, "get-elf-images", cluster, name=IMAGE_NAMES[1])[0]
    answers, tasks = api.run("create-vm", [_vm_body(cluster, folder_id=folder["id"], vm_disks=_cd_rom(image))])
    assert tasks[0]["status"] == "SUCCESSED" and answers[0]["data"]["folder"] == {"id": folder["id"], "name": "production"}
    vm = api.vm("iso-vm")
    assert vm["folder"] == {"id": folder["id"], "name": "production"}
    disk = api.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}}})[0]
    assert disk["type"] == "CD_ROM" and disk["elf_image"] == {"id": image["id"], "name": image["name"]}
    assert api.call("get-elf-images", {"where": {"id": image["id"]}})[0]["vm_disks"] == [{"id": disk["id"]}]
    folder_now = api.call("get-vm-folders", {"where": {"id": folder["id"]}})[0]
    assert folder_now["vm_num"] == 1 and folder_now["vms"] == [{"id": vm["id"], "name": "iso-vm"}]
    assert [row["id"] for row in api.vms({"folder": {"name": "production"}, "vm_disks_some": {"elf_image": {"id": image["id"]}}})] == [vm["id"]]
    assert api.call("get-vm-folders", {"where": {"vm_num_gt": 0}}) == [folder_now]
    api.settle()
    api.run("delete-vm", {"where": {"id": vm["id"]}})
    assert api.call("get-vm-folders", {"where": {"id": folder["id"]}})[0]["vm_num"] == 0
    assert api.call("get-elf-images", {"where": {"id": image["id"]}})[0]["vm_disks"] == []


def test_images_survive_snapshot_clone_and_rebuild(api):
    cluster = _cluster(api, "cluster-a")
    image = _in_cluster(api, "get-elf-images", cluster, name=IMAGE_NAMES[0])[0]
    vm_id = api.run("create-vm", [_vm_body(cluster, vm_disks=_cd_rom(image))])[0][0]["data"]["id"]
    api.settle()
    snapshot = api.run("create-vm-snapshot", {"data": [{"vm_id": vm_id, "name": "with-iso"}]})[0][0]["data"]
    frozen = api.call("get-vm-snapshots", {"where": {"id": snapshot["id"]}})[0]["vm_disks"][0]
    assert (frozen["type"], frozen["elf_image_local_id"], frozen["image_name"]) == ("CD_ROM", image["local_id"], image["name"])
    api.settle()
    api.run("clone-vm", [{"src_vm_id": vm_id, "name": "iso-clone"}])
    api.run("rebuild-vm-from-snapshot", [{"rebuild_from_snapshot_id": snapshot["id"], "name": "iso-rebuilt"}])
    api.run("rollback-vm", {"where": {"id": vm_id}, "data": {"snapshot_id": snapshot["id"]}})
    for name in ("iso-vm", "iso-clone", "iso-rebuilt"):
        disks = api.call("get-vm-disks", {"where": {"vm": {"name": name}}})
        assert [disk["elf_image"] for disk in disks] == [{"id": image["id"], "name": image["name"]}], name


def test_folder_and_image_must_be_in_the_vm_cluster(api):
    cluster_a, cluster_b = _cluster(api, "cluster-a"), _cluster(api, "cluster-b")
    folder_b = _in_cluster(api, "get-vm-folders", cluster_b)[0]
    image_b = _in_cluster(api, "get-elf-images", cluster_b)[0]
    refused = [([_vm_body(cluster_a, folder_id=folder_b["id"])], "VM_FOLDER_NOT_FOUND"),
               ([_vm_body(cluster_a, folder_id="cnosuchfolder000000000000")], "VM_FOLDER_NOT_FOUND"),
               ([_vm_body(cluster_a, vm_disks=_cd_rom(image_b))], "ELF_IMAGE_NOT_FOUND")]
    for body, code in refused:
        response = api.post("create-vm", body)
        assert response.status_code == 400 and response.json()["message"] == code
    # A clone into another cluster carries the source's CD-ROM image only if it names new devices.
    image_a = _in_cluster(api, "get-elf-images", cluster_a)[0]
    source_id = api.run("create-vm", [_vm_body(cluster_a, vm_disks=_cd_rom(image_a))])[0][0]["data"]["id"]
    api.settle()
    clone = {"src_vm_id": source_id, "name": "moved", "cluster_id": cluster_b["id"]}
    response = api.post("clone-vm", [clone])
    assert response.status_code == 400 and response.json()["message"] == "ELF_IMAGE_NOT_FOUND"
    answers, _tasks = api.run("clone-vm", [dict(clone, vm_disks=_cd_rom(image_b))])
    assert api.call("get-vm-disks", {"where": {"vm": {"id": answers[0]["data"]["id"]}}})[0]["elf_image"]["id"] == image_b["id"]
