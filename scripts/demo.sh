#!/usr/bin/env bash
# Traps are invoked indirectly:
# shellcheck disable=SC2329
#
# Run the smartx.cloudtower demo (the README's main job) against the bundled CloudTower simulator.
#
#   scripts/demo.sh                          run playbooks/backup.yml (or playbooks/demo_smoke.yml)
#   scripts/demo.sh --playbook FILE          run another playbook
#   scripts/demo.sh -v --check               unknown arguments go to ansible-playbook
#   scripts/demo.sh --keep -- -e foo=bar     --keep keeps the temporary dir; after "--" all goes to ansible-playbook
#
# What it does: sets up the same cached venv as scripts/test.sh, copies the working tree to a
# temporary ansible_collections/smartx/cloudtower tree (ANSIBLE_COLLECTIONS_PATH points there),
# starts the simulator with its demo inventory and a random password, exports CLOUDTOWER_HOST,
# CLOUDTOWER_USERNAME and CLOUDTOWER_PASSWORD for it, runs the playbook with ansible-playbook,
# prints a summary and stops the simulator.
#
# For playbooks/backup.yml it passes extra vars choosing a few demo VMs (CT_DEMO_VMS, comma
# separated, overrides them) and a manifest directory under ./demo-output/ (CT_DEMO_OUTPUT overrides).
#
# Environment: SMARTX_CLOUDTOWER_CACHE, SMARTX_CLOUDTOWER_PYTHON (see scripts/test.sh),
#   CT_DEMO_TASK_SECONDS   seconds each simulated CloudTower task takes (default: the simulator's)
#   CT_DEMO_VMS            VMs to back up (comma separated)
#   CT_DEMO_OUTPUT         where manifests go (default ./demo-output/<timestamp>)
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() { sed -n '/^# Run the smartx.cloudtower demo/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

PLAYBOOK=
KEEP=
PB_ARGS=()
while (($#)); do
    case $1 in
    --playbook)
        (($# >= 2)) || ct_die "--playbook needs a file"
        PLAYBOOK=$2
        shift
        ;;
    --playbook=*) PLAYBOOK=${1#--playbook=} ;;
    --keep) KEEP=1 ;;
    -h | --help) usage; exit 0 ;;
    --)
        shift
        PB_ARGS+=("$@")
        break
        ;;
    *) PB_ARGS+=("$1") ;;
    esac
    shift
done

DEFAULT_BACKUP=$CT_ROOT/playbooks/backup.yml
DEFAULT_SMOKE=$CT_ROOT/playbooks/demo_smoke.yml
if [[ -z $PLAYBOOK ]]; then
    if [[ -f $DEFAULT_BACKUP ]]; then
        PLAYBOOK=$DEFAULT_BACKUP
    elif [[ -f $DEFAULT_SMOKE ]]; then
        PLAYBOOK=$DEFAULT_SMOKE
    else
        ct_die "neither playbooks/backup.yml nor playbooks/demo_smoke.yml exists; pass --playbook FILE"
    fi
fi
[[ -f $PLAYBOOK ]] || ct_die "playbook not found: $PLAYBOOK"
PLAYBOOK=$(cd "$(dirname "$PLAYBOOK")" && pwd -P)/$(basename "$PLAYBOOK")
ct_sim_available "$CT_ROOT" || ct_die "the CloudTower simulator (tests/simulator/cloudtower_sim.py) does not exist yet"

START=$(ct_now)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smartx.cloudtower-demo.XXXXXX")
cleanup() {
    local rc=$?
    ct_sim_stop
    if [[ -n $KEEP ]]; then ct_info "Kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'ct_interrupt; exit 130' INT
trap 'ct_interrupt; exit 143' TERM

ct_setup_venv
COLL=$(ct_copy_tree "$WORK/tree")

unset ANSIBLE_COLLECTIONS_PATHS
export ANSIBLE_COLLECTIONS_PATH=$WORK/tree
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false

SIM_USER=demo-admin
SIM_PASS=$(ct_new_password)
SIM_ARGS=(--state demo --record "$WORK/record.jsonl")
[[ -n ${CT_DEMO_TASK_SECONDS:-} ]] && SIM_ARGS+=(--task-seconds "$CT_DEMO_TASK_SECONDS")
ct_sim_start "$COLL" "$WORK/simulator.log" "$SIM_USER" "$SIM_PASS" "${SIM_ARGS[@]}" ||
    ct_die "the simulator did not start"
ct_info "CloudTower simulator (demo state) at $CT_SIM_URL"
export CLOUDTOWER_HOST=$CT_SIM_URL CLOUDTOWER_USERNAME=$SIM_USER CLOUDTOWER_PASSWORD=$SIM_PASS

EXTRA=()
OUTPUT=
if [[ $PLAYBOOK == "$DEFAULT_BACKUP" ]]; then
    OUTPUT=${CT_DEMO_OUTPUT:-$PWD/demo-output/$(date +%Y%m%dT%H%M%S)}
    mkdir -p "$OUTPUT"
    OUTPUT=$(cd "$OUTPUT" && pwd -P)
    "$CT_PY" "$CT_LIB_DIR/demo_vars.py" --output "$OUTPUT" --vms "${CT_DEMO_VMS:-}" \
        --playbook "$PLAYBOOK" >"$WORK/demo-vars.json"
    EXTRA+=(-e "@$WORK/demo-vars.json")
    ct_info "Extra vars: $(tr -d '\n' <"$WORK/demo-vars.json")"
fi

printf '\n==> ansible-playbook %s\n' "${PLAYBOOK#"$CT_ROOT"/}" >&2
PB_START=$(ct_now)
rc=0
ct_run ansible-playbook "${EXTRA[@]}" "${PB_ARGS[@]}" "$PLAYBOOK" || rc=$?
PB_SECS=$(ct_elapsed "$PB_START")
ct_sim_stop

calls=$(wc -l <"$WORK/record.jsonl" 2>/dev/null || echo 0)
printf '\n================ smartx.cloudtower demo summary ================\n'
printf '%-18s %s\n' playbook "${PLAYBOOK#"$CT_ROOT"/}"
printf '%-18s %s\n' result "$( ((rc == 0)) && echo passed || echo "FAILED (exit code $rc)")"
printf '%-18s %s s (total %s s with setup)\n' "playbook time" "$PB_SECS" "$(ct_elapsed "$START")"
logins=$(grep -c '"endpoint": "login"' "$WORK/record.jsonl" 2>/dev/null || true)
printf '%-18s %s\n' "API calls" "$calls (to the simulator), of which ${logins:-0} login(s)"
if [[ -n $OUTPUT ]]; then
    printf '%-18s %s\n' manifests "$OUTPUT ($(find "$OUTPUT" -type f | wc -l) file(s))"
fi
printf '%-18s Python %s, ansible-core %s\n' toolchain "$CT_PYVER" "$CT_ANSIBLE_CORE"
exit "$rc"
