# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are for the scripts that source this file
# Sourced by the runme.sh targets (each with needs/target/setup_simulator in its aliases), from their directory.
# Sets CONFIG (the suite's integration_config.yml), PY (the test Python), ANSIBLE_ROLES_PATH (the targets, for
# setup_simulator), ANSIBLE_LOOKUP_PLUGINS (its simulator_admin lookup) and COLLECTION (the collection under
# test), and defines find_simulator.

CONFIG=$(cd ../.. && pwd)/integration_config.yml
PY=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}
ANSIBLE_ROLES_PATH=$(cd .. && pwd)
# setup_simulator's simulator_admin lookup, for playbooks that call the admin API without including the role.
ANSIBLE_LOOKUP_PLUGINS=$(cd ../setup_simulator/lookup_plugins && pwd)
export ANSIBLE_ROLES_PATH ANSIBLE_LOOKUP_PLUGINS

# ansible-test puts the collection under test on ANSIBLE_COLLECTIONS_PATH; from a checkout it is four directories up.
COLLECTION=
IFS=: read -r -a _collection_roots <<<"${ANSIBLE_COLLECTIONS_PATH:-}"
for _candidate in "${_collection_roots[@]/%//ansible_collections/smartx/cloudtower}" "$(cd ../../../.. && pwd)"; do
    if [[ -f $_candidate/galaxy.yml ]]; then
        COLLECTION=$_candidate
        break
    fi
done
[[ -n $COLLECTION ]] || { echo "FAILED: the smartx.cloudtower collection under test was not found" >&2; exit 1; }

# read_config KEY: a value of the suite's integration_config.yml (the simulator's URL and credentials).
read_config() {
    "$PY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))[sys.argv[2]])' "$CONFIG" "$1"
}

# find_simulator: the path of the simulator's entry file, which tests/ of the collection ships.
find_simulator() {
    local sim=$COLLECTION/tests/simulator/cloudtower_sim.py
    [[ -f $sim ]] || { echo "FAILED: $sim not found" >&2; return 1; }
    echo "$sim"
}

# A simulator of the target's own (TLS, a token recorder, one to stop): its pid in SIM_PID.
SIM_PID=

# track_simulator PID: the simulator the target just started in the background, for stop_simulator.
track_simulator() {
    SIM_PID=$1
}

# stop_simulator: stops the target's own simulator, if it runs; for the target's EXIT trap.
stop_simulator() {
    if [[ -n $SIM_PID ]]; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
        SIM_PID=
    fi
}

# wait_for_lines FILE N: until FILE (a simulator's stdout) has N lines (its URL, then with --tls its certificate).
wait_for_lines() {
    for _ in $(seq 100); do
        [[ -f $1 && $(wc -l <"$1") -ge $2 ]] && return 0
        sleep 0.1
    done
    return 1
}

# start_portal_simulator TARGET PREFIX: a 4.6 demo simulator of the target's own with a real iSCSI portal (tgtd; the
# suite's simulator runs none). Exits 0 with a SKIPPED line where the portal cannot run. Sets SIM, WORK (removed on
# exit, with the simulator), PASSWORD (PREFIX + a random part), URL and PORTAL.
start_portal_simulator() {
    SIM=$(find_simulator)
    local reason
    reason=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); from ctsim import dataplane_deps; print(dataplane_deps.portal_unavailable_reason() or "")' \
        "$(dirname "$SIM")")
    if [[ -n $reason ]]; then
        echo "SKIPPED: $1 needs the simulator's iSCSI portal: $reason"
        exit 0
    fi
    WORK=$(mktemp -d)
    trap 'stop_simulator; rm -rf "$WORK"' EXIT
    PASSWORD=$("$PY" -c 'import secrets, sys; print(sys.argv[1] + secrets.token_urlsafe(18))' "$2")
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
}
