"""Print the extra vars (JSON) that scripts/demo.sh passes to playbooks/backup.yml.

Chooses a few VMs of the simulator's demo inventory (or the ones given with --vms) and the
directory where the playbook writes its manifests. The simulator address comes from CLOUDTOWER_HOST (set by
scripts/demo.sh); the VMs are read through its admin API, so the demo's API calls are the playbook's alone.
"""

import argparse
import json
import os
import sys
import urllib.request

DEFAULT_COUNT = 3
# A VM with VMTools running (file-system-consistent snapshot), one without (crash-consistent fallback)
# and one with two data disks, when the simulator's demo state has them under these names.
PREFERRED = ("web-01", "web-02", "db-01")


def demo_vms(count):
    """Names of the demo state's VMs, read through the simulator's admin API: no login and no API call, so the
    playbook's own requests (one login) are all the demo's summary counts."""
    base = os.environ["CLOUDTOWER_HOST"].rstrip("/")
    with urllib.request.urlopen(base + "/__sim/state?resource=vms", timeout=30) as resp:  # nosec - loopback simulator
        vms = sorted((vm for vm in json.load(resp)["vms"] if not vm.get("in_recycle_bin")), key=lambda vm: vm["name"])
    counts = {}
    for vm in vms:
        counts[vm["name"]] = counts.get(vm["name"], 0) + 1
    # VM names are not unique: only choose names that identify exactly one VM.
    unique = [vm["name"] for vm in vms if counts[vm["name"]] == 1]
    if all(name in unique for name in PREFERRED):
        return list(PREFERRED)
    return unique[:count]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", required=True, help="manifest directory")
    parser.add_argument("--vms", default="", help="comma-separated VM names (default: a few demo VMs)")
    parser.add_argument("--playbook", help="the playbook (unused; for future per-playbook vars)")
    args = parser.parse_args()
    vms = [v.strip() for v in args.vms.split(",") if v.strip()] or demo_vms(DEFAULT_COUNT)
    if not vms:
        sys.exit("no VMs found in the simulator's demo state")
    # Variables of the smartx.cloudtower.vm_backup role (playbooks/backup.yml passes them on).
    json.dump({"vm_backup_vms": vms, "vm_backup_dir": args.output}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
