#!/usr/bin/env bash
# vm_backup with vm_backup_repository against a simulator of its own that serves real iSCSI (tgtd): the suite's
# simulator runs no portal. Full and incremental backups, byte identity against the simulator's digests, verify
# catching a corrupted file, leftover clones removed, check mode sending no mutation.
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
start_portal_simulator role_vm_backup_repository repo-

# The password and the CHAP secret of the backup target reach the playbook through a file, not the command line
# (ps would show them); the file and the list of secrets stay out of the scan below.
umask 077
mkdir "$WORK/private"
CHAP_SECRET=$("$PY" -c 'import secrets; print("chap-" + secrets.token_hex(5))')  # 15 characters (CHAP wants 12-16)
printf '%s\n%s\n' "$CHAP_SECRET" "$PASSWORD" >"$WORK/private/secrets.txt"
cat >"$WORK/private/repo_vars.yml" <<VARS
cloudtower_sim_url: '$URL'
cloudtower_sim_admin_url: '$URL'
cloudtower_sim_username: admin
cloudtower_sim_password: '$PASSWORD'
repo_portal: '$PORTAL'
repo_work: '$WORK'
repo_simulator_dir: '$(dirname "$SIM")'
repo_chap_secret: '$CHAP_SECRET'
VARS

set -o pipefail
ansible-playbook -i "${INVENTORY_PATH:-localhost,}" -c local -e "@$CONFIG" -e "@$WORK/private/repo_vars.yml" repository.yml "$@" \
    | tee "$WORK/play.out"

# The CHAP secret (and the simulator's password) nowhere: the play's output (-vvv in the suite), the simulator's
# output, its request log, tgtd's log, the manifests, the repository, the async copy's job results.
"$PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1] + "/__sim/requests").read().decode())' \
    "$URL" >"$WORK/requests.json"
scanned=("$WORK/play.out" "$WORK/sim.out" "$WORK/sim.err" "$WORK/requests.json" "$WORK/manifests" "$WORK/repository" "$WORK"/portal-*)
[[ -d ${HOME:-/nonexistent}/.ansible_async ]] && scanned+=("$HOME/.ansible_async")
# The scanner finds the CHAP secret where it is (or its silence would mean nothing)...
printf 'x%sx\n' "$CHAP_SECRET" >"$WORK/private/control.txt"
if "$PY" ../secrets_scan/files/scan_secrets.py --secrets "$WORK/private/secrets.txt" "$WORK/private/control.txt" >/dev/null; then
    echo "FAILED: the scanner did not find the CHAP secret in a control file" >&2
    exit 1
fi
# ...and nowhere else.
"$PY" ../secrets_scan/files/scan_secrets.py --secrets "$WORK/private/secrets.txt" --min-secrets 2 "${scanned[@]}"

# The copy runs in the background and the role prints each disk's progress while it runs (AWX users watch it).
for line in '"db-01 \(id [a-z0-9]+\) disk 0: copied \(' '"web-01 \(id [a-z0-9]+\) disk 0: copied \(' \
    '"[0-9]+ disk\(s\): [0-9]+ copied, 0 running, 0 waiting, 0 failed, [0-9]+s elapsed'; do
    if ! grep -qE -- "$line" "$WORK/play.out"; then
        echo "FAILED: no progress line with '$line' in the output" >&2
        exit 1
    fi
done
