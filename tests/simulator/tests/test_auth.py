"""Login (LOCAL, LDAP), token checks, error forms per version, content-language, and secret redaction."""

PASSWORD = "test-password"


def _login(api, **overrides):
    body = dict({"username": "admin", "password": PASSWORD, "source": "LOCAL"}, **overrides)
    return api.post("login", {key: value for key, value in body.items() if value is not None}, token="")


def test_login_reply_shape(api, version):
    api.reset(api_version=version)
    body = _login(api).json()
    assert set(body) == {"task_id", "data"} and body["task_id"] is None
    assert set(body["data"]) == {"token"} and len(body["data"]["token"]) >= 32


def test_ldap_login_is_a_setting(api):
    assert _login(api, source="LDAP").status_code == 200
    api.admin("POST", "settings", {"ldap_login": False})
    assert _login(api, source="LDAP").status_code == 400
    assert _login(api).status_code == 200


def test_refused_logins_per_version(api, version):
    api.reset(api_version=version)
    for attempt in ({"password": "wrong"}, {"username": "nobody"}, {"source": "KERBEROS"}):
        response = _login(api, **attempt)
        assert response.status_code == 400, attempt
        body = response.json()
        if version == "1.8.0":
            assert isinstance(body, str)
        else:
            assert body["status"] == 400 and body["path"] == "/login"
    assert _login(api, password="wrong").json() in ("LOGIN_FAILED", {"message": "LOGIN_FAILED", "status": 400, "path": "/login"})


def test_login_source_rules_change_with_version(api):
    assert _login(api, source=None).status_code == 200, "source is optional from 3.0"
    assert _login(api, source="AUTHN").status_code == 400, "no AUTHN strategy configured"
    api.reset(api_version="1.10.0")
    assert _login(api, source=None).status_code == 400
    assert _login(api, source="AUTHN").status_code == 400
    assert _login(api, mfa_type="Mail").status_code == 400


def test_missing_or_unknown_token_is_401(api, version):
    api.reset(api_version=version)
    for token in ("", "not-a-token", "Bearer " + api.token):
        response = api.post("get-vms", {}, token=token)
        assert response.status_code == 401, token
        body = response.json()
        if version == "1.8.0":
            assert body == "UNAUTHORIZED"
        else:
            assert body == {"message": "Unauthorized", "status": 401, "path": "/get-vms"}
    assert api.post("get-vms", {}).status_code == 200


def test_unauthorized_status_setting(api):
    api.admin("POST", "settings", {"unauthorized_status": 403})
    assert api.post("get-vms", {}, token="nope").status_code == 403


def test_tokens_survive_reset(api):
    api.reset(api_version="1.8.0")
    assert api.post("get-vms", {}).status_code == 200


def test_content_language(api):
    for language, status in (("en-US", 200), ("zh-CN", 200), ("*", 200), ("fr-FR", 400), ("en", 400)):
        assert api.post("get-clusters", {}, headers={"content-language": language}).status_code == status, language
    api.reset(api_version="1.10.0")
    assert api.post("get-clusters", {}, headers={"content-language": "*"}).status_code == 400


def test_secrets_never_logged_or_recorded(api, sim):
    token = api.login()
    api.call("get-vms", {"where": {"name": "db-01"}})
    _login(api, password="wrong-secret")
    log_text = str(api.admin("GET", "requests"))
    assert PASSWORD not in log_text and token not in log_text and "wrong-secret" not in log_text
    logins = [entry for entry in api.admin("GET", "requests") if entry["endpoint"] == "login"]
    assert logins and all(entry["body"]["password"] == "<redacted>" for entry in logins)
    with open(sim.log.record_path, encoding="utf-8") as stream:
        record_text = stream.read()
    assert PASSWORD not in record_text and token not in record_text and "wrong-secret" not in record_text
    assert '"token": "<redacted>"' in record_text


def test_body_is_required_and_must_be_json(api):
    assert api.post("get-vms", raw_body=b"").status_code == 400
    assert api.post("get-vms", raw_body=b"{not json").status_code == 400
    assert api.post("get-vms", raw_body=b"{}", headers={"Content-Type": "application/json"}).status_code == 200
    chunked = (part for part in (b'{"where": ', b'{"name": "db-01"}}'))
    reply = api.post("get-vms", raw_body=chunked, headers={"Content-Type": "application/json"})
    assert reply.status_code == 200 and [vm["name"] for vm in reply.json()] == ["db-01"]
