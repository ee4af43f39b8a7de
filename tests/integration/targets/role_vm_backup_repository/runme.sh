#!/usr/bin/env bash
# vm_backup with vm_backup_repository against a simulator of its own that serves real iSCSI (tgtd): the suite's
# simulator runs no portal. Full and incremental backups, byte identity against the simulator's digests, verify
# catching a corrupted file, leftover clones removed, check mode sending no mutation.
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
SIM=$(find_simulator)

REASON=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); from ctsim import dataplane_deps; print(dataplane_deps.portal_unavailable_reason() or "")' \
    "$(dirname "$SIM")")
if [[ -n $REASON ]]; then
    echo "SKIPPED: role_vm_backup_repository needs the simulator's iSCSI portal: $REASON"
    exit 0
fi

WORK=$(mktemp -d)
cleanup() {
    stop_simulator
    rm -rf "$WORK"
}
trap cleanup EXIT

PASSWORD=$("$PY" -c 'import secrets; print("repo-" + secrets.token_urlsafe(18))')
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
cat >"$WORK/repo_vars.yml" <<VARS
cloudtower_sim_url: '$URL'
cloudtower_sim_admin_url: '$URL'
cloudtower_sim_username: admin
cloudtower_sim_password: '$PASSWORD'
repo_portal: '$PORTAL'
repo_work: '$WORK'
repo_simulator_dir: '$(dirname "$SIM")'
VARS

set -o pipefail
ANSIBLE_LOOKUP_PLUGINS=$(cd ../setup_simulator/lookup_plugins && pwd) \
    ansible-playbook -i "${INVENTORY_PATH:-localhost,}" -c local -e "@$CONFIG" -e "@$WORK/repo_vars.yml" repository.yml "$@" \
    | tee "$WORK/play.out"

# The copy runs in the background and the role prints each disk's progress while it runs (AWX users watch it).
for line in '"db-01 \(id [a-z0-9]+\) disk 0: copied \(' '"web-01 \(id [a-z0-9]+\) disk 0: copied \(' \
    '"[0-9]+ disk\(s\): [0-9]+ copied, 0 running, 0 waiting, 0 failed, [0-9]+s elapsed'; do
    if ! grep -qE -- "$line" "$WORK/play.out"; then
        echo "FAILED: no progress line with '$line' in the output" >&2
        exit 1
    fi
done
