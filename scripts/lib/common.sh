# shellcheck shell=bash
# Variables set here (CT_PY, CT_PYVER, ...) are used by the scripts that source this file.
# shellcheck disable=SC2034
# Shared helpers for scripts/test.sh and scripts/demo.sh (sourced, not executed).
#
# Provides:
#   ct_info/ct_warn/ct_die           logging
#   ct_setup_venv                    pick a Python, create/reuse the cached venv (sets CT_PY, CT_VENV, ...)
#   ct_seed_get_pip                  offline stand-in for ansible-test's get-pip download
#   ct_copy_tree DIR                 copy the working tree to DIR/ansible_collections/smartx/cloudtower
#   ct_new_password                  random password (printed to stdout for capture; never log it)
#   ct_sim_available / ct_sim_start / ct_sim_stop   the CloudTower simulator in the background
#   ct_openapi_dir                   where the OpenAPI specs are (may not exist)
#
# Environment knobs:
#   SMARTX_CLOUDTOWER_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/smartx.cloudtower)
#   SMARTX_CLOUDTOWER_PYTHON  force the base interpreter (path or command)
#   CLOUDTOWER_OPENAPI_DIR    OpenAPI specs (default <checkout>/../shared/cloudtower-openapi)

# Bump when the way the venv is built changes, so cached venvs are rebuilt.
CT_VENV_REVISION=1

CT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
CT_ROOT=$(cd "$CT_LIB_DIR/../.." && pwd -P)
CT_CACHE=${SMARTX_CLOUDTOWER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smartx.cloudtower}
CT_NAMESPACE=smartx
CT_NAME=cloudtower

ct_info() { printf '%s\n' "$*" >&2; }
ct_warn() { printf 'WARNING: %s\n' "$*" >&2; }
ct_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Seconds since the epoch with microseconds (bash >= 5).
ct_now() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }
# ct_elapsed START -> "12.3"
ct_elapsed() { awk -v s="$1" -v e="$(ct_now)" 'BEGIN { printf "%.1f", e - s }'; }

ct_openapi_dir() {
    local d=${CLOUDTOWER_OPENAPI_DIR:-$CT_ROOT/../shared/cloudtower-openapi}
    if [[ -d $d ]]; then (cd "$d" && pwd -P); else printf '%s' "$d"; fi
}

ct_have_specs() {
    local d
    d=$(ct_openapi_dir)
    [[ -d $d ]] && compgen -G "$d/*.json" >/dev/null
}

# --------------------------------------------------------------------------------------------
# Child processes and signals
# --------------------------------------------------------------------------------------------

# bash runs a trap only after the foreground command ends, so a SIGTERM sent to a script that waits
# for a long ansible-test run would wait too. ct_run runs the command in the background and waits
# for it (wait returns at once on a trapped signal); ct_interrupt, called from the script's INT/TERM
# trap, then ends the command's whole process tree, simulator included.
CT_FG_PID=

# Call it outside any "||"/"&&"/"if" context when the command relies on errexit (bash ignores set -e
# in those contexts, even in the background subshell). The command keeps this script's stdin.
ct_run() {
    "$@" <&0 &
    CT_FG_PID=$!
    local rc=0
    wait "$CT_FG_PID" || rc=$?
    CT_FG_PID=
    return "$rc"
}

# ct_kill_tree PID [SIGNAL]: signal PID and all its descendants (children first).
ct_kill_tree() {
    local pid=$1 sig=${2:-TERM} child
    for child in $(ps -A -o pid= -o ppid= 2>/dev/null | awk -v p="$pid" '$2 == p { print $1 }'); do
        ct_kill_tree "$child" "$sig"
    done
    kill "-$sig" "$pid" 2>/dev/null || true
}

# ct_interrupt: end the command started by ct_run (if any) and wait for it.
ct_interrupt() {
    if [[ -n ${CT_FG_PID:-} ]]; then
        ct_warn "interrupted: stopping process $CT_FG_PID and its children"
        ct_kill_tree "$CT_FG_PID" TERM
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 "$CT_FG_PID" 2>/dev/null || break
            sleep 0.1
        done
        ct_kill_tree "$CT_FG_PID" KILL
        wait "$CT_FG_PID" 2>/dev/null || true
        CT_FG_PID=
    fi
}

# --------------------------------------------------------------------------------------------
# Python selection
# --------------------------------------------------------------------------------------------

# Print "MAJOR.MINOR FULLVERSION REALPATH" for an interpreter that works and has venv + ensurepip,
# or nothing. (pyenv shims for versions that are not active exit 127, so they are filtered here.)
_ct_probe_python() {
    local cand=$1 out
    out=$("$cand" - 2>/dev/null <<'EOF'
import sys, os, platform
import venv, ensurepip  # noqa: F401  (both are needed to build the venv)
print("%d.%d %s %s" % (sys.version_info[0], sys.version_info[1], platform.python_version(),
                       os.path.realpath(sys.executable)))
EOF
) || return 0
    [[ -n $out ]] && printf '%s\n' "$out"
}

# Candidate interpreters, newest first, one "MAJOR.MINOR FULL PATH" line each (deduplicated by path).
_ct_python_candidates() {
    local -a cands=()
    local n v p
    if [[ -n ${SMARTX_CLOUDTOWER_PYTHON:-} ]]; then
        cands+=("$SMARTX_CLOUDTOWER_PYTHON")
    else
        for n in 20 19 18 17 16 15 14 13 12 11; do
            cands+=("python3.$n")
        done
        if command -v pyenv >/dev/null 2>&1; then
            while read -r v; do
                [[ $v =~ ^3\.([0-9]+)\.[0-9]+$ ]] || continue
                (( BASH_REMATCH[1] >= 11 )) || continue
                p=$(pyenv prefix "$v" 2>/dev/null) || continue
                cands+=("$p/bin/python3.${BASH_REMATCH[1]}")
            done < <(pyenv versions --bare 2>/dev/null)
        fi
        for n in 20 19 18 17 16 15 14 13 12 11; do
            cands+=("/usr/local/bin/python3.$n" "/usr/bin/python3.$n")
        done
        cands+=(python3)
    fi
    local c
    for c in "${cands[@]}"; do
        if [[ $c == */* ]]; then
            [[ -x $c ]] || continue
        else
            command -v "$c" >/dev/null 2>&1 || continue
        fi
        _ct_probe_python "$c"
    done | awk '!seen[$3]++' | sort -t' ' -k2,2Vr
}

# _ct_venv_key PYFULL PYPATH -> short hash of everything the venv depends on
_ct_venv_key() {
    {
        printf 'rev=%s\npython=%s %s\n' "$CT_VENV_REVISION" "$1" "$2"
        cat "$CT_ROOT/tests/requirements.txt" "$CT_ROOT/requirements.txt" 2>/dev/null
    } | sha256sum | cut -c1-12
}

# _ct_build_venv BASEPY DIR LOG: create DIR and install tests/requirements.txt into it.
_ct_build_venv() {
    local base=$1 dir=$2 log=$3
    rm -rf "$dir"
    {
        "$base" -m venv "$dir" &&
            "$dir/bin/python" -m pip install --disable-pip-version-check -r "$CT_ROOT/tests/requirements.txt"
    } >"$log" 2>&1 || return 1
    # ansible-core must be 2.21 on Python >= 3.12 (the newest the harness targets) and >= 2.19 otherwise.
    "$dir/bin/python" - >>"$log" 2>&1 <<'EOF' || return 1
import sys
from ansible.release import __version__ as v
major, minor = (int(x) for x in v.split(".")[:2])
want = (2, 21) if sys.version_info >= (3, 12) else (2, 19)
print("ansible-core", v, "on Python", sys.version.split()[0])
sys.exit(0 if (major, minor) >= want else 1)
EOF
    printf '%s\n' "$(date -u +%FT%TZ)" >"$dir/.ct-ready"
}

# _ct_prune_venvs KEEP: remove cached venvs (other than KEEP) unused for more than 30 days.
_ct_prune_venvs() {
    local d
    for d in "$CT_CACHE"/venv/py*/; do
        d=${d%/}
        [[ -d $d && $d != "$1" && -f $d/.ct-ready ]] || continue
        if [[ -n $(find "$d/.ct-ready" -mtime +30 2>/dev/null) ]]; then
            ct_info "Removing unused cached venv $d"
            rm -rf "$d" "$d.log" "$d.lock" "$d.failed"
        fi
    done
}

# ct_setup_venv: choose the newest usable Python (>= 3.12 with ansible-core 2.21, else 3.11 with 2.19),
# create or reuse its venv under $CT_CACHE, and set:
#   CT_VENV CT_PY (venv python) CT_PYVER (MAJOR.MINOR) CT_ANSIBLE_CORE (version) CT_BASE_PY
ct_setup_venv() {
    [[ -f $CT_ROOT/tests/requirements.txt ]] || ct_die "missing $CT_ROOT/tests/requirements.txt"
    mkdir -p "$CT_CACHE/venv"
    local -a lines=()
    mapfile -t lines < <(_ct_python_candidates)
    ((${#lines[@]})) || ct_die "no usable Python 3 with venv+ensurepip found (need >= 3.11; set SMARTX_CLOUDTOWER_PYTHON)"
    # Pass 1 skips interpreters whose venv failed to build in the last 12 h (so a Python that PyPI
    # has no wheels for does not cost every run a failed install); pass 2, only reached when nothing
    # else worked, retries them.
    local pass line
    declare -gA _CT_TRIED=()
    for pass in 1 2; do
        for line in "${lines[@]}"; do
            _ct_try_venv "$pass" "$line" && return 0
        done
    done
    ct_die "could not build a venv with any interpreter: ${lines[*]}"
}

# _ct_try_venv PASS "MAJOR.MINOR FULL PATH": reuse or build that interpreter's venv; on success set
# the CT_* variables and return 0.
_ct_try_venv() {
    local pass=$1 mm full path key dir log found='' lock_fd
    read -r mm full path <<<"$2"
    [[ $(printf '%s\n3.11\n' "$mm" | sort -V | head -1) == 3.11 ]] || return 1 # older than 3.11
    key=$(_ct_venv_key "$full" "$path")
    dir="$CT_CACHE/venv/py$full-$key"
    log="$dir.log"
    # Serialise concurrent runs building the same venv.
    exec {lock_fd}>"$dir.lock"
    command -v flock >/dev/null 2>&1 && flock "$lock_fd"
    if [[ -f $dir/.ct-ready && -x $dir/bin/python ]]; then
        ct_info "Using cached venv $dir (Python $full)"
        found=1
    elif ((pass == 1)) && [[ -f $dir.failed && -n $(find "$dir.failed" -mmin -720 2>/dev/null) ]]; then
        ct_info "Skipping Python $full for now: its venv failed to build recently (see $log)"
    elif [[ -n ${_CT_TRIED[$dir]:-} ]]; then
        : # failed in pass 1 of this run already
    else
        _CT_TRIED[$dir]=1
        ct_info "Creating venv $dir (Python $full from $path); log: $log"
        if _ct_build_venv "$path" "$dir" "$log"; then
            found=1
            rm -f "$dir.failed"
        else
            ct_warn "venv for Python $full failed (see $log); trying the next interpreter"
            tail -n 15 "$log" >&2 || true
            rm -rf "$dir"
            date -u +%FT%TZ >"$dir.failed"
        fi
    fi
    exec {lock_fd}>&-
    [[ -n $found ]] || return 1
    CT_VENV=$dir
    CT_PY=$dir/bin/python
    CT_PYVER=$mm
    CT_BASE_PY=$path
    CT_ANSIBLE_CORE=$("$CT_PY" -c 'from ansible.release import __version__ as v; print(v)')
    touch "$dir/.ct-ready"
    export PATH="$CT_VENV/bin:$PATH"
    export VIRTUAL_ENV=$CT_VENV
    ct_info "Python $full ($CT_PY), ansible-core $CT_ANSIBLE_CORE"
    _ct_prune_venvs "$dir"
    return 0
}

# --------------------------------------------------------------------------------------------
# ansible-test offline bootstrap
# --------------------------------------------------------------------------------------------

# ansible-test --venv downloads get-pip-<ver>.py from a host that may be unreachable. It uses a
# cached copy at ~/.ansible/test/cache/get_pip_<ver with _>.py when present: seed a stand-in there
# (only when missing) for every pip version the installed ansible-test asks for.
ct_seed_get_pip() {
    local ver f
    local cache_dir="$HOME/.ansible/test/cache"
    while read -r ver; do
        [[ -n $ver ]] || continue
        f="$cache_dir/get_pip_${ver//./_}.py"
        if [[ ! -f $f ]]; then
            mkdir -p "$cache_dir"
            cp "$CT_LIB_DIR/get_pip_standin.py" "$f.tmp.$$" && mv "$f.tmp.$$" "$f"
            ct_info "Seeded offline pip bootstrap stand-in: $f"
        fi
    done < <("$CT_PY" "$CT_LIB_DIR/ansible_test_pip_versions.py")
}

# --------------------------------------------------------------------------------------------
# Working-tree copy
# --------------------------------------------------------------------------------------------

# ct_copy_tree DEST: copy the checkout's working tree (tracked, untracked and modified files) into
# DEST/ansible_collections/smartx/cloudtower, leaving out VCS data, caches and generated output.
# Prints the collection path.
ct_copy_tree() {
    local dest=$1/ansible_collections/$CT_NAMESPACE/$CT_NAME
    mkdir -p "$dest"
    tar -C "$CT_ROOT" \
        --anchored \
        --exclude=./.git \
        --exclude=./.venv \
        --exclude=./venv \
        --exclude=./.tox \
        --exclude=./tests/output \
        --exclude=./tests/integration/inventory \
        --exclude=./tests/integration/integration_config.yml \
        --exclude=./.ansible \
        --exclude=./demo-output \
        --exclude=./benchmarks/results \
        --no-wildcards-match-slash --exclude='./*.tar.gz' --wildcards-match-slash \
        --no-anchored \
        --exclude=__pycache__ \
        --exclude=.pytest_cache \
        --exclude=.mypy_cache \
        --exclude=.ruff_cache \
        --exclude='*.py[co]' \
        -cf - . | tar -C "$dest" -xf - || ct_die "copying $CT_ROOT to $dest failed"
    printf '%s' "$dest"
}

ct_new_password() {
    "${CT_PY:-python3}" -c 'import secrets; print("Ct-" + secrets.token_urlsafe(24))'
}

# --------------------------------------------------------------------------------------------
# Simulator
# --------------------------------------------------------------------------------------------

# ct_sim_available ROOT: true when the simulator exists in the given tree.
ct_sim_available() { [[ -f $1/tests/simulator/cloudtower_sim.py ]]; }

# ct_sim_start ROOT LOGFILE USER PASS [extra simulator args...]
# Starts the simulator in the background; sets CT_SIM_PID and CT_SIM_URL. The caller must arrange
# for ct_sim_stop to run on exit (trap). The password goes through $CLOUDTOWER_SIM_PASSWORD (the
# simulator's default for --password), so it shows neither in the output nor in `ps`.
ct_sim_start() {
    local root=$1 log=$2 user=$3 pass=$4
    shift 4
    : >"$log"
    # With CT_SIM_TOKEN_LOG set, every token the simulator issues is appended to that file, for a secrets scan.
    local -a sim=("$root/tests/simulator/cloudtower_sim.py")
    if [[ -n ${CT_SIM_TOKEN_LOG:-} ]]; then
        sim=("$root/tests/integration/targets/secrets_scan/files/record_tokens.py" --sim "${sim[0]}" --token-log "$CT_SIM_TOKEN_LOG")
    fi
    PYTHONUNBUFFERED=1 CLOUDTOWER_OPENAPI_DIR=$(ct_openapi_dir) CLOUDTOWER_SIM_PASSWORD=$pass \
        "$CT_PY" "${sim[@]}" --host 127.0.0.1 --port 0 \
        --username "$user" "$@" >"$log" 2>&1 &
    CT_SIM_PID=$!
    # Watchdog: should this script be killed outright (SIGKILL, no traps), stop the simulator anyway.
    local script_pid=$$ sim_pid=$CT_SIM_PID
    (
        trap - EXIT INT TERM
        while kill -0 "$script_pid" 2>/dev/null && kill -0 "$sim_pid" 2>/dev/null; do sleep 1; done
        kill -TERM "$sim_pid" 2>/dev/null
    ) </dev/null >/dev/null 2>&1 &
    CT_SIM_WATCHDOG=$!
    local i line
    for ((i = 0; i < 300; i++)); do
        line=$(grep -m1 -o 'listening on https\?://[^[:space:]]*' "$log" 2>/dev/null || true)
        if [[ -n $line ]]; then
            CT_SIM_URL=${line#listening on }
            CT_SIM_URL=${CT_SIM_URL%/}
            return 0
        fi
        if ! kill -0 "$CT_SIM_PID" 2>/dev/null; then
            wait "$CT_SIM_PID" 2>/dev/null || true
            CT_SIM_PID=
            ct_warn "simulator exited before it was ready; its output:"
            sed -e 's/^/  sim| /' "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    ct_warn "simulator did not report its address within 30 s; its output:"
    sed -e 's/^/  sim| /' "$log" >&2
    ct_sim_stop
    return 1
}

# ct_sim_stop: SIGTERM the simulator and wait for it (idempotent).
ct_sim_stop() {
    if [[ -n ${CT_SIM_PID:-} ]]; then
        kill -TERM "$CT_SIM_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 "$CT_SIM_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$CT_SIM_PID" 2>/dev/null || true
        wait "$CT_SIM_PID" 2>/dev/null || true
        CT_SIM_PID=
    fi
    if [[ -n ${CT_SIM_WATCHDOG:-} ]]; then
        kill "$CT_SIM_WATCHDOG" 2>/dev/null || true
        wait "$CT_SIM_WATCHDOG" 2>/dev/null || true
        CT_SIM_WATCHDOG=
    fi
}
