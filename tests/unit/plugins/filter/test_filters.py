# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters the roles read manifests and snapshot names through: the format's and the names' own Python code."""

from __future__ import annotations

import json

from ansible_collections.smartx.cloudtower.plugins.filter.backup_manifest import backup_manifest
from ansible_collections.smartx.cloudtower.plugins.filter.snapshot_name import snapshot_name
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest import MANIFEST_FORMAT

MANIFEST = {"format": MANIFEST_FORMAT, "snapshot": {"id": "snap-1", "name": "nightly"}, "vm": {"name": "web-01"}}


def test_a_manifest_is_parsed_and_kept():
    read = backup_manifest(json.dumps(MANIFEST), "vm_restore_manifest", "/b/web.json")
    assert read == {"manifest": MANIFEST, "problem": None}


def test_a_truncated_manifest_is_refused_naming_the_variable_and_the_path():
    read = backup_manifest(json.dumps(MANIFEST)[:20], "vm_restore_manifest", "/b/web.json")
    assert read["manifest"] is None
    assert "vm_restore_manifest" in read["problem"] and "/b/web.json" in read["problem"] and "not valid JSON" in read["problem"]


def test_json_that_is_no_manifest_is_refused():
    read = backup_manifest('{"hello": "world"}', "vm_restore_manifest", "/b/other.json")
    assert "not a manifest of smartx.cloudtower.vm_backup" in read["problem"] and "/b/other.json" in read["problem"]


def test_json_that_is_no_object_is_refused():
    # A list of VMs (cloudtower_vm_info's output saved by mistake): bad_input's not-a-manifest file is one VM's record.
    read = backup_manifest('[{"id": "vm-1", "name": "db-01"}]', "vm_restore_manifest", "/b/vms.json")
    assert read["manifest"] is None
    assert "vm_restore_manifest" in read["problem"] and "/b/vms.json" in read["problem"] and "not valid JSON" in read["problem"]


def test_the_timestamp_is_filled_in_and_the_vm_placeholders_left_for_the_module():
    assert snapshot_name("nightly-{vm_name}-{timestamp}", timestamp="T1") == {"name": "nightly-{vm_name}-T1", "problem": None}
    assert snapshot_name("nightly-{vm_id}-{timestamp}")["name"] == "nightly-{vm_id}-{timestamp}"


def test_a_name_without_a_vm_placeholder_is_refused_naming_the_variable():
    problem = snapshot_name("nightly-{timestamp}", timestamp="T1", option="vm_backup_snapshot_name")["problem"]
    assert "vm_backup_snapshot_name" in problem and "nightly-{timestamp}" in problem and "{vm_name}" in problem


def test_an_unknown_placeholder_is_refused():
    assert "{date}" in snapshot_name("n-{vm_name}-{date}", option="vm_backup_snapshot_name")["problem"]
