#!/usr/bin/env bash
# Measure smartx.cloudtower against the CloudTower simulator (see benchmarks/README.md).
#
#   benchmarks/run.sh                  full run: backups of N = 1, 10, 50, 100 VMs, 10,000 VMs listed (about
#                                      30 min, most of it the SDK baseline sleeping in wait_tasks, in parallel)
#   benchmarks/run.sh --quick          N = 1 and 10, 2,000 VMs listed, fewer samples (about 4 min)
#
# Options (passed to benchmarks/bench.py):
#   --quick              the smaller run above
#   --sizes 1,10,50,100  backup sizes N (the role, the per-VM loop and the SDK script each back up N VMs)
#   --list-vms 10000     VMs listed by cloudtower_vm_info and by the inventory plugin
#   --only LIST          some of: backup,repository,no_change,template,overhead,task_wait,listing
#                        (repository needs root and the data-plane tools: tgt, qemu-utils, qemu-block-extra)
#   --no-sdk             leave out the SDK baseline (it sleeps about 10 s per VM)
#
# Uses the cached test venv of scripts/test.sh (tests/requirements.txt, which includes cloudtower-sdk; built by
# scripts/runner/bootstrap.py), copies the working tree to a temporary ansible_collections/smartx/cloudtower, starts its own simulators on free ports
# (task duration 2 s), and prints markdown tables. Results and logs go to benchmarks/results/<time>/
# (git-ignored): results.md, results.json, work/ (each playbook's output and task timings, simulator logs).
set -euo pipefail
for arg in "$@"; do
    if [[ $arg == -h || $arg == --help ]]; then
        sed -n '/^# Measure/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
        exit 0
    fi
done
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
exec python3 "$root/scripts/runner/bootstrap.py" bench "$@"
