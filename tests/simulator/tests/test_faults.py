"""Each injected fault, set through the admin API (and the CLI flags that build the same spec)."""

import importlib
import time

import pytest
import requests


def _faults(api, spec):
    return api.admin("POST", "faults", spec)


def _statuses(api, endpoint, count, body=None):
    return [api.post(endpoint, body or {}).status_code for _attempt in range(count)]


def test_latency_per_endpoint_and_client_timeouts(api):
    _faults(api, {"latency": {"ms": 300, "endpoints": ["get-vms"]}})
    began = time.time()
    api.call("get-clusters")
    assert time.time() - began < 0.25
    began = time.time()
    api.call("get-vms")
    assert time.time() - began >= 0.3
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.session.post(api.url + "/v2/api/get-vms", json={}, headers={"Authorization": api.token}, timeout=0.1)


def test_nth_request_fails_with_an_nginx_page(api):
    _faults(api, {"http_errors": {"status": 503, "nth": 2}})
    responses = [api.post("get-clusters") for _attempt in range(3)]
    assert [response.status_code for response in responses] == [200, 503, 200]
    assert responses[1].headers["Content-Type"].startswith("text/html") and "503" in responses[1].text


def test_next_requests_of_one_endpoint_fail_with_500(api):
    _faults(api, {"http_errors": {"status": 500, "next": 2, "endpoints": ["get-vms"]}})
    assert _statuses(api, "get-clusters", 1) == [200]
    failing = api.post("get-vms")
    assert failing.status_code == 500 and failing.json()["status"] == 500
    assert _statuses(api, "get-vms", 2) == [500, 200]


def test_reads_only_and_writes_only(api):
    _faults(api, {"http_errors": {"status": 502, "reads_only": True}})
    assert api.post("get-vms").status_code == 502
    assert api.post("start-vm", {"where": {"name": "nothing"}}).status_code == 200
    _faults(api, {"http_errors": {"status": 504, "writes_only": True}})
    assert api.post("get-vms").status_code == 200
    assert api.post("start-vm", {"where": {"name": "nothing"}}).status_code == 504


def test_share_is_reproducible_with_a_seed(api):
    patterns = []
    for _attempt in range(2):
        api.reset(seed=11, faults={"http_errors": {"status": 503, "share": 0.5}})
        patterns.append(_statuses(api, "get-clusters", 24))
    assert patterns[0] == patterns[1]
    assert 200 in patterns[0] and 503 in patterns[0]


def test_connection_reset(api):
    _faults(api, {"connection_resets": {"nth": 1}})
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post("get-vms")
    assert api.post("get-vms").status_code == 200
    log = [entry for entry in api.admin("GET", "requests") if entry["endpoint"] == "get-vms"]
    # The reset request is logged when its handler gives up on the connection, which on a loaded machine can be
    # after the retry's entry: one of each, in either order.
    assert sorted(log, key=lambda entry: entry["status"] is not None)[0]["status"] is None
    assert sorted(str(entry["status"]) for entry in log) == ["200", "None"]


def test_tokens_invalidated_after_n_requests(api):
    _faults(api, {"invalidate_tokens_after": 2})
    assert _statuses(api, "get-clusters", 3) == [200, 200, 401]
    api.login()
    assert _statuses(api, "get-clusters", 2) == [200, 200]


def test_task_failures_by_vm_name_operation_and_share(api):
    _faults(api, {"task_failures": [{"vm_name": "web-*", "operations": ["create-vm-snapshot"], "error_code": "ZBS_IO_ERROR",
                                     "error_message": "disk on fire"}]})
    vms = api.vms({"name_in": ["web-01", "db-01"]})
    _answers, tasks = api.run("create-vm-snapshot", {"data": [{"vm_id": vm["id"], "name": "f-" + vm["name"]} for vm in vms]})
    by_vm = {task["description"].rsplit(" ", 1)[-1]: task for task in tasks}
    assert by_vm["web-01"]["status"] == "FAILED" and by_vm["web-01"]["error_code"] == "ZBS_IO_ERROR"
    assert by_vm["web-01"]["error_message"] == "disk on fire" and by_vm["db-01"]["status"] == "SUCCESSED"
    api.settle()
    _faults(api, {"task_failures": {"share": 1.0}})
    _answers, tasks = api.run("update-vm-basic-info", {"where": {"name": "db-02"}, "data": {"description": "x"}})
    assert tasks[0]["status"] == "FAILED" and tasks[0]["error_code"] == "SIMULATED_TASK_FAILURE"
    assert api.vm("db-02")["description"] == ""


def test_task_hangs_executing_or_paused(api):
    _faults(api, {"task_hangs": [{"operations": ["start-vm"]}, {"operations": ["suspend-vm"], "status": "PAUSED", "seconds": 0.3}]})
    stuck = api.call("start-vm", {"where": {"name": "db-02"}})[0]["task_id"]
    paused = api.call("suspend-vm", {"where": {"name": "web-01"}})[0]["task_id"]
    time.sleep(0.15)
    assert [task["status"] for task in api.tasks([stuck, paused])] == ["EXECUTING", "PAUSED"]
    assert api.post("update-vm-basic-info", {"where": {"name": "db-02"}, "data": {"description": "x"}}).json()["code"] == "ResourceLocked"
    assert api.wait([paused])[0]["status"] == "SUCCESSED"
    time.sleep(0.1)
    assert api.tasks([stuck])[0]["status"] == "EXECUTING"


def test_paused_does_not_exist_before_1_10(api):
    api.reset(api_version="1.8.0")
    response = api.session.post(api.url + "/__sim/faults", json={"task_hangs": {"status": "PAUSED"}})
    assert response.status_code == 400 and "1.10" in response.json()["error"]


def test_lock_windows(api):
    _faults(api, {"locks": {"vm": "web-*", "seconds": 0.4}})
    locked = api.post("start-vm", {"where": {"name": "web-dup", "status": "STOPPED"}})
    assert locked.status_code == 400 and locked.json()["code"] == "ResourceLocked"
    assert api.post("start-vm", {"where": {"name": "db-02"}}).status_code == 200
    time.sleep(0.45)
    assert api.post("start-vm", {"where": {"name": "web-dup", "status": "STOPPED"}}).status_code == 200
    vm = api.vm("cache-01")
    _faults(api, {"locks": {"vm": vm["id"], "seconds": 5}})
    assert api.post("start-vm", {"where": {"id": vm["id"]}}).status_code == 400


def test_lock_window_before_3_3_fails_tasks(api):
    api.reset(api_version="1.10.0", faults={"locks": {"vm": "*", "seconds": 5}})
    _answers, tasks = api.run("start-vm", {"where": {"name": "db-02"}})
    assert tasks[0]["status"] == "FAILED" and tasks[0]["error_code"] == "JOB_RESOURCE_IS_LOCKED"


def test_fault_spec_round_trip_and_errors(api):
    spec = {"latency": [{"ms": 1}], "invalidate_tokens_after": 100}
    assert _faults(api, spec) == spec
    assert api.admin("GET", "faults") == spec
    assert _faults(api, {}) == {}
    for bad in ({"latencies": []}, {"http_errors": {"status": 404}}, {"http_errors": {"share": 2}}, {"locks": {"vm": 1}},
                {"task_failures": {"operations": ["get-vms"]}}, {"http_errors": {"nth": 0}}, ["not", "an", "object"]):
        assert api.session.post(api.url + "/__sim/faults", json=bad).status_code == 400, bad


def test_cli_fault_flags_build_the_same_spec(sim_package):
    cli = importlib.import_module(sim_package.__name__ + ".cli")
    args = cli.build_parser().parse_args(["--latency-ms", "50", "--error-rate", "0.1", "--error-nth", "3", "--error-status", "502",
                                          "--reset-rate", "0.05", "--invalidate-tokens-after", "9", "--fail-tasks", "db-*",
                                          "--lock-vm", "*", "--lock-seconds", "2", "--faults", '{"task_hangs": {"status": "EXECUTING"}}'])
    assert cli.fault_spec(args) == {
        "task_hangs": {"status": "EXECUTING"}, "latency": [{"ms": 50.0}],
        "http_errors": [{"status": 502, "share": 0.1}, {"status": 502, "nth": 3}], "connection_resets": [{"share": 0.05}],
        "invalidate_tokens_after": 9, "task_failures": [{"vm_name": "db-*"}], "locks": [{"vm": "*", "seconds": 2.0}],
    }
