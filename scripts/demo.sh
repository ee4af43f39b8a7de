#!/usr/bin/env bash
# The README's main job: back up a few VMs against the bundled CloudTower simulator (started and stopped here).
#
#   scripts/demo.sh                          run playbooks/backup.yml
#   scripts/demo.sh --playbook FILE          run another playbook
#   scripts/demo.sh --keep -- -e foo=bar     keep the temporary directory; after "--" all goes to ansible-playbook
#
# This script only finds a Python 3 to start the runner with; scripts/runner/demo.py does the rest in a venv
# that holds only ansible-core and requirements.txt (see `scripts/demo.sh --help`).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
for py in "${SMARTX_CLOUDTOWER_BOOTSTRAP_PYTHON:-}" python3 python; do
    if [[ -n $py ]] && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 8))' 2>/dev/null; then
        exec "$py" "$root/scripts/runner/bootstrap.py" demo "$@"
    fi
done
echo "ERROR: scripts/demo.sh needs a Python 3.8 or later as python3 on PATH" >&2
exit 1
