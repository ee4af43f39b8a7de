#!/usr/bin/env bash
# The collection's playbooks and inventory plugin run through ansible-runner (the library AWX uses),
# with the credentials injected as CLOUDTOWER_* environment variables, against the simulator.
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
# The playbook as the collection under test ships it.
PLAYBOOK=$COLLECTION/playbooks/backup.yml
CREDENTIAL_TYPE=$COLLECTION/docs/awx/credential_type.yml
# The Python that runs the modules: the test Python, which has requests and jmespath.
MODULE_PYTHON=$PY
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for file in "$PLAYBOOK" "$CREDENTIAL_TYPE"; do
    if [[ ! -f $file ]]; then
        echo "FAILED: no ${file#"$COLLECTION"/} in the smartx.cloudtower collection at $COLLECTION" >&2
        exit 1
    fi
done

# ansible-runner is not a dependency of the collection. Use it from the test venv when it is there,
# else install it (from PyPI) into a throw-away venv that also sees the test venv's packages.
if ! "$PY" -c 'import ansible_runner' 2>/dev/null; then
    "$PY" -m venv "$WORK/venv"
    purelib='import sysconfig; print(sysconfig.get_paths()["purelib"])'
    "$PY" -c "$purelib" >"$("$WORK/venv/bin/python" -c "$purelib")/test-venv.pth"
    "$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check 'ansible-runner>=2.3,<3'
    PY=$WORK/venv/bin/python
fi

playbook() { ansible-playbook -i "${INVENTORY_PATH:-localhost,}" -c local -e "@$CONFIG" "$@"; }

playbook reset.yml "$@"
# Not traced: these carry the password.
CLOUDTOWER_HOST=$(read_config cloudtower_sim_url) \
    CLOUDTOWER_USERNAME=$(read_config cloudtower_sim_username) \
    CLOUDTOWER_PASSWORD=$(read_config cloudtower_sim_password) \
    "$PY" run_with_runner.py "$WORK" "$PLAYBOOK" "$CREDENTIAL_TYPE" "$MODULE_PYTHON"
playbook check_requests.yml "$@"
playbook reset.yml "$@"
