#!/usr/bin/env bash
# The traps call cleanup indirectly:
# shellcheck disable=SC2329
#
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
#   --only LIST          some of: backup,no_change,overhead,task_wait,listing
#   --no-sdk             leave out the SDK baseline (it sleeps about 10 s per VM)
#
# Uses the cached venv of scripts/test.sh (tests/requirements.txt, which includes cloudtower-sdk), copies the
# working tree to a temporary ansible_collections/smartx/cloudtower, starts its own simulators on free ports
# (task duration 2 s), and prints markdown tables. Results and logs go to benchmarks/results/<time>/
# (git-ignored): results.md, results.json, work/ (each playbook's output and task timings, simulator logs).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

for arg in "$@"; do
    if [[ $arg == -h || $arg == --help ]]; then
        sed -n '/^# Measure/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
        exit 0
    fi
done

[[ $(uname -s) == Linux ]] || ct_die "the benchmarks read /proc for memory figures: Linux only"
ct_sim_available "$CT_ROOT" || ct_die "the CloudTower simulator (tests/simulator/cloudtower_sim.py) is missing"

unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS ANSIBLE_CONFIG
export PYTHONDONTWRITEBYTECODE=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smartx.cloudtower-bench.XXXXXX")
cleanup() {
    local rc=$?
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'ct_interrupt; exit 130' INT
trap 'ct_interrupt; exit 143' TERM

ct_setup_venv
"$CT_PY" -c 'import cloudtower' 2>/dev/null ||
    ct_die "cloudtower-sdk is missing from the venv $CT_VENV (it is in tests/requirements.txt)"
COLL=$(ct_copy_tree "$WORK/tree")

RESULTS=$CT_ROOT/benchmarks/results/$(date +%Y%m%dT%H%M%S)
mkdir -p "$RESULTS"
ct_info "Results and logs: $RESULTS"
rc=0
ct_run "$CT_PY" "$COLL/benchmarks/bench.py" --collections-path "$WORK/tree" --results "$RESULTS" "$@" || rc=$?
exit "$rc"
