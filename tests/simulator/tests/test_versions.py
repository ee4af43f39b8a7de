"""What changes with --api-version, switched at run time through /__sim/reset; and 404s."""

import json


def test_request_id_header_from_2_5(api, version):
    api.reset(api_version=version)
    replies = [api.post("get-vms", {}), api.post("get-vms", {"where": {"bad": 1}}), api.post("get-vms", {}, token="x"),
               api.post("no-such-op", {})]
    for reply in replies:
        assert ("x-tower-request-id" in reply.headers) == (version == "4.6.0")
    if version == "4.6.0":
        ids = {reply.headers["x-tower-request-id"] for reply in replies}
        assert len(ids) == len(replies)
        logged = {entry["request_id"] for entry in api.admin("GET", "requests")}
        assert ids <= logged


def test_number_types(api, version):
    api.reset(api_version=version)
    vm = api.vm("db-01")
    size_type = float if version == "1.8.0" else int
    assert isinstance(vm["memory"], size_type) and isinstance(vm["size"], size_type)
    assert isinstance(vm["vcpu"], int) and isinstance(vm["cpu"]["cores"], int)
    snapshot = api.call("get-vm-snapshots", {"where": {"name": "manual-before-upgrade"}})[0]
    assert isinstance(snapshot["vm_disks"][0]["size"], size_type)
    assert isinstance(snapshot["vm_disks"][0]["boot"], size_type)


def test_field_sets_follow_the_version(api):
    seen = {}
    for version in ("1.8.0", "1.10.0", "4.6.0"):
        api.reset(api_version=version)
        seen[version] = set(api.vm("db-01"))
    assert "cloud_init_supported" not in seen["1.8.0"] and "cloud_init_supported" in seen["1.10.0"]
    assert "bios_uuid" in seen["4.6.0"] and "bios_uuid" not in seen["1.10.0"]
    assert api.admin("GET", "info")["api_version"] == "4.6.0"


def test_tasks_of_1_10_embed_full_user_and_cluster(api):
    api.reset(api_version="1.10.0")
    vm = api.vm("db-02")
    _answers, tasks = api.run("start-vm", {"where": {"id": vm["id"]}})
    task = tasks[0]
    assert task["__typename"] == "Task" and task["user"]["username"] == "admin" and task["user"]["__typename"] == "User"
    assert task["cluster"]["id"] == vm["cluster"]["id"] and "total_cpu_cores" in task["cluster"]
    api.reset(api_version="4.6.0")
    _answers, tasks = api.run("start-vm", {"where": {"name": "db-02"}})
    assert set(tasks[0]["user"]) == {"id", "name"} and set(tasks[0]["cluster"]) == {"id", "name"}


def test_unknown_paths_and_methods_are_404(api, version):
    api.reset(api_version=version)
    for response in (api.post("get-foo", {}), api.post("", {}), api.session.get(api.url + "/v2/api/get-vms"),
                     api.session.put(api.url + "/v2/api/get-vms", json={}), api.session.post(api.url + "/api/get-vms", json={}),
                     api.session.post(api.url + "/v2/api/get-vms/extra", json={})):
        assert response.status_code == 404
        body = response.json()
        assert isinstance(body, str) if version == "1.8.0" else body["status"] == 404
    assert api.session.get(api.url + "/__sim/nothing").status_code == 404


def test_every_method_but_post_is_404_on_api_paths(api, version):
    """HEAD included (the standard library would answer 501), with the headers of a 404 and no body."""
    api.reset(api_version=version)
    for method in ("HEAD", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PURGE"):
        response = api.session.request(method, api.url + "/v2/api/get-vms", json={}, headers={"Authorization": api.token})
        assert response.status_code == 404, method
        if method == "HEAD":
            assert response.content == b"" and int(response.headers["Content-Length"]) > 0
        else:
            body = response.json()
            assert isinstance(body, str) if version == "1.8.0" else body["message"] == "Cannot %s /v2/api/get-vms" % method
    assert api.call("get-vms-connection", {})["aggregate"]["count"] == 14, "the connection survives a HEAD reply"
    assert [entry["method"] for entry in api.admin("GET", "requests")][:2] == ["HEAD", "GET"]
    assert api.session.head(api.url + "/__sim/info").status_code == 404
    assert api.session.get(api.url + "/__sim/info").status_code == 200
    assert api.admin("DELETE", "requests") == {"cleared": True}


def test_reset_switches_versions_and_validates(api):
    info = api.reset(api_version="1.10")
    assert info["api_version"] == "1.10.0"
    for bad in ({"api_version": "2.0.0"}, {"state": "full"}, {"vms": -1}, {"colour": "red"}, {"settings": {"nope": 1}}):
        assert api.session.post(api.url + "/__sim/reset", json=bad).status_code == 400, bad
    assert json.loads(api.session.get(api.url + "/__sim/info").text)["api_version"] == "1.10.0"
