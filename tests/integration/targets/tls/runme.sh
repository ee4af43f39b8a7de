#!/usr/bin/env bash
# TLS against a simulator of its own started with --tls: default settings fail with a clear certificate message,
# ca_path (option or CLOUDTOWER_CA_PATH) to the simulator's certificate works, validate_certs false works with a
# warning, and the plain-http simulator of integration_config.yml works with a warning.
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
SIM=$(find_simulator)

WORK=$(mktemp -d)
cleanup() {
    stop_simulator
    # The certificate directory the simulator generated.
    if [[ -n ${CERT:-} && $(basename "$(dirname "$CERT")") == ctsim-tls-* ]]; then
        rm -rf "$(dirname "$CERT")"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PASSWORD=$("$PY" -c 'import secrets; print("tls-" + secrets.token_urlsafe(18))')
CLOUDTOWER_SIM_PASSWORD=$PASSWORD "$PY" "$SIM" --port 0 --tls --username admin --state demo --task-seconds 0.1 \
    >"$WORK/sim.out" 2>"$WORK/sim.err" &
track_simulator "$!"
wait_for_lines "$WORK/sim.out" 2 || true
URL=$(sed -n '1s/^CloudTower simulator listening on //p' "$WORK/sim.out")
CERT=$(sed -n '2s/^.*: //p' "$WORK/sim.out")
if [[ $URL != https://* || ! -f $CERT ]]; then
    echo "FAILED: the TLS simulator did not start:" >&2
    cat "$WORK/sim.out" "$WORK/sim.err" >&2
    exit 1
fi
# A CA bundle that does not hold the simulator's certificate, as REQUESTS_CA_BUNDLE is set in many containers.
OTHER_BUNDLE=$("$PY" -c 'import certifi; print(certifi.where())')

# The password reaches the playbook through a file, not the command line (ps would show it).
umask 077
cat >"$WORK/tls_vars.yml" <<VARS
tls_url: '$URL'
tls_cert: '$CERT'
tls_password: '$PASSWORD'
tls_other_bundle: '$OTHER_BUNDLE'
VARS

ansible-playbook -i "${INVENTORY_PATH:-localhost,}" -c local -e "@$CONFIG" -e "@$WORK/tls_vars.yml" tls.yml "$@"
