"""Split the integration targets into N shards of about equal run time.

Usage: integration_shards.py COLLECTION_ROOT N
Prints one line per non-empty shard: the target names, space-separated.

The weights are the seconds each target took in a full run on this project's 2-core
machine; a target missing from the table counts as DEFAULT_WEIGHT. They only steer the
balance: a stale table makes shards uneven, never wrong.
"""

import os
import sys

DEFAULT_WEIGHT = 30
WEIGHTS = {
    "fault_matrix": 266,
    "check_mode_audit": 169,
    "cloudtower_vm": 164,
    "cloudtower_vm_snapshot": 142,
    "bad_input": 106,
    "role_vm_backup": 100,
    "concurrency": 83,
    "cloudtower_vm_api_1_8": 76,
    "role_vm_restore": 66,
    "secrets_scan": 51,
    "role_snapshot_retention": 50,
    "cloudtower_vm_info": 39,
    "inventory_cloudtower": 24,
    "cloudtower_task_info": 20,
    "awx_runner": 19,
    "cloudtower_lun_snapshot_info": 17,
    "cloudtower_backup_manifest": 15,
    "cloudtower_vm_snapshot_info": 14,
    "tls": 11,
    "cloudtower_auth": 10,
}


def runnable_targets(root):
    """Target directories ansible-test would run by itself (setup_* ones are dependencies)."""
    base = os.path.join(root, "tests", "integration", "targets")
    names = []
    for name in sorted(os.listdir(base)):
        path = os.path.join(base, name)
        if not os.path.isdir(path) or name.startswith(("setup_", "prepare_")):
            continue
        aliases = os.path.join(path, "aliases")
        words = open(aliases, encoding="utf-8").read().split() if os.path.exists(aliases) else []
        if "disabled" in words or "hidden" in words:
            continue
        names.append(name)
    return names


def balance(names, shards):
    """Longest first, each onto the lightest shard so far."""
    loads = [[0, []] for dummy in range(shards)]
    for name in sorted(names, key=lambda n: -WEIGHTS.get(n, DEFAULT_WEIGHT)):
        lightest = min(loads, key=lambda load: load[0])
        lightest[0] += WEIGHTS.get(name, DEFAULT_WEIGHT)
        lightest[1].append(name)
    return [sorted(targets) for dummy, targets in loads if targets]


def main():
    root, shards = sys.argv[1], max(1, int(sys.argv[2]))
    for targets in balance(runnable_targets(root), shards):
        print(" ".join(targets))


if __name__ == "__main__":
    main()
