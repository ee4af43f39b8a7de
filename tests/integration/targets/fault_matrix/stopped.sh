#!/usr/bin/env bash
# The "simulator stopped" column of the fault matrix: each subject against a simulator that is stopped before the
# run, and (for the subjects that wait for a task) one that is stopped while the module waits for its task.
# usage: stopped.sh WORKDIR [ansible-playbook args]; writes WORKDIR/stopped.json.
set -eu
WORK=$1
shift
# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
SIM=$(find_simulator)

PASSWORD=$("$PY" -c 'import secrets; print("stopped-" + secrets.token_urlsafe(18))')
umask 077
printf "st_password: '%s'\n" "$PASSWORD" >"$WORK/password.yml"
EXTRA=("$@")

# start_sim LABEL TASK_SECONDS: a fresh simulator of the case; prints its URL, records its pid in LABEL.pid.
start_sim() {
    CLOUDTOWER_SIM_PASSWORD=$PASSWORD "$PY" "$SIM" --port 0 --username admin --state demo --task-seconds "$2" \
        >"$WORK/$1.sim.out" 2>"$WORK/$1.sim.err" &
    echo $! >"$WORK/$1.pid"
    for _ in $(seq 300); do
        grep -q listening "$WORK/$1.sim.out" 2>/dev/null && break
        sleep 0.1
    done
    sed -n '1s/^CloudTower simulator listening on //p' "$WORK/$1.sim.out"
}

stop_sim() {
    local pid
    pid=$(cat "$WORK/$1.pid" 2>/dev/null || true)
    if [[ -n $pid ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rm -f "$WORK/$1.pid"
    fi
}

# run_subject SUBJECT LABEL URL: the playbook, writing LABEL.result.
run_subject() {
    mkdir -p "$WORK/$2.manifests"
    ansible-playbook -i "${INVENTORY_PATH:-localhost,}" -c local stopped.yml -e "st_subject=$1" -e "st_url=$3" \
        -e "st_dir=$WORK/$2.manifests" -e "st_out=$WORK/$2.result" -e "@$WORK/password.yml" "${EXTRA[@]}" >"$WORK/$2.log" 2>&1
}

# Stopped before the run: nothing listens at the URL any more.
stopped_before() {
    local label=before-$1 url
    url=$(start_sim "$label" 0.2)
    stop_sim "$label"
    run_subject "$1" "$label" "$url" || true
    printf '%s\n' "before|$1|$url|" >"$WORK/$label.case"
}

# Stopped while the module waits for its task: the moment the simulator, after accepting a mutation, has been asked
# for tasks (the waiter's first poll). Waiting for the first task to exist was not enough on a busy machine: a role may still be reading
# VMs then, and the stop hit that read instead of the wait.
stopped_mid_wait() {
    local label=mid-wait-$1 url play tasks
    url=$(start_sim "$label" 6)
    run_subject "$1" "$label" "$url" &
    play=$!
    tasks=$("$PY" - "$url" <<'PYEOF'
import json, sys, time, urllib.request
url = sys.argv[1]
deadline = time.time() + 120
while time.time() < deadline:
    log = json.load(urllib.request.urlopen(url + "/__sim/requests"))
    requests = log.get("requests", log) if isinstance(log, dict) else log
    mutated = [i for i, request in enumerate(requests) if request.get("mutating") and request.get("status") == 200]
    if mutated and any(request.get("endpoint") == "get-tasks" for request in requests[mutated[0]:]):
        state = json.load(urllib.request.urlopen(url + "/__sim/state?resource=tasks"))
        print(",".join(t["id"] for t in state["tasks"]))
        break
    time.sleep(0.1)
PYEOF
)
    stop_sim "$label"
    wait "$play" || true
    printf '%s\n' "mid-wait|$1|$url|$tasks" >"$WORK/$label.case"
}

# Whatever happens, no simulator of this script outlives it.
kill_simulators() {
    local pidfile
    for pidfile in "$WORK"/*.pid; do
        [[ -e $pidfile ]] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    return 0
}
trap kill_simulators EXIT

# The cases are independent (a simulator each): run them side by side.
cases=()
for subject in vm vm_snapshot lun_snapshot_info vm_backup; do
    stopped_before "$subject" &
    cases+=($!)
done
for subject in vm vm_snapshot vm_backup; do
    stopped_mid_wait "$subject" &
    cases+=($!)
done
for pid in "${cases[@]}"; do wait "$pid" || true; done
kill_simulators
cat "$WORK"/*.case >"$WORK/cases.txt"

# ----- judge --------------------------------------------------------------------------------------------------
"$PY" - "$WORK" "$PASSWORD" <<'PYEOF'
import json, os, sys
work, password = sys.argv[1], sys.argv[2]
resources = {"vm": "fm-vm", "vm_snapshot": "db-01", "lun_snapshot_info": "db-01", "vm_backup": "db-01"}
findings, cells, survived = [], 0, 0
for line in open(os.path.join(work, "cases.txt")):
    when, subject, url, tasks = line.rstrip("\n").split("|")
    label = "simulator_stopped_%s x %s" % (when.replace("-", "_"), subject)
    cells += 1
    problems = []
    result_path = os.path.join(work, "%s-%s.result" % (when, subject))
    if not os.path.exists(result_path):
        problems.append("the playbook wrote no result: " + open(os.path.join(work, "%s-%s.log" % (when, subject))).read()[-2000:])
    else:
        result = json.load(open(result_path))
        message = result["msg"]
        if not result["failed"]:
            problems.append("succeeded against a stopped simulator")
        wanted = [url, resources[subject]] + (["get-tasks"] + [t for t in tasks.split(",") if t] if when == "mid-wait" else ["login"])
        problems += ["the message does not name %s: %s" % (w, message) for w in wanted if w not in message]
        if password in message:
            problems.append("the message holds the password")
    manifests = os.path.join(work, "%s-%s.manifests" % (when, subject))
    left = [os.path.join(d, f) for d, _s, files in os.walk(manifests) for f in files]
    if left:
        problems.append("files left in the manifest directory: %s" % left)
    if problems:
        findings += ["%s: %s" % (label, p) for p in problems]
    else:
        survived += 1
json.dump({"tally": {"cells": cells, "survived": survived}, "findings": findings}, open(os.path.join(work, "stopped.json"), "w"))
print("simulator stopped: %d cell(s), %d survived" % (cells, survived))
for finding in findings:
    print("  - " + finding)
sys.exit(1 if findings else 0)
PYEOF
