"""Offline stand-in for ansible-test's get-pip-<version>.py bootstrap script.

ansible-test --venv creates an empty venv and runs this file (through its quiet_pip wrapper) as
``python get_pip_X_Y.py [--disable-pip-version-check] pip==X.Y [--no-setuptools] [--no-wheel]``.
The real script comes from a host that is not always reachable; this one bootstraps pip from the
interpreter's bundled wheel (ensurepip) and then installs the exact pip version requested from the
configured package index. Seeded by scripts/runner/ansible_test.py only when missing.
"""

import subprocess
import sys

IGNORED = {"--no-setuptools", "--no-wheel"}


def main():
    args = [a for a in sys.argv[1:] if a not in IGNORED]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"],
                          stdout=subprocess.DEVNULL)
    packages = [a for a in args if not a.startswith("-")]
    options = [a for a in args if a.startswith("-")]
    if packages:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--upgrade"]
                              + options + packages)


if __name__ == "__main__":
    main()
