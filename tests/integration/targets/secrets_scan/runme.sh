#!/usr/bin/env bash
# Secrets scan: every module and role (secrets.yml) with -vvv against a simulator of its own that records each
# token it issues; then the password, the wrong password tried and every token are looked for in stdout, stderr,
# the Ansible log, every registered result, the manifests, the data mover's output and the simulator's request
# log and record file.
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
SIM=$(find_simulator)

WORK=$(mktemp -d)
cleanup() {
    stop_simulator
    # SECRETS_SCAN_KEEP=1 keeps the captured output for a look when runme.sh is run by hand.
    if [[ -n ${SECRETS_SCAN_KEEP:-} ]]; then
        echo "kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
umask 077
mkdir -p "$WORK/out"

"$PY" -c 'import secrets; print("pw-" + secrets.token_urlsafe(18)); print("wrong-" + secrets.token_urlsafe(18))' >"$WORK/passwords.txt"
PASSWORD=$(sed -n 1p "$WORK/passwords.txt")
CLOUDTOWER_SIM_PASSWORD=$PASSWORD "$PY" files/record_tokens.py --sim "$SIM" --token-log "$WORK/tokens.txt" \
    --port 0 --username admin --state demo --task-seconds 0.1 --record "$WORK/out/record.jsonl" \
    >"$WORK/out/sim.out" 2>"$WORK/out/sim.err" &
track_simulator "$!"
wait_for_lines "$WORK/out/sim.out" 1 || true
URL=$(sed -n '1s/^CloudTower simulator listening on //p' "$WORK/out/sim.out")
[[ -n $URL ]] || { cat "$WORK/out/sim.err" >&2; exit 1; }

cat >"$WORK/vars.yml" <<VARS
sec_url: '$URL'
sec_password: '$PASSWORD'
sec_wrong_password: '$(sed -n 2p "$WORK/passwords.txt")'
sec_work: '$WORK/out'
VARS

rc=0
ANSIBLE_LOG_PATH=$WORK/out/ansible.log ansible-playbook -vvv -i "${INVENTORY_PATH:-localhost,}" -c local \
    -e "@$WORK/vars.yml" secrets.yml "$@" >"$WORK/out/stdout.txt" 2>"$WORK/out/stderr.txt" || rc=$?
if ((rc == 0)); then
    # Not traced: the credentials of an AWX-style run.
    CLOUDTOWER_HOST=$URL CLOUDTOWER_USERNAME=admin CLOUDTOWER_PASSWORD=$PASSWORD ANSIBLE_LOG_PATH=$WORK/out/ansible-env.log \
        ansible-playbook -vvv -i "${INVENTORY_PATH:-localhost,}" -c local -e "@$WORK/vars.yml" secrets_env.yml "$@" \
        >"$WORK/out/stdout-env.txt" 2>"$WORK/out/stderr-env.txt" || rc=$?
fi
"$PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1] + "/__sim/requests").read().decode())' \
    "$URL" >"$WORK/out/requests.json"
if ((rc != 0)); then
    echo "FAILED: a playbook failed (rc $rc); the last output lines:" >&2
    # The output is only shown when the scan finds no secret in it.
    for out in "$WORK/out/stdout.txt" "$WORK/out/stdout-env.txt"; do
        if [[ -f $out ]] && "$PY" files/scan_secrets.py --secrets "$WORK/passwords.txt" --secrets "$WORK/tokens.txt" "$out" >/dev/null; then
            tail -n 40 "$out" >&2
        fi
    done
    exit "$rc"
fi

# The scanner finds what it must find (a file with the password), or its silence would mean nothing.
printf 'x%sx\n' "$PASSWORD" >"$WORK/control.txt"
if "$PY" files/scan_secrets.py --secrets "$WORK/passwords.txt" "$WORK/control.txt" >/dev/null; then
    echo "FAILED: the scanner did not find the password in a control file" >&2
    exit 1
fi
# The run must have exercised what is scanned: logins (tokens), manifests, verbose module results.
tokens=$(wc -l <"$WORK/tokens.txt")
manifests=$(find "$WORK/out/manifests" "$WORK/out/manifests-env" -name '*.json' | wc -l)
grep -q '"vm_tools_status"' "$WORK/out/stdout.txt" || { echo "FAILED: no module result in the -vvv output" >&2; exit 1; }
((manifests >= 3)) || { echo "FAILED: $manifests manifest(s) written, expected 3" >&2; exit 1; }
echo "secrets_scan: $tokens token(s) issued, $manifests manifest(s), $(wc -c <"$WORK/out/stdout.txt") bytes of -vvv output"
"$PY" files/scan_secrets.py --secrets "$WORK/passwords.txt" --secrets "$WORK/tokens.txt" --min-secrets 5 "$WORK/out"
