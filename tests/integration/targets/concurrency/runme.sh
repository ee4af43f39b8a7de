#!/usr/bin/env bash
# A fleet of hosts (one fork each) runs the modules against the suite's simulator at once: no errors, one login per
# host, and idempotent tasks make each resource once. Twelve forks on a 2-core machine already contend for every
# lock and race on every create; twenty cost two thirds more CPU in a suite that must fit a budget.
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
WORK=$(mktemp -d)
HOSTS=12
trap 'rm -rf "$WORK"' EXIT

{
    echo "[fleet]"
    for n in $(seq -w 1 "$HOSTS"); do
        echo "host$n ansible_connection=local ansible_python_interpreter=$PY"
    done
} >"$WORK/inventory.ini"

ansible-playbook -i "$WORK/inventory.ini" -f "$HOSTS" -e "@$CONFIG" concurrency.yml "$@"
