#!/usr/bin/env bash
# The "simulator stopped" column of the fault matrix: each subject against a simulator that is stopped before the
# run, and (for the subjects that wait for a task) one that is stopped while the module waits for its task. The seven
# cases run side by side as the hosts of one ansible-playbook run (one controller start-up instead of seven).
# usage: stopped.sh WORKDIR [ansible-playbook args]; writes WORKDIR/stopped.json.
set -eu
WORK=$1
shift
# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
SIM=$(find_simulator)
BEFORE=(vm vm_snapshot lun_snapshot_info vm_backup)
MID_WAIT=(vm vm_snapshot vm_backup)

PASSWORD=$("$PY" -c 'import secrets; print("stopped-" + secrets.token_urlsafe(18))')
umask 077
printf "st_password: '%s'\n" "$PASSWORD" >"$WORK/password.yml"

# launch_sim LABEL TASK_SECONDS: a fresh simulator in the background, its pid in LABEL.pid; sim_url LABEL waits for
# it and prints its URL.
launch_sim() {
    CLOUDTOWER_SIM_PASSWORD=$PASSWORD "$PY" "$SIM" --port 0 --username admin --state demo --task-seconds "$2" \
        >"$WORK/$1.sim.out" 2>"$WORK/$1.sim.err" &
    echo $! >"$WORK/$1.pid"
}

sim_url() {
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

# Whatever happens, no simulator of this script outlives it.
kill_simulators() {
    local pidfile
    for pidfile in "$WORK"/*.pid; do
        [[ -e $pidfile ]] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    return 0
}
trap kill_simulators EXIT

# Stopped before the run: nothing listens at the URL any more (one simulator serves the four subjects: stopped, it
# is the same for all). Stopped while the module waits: a simulator per subject, with tasks long enough to wait for.
launch_sim before 0.2
for subject in "${MID_WAIT[@]}"; do launch_sim "mid-wait-$subject" 6; done
before_url=$(sim_url before)
stop_sim before
{
    echo "[all:vars]"
    echo "ansible_connection=local"
    echo "ansible_python_interpreter=$PY"
    echo "[stopped]"
    for subject in "${BEFORE[@]}"; do
        mkdir -p "$WORK/before-$subject.manifests"
        echo "before-$subject st_subject=$subject st_url=$before_url st_dir=$WORK/before-$subject.manifests"
        printf '%s\n' "before|$subject|$before_url" >>"$WORK/cases.txt"
    done
    for subject in "${MID_WAIT[@]}"; do
        url=$(sim_url "mid-wait-$subject")
        mkdir -p "$WORK/mid-wait-$subject.manifests"
        echo "mid-wait-$subject st_subject=$subject st_url=$url st_dir=$WORK/mid-wait-$subject.manifests"
        printf '%s\n' "mid-wait|$subject|$url" >>"$WORK/cases.txt"
    done
} >"$WORK/inventory.ini"

# Stops each mid-wait simulator the moment it has accepted a mutation and then been asked for tasks (the waiter's
# first poll; waiting for the first task to exist was not enough on a busy machine: a role may still be reading
# VMs then, and the stop hit that read instead of the wait), and writes the ids of its tasks to LABEL.tasks.
"$PY" - "$WORK" "${MID_WAIT[@]}" <<'PYEOF' &
import json, os, signal, sys, time, urllib.request
work, subjects = sys.argv[1], sys.argv[2:]
cases = {}
for line in open(os.path.join(work, "cases.txt")):
    when, subject, url = line.rstrip("\n").split("|")
    if when == "mid-wait":
        cases["mid-wait-" + subject] = url
deadline = time.time() + 120
while cases and time.time() < deadline:
    for label, url in list(cases.items()):
        try:
            log = json.load(urllib.request.urlopen(url + "/__sim/requests"))
        except OSError:
            continue
        requests = log.get("requests", log) if isinstance(log, dict) else log
        mutated = [i for i, request in enumerate(requests) if request.get("mutating") and request.get("status") == 200]
        if mutated and any(request.get("endpoint") == "get-tasks" for request in requests[mutated[0]:]):
            state = json.load(urllib.request.urlopen(url + "/__sim/state?resource=tasks"))
            os.kill(int(open(os.path.join(work, label + ".pid")).read()), signal.SIGTERM)
            with open(os.path.join(work, label + ".tasks"), "w") as stream:
                stream.write(",".join(t["id"] for t in state["tasks"]))
            del cases[label]
    time.sleep(0.1)
PYEOF
watcher=$!
ansible-playbook -i "$WORK/inventory.ini" -f 7 stopped.yml -e "st_out=$WORK/stopped.results.json" -e "@$WORK/password.yml" \
    "$@" >"$WORK/stopped.log" 2>&1 || true
wait "$watcher" || true
for subject in "${MID_WAIT[@]}"; do stop_sim "mid-wait-$subject"; done

# ----- judge --------------------------------------------------------------------------------------------------
"$PY" - "$WORK" "$PASSWORD" <<'PYEOF'
import json, os, sys
work, password = sys.argv[1], sys.argv[2]
resources = {"vm": "fm-vm", "vm_snapshot": "db-01", "lun_snapshot_info": "db-01", "vm_backup": "db-01"}
results_path = os.path.join(work, "stopped.results.json")
results = json.load(open(results_path)) if os.path.exists(results_path) else {}
findings, cells, survived = [], 0, 0
for line in open(os.path.join(work, "cases.txt")):
    when, subject, url = line.rstrip("\n").split("|")
    host = "%s-%s" % (when, subject)
    label = "simulator_stopped_%s x %s" % (when.replace("-", "_"), subject)
    cells += 1
    problems = []
    if host not in results:
        problems.append("the playbook wrote no result: " + open(os.path.join(work, "stopped.log")).read()[-2000:])
    else:
        failed, message = results[host]
        if not failed:
            problems.append("succeeded against a stopped simulator")
        if when == "mid-wait":
            tasks_path = os.path.join(work, host + ".tasks")
            tasks = open(tasks_path).read().split(",") if os.path.exists(tasks_path) else []
            if not tasks:
                problems.append("the simulator was not stopped during a wait (no mutation, then get-tasks, seen)")
            wanted = [url, resources[subject], "get-tasks"] + [t for t in tasks if t]
        else:
            wanted = [url, resources[subject], "login"]
        problems += ["the message does not name %s: %s" % (w, message) for w in wanted if w not in message]
        if password in message:
            problems.append("the message holds the password")
    manifests = os.path.join(work, "%s.manifests" % host)
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
