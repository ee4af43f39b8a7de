"""The /__sim/ admin API and the equivalent Python methods."""


def test_state_dump(api):
    dump = api.admin("GET", "state")
    assert dump["api_version"] == "4.6.0" and dump["counts"]["vms"] == len(dump["vms"]) == len(api.vms())
    for table in ("clusters", "hosts", "vlans", "vm_disks", "vm_volumes", "vm_nics", "vm_snapshots", "iscsi_luns",
                  "iscsi_lun_snapshots", "tasks", "users", "deploys", "elf_images", "vm_folders", "vdses", "iscsi_targets"):
        assert table in dump
    only_vms = api.admin("GET", "state?resource=vms")
    assert set(only_vms) == {"api_version", "counts", "vms"} and only_vms["vms"] == api.vms()
    assert api.session.get(api.url + "/__sim/state?resource=bogus").status_code == 400


def test_request_log(api):
    api.admin("DELETE", "requests")
    api.call("get-vms", {"where": {"name": "db-01"}})
    api.call("start-vm", {"where": {"name": "db-02"}})
    api.post("get-vms", {"where": {"bogus": 1}})
    log = api.admin("GET", "requests")
    assert [entry["endpoint"] for entry in log] == ["get-vms", "start-vm", "get-vms"]
    assert [entry["mutating"] for entry in log] == [False, True, False]
    assert [entry["status"] for entry in log] == [200, 200, 400]
    assert log[0]["body"] == {"where": {"name": "db-01"}} and log[0]["method"] == "POST" and log[0]["path"] == "/v2/api/get-vms"
    assert log[1]["seq"] > log[0]["seq"] and log[0]["duration"] >= 0 and log[0]["time"] > 0 and log[0]["request_id"]
    assert "bogus" in log[2]["error_detail"]
    assert api.admin("DELETE", "requests") == {"cleared": True}
    assert api.admin("GET", "requests") == []


def test_request_log_read_and_cleared_in_one_get(api):
    api.admin("DELETE", "requests")
    api.call("get-vms", {"where": {"name": "db-01"}})
    taken = api.admin("GET", "requests?clear=1")
    assert [entry["endpoint"] for entry in taken] == ["get-vms"]
    assert api.admin("GET", "requests") == []
    api.call("get-hosts", {})
    assert [entry["endpoint"] for entry in api.admin("GET", "requests?clear=0")] == ["get-hosts"]
    assert [entry["endpoint"] for entry in api.admin("GET", "requests")] == ["get-hosts"]


def test_settings_api(api):
    settings = api.admin("POST", "settings", {"vm_state_error": "task", "task_seconds": 0.01})
    assert settings["vm_state_error"] == "task" and settings["task_seconds"] == 0.01
    for bad in ({"vm_state_error": "maybe"}, {"nope": 1}, {"task_seconds": -1}, {"task_durations": {"get-vms": 1}}, {"ldap_login": "yes"}):
        assert api.session.post(api.url + "/__sim/settings", json=bad).status_code == 400, bad


def test_patch(api):
    vm = api.vm("web-02")
    patched = api.admin("POST", "patch", {"resource": "vms", "id": vm["id"], "set": {"vm_tools_status": "RUNNING", "status": "UNKNOWN"}})
    assert patched["vm_tools_status"] == "RUNNING" and api.vm("web-02")["status"] == "UNKNOWN"
    for bad in ({"resource": "vms", "id": vm["id"], "set": {"cluster": None}}, {"resource": "vms", "id": "nope", "set": {}},
                {"resource": "vms", "id": vm["id"], "set": {"status": "BOOTING"}}, {"resource": "vms", "id": vm["id"]}):
        assert api.session.post(api.url + "/__sim/patch", json=bad).status_code == 400, bad


def test_python_api(sim, api):
    api.call("get-clusters", {})
    assert [entry["endpoint"] for entry in sim.requests()][-1] == "get-clusters"
    assert sim.state("clusters")["counts"]["clusters"] == 2
    assert sim.set_faults({"latency": {"ms": 1}}) == {"latency": {"ms": 1}}
    assert sim.reset(api_version="1.8.0", vms=20, task_seconds=0.1)["counts"]["vms"] == 20
    assert sim.faults() == {} and sim.requests() == []
    assert sim.url.startswith("http://127.0.0.1:")
