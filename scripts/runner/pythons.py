"""Find the Python interpreters this machine has, by MAJOR.MINOR.

pyenv's shims answer for versions that are not active with exit code 127, so every candidate is
run once and only the interpreters that work (and have venv + ensurepip) are kept.
"""

import glob
import os
import shutil
import subprocess

PROBE = (
    "import sys, os, platform, venv, ensurepip;"
    "print('%d.%d' % sys.version_info[:2], platform.python_version(), os.path.realpath(sys.executable))"
)
MINORS = range(20, 9, -1)  # 3.20 .. 3.10, newest first


class Interpreter:
    """A working interpreter: ``version`` is MAJOR.MINOR, ``full`` the whole version, ``path`` its real path."""

    def __init__(self, version, full, path):
        self.version = version
        self.full = full
        self.path = path

    def __repr__(self):
        return "Python %s (%s)" % (self.full, self.path)


def _candidate_paths():
    """Every place an interpreter may be: the environment's override, PATH, pyenv's builds, /usr."""
    forced = os.environ.get("SMARTX_CLOUDTOWER_PYTHON")
    if forced:
        yield forced
        return
    for minor in MINORS:
        found = shutil.which("python3.%d" % minor)
        if found:
            yield found
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for minor in MINORS:
        yield from sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.%d.*" % minor, "bin", "python3.%d" % minor)))
    for minor in MINORS:
        for base in ("/usr/local/bin", "/usr/bin"):
            yield os.path.join(base, "python3.%d" % minor)
    found = shutil.which("python3")
    if found:
        yield found


def _probe(path):
    try:
        out = subprocess.run([path, "-c", PROBE], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    version, full, real = out.stdout.split()
    return Interpreter(version, full, real)


def discover():
    """Working interpreters, one per real path, newest version first."""
    seen = set()
    found = []
    for path in _candidate_paths():
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            continue
        interpreter = _probe(path)
        if interpreter is None or interpreter.path in seen:
            continue
        seen.add(interpreter.path)
        found.append(interpreter)
    return sorted(found, key=lambda i: tuple(int(p) for p in i.full.split(".")[:3] if p.isdigit()), reverse=True)


def by_version(interpreters, wanted):
    """The first interpreter of one of the MAJOR.MINOR versions in ``wanted`` (in that order of preference)."""
    for version in wanted:
        for interpreter in interpreters:
            if interpreter.version == version:
                return interpreter
    return None
