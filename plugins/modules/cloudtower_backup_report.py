#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_backup_report
short_description: Write a protection report of a backup repository and CloudTower's VMs
version_added: 0.1.0
description:
  - Reads a backup repository (see M(smartx.cloudtower.cloudtower_backup_copy)) and, with O(read_cloudtower), the list of
    VMs in CloudTower, and writes C(report.json) and C(report.html) into O(report_dir).
  - "Per VM: its last good (complete) backup, its age against the RPO O(rpo_hours), the bytes stored in the repository
    against the VM's provisioned size, the length of the backup chain, the last verification of its disks, and the last
    restore test (records written by P(smartx.cloudtower.vm_restore_test#role)). VMs without any backup come first, then
    those older than the RPO. VMs of the repository that CloudTower no longer has are listed as gone."
  - C(report.html) is one self-contained file (inline CSS and SVG, no script, nothing fetched - a Content-Security-Policy
    forbids it) with a chart of the backup age per VM and one of the repository's growth over time.
  - The report is as of O(as_of) (now by default), so every run without O(as_of) writes new ages. Files are written
    atomically and only when their content changes.
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
  - smartx.cloudtower.attributes.action_group
  - smartx.cloudtower.connection
attributes:
  check_mode:
    support: full
    details: Reads everything and reports whether the files would change, writing nothing.
  diff_mode:
    support: none
options:
  repository:
    description: The backup repository directory.
    type: path
    required: true
  report_dir:
    description: Where C(report.json) and C(report.html) are written (created when missing).
    type: path
    required: true
  rpo_hours:
    description: The recovery point objective in hours; a last good backup older than this is stale.
    type: float
    default: 24
  read_cloudtower:
    description: Also list CloudTower's VMs, so VMs that were never backed up are flagged. Needs the connection options.
    type: bool
    default: true
  as_of:
    description: The moment the ages are computed for, as C(YYYY-MM-DDTHH:MM:SSZ). Defaults to now.
    type: str
  file_mode:
    description: Permissions of the report files, as an octal string.
    type: str
    default: "0640"
  cache:
    description:
      - Keep a summary of each manifest read in O(report_dir)/.report-cache.json, keyed by the manifest's path, size and
        modification time, so the next report parses only new manifests (manifests are written once, atomically).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Report on the repository, with a 24 hour RPO
  smartx.cloudtower.cloudtower_backup_report:
    repository: /srv/backup-repository
    report_dir: /var/www/backup-report
    rpo_hours: 24
  register: report
"""

RETURN = r"""
summary:
  description: C({vms, missing, stale, ok, stored_bytes, restore_tests_failed}).
  returned: always
  type: dict
files:
  description: Paths of C(report.json) and C(report.html).
  returned: always
  type: dict
generated_at:
  description: The moment of the report.
  returned: always
  type: str
manifests_parsed:
  description: Manifests read and parsed by this run (the others came from the cache).
  returned: always
  type: int
seconds:
  description: Seconds spent reading and rendering.
  returned: always
  type: float
"""

import os
import time
from datetime import datetime, timezone

from ansible_collections.smartx.cloudtower.plugins.module_utils import report
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest import public_host
from ansible_collections.smartx.cloudtower.plugins.module_utils.manifest_files import parse_mode, write_atomically
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule

# Summaries of the manifests read by earlier reports, beside the report (never in the repository).
CACHE_NAME = ".report-cache.json"


def moment_of(value):
    if not value:
        return datetime.now(timezone.utc).replace(microsecond=0)
    moment = report.parse_time(value)
    if moment is None:
        raise InputError("as_of", value, "give a UTC time as YYYY-MM-DDTHH:MM:SSZ")
    return moment


def current_text(path):
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except OSError:
        return None


def run(module):
    params = module.params
    started = time.monotonic()
    if not os.path.isdir(params["repository"]):
        raise InputError("repository", params["repository"], "is not a directory")
    if params["rpo_hours"] <= 0:
        raise InputError("rpo_hours", params["rpo_hours"], "must be a positive number of hours")
    mode = parse_mode("file_mode", params["file_mode"])
    now = moment_of(params.get("as_of"))
    listed = vms.find(module.client, {"in_recycle_bin": False}) if params["read_cloudtower"] else None
    cache = report.SummaryCache(os.path.join(params["report_dir"], CACHE_NAME) if params["cache"] else None)
    data = report.build(os.path.abspath(params["repository"]), listed, now, params["rpo_hours"],
                        public_host(module.client.settings.base_url) if params["read_cloudtower"] else None, cache)
    texts = {"report.json": report.render_json(data), "report.html": report.render_html(data)}
    paths = {name: os.path.join(params["report_dir"], name) for name in texts}
    stale = [name for name, text in texts.items() if current_text(paths[name]) != text]
    if not module.check_mode:
        for name in stale:
            write_atomically(paths[name], texts[name], mode)
        cache.save(mode)
    module.exit_json(changed=bool(stale), summary=data["summary"], generated_at=data["generated_at"], manifests_parsed=cache.parsed,
                     files={"json": paths["report.json"], "html": paths["report.html"]}, seconds=round(time.monotonic() - started, 3))


def main():
    module = CloudTowerModule(
        argument_spec=dict(
            repository=dict(type="path", required=True),
            report_dir=dict(type="path", required=True),
            rpo_hours=dict(type="float", default=24),
            read_cloudtower=dict(type="bool", default=True),
            as_of=dict(type="str"),
            file_mode=dict(type="str", default="0640"),
            cache=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
        non_blank=("repository", "report_dir", "as_of"),
    )
    module.subject = "Protection report of %s" % module.params["repository"]
    module.run(run)


if __name__ == "__main__":
    main()
