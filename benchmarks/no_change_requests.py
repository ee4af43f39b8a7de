#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Requests of a cloudtower_vm run that changes nothing, with disks, NICs, a CD-ROM and labels declared (issue 18).

    PYTHONPATH=<dir holding ansible_collections> python benchmarks/no_change_requests.py [--specs DIR]

For each API version (1.8.0, 1.10.0, 4.6.0) an in-process simulator is reset to its demo state; cloudtower_vm runs
as a module process (python -m ..., no Ansible) on win-ad-01 declaring its disk, its CD-ROM with an ISO, its NIC and
a label. The first run settles the state (it mounts the ISO and creates and attaches the label); the request log is
then cleared and the same task runs again, once with username and password and once with a token. The requests of
those runs, read from the simulator's request log, are the figures; a run that changes anything, fails, or sends a
mutating request is an error, not a figure.

The OpenAPI specs (--specs, default CLOUDTOWER_OPENAPI_DIR or ../shared/cloudtower-openapi) are read to print what
a VM record carries of its disks, NICs and labels (the nested types get-vms returns) and what a disk record carries
of its volume: that is why the run cannot be cheaper (benchmarks/README.md, "No-change runs with devices").
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter

# pylint: disable=import-error
from ansible_collections.smartx.cloudtower.tests.simulator.ctsim import Simulator
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import CloudTowerClient, ConnectionSettings

PASSWORD = "bench-password"
VERSIONS = ("1.8.0", "1.10.0", "4.6.0")
MODULE = "ansible_collections.smartx.cloudtower.plugins.modules.cloudtower_vm"
GOAL = {
    "name": "win-ad-01",
    "cluster": "cluster-b",
    "state": "running",
    "disks": [{"size": "80GiB"}, {"type": "cdrom", "image": "ubuntu-22.04.4-live-server-amd64.iso"}],
    "nics": [{"vlan": "prod-vlan-100"}],
    "labels": [{"key": "tier", "value": "directory"}],
}
# The nested types a record shows of its related records: what get-vms tells of disks, NICs and labels, and
# get-vm-disks of volumes.
NESTED = (("Vm", "vm_disks"), ("Vm", "vm_nics"), ("Vm", "labels"), ("VmDisk", "vm_volume"), ("VmDisk", "elf_image"),
          ("VmNic", "vlan"))


def run_module(url, auth, work, label):
    """One module process; its decoded result."""
    args = dict(GOAL, cloudtower_host=url, **auth)
    path = os.path.join(work, label + ".json")
    with open(path, "w", encoding="utf-8") as stream:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, stream)
    child = subprocess.run([sys.executable, "-m", MODULE, path], capture_output=True, text=True, check=False)
    os.unlink(path)  # it holds the password or the token
    try:
        return json.loads(child.stdout)
    except ValueError as error:
        raise SystemExit("%s: the module printed no result (%s): %s" % (label, error, child.stderr[-2000:])) from error


def measured(sim, url, auth, work, label):
    sim.clear_requests()
    result = run_module(url, auth, work, label)
    log = sim.requests()
    log = log.get("requests", log) if isinstance(log, dict) else log
    if result.get("failed") or result.get("changed"):
        raise SystemExit("%s: expected an unchanged run, got changed=%s failed=%s: %s" % (
            label, result.get("changed"), result.get("failed"), result.get("msg")))
    mutating = [entry["endpoint"] for entry in log if entry.get("mutating")]
    if mutating:
        raise SystemExit("%s: an unchanged run sent %s" % (label, mutating))
    return [entry["endpoint"] for entry in log]


def spec_facts(specs_dir):
    """{version: {"Vm.vm_disks": "NestedVmDisk (id)", ...}} from the OpenAPI specs; {} when they are absent."""
    facts = {}
    for version in VERSIONS:
        path = os.path.join(specs_dir, "%s-swagger.json" % version)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as stream:
            schemas = json.load(stream)["components"]["schemas"]
        facts[version] = {}
        for owner, field in NESTED:
            prop = schemas[owner]["properties"][field]
            ref = (prop.get("items") or prop).get("$ref") or (prop.get("allOf") or [{}])[0].get("$ref", "")
            name = ref.rsplit("/", 1)[-1]
            facts[version]["%s.%s" % (owner, field)] = "%s (%s)" % (name, ", ".join(sorted(schemas[name]["properties"])))
        facts[version]["VmDisk has size"] = "size" in schemas["VmDisk"]["properties"]
    return facts


def main():
    default_specs = os.environ.get("CLOUDTOWER_OPENAPI_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "cloudtower-openapi")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--specs", default=default_specs, help="directory of <version>-swagger.json")
    args = parser.parse_args()
    rows = []
    sim = Simulator(password=PASSWORD, task_seconds=0.05).start()
    try:
        with tempfile.TemporaryDirectory(prefix="no-change-") as work:
            for version in VERSIONS:
                sim.reset(state="demo", api_version=version, task_seconds=0.05)
                password = {"cloudtower_username": "admin", "cloudtower_password": PASSWORD}
                settle = run_module(sim.url, password, work, "settle-" + version)
                if settle.get("failed"):
                    raise SystemExit("settling on %s failed: %s" % (version, settle.get("msg")))
                token = CloudTowerClient(ConnectionSettings(sim.url, "admin", PASSWORD)).login()
                for auth_label, auth in (("password", password), ("token", {"cloudtower_token": token})):
                    endpoints = measured(sim, sim.url, auth, work, "%s-%s" % (version, auth_label))
                    rows.append((version, auth_label, endpoints))
    finally:
        sim.stop()
    print("| API | auth | requests | by endpoint |")
    print("|---|---|---|---|")
    for version, auth_label, endpoints in rows:
        counts = Counter(endpoints)
        print("| %s | %s | %d | %s |" % (version, auth_label, len(endpoints),
                                         ", ".join("%s%s" % (e, " x%d" % counts[e] if counts[e] > 1 else "") for e in dict.fromkeys(endpoints))))
    facts = spec_facts(args.specs)
    if facts:
        print("\nWhat the records carry (OpenAPI specs in %s):\n" % os.path.abspath(args.specs))
        print("| field | " + " | ".join(facts) + " |")
        print("|---|" + "---|" * len(facts))
        for key in next(iter(facts.values())):
            print("| %s | %s |" % (key, " | ".join(str(facts[v][key]) for v in facts)))
    else:
        print("\n(no OpenAPI specs in %s: the record shapes are not printed)" % os.path.abspath(args.specs))


if __name__ == "__main__":
    main()
