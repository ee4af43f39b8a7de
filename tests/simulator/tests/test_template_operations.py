"""VM templates: clone/convert a VM to a template, delete it, create VMs from it with cloud-init."""

import pytest

GIB = 1024 ** 3


def _template(api, vm_name, name, cloud_init=True, endpoint="clone-vm-template-from-vm"):
    vm = api.vm(vm_name)
    answers, tasks = api.run(endpoint, [{"name": name, "vm_id": vm["id"], "cloud_init_supported": cloud_init}])
    assert tasks[0]["status"] == "SUCCESSED", tasks
    api.settle()
    return api.call("get-vm-templates", {"where": {"id": answers[0]["data"]["id"]}})[0]


@pytest.mark.parametrize("version", ("1.8.0", "1.10.0", "4.6.0"))
def test_clone_a_template_and_create_a_vm_from_it_with_cloud_init(api, version):
    api.reset(api_version=version)
    template = _template(api, "web-01", "tpl-web")
    assert template["cluster"]["name"] == "cluster-a" and template["cloud_init_supported"] is True
    assert [d["type"] for d in template["vm_disks"]] == ["DISK"] and len(template["vm_nics"]) == 1
    assert api.vm("web-01")["status"] == "RUNNING"
    item = {"name": "from-tpl", "template_id": template["id"], "is_full_copy": False, "status": "RUNNING",
            "cloud_init": {"hostname": "from-tpl", "default_user_password": "s3cret-pw", "public_keys": ["ssh-ed25519 AAAA x"],
                           "networks": [{"nic_index": 0, "type": "IPV4", "ip_address": "10.20.100.50", "netmask": "255.255.255.0",
                                         "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.20.100.1"}]}]}}
    answers, tasks = api.run("create-vm-from-template", [item])
    assert tasks[0]["status"] == "SUCCESSED"
    vm = api.vm("from-tpl")
    assert vm["status"] == "RUNNING" and vm["ips"] == "10.20.100.50" and vm["vcpu"] == 4
    state = api.admin("GET", "state?resource=vms")["vms"]
    kept = [v for v in state if v["name"] == "from-tpl"]
    assert kept and "s3cret-pw" not in str(kept)
    log = api.admin("GET", "requests")
    assert "s3cret-pw" not in str(log)


def test_cloud_init_refused_by_a_template_without_it_and_a_nic_it_lacks(api):
    plain = _template(api, "web-01", "tpl-plain", cloud_init=False)
    response = api.post("create-vm-from-template", [{"name": "x", "template_id": plain["id"], "is_full_copy": False,
                                                     "cloud_init": {"hostname": "x"}}])
    assert response.status_code == 400 and "VM_TEMPLATE_CLOUD_INIT_NOT_SUPPORTED" in response.text
    with_ci = _template(api, "web-01", "tpl-ci")
    response = api.post("create-vm-from-template", [{"name": "x", "template_id": with_ci["id"], "is_full_copy": False,
                                                     "cloud_init": {"networks": [{"nic_index": 3, "type": "IPV4_DHCP"}]}}])
    assert response.status_code == 400 and "CLOUD_INIT_NIC_INDEX_INVALID" in response.text


def test_duplicate_name_convert_and_delete(api):
    _template(api, "web-01", "tpl-a")
    vm = api.vm("db-02")
    response = api.post("clone-vm-template-from-vm", [{"name": "tpl-a", "vm_id": vm["id"], "cloud_init_supported": True}])
    assert response.status_code == 400 and "VM_TEMPLATE_DUPLICATE_NAME" in response.text
    response = api.post("convert-vm-template-from-vm", [{"name": "tpl-b", "vm_id": api.vm("web-01")["id"], "cloud_init_supported": True}])
    assert response.status_code == 400 and "VM_NOT_STOPPED" in response.text
    converted = _template(api, "db-02", "tpl-db", endpoint="convert-vm-template-from-vm")
    assert api.vms({"name": "db-02"}) == [] and len(converted["vm_disks"]) == 2
    api.run("delete-vm-template", {"where": {"id": converted["id"]}})
    assert api.call("get-vm-templates", {"where": {"name": "tpl-db"}}) == []


def test_disk_operate_removes_grows_and_adds(api):
    template = _template(api, "db-02", "tpl-db2")
    new = {"mount_new_create_disks": [{"vm_volume": {"name": "extra", "size": GIB, "elf_storage_policy": "REPLICA_2_THIN_PROVISION"},
                                       "bus": "VIRTIO", "boot": 5}]}
    api.run("create-vm-from-template", [{"name": "ops", "template_id": template["id"], "is_full_copy": True,
                                         "disk_operate": {"remove_disks": {"disk_index": [1]}, "modify_disks": [{"disk_index": 0, "bus": "SCSI"}],
                                                          "new_disks": new}}])
    vm = api.vm("ops")
    disks = sorted(api.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}}}), key=lambda d: d["boot"])
    assert [d["bus"] for d in disks] == ["SCSI", "VIRTIO"]
