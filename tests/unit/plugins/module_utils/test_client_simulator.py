# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client's retry, timeout, re-login and error paths over real HTTP, against the in-process simulator.

test_client.py scripts every branch with a fake session; these tests send the same calls through requests,
urllib3 and a real socket to the CloudTower simulator with injected faults, so what is checked is what a
module sees: the request log proves how often a call was sent, and the simulator's state proves that no
fault ever made a resource twice.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time

import pytest

from ansible_collections.smartx.cloudtower.plugins.module_utils.client import CloudTowerClient, ConnectionSettings
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import (
    ApiError,
    AuthenticationError,
    TaskFailedError,
    TaskTimeoutError,
    TransportError,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.api.tasks import task_ids_of
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import TaskWaiter

from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import ctsim

USERNAME = "admin"
PASSWORD = "pw-" + secrets.token_hex(12)
TASK_SECONDS = 0.05
FAST_SETTINGS = {"async_status_linger_seconds": 0.02}


def quick_sleep(seconds):
    """Backoff delays a tenth as long: the schedule is the client's, the waiting is shortened for the test."""
    time.sleep(seconds / 10.0)


def make_client(url, retry_timeout=10.0, request_timeout=5.0, token=None, username=USERNAME, password=PASSWORD, **options):
    settings = ConnectionSettings(host=url, username=username, password=password, token=token,
                                  retry_timeout=retry_timeout, request_timeout=request_timeout, **options)
    warnings = []
    client = CloudTowerClient(settings, warn=warnings.append, sleep=quick_sleep)
    client.warnings = warnings
    return client


def make_waiter(client, timeout=10):
    return TaskWaiter(client, timeout, initial_interval=0.02, max_interval=0.2)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serving(**options):
    """A started in-process simulator for a module-scoped fixture, stopped after the module's tests."""
    sim = ctsim.Simulator(username=USERNAME, password=PASSWORD, task_seconds=TASK_SECONDS, **options)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def simulator():
    yield from serving(settings=FAST_SETTINGS, seed=7)


@pytest.fixture
def sim(simulator):
    """The shared simulator, reset to the 4.6 demo state (faults and request log cleared)."""
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=TASK_SECONDS, settings=FAST_SETTINGS)
    return simulator


def vm_named(sim, name):
    return next(vm for vm in sim.state("vms")["vms"] if vm["name"] == name)


def snapshots_named(sim, name):
    return [s for s in sim.state("vm_snapshots")["vm_snapshots"] if s["name"] == name]


def sent(sim, endpoint):
    return [r for r in sim.requests() if r["endpoint"] == endpoint]


def mutations(sim):
    return [r for r in sim.requests() if r["mutating"]]


def snapshot_body(vm, name):
    return {"data": [{"vm_id": vm["id"], "name": name, "consistent_type": "CRASH_CONSISTENT"}]}


def assert_secret_free(*texts):
    for text in texts:
        assert PASSWORD not in str(text)


# ----- 5xx ------------------------------------------------------------------------------------------------
class TestServerErrors:
    def test_a_burst_of_500_502_503_on_reads_is_retried_until_the_read_succeeds(self, sim):
        client = make_client(sim.url)
        client.login()
        sim.set_faults({"http_errors": [{"status": status, "nth": n, "endpoints": ["get-vms"]}
                                        for n, status in ((1, 500), (2, 502), (3, 503))]})
        vms = client.call("get-vms", {"where": {"name": "web-01"}})
        assert [vm["name"] for vm in vms] == ["web-01"]
        assert [r["status"] for r in sent(sim, "get-vms")] == [500, 502, 503, 200]

    def test_a_burst_of_503_on_login_is_retried(self, sim):
        # Login changes nothing in CloudTower; a gateway error in front of it must not end the run.
        sim.set_faults({"http_errors": [{"status": 503, "next": 2, "endpoints": ["login"]}]})
        client = make_client(sim.url)
        assert client.call("get-clusters", {"first": 1})
        assert [r["status"] for r in sent(sim, "login")] == [503, 503, 200]

    def test_reads_failing_beyond_retry_timeout_name_the_endpoint_status_and_attempts(self, sim):
        client = make_client(sim.url, retry_timeout=1.0)
        client.login()
        sim.set_faults({"http_errors": [{"status": 503, "endpoints": ["get-vms"]}]})
        with pytest.raises(ApiError) as info:
            client.call("get-vms", {})
        error = info.value
        assert error.endpoint == "get-vms" and error.status == 503
        assert error.details["attempts"] == len(sent(sim, "get-vms")) > 1
        assert "/get-vms" in error.message and "503" in error.message
        # The nginx page behind the 503 has a request id of the exchange, which the message must carry.
        assert error.request_id == sent(sim, "get-vms")[-1]["request_id"]
        assert error.request_id in error.message

    def test_a_gateway_error_page_is_reduced_to_one_readable_line(self, sim):
        # nginx answers 502/503/504 with an HTML page; the message must say what it says, not paste the markup.
        client = make_client(sim.url, retry_timeout=0)
        client.login()
        sim.set_faults({"http_errors": [{"status": 503, "endpoints": ["get-vms"]}]})
        with pytest.raises(ApiError) as info:
            client.call("get-vms", {})
        message = info.value.message
        assert "Service Temporarily Unavailable" in message
        assert "<" not in message and "\n" not in message

    def test_a_500_on_a_mutation_is_not_resent(self, sim):
        client = make_client(sim.url)
        vm = client.call("get-vms", {"where": {"name": "web-01"}})[0]
        sim.set_faults({"http_errors": [{"status": 500, "next": 1, "writes_only": True}]})
        with pytest.raises(ApiError) as info:
            client.mutate("create-vm-snapshot", snapshot_body(vm, "five-hundred"))
        assert info.value.endpoint == "create-vm-snapshot" and info.value.status == 500
        assert info.value.request_id and info.value.request_id in info.value.message
        assert len(mutations(sim)) == 1
        assert snapshots_named(sim, "five-hundred") == []

    def test_api_version_1_8_string_bodies_become_the_message_and_code(self, sim):
        sim.reset(api_version="1.8.0")
        client = make_client(sim.url)
        with pytest.raises(ApiError) as info:
            client.mutate("rollback-vm", {"where": {"id": vm_named(sim, "web-01")["id"]}, "data": {"snapshot_id": "nope"}})
        assert info.value.status == 400
        assert info.value.api_code == info.value.api_message
        assert info.value.api_code in info.value.message


# ----- lost connections -----------------------------------------------------------------------------------------------
class TestConnectionResets:
    def test_reads_whose_connection_is_reset_are_retried(self, sim):
        client = make_client(sim.url)
        client.login()
        sim.set_faults({"connection_resets": [{"next": 2, "endpoints": ["get-vms"]}]})
        assert client.call("get-vms", {"where": {"name": "db-01"}})[0]["name"] == "db-01"
        assert [r["status"] for r in sent(sim, "get-vms")] == [None, None, 200]

    def test_a_mutation_whose_connection_is_reset_is_not_resent_and_says_so(self, sim):
        client = make_client(sim.url)
        vm = client.call("get-vms", {"where": {"name": "web-01"}})[0]
        sim.set_faults({"connection_resets": [{"next": 1, "writes_only": True}]})
        with pytest.raises(TransportError) as info:
            client.mutate("create-vm-snapshot", snapshot_body(vm, "reset-once"))
        message = info.value.message
        assert info.value.endpoint == "create-vm-snapshot"
        assert "/create-vm-snapshot" in message and "not re-sent" in message
        assert len(mutations(sim)) == 1
        assert len(snapshots_named(sim, "reset-once")) <= 1


# ----- slow replies --------------------------------------------------------------------------------------------
class TestSlowReplies:
    def test_reads_slower_than_request_timeout_fail_after_retry_timeout_with_the_timeout_in_the_message(self, sim):
        client = make_client(sim.url, request_timeout=0.3, retry_timeout=1.0)
        client.login()
        sim.set_faults({"latency": [{"ms": 1200, "endpoints": ["get-vms"]}]})
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.call("get-vms", {})
        assert time.monotonic() - started < 5
        assert info.value.endpoint == "get-vms"
        assert "request_timeout=0.3" in info.value.message and "/get-vms" in info.value.message
        assert info.value.details["attempts"] > 1

    def test_a_slow_mutation_is_not_resent_and_the_server_makes_it_once(self, sim):
        client = make_client(sim.url, request_timeout=0.3, retry_timeout=5.0)
        vm = client.call("get-vms", {"where": {"name": "web-02"}})[0]
        sim.set_faults({"latency": [{"ms": 800, "endpoints": ["create-vm-snapshot"]}]})
        with pytest.raises(TransportError) as info:
            client.mutate("create-vm-snapshot", snapshot_body(vm, "slow-once"))
        assert "may have reached CloudTower" in info.value.message
        time.sleep(1.0)
        assert len(mutations(sim)) == 1
        assert len(snapshots_named(sim, "slow-once")) == 1


# ----- sessions ending ----------------------------------------------------------------------------------------------
class TestTokenInvalidated:
    def test_a_token_ended_mid_run_costs_one_login_and_no_error(self, sim):
        client = make_client(sim.url)
        client.call("get-clusters", {})
        sim.set_faults({"invalidate_tokens_after": 0})
        assert client.call("get-vms", {"where": {"name": "web-01"}})
        assert client.login_count == 2
        assert [r["status"] for r in sent(sim, "get-vms")] == [401, 200]

    def test_a_token_ended_in_the_middle_of_a_wait_does_not_end_the_wait(self, sim):
        # The task outlasts the wait's first poll even on a loaded machine (0.6 s did not: the wait then read a
        # finished task before the token ended); the token ends after that first poll.
        sim.set_settings({"task_durations": {"create-vm-snapshot": 3.0}})
        client = make_client(sim.url)
        vm = client.call("get-vms", {"where": {"name": "db-02"}})[0]
        task_ids = task_ids_of(client.mutate("create-vm-snapshot", snapshot_body(vm, "mid-wait")))
        sim.set_faults({"invalidate_tokens_after": 1})
        tasks = make_waiter(client).wait(task_ids)
        assert [t["status"] for t in tasks] == ["SUCCESSED"]
        assert client.login_count == 2
        assert len(snapshots_named(sim, "mid-wait")) == 1
        assert len(mutations(sim)) == 1

    def test_a_token_alone_that_ends_fails_with_advice_and_no_secret(self, sim):
        token = make_client(sim.url).token
        client = make_client(sim.url, token=token, username=None, password=None)
        sim.set_faults({"invalidate_tokens_after": 0})
        with pytest.raises(AuthenticationError) as info:
            client.call("get-vms", {})
        message = info.value.message
        assert "/get-vms" in message and "401" in message and "cloudtower_username" in message
        assert token not in message and token not in str(info.value.to_result())

    def test_a_wrong_password_is_a_login_error_without_the_password(self, sim):
        client = make_client(sim.url, password=PASSWORD + "-wrong")
        with pytest.raises(AuthenticationError) as info:
            client.call("get-vms", {})
        assert "/login" in info.value.message and "LOGIN_FAILED" in info.value.message
        assert info.value.request_id in info.value.message
        assert_secret_free(info.value.message, info.value.to_result())
        assert (PASSWORD + "-wrong") not in str(info.value.to_result())


# ----- busy resources ----------------------------------------------------------------------------------------------
class TestResourceLocked:
    def test_a_short_lock_is_waited_out_and_the_snapshot_made_once(self, sim):
        client = make_client(sim.url)
        vm = client.call("get-vms", {"where": {"name": "app-01"}})[0]
        sim.set_faults({"locks": [{"vm": "app-01", "seconds": 0.6}]})
        replies = client.mutate("create-vm-snapshot", snapshot_body(vm, "after-lock"))
        make_waiter(client).wait(task_ids_of(replies))
        statuses = [r["status"] for r in mutations(sim)]
        assert statuses[0] == 400 and statuses[-1] == 200 and statuses.count(200) == 1
        assert len(snapshots_named(sim, "after-lock")) == 1

    def test_a_lock_longer_than_retry_timeout_names_the_resource_endpoint_and_request_id(self, sim):
        client = make_client(sim.url, retry_timeout=0.8)
        vm = client.call("get-vms", {"where": {"name": "app-02"}})[0]
        sim.set_faults({"locks": [{"vm": "app-02", "seconds": 30}]})
        with pytest.raises(ApiError) as info:
            client.mutate("create-vm-snapshot", snapshot_body(vm, "never"))
        error = info.value
        assert error.is_resource_locked and error.endpoint == "create-vm-snapshot"
        assert vm["id"] in error.message and "locked" in error.message
        assert error.request_id == mutations(sim)[-1]["request_id"] and error.request_id in error.message
        assert error.details["attempts"] == len(mutations(sim)) > 1
        assert snapshots_named(sim, "never") == []

    def test_before_3_3_a_lock_fails_the_task_and_the_waiter_names_it(self, sim):
        sim.reset(api_version="1.10.0")
        client = make_client(sim.url)
        vm = client.call("get-vms", {"where": {"name": "app-02"}})[0]
        sim.set_faults({"locks": [{"vm": "app-02", "seconds": 30}]})
        task_ids = task_ids_of(client.mutate("create-vm-snapshot", snapshot_body(vm, "locked-task")))
        with pytest.raises(TaskFailedError) as info:
            make_waiter(client).wait(task_ids)
        assert task_ids[0] in info.value.message and "JOB_RESOURCE_IS_LOCKED" in info.value.message
        assert snapshots_named(sim, "locked-task") == []


# ----- tasks that fail or stall ------------------------------------------------------------------------------------
class TestTasks:
    def test_a_failed_task_is_reported_with_its_id_code_and_message(self, sim):
        client = make_client(sim.url)
        vm = client.call("get-vms", {"where": {"name": "db-01"}})[0]
        sim.set_faults({"task_failures": [{"vm_name": "db-01", "error_code": "ZBS_IO_ERROR", "error_message": "disk io error on node-a1"}]})
        task_ids = task_ids_of(client.mutate("create-vm-snapshot", snapshot_body(vm, "doomed")))
        with pytest.raises(TaskFailedError) as info:
            make_waiter(client).wait(task_ids)
        message = info.value.message
        assert task_ids[0] in message and "ZBS_IO_ERROR" in message and "disk io error on node-a1" in message
        assert info.value.details["failed_tasks"][0]["resource_rollbacked"] is True
        assert snapshots_named(sim, "doomed") == []

    def test_a_failed_task_without_a_message_is_still_described(self, sim):
        client = make_client(sim.url)
        vm = client.call("get-vms", {"where": {"name": "db-01"}})[0]
        sim.set_faults({"task_failures": [{"vm_name": "db-01", "error_code": "ZBS_IO_ERROR", "error_message": None}]})
        task_ids = task_ids_of(client.mutate("create-vm-snapshot", snapshot_body(vm, "doomed-quietly")))
        with pytest.raises(TaskFailedError) as info:
            make_waiter(client).wait(task_ids)
        assert task_ids[0] in info.value.message and "ZBS_IO_ERROR" in info.value.message

    def test_a_task_paused_past_wait_timeout_is_a_timeout_naming_the_task_and_its_status(self, sim):
        client = make_client(sim.url)
        vm = client.call("get-vms", {"where": {"name": "web-02"}})[0]
        sim.set_faults({"task_hangs": [{"vm_name": "web-02", "status": "PAUSED", "seconds": None}]})
        task_ids = task_ids_of(client.mutate("create-vm-snapshot", snapshot_body(vm, "paused")))
        started = time.monotonic()
        with pytest.raises(TaskTimeoutError) as info:
            make_waiter(client, timeout=1).wait(task_ids)
        assert 1 <= time.monotonic() - started < 4
        assert task_ids[0] in info.value.message and "PAUSED" in info.value.message and "wait_timeout" in info.value.message
        assert info.value.details["unfinished_tasks"][0]["status"] == "PAUSED"
        assert len(mutations(sim)) == 1

    def test_a_task_id_the_server_does_not_show_is_never_counted_as_done(self, sim):
        client = make_client(sim.url)
        outcome = make_waiter(client, timeout=1).wait_outcome(["cnotataskid0000000000000a"])
        assert outcome.unfinished and not outcome.succeeded


# ----- no server ------------------------------------------------------------------------------------------------
class TestServerGone:
    def test_nothing_listening_fails_after_retry_timeout_naming_the_endpoint_and_url(self):
        url = "http://127.0.0.1:%d" % free_port()
        client = make_client(url, retry_timeout=0.6)
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.call("get-vms", {})
        assert time.monotonic() - started < 5
        assert info.value.endpoint == "login" and url in info.value.message
        assert info.value.details["attempts"] > 1
        assert_secret_free(info.value.message, info.value.to_result())

    def test_a_server_that_stops_during_a_wait_fails_the_wait_with_a_transport_error(self):
        sim = ctsim.Simulator(username=USERNAME, password=PASSWORD, task_seconds=30, seed=3)
        sim.start()
        try:
            client = make_client(sim.url, retry_timeout=0.6)
            vm = client.call("get-vms", {"where": {"name": "web-01"}})[0]
            task_ids = task_ids_of(client.mutate("create-vm-snapshot", snapshot_body(vm, "orphan")))
        finally:
            sim.stop()
        # The client's keep-alive connection may outlive the listening socket: close it like a dead server would.
        client._session.close()  # pylint: disable=protected-access
        with pytest.raises(TransportError) as info:
            make_waiter(client, timeout=5).wait(task_ids)
        assert info.value.endpoint == "get-tasks" and sim.url in info.value.message


# ----- TLS ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_sim():
    yield from serving(tls=True, seed=5)


class TestTls:
    def test_an_untrusted_certificate_fails_clearly_and_is_not_retried(self, tls_sim):
        client = make_client(tls_sim.url, retry_timeout=5.0)
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.call("get-clusters", {})
        assert time.monotonic() - started < 2
        message = info.value.message
        assert "certificate verify failed" in message and "ca_path" in message and "validate_certs" in message
        assert info.value.details["attempts"] == 1
        assert_secret_free(message)

    def test_ca_path_to_the_simulator_certificate_is_trusted(self, tls_sim):
        client = make_client(tls_sim.url, ca_path=tls_sim.cert)
        assert client.call("get-clusters", {})
        assert client.warnings == []

    @pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
    def test_a_ca_bundle_in_the_environment_overrides_neither_ca_path_nor_validate_certs(self, tls_sim, monkeypatch, variable):
        # requests lets these variables replace a Session's verify setting; containers often set them.
        certifi = pytest.importorskip("certifi")
        monkeypatch.setenv(variable, certifi.where())
        assert make_client(tls_sim.url, ca_path=tls_sim.cert).call("get-clusters", {})
        assert make_client(tls_sim.url, validate_certs=False).call("get-clusters", {})
        with pytest.raises(TransportError):
            make_client(tls_sim.url).call("get-clusters", {})

    def test_validate_certs_false_works_with_a_warning(self, tls_sim):
        client = make_client(tls_sim.url, validate_certs=False)
        assert client.call("get-clusters", {})
        assert any("validate_certs" in w for w in client.warnings)

    def test_plain_http_works_with_a_warning(self, sim):
        client = make_client(sim.url)
        assert client.call("get-clusters", {})
        assert any("plain http" in w for w in client.warnings)


# ----- many clients at once --------------------------------------------------------------------------------------
class TestConcurrency:
    def test_twenty_clients_snapshot_one_vm_at_once_each_once_with_one_login_each(self, sim):
        vm = vm_named(sim, "cache-01")
        errors, clients = [], []

        def back_up(index):
            client = make_client(sim.url, retry_timeout=30.0)
            clients.append(client)
            try:
                replies = client.mutate("create-vm-snapshot", snapshot_body(vm, "conc-%02d" % index))
                make_waiter(client, timeout=30).wait(task_ids_of(replies))
            except Exception as error:  # pylint: disable=broad-except
                errors.append(error)

        threads = [threading.Thread(target=back_up, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert sorted(c.login_count for c in clients) == [1] * 20
        assert len(sent(sim, "login")) == 20
        names = sorted(s["name"] for s in sim.state("vm_snapshots")["vm_snapshots"] if s["name"].startswith("conc-"))
        assert names == ["conc-%02d" % i for i in range(20)]
        # Every accepted create made exactly one snapshot; refusals (ResourceLocked) made none.
        assert sum(1 for r in mutations(sim) if r["status"] == 200) == 20


# ----- secrets -----------------------------------------------------------------------------------------------------
class TestSecretsStayInside:
    def test_the_request_log_never_holds_the_password_or_a_token(self, sim):
        client = make_client(sim.url)
        client.call("get-vms", {})
        token = client.token
        log = str(sim.requests())
        assert PASSWORD not in log and token not in log
        assert sent(sim, "login")[0]["body"]["password"] == "<redacted>"

    def test_redact_masks_password_and_token(self, sim):
        client = make_client(sim.url)
        token = client.token
        assert client.redact("pw=%s token=%s" % (PASSWORD, token)) == "pw=******** token=********"


# ----- issue 19: first-use connection errors say what is wrong -----------------------------------------------------------
class TestFirstUseConnectionErrors:
    def test_https_to_a_plain_http_server_says_it_is_not_tls_not_to_set_ca_path(self, sim):
        client = make_client(sim.url.replace("http://", "https://"), retry_timeout=5.0)
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.call("get-clusters", {})
        message = info.value.message
        assert time.monotonic() - started < 2 and info.value.details["attempts"] == 1
        assert "does not speak TLS" in message and "http://" in message
        assert "ca_path" not in message and "validate_certs" not in message

    def test_http_to_a_tls_port_fails_at_once_saying_to_use_https(self, tls_sim):
        client = make_client(tls_sim.url.replace("https://", "http://"), retry_timeout=30.0)
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.call("get-clusters", {})
        assert time.monotonic() - started < 5, "waited out retry_timeout"
        message = info.value.message
        assert "speaks TLS" in message and tls_sim.url in message
        assert "Remote end closed" not in message

    def test_a_refused_connection_says_what_was_retried_how_long_and_how_often(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        client = make_client("http://127.0.0.1:%d" % port, retry_timeout=2.0)
        with pytest.raises(TransportError) as info:
            client.call("get-clusters", {})
        message = info.value.message
        attempts = info.value.details["attempts"]
        assert attempts > 1 and "connection refused" in message and "127.0.0.1:%d" % port in message
        assert "sent %d times over" % attempts in message and "retry_timeout=2.0s" in message

    def test_a_refused_login_hints_at_username_password_and_user_source(self, sim):
        client = make_client(sim.url, password="not-the-password", retry_timeout=1.0)
        with pytest.raises(AuthenticationError) as info:
            client.call("get-clusters", {})
        message = info.value.message
        assert "LOGIN_FAILED" in message
        for word in ("cloudtower_username", "cloudtower_password", "cloudtower_user_source", "LDAP"):
            assert word in message
        assert_secret_free(message)
