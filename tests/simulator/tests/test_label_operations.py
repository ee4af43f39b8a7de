"""Labels: created once per key/value, attached to and detached from many VMs, shown on the VM records."""

import pytest


def _labels_of(api, vm_name):
    return api.vm(vm_name)["labels"]


@pytest.mark.parametrize("version", ("1.8.0", "1.10.0", "4.6.0"))
def test_a_label_is_attached_to_many_vms_and_detached_from_one(api, version):
    api.reset(api_version=version)
    answers = api.call("create-label", [{"key": "env", "value": "prod"}, {"key": "team"}])
    assert [answer["task_id"] for answer in answers] == [None, None]
    env, team = (answer["data"] for answer in answers)
    assert (env["key"], env["value"], env["vm_num"]) == ("env", "prod", 0)
    assert team["value"] is None
    api.call("add-labels-to-resources", {"where": {"id": env["id"]}, "data": {"vms": {"name_in": ["web-01", "db-01"]}}})
    api.call("add-labels-to-resources", {"where": {"key": "team"}, "data": {"vms": {"name": "web-01"}}})
    web = _labels_of(api, "web-01")
    if version == "4.6.0":
        assert web == [{"id": env["id"], "key": "env", "value": "prod"}, {"id": team["id"], "key": "team", "value": None}]
    else:
        assert web == [{"id": env["id"]}, {"id": team["id"]}]
    assert [label["id"] for label in _labels_of(api, "db-01")] == [env["id"]]
    label = api.call("get-labels", {"where": {"id": env["id"]}})[0]
    assert sorted(vm["name"] for vm in label["vms"]) == ["db-01", "web-01"]
    assert label["vm_num"] == 2
    # Attaching again changes nothing; filters see the relation from both sides.
    api.call("add-labels-to-resources", {"where": {"id": env["id"]}, "data": {"vms": {"name": "web-01"}}})
    assert api.call("get-labels", {"where": {"id": env["id"]}})[0]["vm_num"] == 2
    tagged = api.call("get-vms", {"where": {"labels_some": {"key": "env", "value": "prod"}}})
    assert sorted(vm["name"] for vm in tagged) == ["db-01", "web-01"]
    assert [found["id"] for found in api.call("get-labels", {"where": {"vms_some": {"name": "db-01"}}})] == [env["id"]]
    api.call("remove-labels-from-resources", {"where": {"id": env["id"]}, "data": {"vms": {"name": "web-01"}}})
    assert [label["id"] for label in _labels_of(api, "web-01")] == [team["id"]]
    assert [label["id"] for label in _labels_of(api, "db-01")] == [env["id"]]
    assert api.call("get-labels-connection", {"where": {"key": "env"}}) == {"aggregate": {"count": 1}}


def test_a_second_label_with_the_same_key_and_value_is_refused(api):
    api.reset(api_version="4.6.0")
    api.call("create-label", [{"key": "env", "value": "prod"}])
    response = api.post("create-label", [{"key": "env", "value": "prod"}])
    assert response.status_code == 400 and "LABEL_EXISTED" in response.text
    response = api.post("create-label", [{"key": "tier"}, {"key": "tier", "value": ""}])
    assert response.status_code == 400 and "LABEL_EXISTED" in response.text
    assert api.call("get-labels-connection", {}) == {"aggregate": {"count": 1}}


def test_other_resources_than_vms_are_refused(api):
    api.reset(api_version="4.6.0")
    api.call("create-label", [{"key": "env"}])
    response = api.post("add-labels-to-resources", {"where": {"key": "env"}, "data": {"hosts": {"name": "x"}}})
    assert response.status_code == 400 and "LABEL_RESOURCE_NOT_SIMULATED" in response.text
