# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smartx.cloudtower.cloudtower inventory plugin.

The helpers are tested on their own; the plugin itself parses real source
files against the in-process CloudTower simulator (tests/simulator), and the
tests check the hosts, groups and variables it builds and the requests it sends.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re

import pytest
import yaml

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.inventory import Constructable
from ansible.plugins.loader import init_plugin_loader, inventory_loader
from ansible.release import __version__ as ansible_core_version
from ansible.utils.display import Display
from ansible.utils.collection_loader import AnsibleCollectionConfig

# The plugin loader can only load the plugin if its collection finder was in
# place before the plugin module was first imported (ansible-test installs it
# itself; a plain pytest run with PYTHONPATH needs this).
if AnsibleCollectionConfig.collection_finder is None:
    init_plugin_loader()

ANSIBLE_CORE = tuple(int(part) for part in ansible_core_version.split(".")[:2])

# pylint: disable=wrong-import-position
from ansible_collections.smartx.cloudtower.plugins.inventory.cloudtower import (  # noqa: E402
    HostnameTemplate,
    InventoryModule,
    assign_hostnames,
    build_where,
    default_groups,
    parse_networks,
    pick_ansible_host,
)
from ansible_collections.smartx.cloudtower.plugins.inventory import cloudtower as inventory_module  # noqa: E402
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import CloudTowerClient, ConnectionSettings  # noqa: E402
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError  # noqa: E402

from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import Simulator  # noqa: E402

PASSWORD = "inventory-unit-password"
PLUGIN = "smartx.cloudtower.cloudtower"
DEMO_VM_COUNT = 14


def vm(vm_id, name, status="RUNNING", cluster="cluster-a", ips="", **fields):
    record = {"id": vm_id, "local_id": "uuid-" + vm_id, "name": name, "status": status, "ips": ips,
              "cluster": {"id": "c-" + cluster, "name": cluster}, "host": {"id": "h1", "name": "node-1"}, "folder": None,
              "cpu": {"sockets": 1, "cores": 2}}
    record.update(fields)
    return record


# ----- helpers ---------------------------------------------------------------------------------------


def test_build_where_combines_every_filter_with_and():
    where = build_where({"name_starts_with": "web"}, ["prod", "cid1"], ["RUNNING"], include_recycle_bin=False)
    assert where == {"AND": [
        {"name_starts_with": "web"},
        {"cluster": {"OR": [{"id_in": ["prod", "cid1"]}, {"name_in": ["prod", "cid1"]}]}},
        {"status_in": ["RUNNING"]},
        {"in_recycle_bin": False},
    ]}


def test_build_where_with_recycle_bin_and_nothing_else_is_empty():
    assert build_where({}, [], [], include_recycle_bin=True) == {}
    assert build_where(None, None, None, include_recycle_bin=False) == {"in_recycle_bin": False}


def test_build_where_rejects_a_where_that_is_not_a_mapping():
    with pytest.raises(InputError) as caught:
        build_where(["name"], [], [], include_recycle_bin=True)
    assert "'where'" in caught.value.message


@pytest.mark.parametrize("ips, networks, expected", [
    ("10.0.0.5,192.168.1.5", [], "10.0.0.5"),
    ("", [], None),
    (None, [], None),
    ("not-an-ip, 192.168.1.5", [], "192.168.1.5"),
    ("10.0.0.5,192.168.1.5", ["192.168.0.0/16"], "192.168.1.5"),
    # The order of the networks is the preference, not the order of the addresses.
    ("10.0.0.5,192.168.1.5", ["192.168.0.0/16", "10.0.0.0/8"], "192.168.1.5"),
    ("10.0.0.5", ["192.168.0.0/16"], None),
    ("fe80::1,2001:db8::5,10.0.0.5", ["2001:db8::/32"], "2001:db8::5"),
])
def test_pick_ansible_host(ips, networks, expected):
    assert pick_ansible_host(ips, parse_networks(networks)) == expected


def test_parse_networks_names_the_option_and_value():
    with pytest.raises(AnsibleParserError) as caught:
        parse_networks(["10.0.0.0/8", "10.0.0.300/24"])
    assert "ansible_host_networks" in str(caught.value) and "10.0.0.300/24" in str(caught.value)
    assert parse_networks(["10.1.2.3/8"]) == [ipaddress.ip_network("10.0.0.0/8")]


def test_hostname_template_uses_relation_names_and_falls_back_to_the_id():
    template = HostnameTemplate("{name}.{cluster}")
    assert template.render(vm("v1", "web")) == "web.cluster-a"
    assert HostnameTemplate("{folder}").render(vm("v1", "web")) == "v1"


@pytest.mark.parametrize("template, words", [
    ("{name", ["hostname_template", "{name"]),
    ("{cluster.name}", ["hostname_template", "cluster.name", "not a field name"]),
    ("{0}", ["hostname_template", "not a field name"]),
])
def test_hostname_template_rejects_bad_templates_at_once(template, words):
    with pytest.raises(AnsibleParserError) as caught:
        HostnameTemplate(template)
    for word in words:
        assert word in str(caught.value)


def test_hostname_template_rejects_unknown_and_structured_fields():
    with pytest.raises(AnsibleParserError) as caught:
        assign_hostnames([vm("v1", "web")], HostnameTemplate("{nmae}"), "suffix_id")
    assert "nmae" in str(caught.value) and "local_id" in str(caught.value)
    with pytest.raises(AnsibleParserError) as caught:
        HostnameTemplate("{cpu}").render(vm("v1", "web"))
    assert "not a scalar field" in str(caught.value)


def test_duplicate_names_with_suffix_stay_unique_and_keep_unique_names():
    vms = [vm("v1", "web"), vm("v2", "db"), vm("v3", "web")]
    assert [name for name, _vm in assign_hostnames(vms, HostnameTemplate("{name}"), "suffix_id")] == ["web_v1", "db", "web_v3"]


def test_duplicate_names_can_be_an_error_listing_the_ids():
    vms = [vm("v1", "web"), vm("v2", "db"), vm("v3", "web")]
    with pytest.raises(AnsibleParserError) as caught:
        assign_hostnames(vms, HostnameTemplate("{name}"), "error")
    assert "web: v1, v3" in str(caught.value)


def test_duplicate_detection_is_linear_on_many_vms():
    vms = [vm("id%05d" % number, "vm-%05d" % (number // 2)) for number in range(20000)]
    hosts = assign_hostnames(vms, HostnameTemplate("{name}"), "suffix_id")
    assert len({name for name, _vm in hosts}) == 20000
    assert hosts[0][0] == "vm-00000_id00000"


def test_default_groups():
    record = vm("v1", "web", status="SUSPENDED", cluster="prod a")
    assert default_groups(record, ["cluster", "status", "host"], "ct_") == ["ct_cluster_prod a", "ct_status_suspended", "ct_host_node-1"]
    assert default_groups(dict(record, host=None), ["host"], "") == []


# ----- the plugin against the simulator -----------------------------------------------------------------


@pytest.fixture(scope="module")
def simulator():
    sim = Simulator(password=PASSWORD, task_seconds=0.05).start()
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator, monkeypatch):
    for name in list(os.environ):
        if name.startswith("CLOUDTOWER_") or name.startswith("ANSIBLE_INVENTORY_CACHE"):
            monkeypatch.delenv(name)
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    return simulator


def requests_sent(sim):
    log = sim.requests()
    return log.get("requests", log) if isinstance(log, dict) else log


def parse(tmp_path, sim, options=None, name="cloudtower.yml", cache=True, credentials=True):
    """Parse a source file with options; returns (InventoryData, plugin)."""
    config = {"plugin": PLUGIN}
    if credentials:
        config.update(cloudtower_host=sim.url, cloudtower_username="admin", cloudtower_password=PASSWORD)
    config.update(options or {})
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    plugin = inventory_loader.get(PLUGIN)
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(path), cache=cache)
    # What InventoryManager does after a parse: write the cache if it changed.
    if plugin.get_option("cache"):
        plugin.update_cache_if_changed()
    return inventory, plugin


def group_hosts(inventory, group):
    return sorted(host.name for host in inventory.groups[group].get_hosts())


def test_demo_vms_become_hosts_with_groups_prefixed_vars_and_ansible_host(tmp_path, sim):
    inventory, _plugin = parse(tmp_path, sim)
    assert len(inventory.hosts) == DEMO_VM_COUNT
    # The two demo VMs named web-dup both get their id appended.
    duplicates = sorted(name for name in inventory.hosts if name.startswith("web-dup"))
    assert len(duplicates) == 2 and all(name.startswith("web-dup_") for name in duplicates)
    web = inventory.hosts["web-01"].vars
    assert web["cloudtower_name"] == "web-01" and web["cloudtower_status"] == "RUNNING"
    assert web["cloudtower_cluster"]["name"] == "cluster-a"
    assert web["ansible_host"] == web["cloudtower_ips"].split(",")[0]
    assert "ansible_host" not in inventory.hosts["db-02"].vars  # STOPPED: no IP
    assert "cloudtower_vm_disks" not in web  # not in the default hostvar_fields
    assert set(inventory.groups) >= {"cluster_cluster_a", "cluster_cluster_b", "status_running", "status_stopped", "status_suspended"}
    assert group_hosts(inventory, "status_suspended") == ["app-02"]
    assert "web-01" in group_hosts(inventory, "cluster_cluster_a")
    for host in inventory.hosts.values():
        assert PASSWORD not in json.dumps(host.vars, default=str)


def test_one_login_and_one_query_per_page(tmp_path, sim):
    sim.reset(state="demo", api_version="4.6.0", vms=2500, task_seconds=0.05)
    inventory, _plugin = parse(tmp_path, sim, {"page_size": 1000})
    assert len(inventory.hosts) == 2500
    endpoints = [request["endpoint"] for request in requests_sent(sim)]
    assert endpoints.count("login") == 1
    assert endpoints.count("get-vms") == 3
    assert set(endpoints) == {"login", "get-vms"}


def test_filters_are_sent_to_the_server(tmp_path, sim):
    inventory, _plugin = parse(tmp_path, sim, {"statuses": ["RUNNING"], "clusters": ["cluster-b"], "where": {"name_starts_with": "app"}})
    assert sorted(inventory.hosts) == ["app-01"]
    body = [request for request in requests_sent(sim) if request["endpoint"] == "get-vms"][0]["body"]
    assert body["first"] == 1000
    clauses = body["where"]["AND"]
    assert {"status_in": ["RUNNING"]} in clauses and {"in_recycle_bin": False} in clauses
    assert {"name_starts_with": "app"} in clauses


def test_unmatched_cluster_warns(tmp_path, sim, capsys):
    inventory, _plugin = parse(tmp_path, sim, {"clusters": ["cluster-a", "no-such-cluster"]})
    assert inventory.hosts and all(host.vars["cloudtower_cluster"]["name"] == "cluster-a" for host in inventory.hosts.values())
    # (ansible-core before 2.19 wraps warnings at 80 columns.)
    assert "no-such-cluster" in re.sub(r"\s+", "", capsys.readouterr().err)


def test_a_bad_where_is_the_servers_400_with_the_option_visible(tmp_path, sim):
    with pytest.raises(AnsibleParserError) as caught:
        parse(tmp_path, sim, {"where": {"no_such_field": 1}})
    assert "get-vms" in str(caught.value) and "400" in str(caught.value)


def test_hostname_template_group_prefix_and_all_fields(tmp_path, sim):
    inventory, _plugin = parse(tmp_path, sim, {
        "hostname_template": "{name}.{cluster}", "group_by": ["host"], "group_prefix": "ct_",
        "hostvar_prefix": "", "hostvar_fields": ["all"]})
    assert "web-01.cluster-a" in inventory.hosts
    assert any(name.startswith("web-dup.cluster-a_") for name in inventory.hosts)
    web = inventory.hosts["web-01.cluster-a"].vars
    assert web["name"] == "web-01" and "vm_disks" in web and "local_created_at" in web
    assert "ct_host_node_a1" in inventory.groups  # sanitized: node-a1 -> node_a1
    assert "cluster_cluster_a" not in inventory.groups


def test_unknown_hostvar_field_warns(tmp_path, sim, capsys):
    inventory, _plugin = parse(tmp_path, sim, {"hostvar_fields": ["name", "no_such_field"]})
    assert inventory.hosts["web-01"].vars["cloudtower_name"] == "web-01"
    assert "no_such_field" in capsys.readouterr().err


def test_ansible_host_networks_and_opt_out(tmp_path, sim):
    inventory, _plugin = parse(tmp_path, sim, {"ansible_host_networks": ["10.99.0.0/16"]})
    assert all("ansible_host" not in host.vars for host in inventory.hosts.values())
    inventory, _plugin = parse(tmp_path, sim, {"ansible_host_from_ips": False})
    assert all("ansible_host" not in host.vars for host in inventory.hosts.values())


def test_duplicate_hostnames_error(tmp_path, sim):
    with pytest.raises(AnsibleParserError) as caught:
        parse(tmp_path, sim, {"duplicate_hostnames": "error"})
    assert "web-dup" in str(caught.value)


CONSTRUCTED = {
    "keyed_groups": [{"key": "cloudtower_guest_os_type | lower", "prefix": "os"},
                     {"key": "cloudtower_node.name", "prefix": "node"},
                     # parent_group is templated with the variables the key was evaluated with.
                     {"key": "cloudtower_status | lower", "prefix": "power", "parent_group": "{{ cloudtower_cluster.name }}_power"}],
    "groups": {"windows": "cloudtower_guest_os_type == 'WINDOWS'", "big": "cloudtower_memory >= 8 * 1024 ** 3"},
    "compose": {"ansible_user": "'Administrator' if cloudtower_guest_os_type == 'WINDOWS' else 'root'",
                "short_id": "cloudtower_id[:6]"},
}


def constructed_view(inventory):
    groups = {name: (group_hosts(inventory, name), sorted(child.name for child in inventory.groups[name].child_groups))
              for name in inventory.groups}
    variables = {name: (host.vars.get("ansible_user"), host.vars.get("short_id")) for name, host in inventory.hosts.items()}
    return groups, variables


def test_constructed_features_through_ansible_cores_constructable(tmp_path, sim):
    inventory, _plugin = parse(tmp_path, sim, dict(CONSTRUCTED))
    groups, variables = constructed_view(inventory)
    assert groups["windows"][0] == ["win-ad-01"]
    assert "os_linux" in groups and "node_node_a1" in groups
    assert "db-01" in groups["big"][0] and "web-02" not in groups["big"][0]
    # parent_group is templated with each host's own variables.
    assert groups["cluster_b_power"][1] == ["power_running", "power_stopped", "power_suspended"]
    assert groups["cluster_a_power"][1] == ["power_running", "power_stopped"]
    assert variables["win-ad-01"][0] == "Administrator" and variables["web-01"][0] == "root"
    assert variables["web-01"][1] == inventory.hosts["web-01"].vars["cloudtower_id"][:6]


def test_the_plugin_overrides_no_method_of_ansible_cores_constructable():
    """Constructable's underscore methods change between ansible-core releases: call them, never override them."""
    overridden = sorted(name for name in vars(Constructable) if callable(getattr(Constructable, name))
                        and not name.startswith("__") and name in vars(InventoryModule))
    assert overridden == []


def test_reuse_expression_results_is_deprecated_and_changes_nothing(tmp_path, sim, monkeypatch):
    deprecations = []
    monkeypatch.setattr(Display, "deprecated", lambda self, msg, *args, **kwargs: deprecations.append(msg))
    inventory, _plugin = parse(tmp_path, sim, dict(CONSTRUCTED, reuse_expression_results=True))
    assert constructed_view(inventory) == constructed_view(parse(tmp_path, sim, dict(CONSTRUCTED))[0])
    # ansible-core warns from the option's documented deprecation (2.19 and later while parsing; older releases
    # when the CLI reports configuration deprecations).
    option = yaml.safe_load(inventory_module.DOCUMENTATION)["options"]["reuse_expression_results"]
    assert option["deprecated"]["version"] == "2.0.0"
    if ANSIBLE_CORE >= (2, 19):
        assert any("reuse_expression_results" in message for message in deprecations), deprecations


def test_strict_makes_a_bad_expression_fatal(tmp_path, sim):
    inventory, _plugin = parse(tmp_path, sim, {"compose": {"x": "no_such_variable + 1"}})
    assert all("x" not in host.vars for host in inventory.hosts.values())
    with pytest.raises(AnsibleError):
        parse(tmp_path, sim, {"compose": {"x": "no_such_variable + 1"}, "strict": True})


def test_credentials_and_host_come_from_the_environment(tmp_path, sim, monkeypatch):
    monkeypatch.setenv("CLOUDTOWER_HOST", sim.url)
    monkeypatch.setenv("CLOUDTOWER_USERNAME", "admin")
    monkeypatch.setenv("CLOUDTOWER_PASSWORD", PASSWORD)
    inventory, _plugin = parse(tmp_path, sim, credentials=False)
    assert len(inventory.hosts) == DEMO_VM_COUNT


def test_a_token_replaces_the_login(tmp_path, sim, monkeypatch):
    token = _login_token(sim)
    sim.clear_requests()
    monkeypatch.setenv("CLOUDTOWER_TOKEN", token)
    inventory, _plugin = parse(tmp_path, sim, {"cloudtower_host": sim.url}, credentials=False)
    assert len(inventory.hosts) == DEMO_VM_COUNT
    assert [request["endpoint"] for request in requests_sent(sim)] == ["get-vms"]


def _login_token(sim):
    return CloudTowerClient(ConnectionSettings(sim.url, "admin", PASSWORD)).login()


def test_missing_host_and_bad_password_are_clear_errors_without_the_secret(tmp_path, sim):
    with pytest.raises(AnsibleParserError) as caught:
        parse(tmp_path, sim, {"cloudtower_username": "admin"}, credentials=False)
    assert "cloudtower_host" in str(caught.value) and "CLOUDTOWER_HOST" in str(caught.value)
    wrong = "wrong-" + PASSWORD
    with pytest.raises(AnsibleParserError) as caught:
        parse(tmp_path, sim, {"cloudtower_password": wrong})
    assert "login" in str(caught.value) and wrong not in str(caught.value)


@pytest.mark.parametrize("options, words", [
    ({"hostvar_prefix": "ct-"}, ["hostvar_prefix", "ct-"]),
    ({"page_size": 0}, ["page_size", "0"]),
    ({"ansible_host_networks": ["nonsense"]}, ["ansible_host_networks", "nonsense"]),
    ({"statuses": ["RUNING"]}, ["RUNING"]),
])
def test_bad_options_fail_before_any_request(tmp_path, sim, options, words):
    sim.clear_requests()
    with pytest.raises(AnsibleError) as caught:
        parse(tmp_path, sim, options)
    for word in words:
        assert word in str(caught.value)
    assert requests_sent(sim) == []


def test_cache_holds_vm_data_only_and_spares_the_api(tmp_path, sim):
    cache_dir = tmp_path / "cache"
    options = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(cache_dir)}
    first, _plugin = parse(tmp_path, sim, options)
    files = list(cache_dir.iterdir())
    assert len(files) == 1
    cached = files[0].read_text()
    assert PASSWORD not in cached and "web-01" in cached
    token = _login_token(sim)
    assert token not in cached
    sim.clear_requests()
    second, _plugin = parse(tmp_path, sim, options)
    assert requests_sent(sim) == []
    assert sorted(second.hosts) == sorted(first.hosts)
    # cache=False is what --flush-cache and refresh_inventory pass: read the API and rewrite the cache.
    parse(tmp_path, sim, options, cache=False)
    assert [request["endpoint"] for request in requests_sent(sim)] == ["login", "get-vms"]
    # Different filters are a different cache entry, not a stale answer.
    sim.clear_requests()
    running, _plugin = parse(tmp_path, sim, dict(options, statuses=["RUNNING"]))
    assert "db-02" not in running.hosts and "get-vms" in [request["endpoint"] for request in requests_sent(sim)]


@pytest.mark.parametrize("name, accepted", [
    ("cloudtower.yml", True),
    ("cloudtower.yaml", True),
    ("prod.cloudtower.yml", True),
    ("inventory.yml", False),
    ("mycloudtower.yml", False),
])
def test_verify_file_accepts_only_cloudtower_sources(tmp_path, name, accepted):
    path = tmp_path / name
    path.write_text("plugin: %s\n" % PLUGIN)
    assert inventory_loader.get(PLUGIN).verify_file(str(path)) is accepted


# ----- issue 19: the VM's host field must not shadow the connection variable cloudtower_host --------------------------
def test_the_vms_node_is_cloudtower_node_never_the_connection_variable_cloudtower_host(tmp_path, sim):
    inventory, _plugin = parse(tmp_path, sim, {})
    web = inventory.hosts["web-01"].vars
    assert "cloudtower_host" not in web
    assert web["cloudtower_node"]["name"] == "node-a1"
    assert all("cloudtower_host" not in host.vars for host in inventory.hosts.values())


def test_legacy_host_variable_keeps_the_old_name_for_now(tmp_path, sim):
    inventory, _plugin = parse(tmp_path, sim, {"legacy_host_variable": True})
    web = inventory.hosts["web-01"].vars
    assert web["cloudtower_host"] == web["cloudtower_node"] and web["cloudtower_node"]["name"] == "node-a1"


def test_another_prefix_also_names_the_node_node(tmp_path, sim):
    inventory, _plugin = parse(tmp_path, sim, {"hostvar_prefix": "ct_"})
    assert inventory.hosts["web-01"].vars["ct_node"]["name"] == "node-a1"
