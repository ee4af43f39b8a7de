#!/usr/bin/env bash
# The smartx.cloudtower.cloudtower inventory plugin through ansible-inventory and ansible-playbook,
# against the simulator named in integration_config.yml (ansible-test passes no environment).
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Credentials reach the plugin as the same CLOUDTOWER_* variables the modules read. Not traced (no set -x).
CLOUDTOWER_HOST=$(read_config cloudtower_sim_url)
CLOUDTOWER_USERNAME=$(read_config cloudtower_sim_username)
CLOUDTOWER_PASSWORD=$(read_config cloudtower_sim_password)
export CLOUDTOWER_HOST CLOUDTOWER_USERNAME CLOUDTOWER_PASSWORD
# A source that fails to parse must fail the command, not leave an empty inventory behind.
export ANSIBLE_INVENTORY_UNPARSED_FAILED=true

# ansible-test's inventory sets the Python interpreter of localhost for the uri tasks of setup_simulator.
playbook() { ansible-playbook -i "${INVENTORY_PATH:-localhost,}" -c local -e "@$CONFIG" "$@"; }
step() { printf '\n=== %s\n' "$*"; }
# no_secret PATH...: the password must not appear in these files.
no_secret() {
    if grep -rqF -- "$CLOUDTOWER_PASSWORD" "$@"; then
        echo "FAILED: the password appears in $*" >&2
        exit 1
    fi
}

step "ansible-inventory --list and --graph over the demo VMs"
playbook playbooks/reset.yml "$@"
ansible-inventory -i sources/basic.cloudtower.yml --list >"$WORK/list.json" 2>"$WORK/list.err"
ansible-inventory -i sources/basic.cloudtower.yml --graph >"$WORK/graph.txt" 2>"$WORK/graph.err"
no_secret "$WORK"
"$PY" check_list.py "$WORK/list.json" "$WORK/graph.txt"
playbook playbooks/requests.yml -e expected_logins=2 -e expected_queries=2 "$@"

step "compose, groups, keyed_groups, strict and server-side filters in a playbook"
playbook playbooks/reset.yml "$@"
ansible-playbook -i sources/constructed.cloudtower.yml playbooks/check_hosts.yml "$@"
playbook playbooks/requests.yml -e expected_logins=1 -e expected_queries=1 "$@"

step "cache and token: the second run reads the cache, which holds VM data and no secret"
playbook playbooks/reset.yml "$@"
# A token (as an AWX credential or cloudtower_auth would give) instead of the password.
TOKEN=$("$PY" - <<'PYEOF'
import json, os, urllib.request
body = json.dumps({"username": os.environ["CLOUDTOWER_USERNAME"], "password": os.environ["CLOUDTOWER_PASSWORD"], "source": "LOCAL"})
request = urllib.request.Request(os.environ["CLOUDTOWER_HOST"] + "/v2/api/login", body.encode(), {"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request))["data"]["token"])
PYEOF
)
(
    export ANSIBLE_INVENTORY_CACHE_CONNECTION=$WORK/cache CLOUDTOWER_TOKEN=$TOKEN
    unset CLOUDTOWER_USERNAME CLOUDTOWER_PASSWORD
    ansible-inventory -i sources/cached.cloudtower.yml --list >"$WORK/cached-1.json"
    ansible-inventory -i sources/cached.cloudtower.yml --list >"$WORK/cached-2.json"
)
cmp "$WORK/cached-1.json" "$WORK/cached-2.json"
[[ -n $(ls -A "$WORK/cache") ]] || { echo "FAILED: no cache file written" >&2; exit 1; }
grep -qF 'web-01' "$WORK/cache"/* || { echo "FAILED: the cache holds no VM data" >&2; exit 1; }
no_secret "$WORK"
if grep -rqF -- "$TOKEN" "$WORK"; then
    echo "FAILED: the token appears in the cache or the output" >&2
    exit 1
fi
# The login above, then one query: the second run came from the cache.
playbook playbooks/requests.yml -e expected_logins=1 -e expected_queries=1 "$@"
# ansible-inventory has --flush-cache from ansible-core 2.19 on; before, ansible-playbook's flushes the same cache.
if ansible-inventory --help | grep -q -- --flush-cache; then
    ANSIBLE_INVENTORY_CACHE_CONNECTION=$WORK/cache ansible-inventory -i sources/cached.cloudtower.yml --list --flush-cache >/dev/null
else
    ANSIBLE_INVENTORY_CACHE_CONNECTION=$WORK/cache ansible-playbook -i sources/cached.cloudtower.yml --flush-cache playbooks/noop.yml >/dev/null
fi
playbook playbooks/requests.yml -e expected_logins=2 -e expected_queries=2 "$@"

step "2500 VMs come in pages of 1000: three queries, no request per VM"
playbook playbooks/reset.yml -e sim_vms=2500 "$@"
ansible-inventory -i sources/paged.cloudtower.yml --list >"$WORK/paged.json"
"$PY" - "$WORK/paged.json" <<'PYEOF'
import json, sys
inventory = json.load(open(sys.argv[1]))
hosts = inventory["_meta"]["hostvars"]
assert len(hosts) == 2500, len(hosts)
grouped = sum(len(inventory[group].get("hosts", [])) for group in inventory if group.startswith("status_"))
assert grouped == 2500, grouped
print("2500 hosts, each in a status group")
PYEOF
playbook playbooks/requests.yml -e expected_logins=1 -e expected_queries=3 "$@"

step "a wrong password fails the command with the API's error and without the password"
if CLOUDTOWER_PASSWORD="wrong-$CLOUDTOWER_PASSWORD" ansible-inventory -i sources/basic.cloudtower.yml --list >"$WORK/bad.out" 2>"$WORK/bad.err"; then
    echo "FAILED: ansible-inventory succeeded with a wrong password" >&2
    exit 1
fi
grep -q 'login failed with HTTP' "$WORK/bad.err" || { echo "FAILED: no login error in:" >&2; cat "$WORK/bad.err" >&2; exit 1; }
if grep -qF -- "wrong-$CLOUDTOWER_PASSWORD" "$WORK/bad.out" "$WORK/bad.err"; then
    echo "FAILED: the wrong password was printed" >&2
    exit 1
fi

playbook playbooks/reset.yml "$@"
