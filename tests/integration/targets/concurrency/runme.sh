#!/usr/bin/env bash
# Twenty hosts (forks) run the modules against the suite's simulator at once: no errors, one login per host,
# and idempotent tasks make each resource once.
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

{
    echo "[fleet]"
    for n in $(seq -w 1 20); do
        echo "host$n ansible_connection=local ansible_python_interpreter=$PY"
    done
} >"$WORK/inventory.ini"

ansible-playbook -i "$WORK/inventory.ini" -f 20 -e "@$CONFIG" concurrency.yml "$@"
