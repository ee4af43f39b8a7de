#!/usr/bin/env bash
# vm_restore with vm_restore_source: repository against a simulator of its own that serves real iSCSI (tgtd) and the
# 4.6 upload/import/export data path: restore after the VM and its snapshots are deleted (byte identity against the
# simulator's digests), to the other cluster with a network map, one disk to a stopped VM, idempotent re-runs, check
# mode sending nothing, a failure midway cleaned up; then vm_restore_test end to end (see restore.yml).
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
start_portal_simulator role_vm_restore_repository restore-

# The password reaches the playbook through a file, not the command line (ps would show it).
umask 077
cat >"$WORK/restore_vars.yml" <<VARS
cloudtower_sim_url: '$URL'
cloudtower_sim_username: admin
cloudtower_sim_password: '$PASSWORD'
repo_portal: '$PORTAL'
repo_work: '$WORK'
repo_simulator_dir: '$(dirname "$SIM")'
VARS

ansible-playbook -i "${INVENTORY_PATH:-localhost,}" -c local -e "@$CONFIG" -e "@$WORK/restore_vars.yml" restore.yml "$@"
