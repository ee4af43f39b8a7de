#!/usr/bin/env bash
# A fleet of hosts (one fork each) runs the modules against the suite's simulator at once: no errors, one login per
# host, and idempotent tasks make each resource once. Four forks on a 2-core machine still contend for every lock and
# race on every create, and concurrency.yml checks that they did (snapshots of the busy VM refused and retried, more
# than one create sent where every host ensures the same snapshot or VM): on 2026-12-06, 4 hosts had 5 snapshots of
# the busy VM refused and sent the contested snapshot's create 5 times (6 hosts: 11 and 8). Six cost 35 CPU-s, four
# 24, twelve (twenty before) twice six, in a suite that must fit a budget, each host's 13 module runs being the cost.
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
WORK=$(mktemp -d)
HOSTS=4
trap 'rm -rf "$WORK"' EXIT

{
    echo "[fleet]"
    for n in $(seq -w 1 "$HOSTS"); do
        echo "host$n ansible_connection=local ansible_python_interpreter=$PY"
    done
} >"$WORK/inventory.ini"

ansible-playbook -i "$WORK/inventory.ini" -f "$HOSTS" -e "@$CONFIG" concurrency.yml "$@"
