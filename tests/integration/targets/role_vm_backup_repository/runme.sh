#!/usr/bin/env bash
# vm_backup with vm_backup_repository against a simulator of its own that serves real iSCSI (tgtd): the suite's
# simulator runs no portal. Full and incremental backups, byte identity against the simulator's digests, verify
# catching a corrupted file, leftover clones removed, check mode sending no mutation.
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
start_portal_simulator role_vm_backup_repository repo-

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
