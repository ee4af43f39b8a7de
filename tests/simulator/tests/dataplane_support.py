"""Shared pieces of the data-plane tests: a simulator with a real iSCSI portal, helpers for initiators."""

import json
import os
import subprocess

import pytest

from conftest import FAST_SETTINGS, FAST_TASKS, PASSWORD, Api, ctsim

from ctsim import dataplane_deps
from ctsim.volumes_data import sparse_digest

GIB = 1024 ** 3


def portal_simulator(tmp_path_factory, checker):
    """A generator for a module fixture: a 4.6 simulator serving its LUNs through tgtd, contract-checked."""
    reason = dataplane_deps.portal_unavailable_reason()
    if reason:
        pytest.skip(reason)
    record = tmp_path_factory.mktemp("ctsim-portal") / "exchanges.jsonl"
    simulator = ctsim.Simulator(password=PASSWORD, task_seconds=FAST_TASKS, seed=11, record=str(record), settings=FAST_SETTINGS,
                                iscsi_portal="127.0.0.1:0")
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()
    if checker is not None:
        with open(record, encoding="utf-8") as stream:
            exchanges = [json.loads(line) for line in stream if line.strip()]
        violations = ["%s %s: %s" % (exchange.get("endpoint"), exchange["status"], problem)
                      for exchange in exchanges for problem in checker.check(exchange)]
        assert not violations, "exchanges violate the spec:\n" + "\n".join(violations[:20])


def fresh_api(simulator, **reset):
    api = Api(simulator)
    api.login()
    api.reset(**dict({"api_version": "4.6.0", "task_seconds": FAST_TASKS, "seed": 11}, **reset))
    return api


def portal_of(simulator):
    return simulator.dataplane.portal.address


def iscsi_url(portal, iqn, lun_number, user=None, secret=None):
    credentials = "%s%%%s@" % (user, secret) if user else ""
    return "iscsi://%s%s/%s/%d" % (credentials, portal, iqn, lun_number)


def qemu_img(*args, timeout=120):
    return subprocess.run(["qemu-img"] + [str(arg) for arg in args], capture_output=True, text=True, timeout=timeout, check=False)


def read_lun_to_raw(url, target_path, initiator_name=None):
    """qemu-img convert over iSCSI into a sparse raw file; returns the CompletedProcess."""
    source = url
    if initiator_name:
        # --image-opts is how qemu-img takes an initiator name.
        return qemu_img("convert", "--image-opts", _image_opts(url, initiator_name), "-O", "raw", target_path)
    return qemu_img("convert", "-f", "raw", "-O", "raw", source, target_path)


def _image_opts(url, initiator_name):
    rest = url[len("iscsi://"):]
    portal, iqn, lun = rest.split("/")
    return "driver=iscsi,transport=tcp,portal=%s,target=%s,lun=%s,initiator-name=%s" % (portal, iqn, lun, initiator_name)


def digest_of_file(path):
    return sparse_digest(path, os.path.getsize(path))


def volume_of(api, vm_name, position=0):
    vm = api.vm(vm_name)
    disks = api.call("get-vm-disks", {"where": {"vm": {"id": vm["id"]}, "type": "DISK"}, "orderBy": "boot_ASC"})
    return api.call("get-vm-volumes", {"where": {"id": disks[position]["vm_volume"]["id"]}})[0]


def digest(api, entity_id):
    return api.admin("GET", "volumes/%s/digest" % entity_id)["digest"]


def make_target(api, name, **access):
    cluster = api.call("get-clusters", {"where": {"name": "cluster-a"}})[0]
    params = dict({"name": name, "cluster_id": cluster["id"], "thin_provision": True, "replica_num": 2, "stripe_num": 4,
                   "stripe_size": 256 * 1024}, **access)
    answers, tasks = api.run("create-iscsi-target", [params])
    assert tasks[0]["status"] == "SUCCESSED", tasks
    return api.call("get-iscsi-targets", {"where": {"id": answers[0]["data"]["id"]}})[0]


def clone_into(api, target, lun_snapshot, name):
    answers, tasks = api.run("clone-iscsi-lun-from-snapshot", [{"iscsi_target_id": target["id"], "name": name,
                                                                "snapshot_id": lun_snapshot["id"]}])
    assert tasks[0]["status"] == "SUCCESSED", tasks
    return api.call("get-iscsi-luns", {"where": {"id": answers[0]["data"]["id"]}})[0]


def snapshot_disks(api, vm, name):
    """Snapshot a VM; returns its DISK LUN snapshots in disk order."""
    answers, tasks = api.run("create-vm-snapshot", {"data": [{"vm_id": vm["id"], "name": name}]})
    assert tasks[0]["status"] == "SUCCESSED", tasks
    snapshot = api.call("get-vm-snapshots", {"where": {"id": answers[0]["data"]["id"]}})[0]
    names = [disk["snapshot_local_id"] for disk in snapshot["vm_disks"] if disk["type"] == "DISK"]
    by_name = {row["name"]: row for row in api.call("get-iscsi-lun-snapshots", {"where": {"name_in": names}})}
    return [by_name[name] for name in names]
