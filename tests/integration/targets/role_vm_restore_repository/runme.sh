#!/usr/bin/env bash
# vm_restore with vm_restore_source: repository against a simulator of its own that serves real iSCSI (tgtd) and the
# 4.6 upload/import/export data path: restore after the VM and its snapshots are deleted (byte identity against the
# simulator's digests), to the other cluster with a network map, one disk to a stopped VM, idempotent re-runs, check
# mode sending nothing, a failure midway cleaned up; then vm_restore_test end to end (see restore.yml).
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
SIM=$(find_simulator)

REASON=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); from ctsim import dataplane_deps; print(dataplane_deps.portal_unavailable_reason() or "")' \
    "$(dirname "$SIM")")
if [[ -n $REASON ]]; then
    echo "SKIPPED: role_vm_restore_repository needs the simulator's iSCSI portal: $REASON"
    exit 0
fi

WORK=$(mktemp -d)
cleanup() {
    stop_simulator
    rm -rf "$WORK"
}
trap cleanup EXIT

PASSWORD=$("$PY" -c 'import secrets; print("restore-" + secrets.token_urlsafe(18))')
CLOUDTOWER_SIM_PASSWORD=$PASSWORD "$PY" "$SIM" --port 0 --username admin --state demo --task-seconds 0.1 --api-version 4.6.0 \
    --iscsi-portal 127.0.0.1:0 --data-dir "$WORK" >"$WORK/sim.out" 2>"$WORK/sim.err" &
track_simulator "$!"
wait_for_lines "$WORK/sim.out" 2 || true
URL=$(sed -n 's/^CloudTower simulator listening on //p' "$WORK/sim.out")
PORTAL=$(sed -n 's/^iSCSI portal (tgtd) on //p' "$WORK/sim.out")
if [[ $URL != http://* || -z $PORTAL ]]; then
    echo "FAILED: the simulator with an iSCSI portal did not start:" >&2
    cat "$WORK/sim.out" "$WORK/sim.err" >&2
    exit 1
fi

# The password reaches the playbook through a file, not the command line (ps would show it).
umask 077
cat >"$WORK/restore_vars.yml" <<VARS
cloudtower_sim_url: '$URL'
cloudtower_sim_username: admin
cloudtower_sim_password: '$PASSWORD'
repo_portal: '$PORTAL'
repo_work: '$WORK'
repo_simulator_dir: '$(dirname "$SIM")'
digest_script: '$(cd ../role_vm_backup_repository/files && pwd)/restore_digest.py'
VARS

ANSIBLE_LOOKUP_PLUGINS=$(cd ../setup_simulator/lookup_plugins && pwd) \
    ansible-playbook -i "${INVENTORY_PATH:-localhost,}" -c local -e "@$CONFIG" -e "@$WORK/restore_vars.yml" restore.yml "$@"
