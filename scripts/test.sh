#!/usr/bin/env bash
# Stage functions and traps are invoked indirectly ("stage_$name", trap strings):
# shellcheck disable=SC2329
#
# Run every test of the smartx.cloudtower collection (the README's test command; CI runs it
# through .ci/run).
#
#   scripts/test.sh                      all stages
#   scripts/test.sh sanity units         only the named stages (in the canonical order)
#   scripts/test.sh --keep integration   keep the temporary tree for inspection
#   scripts/test.sh --list               list the stages
#
# What it does: picks the newest Python >= 3.12 that takes ansible-core 2.21 (else 3.11 with
# ansible-core 2.19), creates or reuses a cached venv with tests/requirements.txt, copies the
# working tree (uncommitted files included) to a temporary ansible_collections/smartx/cloudtower
# tree and runs the stages there, stopping at the first failure. A summary table with each
# stage's duration is printed at the end.
#
# Environment:
#   SMARTX_CLOUDTOWER_CACHE   cache root for venvs (default ${XDG_CACHE_HOME:-~/.cache}/smartx.cloudtower)
#   SMARTX_CLOUDTOWER_PYTHON  force the base Python interpreter
#   CLOUDTOWER_OPENAPI_DIR    OpenAPI specs (default <checkout>/../shared/cloudtower-openapi);
#                             spec-based checks are skipped when it does not exist
#   CT_SANITY_ARGS, CT_UNITS_ARGS, CT_INTEGRATION_ARGS
#                             extra arguments for the ansible-test commands (e.g. CT_SANITY_ARGS="--test pylint")
#   CT_INTEGRATION_SHARDS     integration shards run side by side (default 3)
#   CT_SECRETS_SCAN=0         run the integration suite without -vvv and without the secrets scan of its output
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ALL_STAGES=(changelog sanity simulator units integration lint docs build release ee)
declare -A STAGE_HELP=(
    [changelog]="antsibull-changelog lint (fragments and changelog.yaml)"
    [sanity]="ansible-test sanity --venv (ignore files must stay empty)"
    [simulator]="pytest tests/simulator/tests (the CloudTower simulator's own tests)"
    [units]="ansible-test units --venv (tests/unit)"
    [integration]="ansible-test integration --local against the simulator, then the API contract check"
    [lint]="ansible-lint --profile production (offline)"
    [docs]="antsibull-docs lint-collection-docs --plugin-docs"
    [build]="ansible-galaxy collection build + install, ansible-doc of every plugin and role from the install"
    [release]="the built tarball in a fresh venv (ansible-core + requirements.txt only) runs the backup playbook against the simulator"
    [ee]="tests/ee/check_ee.sh: the execution-environment definition (ansible-builder create, no container engine)"
)

usage() {
    sed -n '/^# Run every test/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    list_stages
}

list_stages() {
    local s
    printf '\nStages:\n'
    for s in "${ALL_STAGES[@]}"; do printf '  %-12s %s\n' "$s" "${STAGE_HELP[$s]}"; done
}

KEEP=
declare -A WANT=()
while (($#)); do
    case $1 in
    --keep) KEEP=1 ;;
    --list) list_stages; exit 0 ;;
    -h | --help) usage; exit 0 ;;
    -*) ct_die "unknown option: $1 (see --help)" ;;
    *)
        [[ -n ${STAGE_HELP[$1]:-} ]] || ct_die "unknown stage: $1 (stages: ${ALL_STAGES[*]})"
        WANT[$1]=1
        ;;
    esac
    shift
done
STAGES=()
for s in "${ALL_STAGES[@]}"; do
    if ((${#WANT[@]} == 0)) || [[ -n ${WANT[$s]:-} ]]; then STAGES+=("$s"); fi
done

# Make the run independent of the caller's Ansible configuration.
unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS ANSIBLE_CONFIG
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}
export PYTHONDONTWRITEBYTECODE=1

TOTAL_START=$(ct_now)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smartx.cloudtower-test.XXXXXX")
mkdir -p "$WORK/notes"
SUMMARY=()   # "name|status|seconds|note"
CURRENT_STAGE=
declare -A done_stage=()

summary() {
    local row name status secs note
    printf '\n%s\n' "================ smartx.cloudtower test summary ================"
    printf '%-13s %-11s %8s  %s\n' STAGE RESULT SECONDS NOTE
    for row in "${SUMMARY[@]}"; do
        IFS='|' read -r name status secs note <<<"$row"
        printf '%-13s %-11s %8s  %s\n' "$name" "$status" "$secs" "$note"
    done
    printf '%-13s %-11s %8s\n' total "$( ((${1:-1} == 0)) && echo passed || echo FAILED)" "$(ct_elapsed "$TOTAL_START")"
    [[ -n ${CT_PY:-} ]] && printf 'Python %s, ansible-core %s, venv %s\n' "$CT_PYVER" "${CT_ANSIBLE_CORE:-?}" "$CT_VENV"
    if [[ -n $KEEP ]]; then
        printf 'Kept the test tree: %s\n' "$WORK"
    fi
}

cleanup() {
    local rc=$?
    # A simulator left behind by an interrupted integration stage.
    if [[ -f $WORK/sim.pid ]]; then
        CT_SIM_PID=$(<"$WORK/sim.pid")
        ct_sim_stop
    fi
    summary "$rc"
    [[ -n $KEEP ]] || rm -rf "$WORK"
    exit "$rc"
}
# on_signal CODE: stop the running stage (and the simulator), then exit.
on_signal() {
    trap '' INT TERM
    ct_interrupt
    if [[ -n ${CURRENT_STAGE:-} && -z ${done_stage[$CURRENT_STAGE]:-} ]]; then
        record "$CURRENT_STAGE" INTERRUPTED "$(ct_elapsed "${t0:-$TOTAL_START}")" "signal"
    fi
    exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

record() { SUMMARY+=("$1|$2|$3|${4:-}"); }
header() { printf '\n==> %s: %s\n' "$1" "$2" >&2; }

# note TEXT: a short remark for the current stage's summary row.
note() { printf '%s' "$*" >"$WORK/notes/$CURRENT_STAGE"; ct_info "$*"; }
SKIP=97
skip() { note "SKIPPED: $*"; exit "$SKIP"; }

# ------------------------------------------------------------------------------------------------
# Stages. Each runs in a subshell (errexit on) from the collection root of the copied tree and
# exits 0 (passed), $SKIP (skipped) or anything else (failed).
# ------------------------------------------------------------------------------------------------

stage_changelog() {
    [[ -f changelogs/config.yaml ]] || skip "no changelogs/config.yaml"
    antsibull-changelog lint
    if [[ -f changelogs/changelog.yaml ]]; then
        antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
    fi
    note "$(find changelogs/fragments -maxdepth 1 \( -name '*.yml' -o -name '*.yaml' \) | wc -l) fragment(s)"
}

stage_sanity() {
    local f bad=0
    for f in tests/sanity/ignore-*.txt; do
        [[ -e $f ]] || continue
        if [[ -s $f ]]; then
            ct_warn "$f is not empty: fix the causes instead of ignoring them:"
            sed -e 's/^/    /' "$f" >&2
            bad=1
        fi
    done
    ((bad == 0)) || exit 1
    # shellcheck disable=SC2086
    ansible-test sanity --venv --python "$CT_PYVER" --color no ${CT_SANITY_ARGS:-}
}

stage_simulator() {
    ct_sim_available . || skip "tests/simulator/cloudtower_sim.py does not exist yet"
    [[ -d tests/simulator/tests ]] || skip "tests/simulator/tests does not exist yet"
    if ct_have_specs; then
        export CLOUDTOWER_OPENAPI_DIR=$SPECS
    else
        ct_warn "OpenAPI specs not found at $SPECS: spec-based simulator tests are expected to skip"
        unset CLOUDTOWER_OPENAPI_DIR
    fi
    local rc=0
    python -m pytest tests/simulator/tests -q -p no:cacheprovider || rc=$?
    ((rc != 5)) || skip "no simulator tests collected"
    return "$rc"
}

stage_units() {
    if ! find tests/unit -name 'test_*.py' -print -quit 2>/dev/null | grep -q .; then
        skip "no unit tests under tests/unit"
    fi
    # shellcheck disable=SC2086
    ansible-test units --venv --python "$CT_PYVER" --color no ${CT_UNITS_ARGS:-}
}

# The whole suite runs at -vvv, and its output, logs, results and the simulators' records are then searched
# for the password and every token the simulators issued (CT_SECRETS_SCAN=0 leaves this out).
secrets_scan_on() { [[ ${CT_SECRETS_SCAN:-1} != 0 ]]; }

# run_integration_shard ROOT LABEL [ansible-test arguments...]: one simulator (recording its API calls)
# and one ansible-test run in the collection tree at ROOT.
run_integration_shard() {
    local root=$1 label=$2
    shift 2
    local user=ct-admin pass
    local -a verbosity=()
    cd "$root"
    pass=$(ct_new_password)
    trap 'ct_sim_stop' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    if secrets_scan_on; then
        (umask 077 && printf '%s\n' "$pass" >"$WORK/secrets-$label.txt")
        export CT_SIM_TOKEN_LOG=$WORK/secrets-$label.txt
        verbosity=(-vvv)
    fi
    ct_sim_start . "$WORK/simulator-$label.log" "$user" "$pass" \
        --state demo --task-seconds 0.2 --record "$WORK/record-$label.jsonl" || exit 1
    ct_info "[$label] simulator at $CT_SIM_URL (pid $CT_SIM_PID); targets: ${*:-all}"
    # ansible-test does not pass the environment to the targets: use integration_config.yml.
    (
        umask 077
        cat >tests/integration/integration_config.yml <<EOF
---
cloudtower_sim_url: '$CT_SIM_URL'
cloudtower_sim_admin_url: '$CT_SIM_URL'
cloudtower_sim_username: '$user'
cloudtower_sim_password: '$pass'
EOF
    )
    local rc=0
    # --local: the targets run with this venv's Python, which has requests and jmespath.
    ansible-test integration --local --python "$CT_PYVER" --color no "${verbosity[@]}" "$@" || rc=$?
    ct_sim_stop
    # The config holds the shard's password; ansible-test copies it into each target's temporary tree and may
    # leave one behind in tests/output.
    rm -f tests/integration/integration_config.yml
    find tests/output -name integration_config.yml -type f -delete 2>/dev/null || true
    python "$CT_LIB_DIR/integration_times.py" . >&2 || true
    if ((rc != 0)); then
        ct_warn "[$label] integration failed; last simulator log lines:"
        tail -n 20 "$WORK/simulator-$label.log" | sed -e 's/^/  sim| /' >&2
    fi
    return "$rc"
}

# scan_integration_for_secrets: the shards' -vvv logs, the simulators' logs and records, and what ansible-test
# left in tests/output, searched for each shard's password and every token its simulator issued.
scan_integration_for_secrets() {
    local -a secrets=() outputs=()
    local file
    for file in "$WORK"/secrets-*.txt; do secrets+=(--secrets "$file"); done
    for file in tests/output "$WORK"/shard*/ansible_collections/"$CT_NAMESPACE"/"$CT_NAME"/tests/output; do
        [[ -d $file ]] && outputs+=("$file")
    done
    header integration "secrets: the suite's -vvv output, logs, records and results searched for passwords and tokens"
    local rc=0
    python tests/integration/targets/secrets_scan/files/scan_secrets.py --min-secrets 2 "${secrets[@]}" \
        "$WORK"/integration-*.log "$WORK"/simulator-*.log "$WORK"/record-*.jsonl "${outputs[@]}" || rc=$?
    rm -f "$WORK"/secrets-*.txt
    return "$rc"
}

stage_integration() {
    ct_sim_available . || skip "tests/simulator/cloudtower_sim.py does not exist yet"
    if ! find tests/integration/targets -mindepth 1 -maxdepth 1 -type d -print -quit 2>/dev/null | grep -q .; then
        skip "no integration targets under tests/integration/targets"
    fi
    rm -f "$WORK"/record-*.jsonl
    if [[ -n ${CT_INTEGRATION_ARGS:-} ]]; then
        # shellcheck disable=SC2086
        (run_integration_shard "$PWD" main $CT_INTEGRATION_ARGS) 2>&1 | tee "$WORK/integration-main.log" || exit $?
    else
        # The targets are independent: shards of about equal run time go side by side, each in its
        # own copy of the tree (ansible-test writes tests/output) with its own simulator.
        local -a shards pids
        local i rc=0 root
        mapfile -t shards < <(python "$CT_LIB_DIR/integration_shards.py" . "${CT_INTEGRATION_SHARDS:-3}")
        for i in "${!shards[@]}"; do
            root=$PWD
            if ((i > 0)); then
                root=$WORK/shard$i/ansible_collections/$CT_NAMESPACE/$CT_NAME
                mkdir -p "$(dirname "$root")"
                cp -a "$PWD" "$root"
            fi
            # shellcheck disable=SC2086
            (run_integration_shard "$root" "shard$i" ${shards[$i]}) >"$WORK/integration-shard$i.log" 2>&1 &
            pids[i]=$!
        done
        for i in "${!shards[@]}"; do
            if wait "${pids[$i]}"; then
                header integration "shard $i passed: ${shards[$i]} (end of its log)"
                tail -n 25 "$WORK/integration-shard$i.log" >&2
            else
                rc=1
                # At -vvv a whole log runs to tens of MB: its end holds the failure and the target's recap.
                header integration "shard $i FAILED: ${shards[$i]} (the last 4000 lines of its log)"
                tail -n 4000 "$WORK/integration-shard$i.log" >&2
            fi
        done
        ((rc == 0)) || exit 1
    fi
    if secrets_scan_on; then
        scan_integration_for_secrets || exit 1
    fi
    local calls record
    calls=$(cat "$WORK"/record-*.jsonl 2>/dev/null | wc -l)
    if [[ ! -f tests/simulator/contract.py ]]; then
        note "contract check SKIPPED: tests/simulator/contract.py does not exist yet ($calls recorded calls)"
    elif ! ct_have_specs; then
        note "contract check SKIPPED: no OpenAPI specs at $SPECS ($calls recorded calls)"
    else
        header integration "API contract check of $calls recorded calls against $SPECS"
        for record in "$WORK"/record-*.jsonl; do
            python tests/simulator/contract.py --specs "$SPECS" "$record"
        done
        note "$calls recorded API calls conform to the OpenAPI specs"
    fi
}

stage_lint() {
    [[ -f .ansible-lint ]] || ct_warn "no .ansible-lint config in the collection root"
    # offline: ansible-lint must find smartx.cloudtower through ANSIBLE_COLLECTIONS_PATH.
    ANSIBLE_COLLECTIONS_PATH=$TREE ansible-lint --profile production --offline
}

stage_ee() {
    [[ -f tests/ee/check_ee.sh ]] || skip "tests/ee/check_ee.sh does not exist"
    bash tests/ee/check_ee.sh "$CT_PY"
}

stage_docs() {
    antsibull-docs lint-collection-docs --plugin-docs .
}

stage_build() {
    local dist=$WORK/dist installed=$WORK/installed tarball bad
    mkdir -p "$dist" "$installed"
    ansible-galaxy collection build --output-path "$dist" .
    tarball=$(find "$dist" -name "$CT_NAMESPACE-$CT_NAME-*.tar.gz" -print -quit)
    [[ -n $tarball ]] || { ct_warn "no tarball in $dist"; exit 1; }
    # Nothing generated or secret may end up in the artifact (galaxy.yml build_ignore).
    bad=$(tar -tzf "$tarball" | grep -E '(^|/)(tests/output|\.ansible|__pycache__|\.pytest_cache|\.git|\.venv)(/|$)|integration_config\.yml$|tests/integration/inventory$|\.py[co]$' || true)
    if [[ -n $bad ]]; then
        ct_warn "the built collection contains files that belong in galaxy.yml build_ignore:"
        while IFS= read -r line; do printf '    %s\n' "$line"; done <<<"$bad" >&2
        exit 1
    fi
    ANSIBLE_COLLECTIONS_PATH=$installed ansible-galaxy collection install --offline -p "$installed" "$tarball"
    # Every documented plugin and every role with argument specs must render with ansible-doc from
    # the installed copy (one ansible-doc call per type).
    local type dir f name out failed=0
    local -a names rendered=()
    for type in module inventory lookup callback connection become cache vars role; do
        names=()
        case $type in
        module) dir=plugins/modules ;;
        role) dir=roles ;;
        *) dir=plugins/$type ;;
        esac
        if [[ $type == role ]]; then
            for f in roles/*/meta/argument_specs.y*ml; do
                [[ -e $f ]] && names+=("$CT_NAMESPACE.$CT_NAME.$(basename "$(dirname "$(dirname "$f")")")")
            done
        else
            for f in "$dir"/*.py; do
                [[ -e $f ]] || continue
                name=$(basename "$f" .py)
                [[ $name == __init__ ]] || names+=("$CT_NAMESPACE.$CT_NAME.$name")
            done
        fi
        ((${#names[@]})) || continue
        # (ansible-core's own internal _protomatter collection warns about its missing MANIFEST.json.)
        if ! out=$(ANSIBLE_COLLECTIONS_PATH=$installed ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false ANSIBLE_NOCOLOR=1 \
            ansible-doc -t "$type" "${names[@]}" 2>&1) ||
            grep 'WARNING\|ERROR' <<<"$out" | grep -qv '_protomatter'; then
            ct_warn "ansible-doc -t $type ${names[*]} failed with the installed collection:"
            printf '%s\n' "$out" | head -n 30 >&2
            failed=1
            continue
        fi
        for name in "${names[@]}"; do
            if ! grep -q "^> .*$name\b" <<<"$out"; then
                ct_warn "ansible-doc -t $type did not render $name from the installed collection"
                failed=1
            fi
        done
        rendered+=("${#names[@]} $type(s)")
    done
    ((failed == 0)) || exit 1
    local IFS=,
    note "$(basename "$tarball"); ansible-doc rendered ${rendered[*]:-nothing} from the installed copy"
}

stage_release() {
    ct_sim_available . || skip "tests/simulator/cloudtower_sim.py does not exist"
    local dist=$WORK/release-dist installed=$WORK/release-collections venv=$WORK/release-venv tarball
    local user=ct-admin pass manifests=$WORK/release-manifests
    ansible-galaxy collection build --output-path "$dist" . >/dev/null
    tarball=$(find "$dist" -name "$CT_NAMESPACE-$CT_NAME-*.tar.gz" -print -quit)
    # A user's machine: ansible-core and the collection's own requirements.txt, nothing from the tests.
    "$CT_PY" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "ansible-core==$CT_ANSIBLE_CORE" -r requirements.txt
    "$venv/bin/ansible-galaxy" collection install --offline -p "$installed" "$tarball" >/dev/null
    pass=$(ct_new_password)
    trap 'ct_sim_stop' EXIT
    ct_sim_start . "$WORK/release-simulator.log" "$user" "$pass" --state demo --task-seconds 0.2 || exit 1
    # Run from outside the checkout, so only the installed copy can provide smartx.cloudtower.
    (
        cd "$WORK"
        CLOUDTOWER_HOST=$CT_SIM_URL CLOUDTOWER_USERNAME=$user CLOUDTOWER_PASSWORD=$pass \
            ANSIBLE_COLLECTIONS_PATH=$installed ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
            "$venv/bin/ansible-playbook" -i localhost, -e ansible_python_interpreter="$venv/bin/python" \
            smartx.cloudtower.backup -e "{\"vm_backup_vms\": [\"web-01\", \"db-01\"], \"vm_backup_dir\": \"$manifests\"}"
    )
    ct_sim_stop
    local count
    count=$(find "$manifests" -name '*.json' | wc -l)
    ((count == 2)) || { ct_warn "expected 2 manifests from the installed collection, found $count"; exit 1; }
    note "$(basename "$tarball") installed in a fresh venv wrote $count manifests"
}

# ------------------------------------------------------------------------------------------------

# run_stage NAME: run stage_NAME from the collection root with errexit on (ct_run puts it in a
# background subshell).
run_stage() {
    set -e
    cd "$COLL"
    "stage_$1"
}

header setup "Python venv and test tree"
t0=$(ct_now)
ct_setup_venv
ct_seed_get_pip
record venv ok "$(ct_elapsed "$t0")" "Python $CT_PYVER, ansible-core $CT_ANSIBLE_CORE"
t0=$(ct_now)
SPECS=$(ct_openapi_dir)
TREE=$WORK/tree
COLL=$(ct_copy_tree "$TREE")
ct_info "Test tree: $COLL"
record copy ok "$(ct_elapsed "$t0")" ""
export CT_PYVER SPECS TREE WORK

for CURRENT_STAGE in "${STAGES[@]}"; do
    header "$CURRENT_STAGE" "${STAGE_HELP[$CURRENT_STAGE]}"
    t0=$(ct_now)
    # Not "|| rc=$?": that would switch errexit off inside the stage too.
    set +e
    ct_run run_stage "$CURRENT_STAGE"
    rc=$?
    set -e
    secs=$(ct_elapsed "$t0")
    stage_note=$(cat "$WORK/notes/$CURRENT_STAGE" 2>/dev/null || true)
    if ((rc == 0)); then
        record "$CURRENT_STAGE" passed "$secs" "$stage_note"
        printf -- '--- %s passed in %s s\n' "$CURRENT_STAGE" "$secs" >&2
    elif ((rc == SKIP)); then
        record "$CURRENT_STAGE" skipped "$secs" "${stage_note#SKIPPED: }"
        printf -- '--- %s skipped (%s)\n' "$CURRENT_STAGE" "${stage_note#SKIPPED: }" >&2
    else
        record "$CURRENT_STAGE" FAILED "$secs" "exit code $rc${stage_note:+; $stage_note}"
        printf -- '--- %s FAILED (exit code %s) after %s s\n' "$CURRENT_STAGE" "$rc" "$secs" >&2
        ((rc == 130 || rc == 143)) && exit "$rc"
        for s in "${STAGES[@]}"; do
            [[ -n ${done_stage[$s]:-} || $s == "$CURRENT_STAGE" ]] && continue
            record "$s" "not run" "" "after the failure of $CURRENT_STAGE"
        done
        exit 1
    fi
    done_stage[$CURRENT_STAGE]=1
done
exit 0
