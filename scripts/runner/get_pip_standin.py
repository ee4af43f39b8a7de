"""Offline stand-in for ansible-test's get-pip-<version>.py bootstrap script.

ansible-test --venv creates an empty venv and runs this file (through its quiet_pip wrapper) as
``python get_pip_X_Y.py [--disable-pip-version-check] pip==X.Y [--no-setuptools] [--no-wheel]``.
The real script comes from a host that is not always reachable. Like the real one, this one runs pip from a
pip wheel -- the one bundled with the interpreter (ensurepip's) -- to install the exact pip version requested
from the configured package index. Seeded by scripts/runner/ansible_test.py only when missing.
"""

import glob
import os
import subprocess
import sys

IGNORED = {"--no-setuptools", "--no-wheel"}


def bundled_pip_wheel():
    """The pip wheel ensurepip bundles with this interpreter, or None (some distributions strip it)."""
    try:
        import ensurepip  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    wheels = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))
    return wheels[-1] if wheels else None


def main():
    args = [a for a in sys.argv[1:] if a not in IGNORED]
    packages = [a for a in args if not a.startswith("-")]
    options = [a for a in args if a.startswith("-")]
    wheel = bundled_pip_wheel()
    if wheel and packages:
        # One install instead of two (ensurepip, then the requested pip over it); --no-compile because a fresh
        # HOME builds a dozen sanity venvs and byte-compiling all of pip in each cost more than the install:
        # Python compiles the modules pip imports when it first imports them.
        subprocess.check_call([sys.executable, os.path.join(wheel, "pip"), "install", "-q", "--no-compile"]
                              + options + packages)
        return
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
    if packages:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--upgrade"] + options + packages)


if __name__ == "__main__":
    main()
