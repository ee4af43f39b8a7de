#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks the output of ``ansible-inventory --list`` and ``--graph`` for the simulator's demo state.

ansible-inventory marks the strings an inventory plugin did not trust as templates
(all VM data, on purpose) as {"__ansible_unsafe": "..."}; they are unwrapped here.
"""

from __future__ import annotations

import json
import re
import sys

DEMO_VMS = 14


def unwrap(mapping):
    return mapping["__ansible_unsafe"] if set(mapping) == {"__ansible_unsafe"} else mapping


def check(condition, message):
    if not condition:
        raise SystemExit("FAILED: " + message)


def check_list(inventory):
    hostvars = inventory["_meta"]["hostvars"]
    check(len(hostvars) == DEMO_VMS, "%d hosts instead of %d" % (len(hostvars), DEMO_VMS))
    duplicates = sorted(name for name in hostvars if name.startswith("web-dup"))
    check(len(duplicates) == 2 and all(re.match(r"^web-dup_[a-z0-9]{25}$", name) for name in duplicates),
          "the two VMs named web-dup are not named web-dup_<id>: %s" % duplicates)
    check(sorted(name[len("web-dup_"):] for name in duplicates) == sorted(hostvars[name]["cloudtower_id"] for name in duplicates),
          "the suffix of web-dup is not the VM's own id")
    check(len(inventory["cluster_cluster_a"]["hosts"]) == 8 and len(inventory["cluster_cluster_b"]["hosts"]) == 6,
          "cluster groups: %s" % {group: inventory[group]["hosts"] for group in ("cluster_cluster_a", "cluster_cluster_b")})
    check(inventory["status_suspended"]["hosts"] == ["app-02"], "status_suspended: %s" % inventory["status_suspended"])
    check("db-02" in inventory["status_stopped"]["hosts"] and "web-01" in inventory["status_running"]["hosts"], "status groups")
    web = hostvars["web-01"]
    check(web["cloudtower_name"] == "web-01" and web["cloudtower_status"] == "RUNNING", "prefixed fields of web-01: %s" % web)
    check(web["cloudtower_cluster"]["name"] == "cluster-a", "cluster of web-01: %s" % web["cloudtower_cluster"])
    check(re.match(r"^\d+(\.\d+){3}$", web.get("ansible_host", "")) and web["ansible_host"] == web["cloudtower_ips"].split(",")[0],
          "ansible_host of web-01: %s" % web.get("ansible_host"))
    check("ansible_host" not in hostvars["db-02"], "the stopped VM db-02 has no IP but got ansible_host")
    check("cloudtower_vm_disks" not in web, "a field outside the default hostvar_fields was set")


def check_graph(graph):
    for line in ("@cluster_cluster_a:", "@status_suspended:", "|--app-02"):
        check(line in graph, "%r not in the graph" % line)
    check(re.search(r"\|--web-dup_[a-z0-9]{25}", graph), "no web-dup_<id> host in the graph")


def main(list_path, graph_path):
    with open(list_path, encoding="utf-8") as stream:
        check_list(json.load(stream, object_hook=unwrap))
    with open(graph_path, encoding="utf-8") as stream:
        check_graph(stream.read())
    print("ansible-inventory --list and --graph: as expected")


if __name__ == "__main__":
    main(*sys.argv[1:3])
