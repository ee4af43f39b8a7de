#!/usr/bin/env bash
# Validates the execution-environment definition of smartx.cloudtower without a container engine.
#
#   tests/ee/check_ee.sh [PYTHON]
#
# 1. `ansible-builder create -f meta/execution-environment.yml` makes a build context, and its
#    Containerfile installs Python 3.12, ansible-core and ansible-runner and the collection.
# 2. The collection, built and installed from its tarball, declares its Python and system
#    requirements to ansible-builder: the script the builder stage of every EE runs over the
#    installed collections (introspect.py) finds requests and jmespath for smartx.cloudtower.
# 3. The "Build the EE from a checkout" definition of docs/awx.md makes a build context too.
#
# Needs PyPI for ansible-builder (installed into a temporary venv) and ansible-galaxy on PATH or
# in that venv. PYTHON defaults to python3.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=${1:-python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n=== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
expect() { # expect FILE REGEX WHAT
    grep -Eq -- "$2" "$1" || { sed -e 's/^/    /' "$1" >&2; fail "$3: no line matching '$2' in $1"; }
}

# The test venv has ansible-builder (tests/requirements.txt); elsewhere it goes into a temporary venv.
if "$PY" -c 'import ansible_builder' 2>/dev/null; then
    step "ansible-builder from $PY"
    BPY=$PY
else
    step "ansible-builder in a temporary venv"
    "$PY" -m venv "$WORK/venv"
    "$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check 'ansible-builder>=3.1,<4'
    BPY=$WORK/venv/bin/python
fi
BUILDER=$(dirname "$BPY")/ansible-builder
"$BUILDER" --version
GALAXY=$(command -v ansible-galaxy || true)
if [[ -z $GALAXY ]]; then
    "$BPY" -m pip install -q --disable-pip-version-check 'ansible-core>=2.19'
    GALAXY=$(dirname "$BPY")/ansible-galaxy
fi

step "1. ansible-builder create -f meta/execution-environment.yml"
"$BUILDER" create -f "$ROOT/meta/execution-environment.yml" --context "$WORK/context"
CF=$WORK/context/Dockerfile
[[ -f $CF ]] || CF=$WORK/context/Containerfile
expect "$CF" '^ARG PYCMD="/usr/bin/python3\.12"' "Python 3.12 interpreter"
expect "$CF" '^ARG ANSIBLE_INSTALL_REFS=".*ansible-core>=2\.19.*ansible-runner' "ansible-core and ansible-runner"
expect "$CF" 'ansible-galaxy collection install .*-r requirements.yml' "collection install step"
expect "$CF" 'introspect.py introspect' "requirements introspection step"
expect "$WORK/context/_build/requirements.yml" 'name: smartx\.cloudtower' "the collection in the galaxy requirements"

step "2. the installed collection declares its requirements to ansible-builder"
"$GALAXY" collection build --output-path "$WORK/dist" "$ROOT" >/dev/null
TARBALL=$(find "$WORK/dist" -name 'smartx-cloudtower-*.tar.gz' -print -quit)
[[ -n $TARBALL ]] || fail "ansible-galaxy collection build made no tarball"
"$GALAXY" collection install --offline -p "$WORK/collections" "$TARBALL" >/dev/null
# The same command the builder stage of the Containerfile runs, over the same inputs.
"$BPY" "$WORK/context/_build/scripts/introspect.py" introspect \
    --user-pip "$WORK/context/_build/requirements.txt" --user-bindep "$WORK/context/_build/bindep.txt" \
    --write-pip "$WORK/pip.txt" --write-bindep "$WORK/bindep.txt" "$WORK/collections" >"$WORK/introspect.out"
cat "$WORK/introspect.out"
expect "$WORK/pip.txt" '^requests[<>=!,.0-9 ]*# from collection smartx\.cloudtower' "requests for smartx.cloudtower"
expect "$WORK/pip.txt" '^jmespath[<>=!,.0-9 ]*# from collection smartx\.cloudtower' "jmespath for smartx.cloudtower"

step "3. the EE from a checkout (docs/awx.md) makes a build context"
mkdir -p "$WORK/ee-from-checkout"
cp "$TARBALL" "$WORK/ee-from-checkout/"
# Keep this definition in step with the section "Build the EE from a checkout" of docs/awx.md.
cat >"$WORK/ee-from-checkout/execution-environment.yml" <<YAML
---
version: 3
images:
  base_image:
    name: quay.io/centos/centos:stream9
dependencies:
  python_interpreter:
    package_system: python3.12
    python_path: /usr/bin/python3.12
  ansible_core:
    package_pip: ansible-core>=2.19,<2.22
  ansible_runner:
    package_pip: ansible-runner>=2.4,<3
  galaxy:
    collections:
      - name: /build/$(basename "$TARBALL")
        type: file
# Files in the context's _build directory are in /build when the collections are installed.
additional_build_files:
  - src: $(basename "$TARBALL")
    dest: .
options:
  package_manager_path: /usr/bin/dnf
YAML
"$BUILDER" create -f "$WORK/ee-from-checkout/execution-environment.yml" --context "$WORK/context-checkout" >/dev/null
[[ -f $WORK/context-checkout/_build/$(basename "$TARBALL") ]] || fail "the tarball is not in the build context"
CF=$WORK/context-checkout/Dockerfile
[[ -f $CF ]] || CF=$WORK/context-checkout/Containerfile
expect "$CF" '^COPY _build /build$' "the build files (with the tarball) copied to /build"
expect "$WORK/context-checkout/_build/requirements.yml" "name: /build/$(basename "$TARBALL")" "the tarball as the collection to install"

printf '\nexecution environment: all checks passed\n'
