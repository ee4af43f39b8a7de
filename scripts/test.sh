#!/usr/bin/env bash
# Run every test of the smartx.cloudtower collection (the README's test command; CI runs it through .ci/run).
#
#   scripts/test.sh                   every stage: full suite on the newest ansible-core, smoke on the oldest
#   scripts/test.sh sanity units      only the named stages
#   scripts/test.sh matrix            sanity + units + smoke integration on every other supported ansible-core
#   scripts/test.sh --list            list the stages (nox sessions, see noxfile.py)
#   scripts/test.sh --help            options and environment variables
#
# This script only finds a Python 3 to start the runner with (scripts/runner/bootstrap.py); the runner builds
# or reuses the test venv under ~/.cache/smartx.cloudtower and runs the stages as nox sessions.
set -euo pipefail
# The runner checks the Python version itself and says what it needs.
exec python3 "$(dirname "${BASH_SOURCE[0]}")/runner/bootstrap.py" test "$@"
