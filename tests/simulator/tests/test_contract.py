"""Every response carries exactly the spec's keys, and contract.py flags what does not conform."""

import json
import os
import subprocess
import sys

QUERY_ENDPOINTS = {
    "get-clusters": "Cluster", "get-hosts": "Host", "get-vlans": "Vlan", "get-vms": "Vm", "get-vm-disks": "VmDisk",
    "get-vm-volumes": "VmVolume", "get-vm-nics": "VmNic", "get-vm-snapshots": "VmSnapshot", "get-iscsi-luns": "IscsiLun",
    "get-iscsi-lun-snapshots": "IscsiLunSnapshot", "get-tasks": "Task", "get-users": "User", "get-deploys": "Deploy",
    "get-elf-images": "ElfImage", "get-vm-folders": "VmFolder", "get-vdses": "Vds", "get-iscsi-targets": "IscsiTarget",
}


def _make_a_task(api):
    vm = api.vm("db-01")
    api.run("create-vm-snapshot", {"data": [{"vm_id": vm["id"], "name": "contract-snap"}]})


def test_every_query_returns_every_spec_key(api, contract_checker, version):
    api.reset(api_version=version)
    _make_a_task(api)
    validator = contract_checker.validator(version)
    for endpoint, schema_name in QUERY_ENDPOINTS.items():
        rows = api.call(endpoint, {})
        assert rows, endpoint
        expected = validator.schema_properties(schema_name)
        for row in rows:
            assert set(row) == expected, (version, endpoint, set(row) ^ expected)
        count = api.call(endpoint + "-connection", {})
        assert count == {"aggregate": {"count": len(rows)}}


def test_mutation_tour_conforms(api, contract_checker, version):
    """Each mutation once per version; the sim fixture validates every exchange against the spec."""
    assert contract_checker.validator(version)
    api.reset(api_version=version)
    cluster = api.call("get-clusters", {"where": {"name": "cluster-a"}})[0]
    vlan = api.call("get-vlans", {"where": {"name": "vm-network", "vds": {"cluster": {"id": cluster["id"]}}}})[0]
    folder = api.call("get-vm-folders", {"where": {"cluster": {"id": cluster["id"]}}})[0]
    image = api.call("get-elf-images", {"where": {"cluster": {"id": cluster["id"]}}, "first": 1})[0]
    creation = {"name": "tour-vm", "cluster_id": cluster["id"], "folder_id": folder["id"], "cpu_sockets": 1, "cpu_cores": 2, "vcpu": 2,
                "memory": 2 * 1024 ** 3, "ha": False, "firmware": "BIOS", "status": "STOPPED",
                "vm_nics": [{"connect_vlan_id": vlan["id"]}],
                "vm_disks": {"mount_new_create_disks": [{"vm_volume": {"name": "tour-disk", "size": 10 * 1024 ** 3,
                                                                       "elf_storage_policy": "REPLICA_2_THIN_PROVISION"},
                                                         "bus": "VIRTIO", "boot": 0, "index": 0}],
                             "mount_cd_roms": [{"boot": 1, "index": 1, "elf_image_id": image["id"]}]}}
    answers, tasks = api.run("create-vm", [creation])
    assert tasks[0]["status"] == "SUCCESSED"
    vm_id = answers[0]["data"]["id"]
    where = {"id": vm_id}
    api.settle()
    api.run("update-vm-basic-info", {"where": where, "data": {"description": "tour"}})
    api.settle()
    snapshot = api.run("create-vm-snapshot", {"data": [{"vm_id": vm_id, "name": "tour-snap"}]})[0][0]["data"]
    api.settle()
    api.run("start-vm", {"where": where})
    api.settle()
    api.run("force-restart-vm", {"where": where})
    api.settle()
    api.run("poweroff-vm", {"where": where})
    api.settle()
    api.run("rollback-vm", {"where": where, "data": {"snapshot_id": snapshot["id"]}})
    api.settle()
    api.run("clone-vm", [{"src_vm_id": vm_id, "name": "tour-clone"}])
    api.run("rebuild-vm-from-snapshot", [{"rebuild_from_snapshot_id": snapshot["id"], "name": "tour-rebuilt"}])
    api.settle()
    api.run("delete-vm-snapshot", {"where": {"id": snapshot["id"]}})
    api.run("move-vm-to-recycle", {"where": {"name": "tour-clone"}})
    api.settle()
    api.run("delete-vm", {"where": where})


def _run_contract_cli(spec_dir, record):
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "contract.py")
    return subprocess.run([sys.executable, script, "--specs", spec_dir, str(record)], capture_output=True, text=True, timeout=60,
                          check=False, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))


def test_contract_cli_passes_conforming_records_and_lists_violations(contract_checker, spec_dir, tmp_path):
    assert contract_checker
    good = {"api_version": "4.6.0", "endpoint": "get-vms-connection", "method": "POST", "path": "/v2/api/get-vms-connection",
            "request": {"where": {"name": "x"}}, "status": 200, "response": {"aggregate": {"count": 0}}}
    bad_response = dict(good, response={"aggregate": {"count": "zero"}})
    bad_request = dict(good, request={"where": {"nme": "x"}})
    unauthorized_18 = dict(good, api_version="1.8.0", status=401, response={"message": "no"})
    record = tmp_path / "record.jsonl"
    record.write_text(json.dumps(good) + "\n")
    result = _run_contract_cli(spec_dir, record)
    assert result.returncode == 0, result.stdout + result.stderr
    record.write_text("\n".join(json.dumps(item) for item in (good, bad_response, bad_request, unauthorized_18)) + "\n")
    result = _run_contract_cli(spec_dir, record)
    assert result.returncode == 1
    assert "record.jsonl:2" in result.stdout and "'zero' is not of type 'integer'" in result.stdout
    assert "record.jsonl:3" in result.stdout and "nme" in result.stdout
    assert "record.jsonl:4" in result.stdout and "must be a string" in result.stdout
    assert "4 exchanges checked, 3 violations" in result.stdout


def test_contract_cli_reports_missing_specs(tmp_path):
    record = tmp_path / "record.jsonl"
    record.write_text("")
    result = _run_contract_cli(str(tmp_path), record)
    assert result.returncode == 2
    assert "no OpenAPI specs found" in result.stderr
