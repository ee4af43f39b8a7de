"""Content-library VM templates (4.6): clone/convert a VM into one, create VMs from one with cloud-init, delete it."""

import pytest

LIBRARY = "get-content-library-vm-templates"


def _library_template(api, vm_name, name, endpoint="clone-content-library-vm-template-from-vm", clusters=None):
    answers, tasks = api.run(endpoint, [{"name": name, "vm": {"id": api.vm(vm_name)["id"]}, "cloud_init_supported": True,
                                         "clusters": clusters or {"name": "cluster-a"}}])
    assert tasks[0]["status"] == "SUCCESSED", tasks
    api.settle()
    return api.call(LIBRARY, {"where": {"id": answers[0]["data"]["id"]}})[0]


def test_clone_then_create_a_vm_with_cloud_init_then_delete(api):
    api.reset(api_version="4.6.0")
    template = _library_template(api, "web-01", "lib-web")
    assert [c["name"] for c in template["clusters"]] == ["cluster-a"] and template["cloud_init_supported"] is True
    assert [d["type"] for d in template["vm_disks"]] == ["DISK"] and len(template["vm_nics"]) == 1
    assert api.vm("web-01")["status"] == "RUNNING" and api.call("get-vm-templates", {"where": {"name": "lib-web"}}) == []
    cluster = api.call("get-clusters", {"where": {"name": "cluster-a"}})[0]
    item = {"name": "from-lib", "template_id": template["id"], "cluster_id": cluster["id"], "is_full_copy": False, "status": "RUNNING",
            "cloud_init": {"hostname": "from-lib", "default_user_password": "s3cret-pw",
                           "networks": [{"nic_index": 0, "type": "IPV4", "ip_address": "10.20.100.51", "netmask": "255.255.255.0"}]}}
    _answers, tasks = api.run("create-vm-from-content-library-template", [item])
    assert tasks[0]["status"] == "SUCCESSED"
    vm = api.vm("from-lib")
    assert vm["status"] == "RUNNING" and vm["ips"] == "10.20.100.51" and vm["vcpu"] == template["vcpu"]
    assert "s3cret-pw" not in str(api.admin("GET", "requests")) + str(api.admin("GET", "state?resource=vms"))
    answers, _tasks = api.run("delete-content-library-vm-template", {"where": {"id": template["id"]}})
    assert answers[0]["data"] == {"id": template["id"]} and api.call(LIBRARY, {"where": {"name": "lib-web"}}) == []


def test_refusals_duplicate_name_running_vm_and_cluster_not_offered(api):
    api.reset(api_version="4.6.0")
    template = _library_template(api, "web-01", "lib-a")
    body = [{"name": "lib-a", "vm": {"id": api.vm("db-02")["id"]}, "clusters": {"name": "cluster-a"}}]
    response = api.post("clone-content-library-vm-template-from-vm", body)
    assert response.status_code == 400 and "CONTENT_LIBRARY_VM_TEMPLATE_DUPLICATE_NAME" in response.text
    body = [{"name": "lib-b", "vm": {"id": api.vm("web-01")["id"]}, "clusters": {"name": "cluster-a"}}]
    response = api.post("convert-content-library-vm-template-from-vm", body)
    assert response.status_code == 400 and "VM_NOT_STOPPED" in response.text
    other = api.call("get-clusters", {"where": {"name_not": "cluster-a"}})[0]
    response = api.post("create-vm-from-content-library-template",
                        [{"name": "x", "template_id": template["id"], "cluster_id": other["id"], "is_full_copy": False}])
    assert response.status_code == 400 and "CONTENT_LIBRARY_VM_TEMPLATE_CLUSTER_NOT_FOUND" in response.text
    converted = _library_template(api, "db-02", "lib-db", endpoint="convert-content-library-vm-template-from-vm")
    assert api.vms({"name": "db-02"}) == [] and len(converted["vm_disks"]) == 2
    assert api.call(LIBRARY + "-connection", {}) == {"aggregate": {"count": 2}}


@pytest.mark.parametrize("version", ("1.8.0", "1.10.0"))
def test_no_content_library_mutation_before_4_6(api, version):
    api.reset(api_version=version)
    body = [{"name": "lib", "vm": {"id": api.vm("web-01")["id"]}, "clusters": {}}]
    assert api.post("clone-content-library-vm-template-from-vm", body).status_code == 404
    assert api.post("delete-content-library-vm-template", {"where": {}}).status_code == 404
    # 1.8 lists the content library (empty here); 1.10 has none.
    assert api.post(LIBRARY, {}).status_code == (200 if version == "1.8.0" else 404)
