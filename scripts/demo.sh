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
# The runner checks the Python version itself and says what it needs.
exec python3 "$(dirname "${BASH_SOURCE[0]}")/runner/bootstrap.py" demo "$@"
