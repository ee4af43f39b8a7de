# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every retry and error path of the client, over a scripted session."""

from __future__ import annotations

import pytest
import requests
import urllib3

from ansible_collections.smartx.cloudtower.plugins.module_utils.client import CloudTowerClient, ConnectionSettings
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import ApiError, AuthenticationError, InputError, TransportError
from ansible_collections.smartx.cloudtower.tests.unit.plugins.module_utils.fakes import FakeClock, FakeResponse, FakeSession, login_ok

PASSWORD = "s3cret-pw"


def make_client(script, token=None, username="admin", password=PASSWORD, retry_timeout=10.0, host="https://tower.example"):
    settings = ConnectionSettings(host=host, username=username, password=password, token=token, retry_timeout=retry_timeout)
    clock = FakeClock()
    session = FakeSession(script)
    warnings = []
    client = CloudTowerClient(settings, warn=warnings.append, sleep=clock.sleep, clock=clock, session=session)
    return client, session, clock, warnings


def refused():
    cause = urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.NewConnectionError(None, "Connection refused"))
    return requests.exceptions.ConnectionError(cause)


def reset_after_send():
    return requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))


class TestSettings:
    @pytest.mark.parametrize("host", ["tower.example", "ftp://tower.example", "", None, "https://"])
    def test_host_without_http_scheme_is_refused_naming_the_option(self, host):
        with pytest.raises(InputError) as info:
            ConnectionSettings(host=host, username="u", password="p")
        assert info.value.option == "cloudtower_host"
        assert (repr(host) if host is not None else "Missing value") in info.value.message

    def test_api_suffix_and_trailing_slash_are_dropped(self):
        assert ConnectionSettings(host="https://t.example/v2/api/", token="x").base_url == "https://t.example"

    def test_credentials_or_token_are_required(self):
        with pytest.raises(InputError) as info:
            ConnectionSettings(host="https://t.example", username="u")
        assert "cloudtower_token" in info.value.message and "CLOUDTOWER_PASSWORD" in info.value.message

    @pytest.mark.parametrize("option", ["request_timeout", "retry_timeout"])
    def test_a_zero_or_negative_timeout_from_params_is_refused_not_defaulted(self, option):
        params = {"cloudtower_host": "https://t.example", "cloudtower_token": "tok-xyz", option: -1 if option == "retry_timeout" else 0}
        with pytest.raises(InputError) as info:
            ConnectionSettings.from_params(params)
        assert info.value.option == option

    def test_plain_http_is_allowed_with_a_warning(self):
        client, dummy, dummy, warnings = make_client([], host="http://t.example")
        assert client.settings.is_plain_http
        assert any("plain http" in w for w in warnings)


class TestLoginAndToken:
    def test_login_is_lazy_and_happens_once(self):
        client, session, dummy, dummy = make_client([login_ok("tok"), FakeResponse(200, []), FakeResponse(200, [])])
        assert session.calls == []
        client.call("get-vms", {})
        client.call("get-hosts", {})
        assert session.operations() == ["login", "get-vms", "get-hosts"]
        assert session.calls[0]["body"] == {"username": "admin", "password": PASSWORD, "source": "LOCAL"}
        assert session.calls[1]["headers"]["Authorization"] == "tok"
        assert client.login_count == 1

    def test_given_token_is_used_raw_without_login(self):
        client, session, dummy, dummy = make_client([FakeResponse(200, [])], token="api-key-1", username=None, password=None)
        client.call("get-vms", {})
        assert session.operations() == ["get-vms"]
        assert session.calls[0]["headers"]["Authorization"] == "api-key-1"

    @pytest.mark.parametrize("status", [401, 403])
    def test_refused_token_triggers_one_relogin_then_retries(self, status):
        client, session, dummy, dummy = make_client([FakeResponse(status, {"message": "no"}), login_ok("fresh"), FakeResponse(200, [{"id": "a"}])],
                                                    token="stale")
        assert client.call("get-vms", {}) == [{"id": "a"}]
        assert session.operations() == ["get-vms", "login", "get-vms"]
        assert session.calls[2]["headers"]["Authorization"] == "fresh"

    def test_relogin_happens_only_once(self):
        client, session, dummy, dummy = make_client([FakeResponse(401, {"message": "no", "status": 401, "path": "/get-vms"}), login_ok("fresh"),
                                                     FakeResponse(401, {"message": "still no", "status": 401, "path": "/get-vms"})], token="stale")
        with pytest.raises(AuthenticationError) as info:
            client.call("get-vms", {})
        assert info.value.status == 401 and "still no" in info.value.message
        assert session.operations() == ["get-vms", "login", "get-vms"]

    def test_refused_token_without_credentials_fails_clearly(self):
        client, session, dummy, dummy = make_client([FakeResponse(401, {"message": "bad token", "status": 401, "path": "/get-vms"})],
                                                    token="stale", username=None, password=None)
        with pytest.raises(AuthenticationError) as info:
            client.call("get-vms", {})
        assert info.value.endpoint == "get-vms" and info.value.status == 401
        assert "cloudtower_username and cloudtower_password" in info.value.message
        assert session.operations() == ["get-vms"]

    def test_wrong_password_1_8_string_body(self):
        client, dummy, dummy, dummy = make_client([FakeResponse(400, "INVALID_PASSWORD")])
        with pytest.raises(AuthenticationError) as info:
            client.call("get-vms", {})
        assert info.value.endpoint == "login" and info.value.api_code == "INVALID_PASSWORD"
        assert PASSWORD not in info.value.message

    def test_login_reply_without_token_is_an_error(self):
        client, dummy, dummy, dummy = make_client([FakeResponse(200, {"task_id": None, "data": {}})])
        with pytest.raises(ApiError, match="no token"):
            client.call("get-vms", {})


class TestErrors:
    def test_error_body_fields_and_request_id_are_kept(self):
        body = {"message": "VM name is too long", "status": 400, "path": "/create-vm", "code": "SomeCode", "props": {"x": 1}}
        client, dummy, dummy, dummy = make_client([FakeResponse(400, body, headers={"x-tower-request-id": "req-42"})], token="tok-xyz")
        with pytest.raises(ApiError) as info:
            client.call("create-vm", [{}])
        error = info.value
        assert (error.endpoint, error.status, error.api_code, error.api_message, error.request_id, error.props) == \
            ("create-vm", 400, "SomeCode", "VM name is too long", "req-42", {"x": 1})
        assert "req-42" in error.message and "/create-vm" in error.message
        assert error.to_result()["error"]["request_id"] == "req-42"

    def test_plain_string_error_body_of_1_8(self):
        client, dummy, dummy, dummy = make_client([FakeResponse(400, "VM_DUPLICATE")], token="tok-xyz")
        with pytest.raises(ApiError) as info:
            client.call("create-vm", [{}])
        assert info.value.api_code == "VM_DUPLICATE" and info.value.api_message == "VM_DUPLICATE"

    def test_non_json_error_body(self):
        client, dummy, dummy, dummy = make_client([FakeResponse(400, raw="<html>bad gateway</html>")], token="tok-xyz")
        with pytest.raises(ApiError) as info:
            client.call("create-vm", [{}])
        assert info.value.api_message == "bad gateway"

    def test_secrets_echoed_by_the_server_are_masked(self):
        client, dummy, dummy, dummy = make_client([FakeResponse(400, {"message": "token tok-abc invalid", "status": 400, "path": "/x"})],
                                                  token="tok-abc")
        with pytest.raises(ApiError) as info:
            client.call("get-vms", {})
        assert "tok-abc" not in info.value.message and "********" in info.value.message

    def test_non_json_success_reply(self):
        client, dummy, dummy, dummy = make_client([FakeResponse(200, raw="not json")], token="tok-xyz")
        with pytest.raises(ApiError, match="not JSON"):
            client.call("get-vms", {})


class TestRetries:
    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    def test_reads_retry_server_errors_with_growing_delays(self, status):
        script = [FakeResponse(status, {"message": "busy", "status": status, "path": "/get-vms"})] * 3 + [FakeResponse(200, [])]
        client, session, clock, dummy = make_client(script, token="tok-xyz")
        assert client.call("get-vms", {}) == []
        assert len(session.calls) == 4
        assert clock.sleeps[0] < clock.sleeps[1] < clock.sleeps[2]

    def test_reads_give_up_at_the_retry_deadline(self):
        script = [FakeResponse(503, {"message": "down", "status": 503, "path": "/get-vms"})] * 100
        client, session, clock, dummy = make_client(script, token="tok-xyz", retry_timeout=5.0)
        with pytest.raises(ApiError) as info:
            client.call("get-vms", {})
        assert info.value.status == 503
        assert sum(clock.sleeps) <= 5.0 + 1e-9
        assert info.value.details["attempts"] == len(session.calls) > 1

    def test_retry_timeout_zero_disables_retries(self):
        client, session, dummy, dummy = make_client([FakeResponse(503, {"message": "down", "status": 503, "path": "/x"})], token="tok-xyz",
                                                    retry_timeout=0)
        with pytest.raises(ApiError):
            client.call("get-vms", {})
        assert len(session.calls) == 1

    @pytest.mark.parametrize("status", [500, 502, 503])
    def test_mutations_are_not_retried_on_server_errors(self, status):
        client, session, dummy, dummy = make_client([FakeResponse(status, {"message": "x", "status": status, "path": "/create-vm"})], token="tok-xyz")
        with pytest.raises(ApiError):
            client.call("create-vm-snapshot", {"data": []})
        assert len(session.calls) == 1

    def test_mutation_retried_when_it_never_reached_the_server(self):
        client, session, dummy, dummy = make_client([refused(), refused(), FakeResponse(200, [{"task_id": "t1", "data": {"id": "v"}}])], token="tok-xyz")
        assert client.mutate("create-vm-snapshot", {"data": []}) == [{"task_id": "t1", "data": {"id": "v"}}]
        assert len(session.calls) == 3

    def test_mutation_not_resent_after_a_reset_that_may_have_reached_the_server(self):
        client, session, dummy, dummy = make_client([reset_after_send()], token="tok-xyz")
        with pytest.raises(TransportError) as info:
            client.call("create-vm-snapshot", {"data": []})
        assert len(session.calls) == 1
        assert "not re-sent" in info.value.message and info.value.endpoint == "create-vm-snapshot"

    def test_read_retried_after_connection_reset_and_read_timeout(self):
        client, session, dummy, dummy = make_client([reset_after_send(), requests.exceptions.ReadTimeout("slow"), FakeResponse(200, [])], token="tok-xyz")
        assert client.call("get-vms", {}) == []
        assert len(session.calls) == 3

    def test_mutation_not_resent_after_read_timeout(self):
        client, session, dummy, dummy = make_client([requests.exceptions.ReadTimeout("slow")], token="tok-xyz")
        with pytest.raises(TransportError, match="request_timeout"):
            client.call("delete-vm", {"where": {"id": "x"}})
        assert len(session.calls) == 1

    def test_resource_locked_waits_and_retries_mutations(self):
        locked = {"path": "/start-vm", "status": 400, "message": "Resource [VM-x] locked",
                  "props": {"locked_resources": [{"id": "x", "type": "VM"}]}, "code": "ResourceLocked"}
        client, session, clock, dummy = make_client([FakeResponse(400, locked), FakeResponse(400, locked), FakeResponse(200, [{"task_id": "t"}])],
                                                    token="tok-xyz")
        assert client.mutate("start-vm", {"where": {"id": "x"}}) == [{"task_id": "t"}]
        assert len(session.calls) == 3 and len(clock.sleeps) == 2

    def test_resource_locked_past_the_deadline_fails_with_the_lock_details(self):
        locked = {"path": "/start-vm", "status": 400, "message": "Resource [VM-x] locked", "code": "ResourceLocked",
                  "props": {"locked_resources": [{"id": "x", "type": "VM"}]}}
        client, dummy, dummy, dummy = make_client([FakeResponse(400, locked)] * 50, token="tok-xyz", retry_timeout=3)
        with pytest.raises(ApiError) as info:
            client.call("start-vm", {"where": {"id": "x"}})
        assert info.value.is_resource_locked and info.value.props["locked_resources"][0]["id"] == "x"

    def test_tls_failure_is_not_retried_and_explains_the_fix(self):
        client, session, dummy, dummy = make_client([requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                                                                  "self-signed certificate (_ssl.c:1000)")], token="tok-xyz")
        with pytest.raises(TransportError) as info:
            client.call("get-vms", {})
        assert len(session.calls) == 1
        assert "ca_path" in info.value.message and "validate_certs" in info.value.message and "self-signed" in info.value.message

    def test_validate_certs_false_warns(self):
        settings = ConnectionSettings(host="https://t.example", token="tok-xyz", validate_certs=False)
        warnings = []
        client = CloudTowerClient(settings, warn=warnings.append)
        assert client._session.verify is False
        assert any("validate_certs" in w for w in warnings)

    def test_ca_path_is_used_for_verification(self, tmp_path):
        ca = tmp_path / "ca.pem"
        ca.write_text("-----BEGIN CERTIFICATE-----\n")
        settings = ConnectionSettings(host="https://t.example", token="tok-xyz", ca_path=str(ca))
        assert CloudTowerClient(settings)._session.verify == str(ca)

    def test_a_missing_ca_path_is_refused_naming_the_option(self):
        with pytest.raises(InputError) as info:
            ConnectionSettings(host="https://t.example", token="tok-xyz", ca_path="/nonexistent/ca.pem")
        assert info.value.option == "ca_path" and "'/nonexistent/ca.pem'" in info.value.message


def test_empty_credentials_from_awx_count_as_unset():
    settings = ConnectionSettings(host="https://t.example", username="admin", password="pw-1", token="", ca_path="")
    assert settings.token is None and settings.ca_path is None
    client, session, dummy, dummy = make_client([login_ok("tok-new"), FakeResponse(200, [])], token="")
    client.call("get-vms", {})
    assert session.operations() == ["login", "get-vms"]


def test_verify_is_sent_with_every_request_so_requests_ca_bundle_cannot_override_it(tmp_path):
    ca = str(tmp_path / "ca.pem")
    open(ca, "w").close()
    settings = ConnectionSettings(host="https://t.example", token="tok-xyz", ca_path=ca)
    session = FakeSession([FakeResponse(200, [])])
    session.verify = None
    client = CloudTowerClient(settings, session=session)
    client._session.verify = ca
    client.call("get-vms", {})
    assert session.calls[0]["verify"] == ca
