# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudtower_cluster_info, cloudtower_host_info and cloudtower_vlan_info against the simulator, on every API version."""

from __future__ import annotations

import pytest

from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_cluster_info as cluster_info
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_host_info as host_info
from ansible_collections.smartx.cloudtower.plugins.modules import cloudtower_vlan_info as vlan_info
from ansible_collections.smartx.cloudtower.tests.unit.simulator_harness import run_module

VERSIONS = ("1.8.0", "1.10.0", "4.6.0")


@pytest.mark.parametrize("api_version", VERSIONS)
def test_the_three_listings_filter_by_name_and_cluster(simulator, capsys, api_version):
    simulator.reset(state="demo", api_version=api_version, task_seconds=0.05)

    clusters = run_module(cluster_info, simulator, capsys, names=["cluster-b", "no-such"], fields=["name"])
    assert [c["name"] for c in clusters.result["clusters"]] == ["cluster-b"]
    assert set(clusters.result["clusters"][0]) == {"id", "name"}
    assert clusters.requested == ["login", "get-clusters"]

    hosts = run_module(host_info, simulator, capsys, cluster="cluster-a", name_contains="a1", query="[].name")
    assert hosts.result["query_result"] == ["node-a1"] and hosts.result["count"] == 1
    assert hosts.requested == ["login", "get-clusters", "get-hosts"]

    # "default" exists in both clusters: the cluster keeps one; vlan_id and type filter as well.
    default = run_module(vlan_info, simulator, capsys, cluster="cluster-b", name="default")
    assert default.result["count"] == 1 and default.result["vlans"][0]["vlan_id"] == 0
    tagged = run_module(vlan_info, simulator, capsys, cluster="cluster-b", vlan_id=200, type="VM", query="[].name")
    assert tagged.result["query_result"] == ["prod-vlan-200"]
    everywhere = run_module(vlan_info, simulator, capsys, name="default")
    assert everywhere.result["count"] == 2
    assert everywhere.sent == [] and tagged.sent == [] and hosts.sent == []


def test_an_unknown_cluster_is_an_error_not_an_empty_list(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    refused = run_module(host_info, simulator, capsys, cluster="no-such-cluster")
    assert refused.result["failed"] and "no-such-cluster" in refused.result["msg"] and "cluster" in refused.result["msg"]
    assert refused.requested == ["login", "get-clusters"]


def test_a_where_the_server_refuses_names_the_option(simulator, capsys):
    simulator.reset(state="demo", api_version="4.6.0", task_seconds=0.05)
    refused = run_module(vlan_info, simulator, capsys, where={"no_such_key": 1})
    assert refused.result["failed"] and "where" in refused.result["msg"]
