# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_vm_template, cloudtower_vm_template_info, and cloudtower_vm from a template with cloud-init (issue 18)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm as vm_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_template as template_module
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vm_template_info as template_info
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import request_log, run_module

GIB = 1024 ** 3
PASSWORD = "cloud-init-s3cret"
TEMPLATE = dict(name="tpl-web", cluster="cluster-a", vm="web-01")
FROM_TEMPLATE = dict(
    name="app-07", cluster="cluster-a", template="tpl-web", state="running", wait_for=["vmtools", "ip"], wait_for_timeout=20,
    nics=[{"vlan": "vm-network"}],
    cloud_init={"hostname": "app-07", "default_user_password": PASSWORD, "public_keys": ["ssh-ed25519 AAAA deploy@ci"],
                "networks": [{"type": "static", "ip_address": "10.20.100.57", "netmask": "255.255.255.0", "gateway": "10.20.100.1"}]},
)


def make_template(sim, capsys, **options):
    return run_module(template_module, sim, capsys, diff=True, **dict(TEMPLATE, **options))


@pytest.mark.parametrize("api_version", ("1.8.0", "4.6.0"))
def test_template_check_apply_again(simulator, capsys, api_version):
    simulator.reset(state="demo", api_version=api_version, task_seconds=0.05)
    check = run_module(template_module, simulator, capsys, check_mode=True, **TEMPLATE)
    assert check.result["changed"] and check.sent == [] and check.result["template"] is None
    made = make_template(simulator, capsys)
    assert made.sent == ["clone-vm-template-from-vm"] and made.result["template"]["name"] == "tpl-web"
    assert made.result["template"]["entityAsyncStatus"] is None and made.result["diff"]["after"] == {"exists": True}
    again = make_template(simulator, capsys)
    assert not again.result["changed"] and again.sent == [] and again.requested == ["login", "get-vm-templates"]
    listed = run_module(template_info, simulator, capsys, cluster="cluster-a", query="[].name")
    assert listed.result["query_result"] == ["tpl-web"]
    gone = make_template(simulator, capsys, state="absent")
    assert gone.sent == ["delete-vm-template"] and gone.result["template"] is None
    assert not make_template(simulator, capsys, state="absent").result["changed"]


def test_convert_needs_a_stopped_vm_and_an_ambiguous_name_lists_ids(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    refused = make_template(simulator, capsys, mode="convert")
    assert refused.result["failed"] and refused.sent == [] and "mode" in refused.result["msg"]
    make_template(simulator, capsys)
    run_module(template_module, simulator, capsys, name="tpl-web", cluster="cluster-b", vm="app-01")
    ambiguous = run_module(vm_module, simulator, capsys, name="new-vm", cluster="cluster-a", template="tpl-web")
    assert not ambiguous.result.get("failed"), ambiguous.result  # the cluster narrows it to one
    unscoped = run_module(template_module, simulator, capsys, name="tpl-web", state="absent")
    assert unscoped.result["failed"] and unscoped.sent == [] and len(unscoped.result["error"]["candidates"]) == 2
    assert all(c in unscoped.result["msg"] for c in unscoped.result["error"]["candidates"])


@pytest.mark.parametrize("api_version", ("1.10.0", "4.6.0"))
def test_vm_from_template_with_cloud_init_is_one_create_and_waits_for_the_guest(simulator, capsys, api_version):
    simulator.reset(state="demo", api_version=api_version, task_seconds=0.05)
    make_template(simulator, capsys)
    check = run_module(vm_module, simulator, capsys, check_mode=True, **FROM_TEMPLATE)
    assert check.result["changed"] and check.sent == [] and [a["operation"] for a in check.result["actions"]] == ["create-vm-from-template"]
    created = run_module(vm_module, simulator, capsys, **FROM_TEMPLATE)
    assert created.sent == ["create-vm-from-template"], created.result
    assert created.result["vm"]["status"] == "RUNNING" and created.result["ips"] == ["10.20.100.57"]
    assert created.result["vm"]["vm_tools_status"] == "RUNNING"
    body = [r for r in request_log(simulator) if r["endpoint"] == "create-vm-from-template"][0]["body"][0]
    assert body["cloud_init"]["networks"] == [{"nic_index": 0, "type": "IPV4", "ip_address": "10.20.100.57", "netmask": "255.255.255.0",
                                               "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.20.100.1"}]}]
    assert body["cloud_init"]["hostname"] == "app-07" and body["is_full_copy"] is False
    assert PASSWORD not in json.dumps(created.result) and PASSWORD not in json.dumps(check.result)
    assert PASSWORD not in json.dumps(request_log(simulator))
    again = run_module(vm_module, simulator, capsys, **FROM_TEMPLATE)
    assert not again.result["changed"] and again.sent == [] and again.result["ips"] == ["10.20.100.57"]


def test_a_guest_that_never_gets_ready_fails_after_wait_for_timeout_reporting_the_creation(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    # cache-01 has no VMTools: a VM from its template never reports them.
    run_module(template_module, simulator, capsys, name="tpl-cache", cluster="cluster-b", vm="cache-01")
    failed = run_module(vm_module, simulator, capsys, name="c2", cluster="cluster-b", template="tpl-cache", state="running",
                        wait_for=["vmtools"], wait_for_timeout=2)
    assert failed.result["failed"] and failed.result["changed"] and failed.sent == ["create-vm-from-template"]
    assert "VMTools is NOT_INSTALLED" in failed.result["msg"] and failed.result["vm"]["status"] == "RUNNING"


def test_template_disks_grow_after_creation_and_cloud_init_needs_a_template(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    make_template(simulator, capsys)
    options = dict(name="big", cluster="cluster-a", template="tpl-web", disks=[{"size": "60GiB"}, {"size": "5GiB", "bus": "SCSI"}])
    created = run_module(vm_module, simulator, capsys, **options)
    assert created.sent == ["create-vm-from-template", "expand-vm-disk"], created.result
    assert created.result["changes"]["disks[0].size"] == {"before": 40 * GIB, "after": 60 * GIB}
    again = run_module(vm_module, simulator, capsys, **options)
    assert not again.result["changed"] and again.sent == []
    refused = run_module(vm_module, simulator, capsys, name="x", cluster="cluster-a", vcpu=1, memory="1GiB", cloud_init={"hostname": "x"})
    assert refused.result["failed"] and "cloud_init" in refused.result["msg"] and refused.sent == []
    no_nic = run_module(vm_module, simulator, capsys, name="y", cluster="cluster-a", template="tpl-web",
                        cloud_init={"networks": [{"type": "dhcp"}, {"type": "dhcp"}]})
    assert no_nic.result["failed"] and "cloud_init.networks[1].nic" in no_nic.result["msg"] and no_nic.sent == []


LIBRARY = dict(name="lib-web", content_library=True, cluster="cluster-a", vm="web-01")


def variant(task, **changes):
    """task with some options changed (None leaves an option out)."""
    changed = dict(task)
    changed.update(changes)
    return {key: value for key, value in changed.items() if value is not None}


FROM_LIBRARY = variant(FROM_TEMPLATE, name="app-08", template="lib-web", template_content_library=True)


def test_content_library_template_check_apply_again_and_a_vm_from_it_with_cloud_init(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    check = run_module(template_module, simulator, capsys, check_mode=True, **LIBRARY)
    assert check.result["changed"] and check.sent == [] and check.result["actions"][0]["operation"] == "clone-content-library-vm-template-from-vm"
    made = run_module(template_module, simulator, capsys, **LIBRARY)
    assert made.sent == ["clone-content-library-vm-template-from-vm"] and made.result["template"]["name"] == "lib-web"
    assert [c["name"] for c in made.result["template"]["clusters"]] == ["cluster-a"]
    body = [r for r in request_log(simulator) if r["endpoint"] == "clone-content-library-vm-template-from-vm"][0]["body"][0]
    assert body["clusters"] == {"id_in": [made.result["template"]["clusters"][0]["id"]]}
    again = run_module(template_module, simulator, capsys, **LIBRARY)
    assert not again.result["changed"] and again.requested == ["login", "get-deploys", "get-content-library-vm-templates"]
    # The cluster templates are another list: neither module mixes the two.
    assert run_module(template_info, simulator, capsys, query="[].name").result["query_result"] == []
    listed = run_module(template_info, simulator, capsys, content_library=True, cluster="cluster-a", query="[].name")
    assert listed.result["query_result"] == ["lib-web"]
    assert run_module(template_info, simulator, capsys, content_library=True, cluster="cluster-b").result["count"] == 0
    created = run_module(vm_module, simulator, capsys, **FROM_LIBRARY)
    assert created.sent == ["create-vm-from-content-library-template"], created.result
    assert created.result["ips"] == ["10.20.100.57"] and PASSWORD not in json.dumps(created.result) + json.dumps(request_log(simulator))
    sent = [r for r in request_log(simulator) if r["endpoint"] == "create-vm-from-content-library-template"][0]["body"][0]
    assert sent["cluster_id"] == body["clusters"]["id_in"][0] and sent["cloud_init"]["hostname"] == "app-07"
    assert not run_module(vm_module, simulator, capsys, **FROM_LIBRARY).result["changed"]
    elsewhere = run_module(vm_module, simulator, capsys, **variant(FROM_LIBRARY, name="app-09", cluster="cluster-b", nics=None, cloud_init=None))
    assert elsewhere.result["failed"] and elsewhere.sent == [] and "offered to cluster cluster-b" in elsewhere.result["msg"]
    gone = run_module(template_module, simulator, capsys, **variant(LIBRARY, state="absent"))
    assert gone.sent == ["delete-content-library-vm-template"] and gone.result["template"] is None
    assert not run_module(template_module, simulator, capsys, **variant(LIBRARY, state="absent")).result["changed"]


@pytest.mark.parametrize("api_version", ("1.8.0", "1.10.0"))
def test_content_library_refused_before_4_6_naming_the_option(simulator, capsys, api_version):
    simulator.reset(state="demo", api_version=api_version, task_seconds=0.05)
    for module, options in ((template_module, LIBRARY), (template_info, dict(content_library=True)), (vm_module, FROM_LIBRARY)):
        refused = run_module(module, simulator, capsys, **options)
        assert refused.result["failed"] and refused.sent == [], refused.result
        assert "'content_library'" in refused.result["msg"] or "'template_content_library'" in refused.result["msg"]
        assert "True" in refused.result["msg"] and "4.6" in refused.result["msg"]


def test_template_content_library_needs_template_and_cluster(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    alone = run_module(vm_module, simulator, capsys, name="x", cluster="cluster-a", vcpu=1, memory="1GiB", template_content_library=True)
    assert alone.result["failed"] and "template_content_library" in alone.result["msg"] and alone.sent == []
    no_cluster = run_module(vm_module, simulator, capsys, name="x", template="lib-web", template_content_library=True)
    assert no_cluster.result["failed"] and "'cluster'" in no_cluster.result["msg"] and no_cluster.sent == []
