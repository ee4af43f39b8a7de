"""Cached virtual environments, keyed by the interpreter and everything installed into them.

A venv lives in ``<cache>/venv/<name>-py<version>-<key>``; the key changes whenever the interpreter or a
requirements file changes, so a stale venv is never reused. Concurrent runs building the same venv
wait for each other (flock), and a venv counts only once its ``.ct-ready`` marker is written.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time

# Bump when the way venvs are built changes.
REVISION = "2"
UNUSED_DAYS = 30


def cache_root():
    """Where venvs are cached (SMARTX_CLOUDTOWER_CACHE, else the XDG cache of the current HOME)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("SMARTX_CLOUDTOWER_CACHE") or os.path.join(base, "smartx.cloudtower")


def bytecode_prefix():
    """Where the test runs keep bytecode (PYTHONPYCACHEPREFIX): outside the checkout and its copies, and kept
    across runs for the cached venvs."""
    return os.path.join(cache_root(), "pycache")


def forget_bytecode(path):
    """Remove the bytecode kept for the files under ``path`` (a removed venv or work directory)."""
    shutil.rmtree(os.path.join(bytecode_prefix(), os.path.abspath(path).lstrip(os.sep)), ignore_errors=True)


def forget_bytecode_of_removed(directory):
    """Remove the bytecode kept for the entries of ``directory`` that no longer exist (the runs' temporary
    directories: work trees, ansible-test's copies and injectors)."""
    mirror = os.path.join(bytecode_prefix(), os.path.abspath(directory).lstrip(os.sep))
    for name in os.listdir(mirror) if os.path.isdir(mirror) else ():
        if not os.path.lexists(os.path.join(directory, name)):
            shutil.rmtree(os.path.join(mirror, name), ignore_errors=True)


class Venv:
    """A ready venv: ``path``, ``python`` (its interpreter), ``version`` (MAJOR.MINOR) and ``ansible_core``."""

    def __init__(self, path, version):
        self.path = path
        self.python = os.path.join(path, "bin", "python")
        self.bin = os.path.join(path, "bin")
        self.version = version
        self.ansible_core = _installed_version(self.python, "ansible-core")

    def env(self, base=None):
        """An environment running this venv's tools first."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = self.bin + os.pathsep + env.get("PATH", "")
        env["VIRTUAL_ENV"] = self.path
        return env


def _installed_version(python, dist):
    code = "import importlib.metadata as m\ntry:\n print(m.version(%r))\nexcept Exception:\n print('')" % dist
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return out.stdout.strip() or None


def _requirement_text(requirements, root):
    """The requirements, with the contents of every -r file (and the files those include)."""
    parts = []
    pending = list(requirements)
    while pending:
        item = pending.pop(0)
        parts.append(item)
        if item.startswith("-r"):
            path = os.path.join(root, item[2:].strip())
            with open(path, encoding="utf-8") as stream:
                text = stream.read()
            parts.append(text)
            for line in text.splitlines():
                if line.startswith("-r"):
                    pending.append("-r" + os.path.normpath(os.path.join(os.path.dirname(path), line[2:].strip())))
    return "\n".join(parts)


def _key(interpreter, requirements, root):
    digest = hashlib.sha256()
    digest.update(("rev=%s\n%s %s\n" % (REVISION, interpreter.full, interpreter.path)).encode())
    digest.update(_requirement_text(requirements, root).encode())
    return digest.hexdigest()[:12]


def _pip_args(requirements, root):
    args = []
    for item in requirements:
        if item.startswith("-r"):
            args += ["-r", os.path.join(root, item[2:].strip())]
        else:
            args.append(item)
    return args


def _build(interpreter, path, requirements, root, log_path):
    shutil.rmtree(path, ignore_errors=True)
    forget_bytecode(path)
    with open(log_path, "w", encoding="utf-8") as log:
        steps = (
            [interpreter.path, "-m", "venv", path],
            # No byte-compiling at install: most of what is installed is never imported (a third of the test
            # venv's build CPU); the runs compile what they import, once, into bytecode_prefix().
            [os.path.join(path, "bin", "python"), "-m", "pip", "install", "--disable-pip-version-check", "--no-compile"]
            + _pip_args(requirements, root),
        )
        for step in steps:
            log.write("$ %s\n" % " ".join(step))
            log.flush()
            if subprocess.run(step, stdout=log, stderr=subprocess.STDOUT, check=False).returncode != 0:
                return False
    return True


def _prune(root_dir, keep):
    """Remove cached venvs (other than ``keep``) unused for UNUSED_DAYS."""
    limit = time.time() - UNUSED_DAYS * 86400
    for name in os.listdir(root_dir):
        path = os.path.join(root_dir, name)
        marker = os.path.join(path, ".ct-ready")
        if path == keep or not os.path.isfile(marker) or os.path.getmtime(marker) > limit:
            continue
        shutil.rmtree(path, ignore_errors=True)
        forget_bytecode(path)
        for suffix in (".log", ".lock"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)


def ensure(name, interpreter, requirements, root, say=None):
    """Reuse or build the venv ``name`` for ``interpreter`` with ``requirements`` (pip arguments; "-rFILE"
    items are relative to ``root``). Returns a Venv; raises RuntimeError naming the log on failure."""
    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    base = os.path.join(cache_root(), "venv")
    os.makedirs(base, exist_ok=True)
    path = os.path.join(base, "%s-py%s-%s" % (name, interpreter.full, _key(interpreter, requirements, root)))
    marker = os.path.join(path, ".ct-ready")
    with open(path + ".lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isfile(marker):
            say("Using cached venv %s" % path)
        else:
            started = time.time()
            say("Creating venv %s (Python %s); log: %s.log" % (path, interpreter.full, path))
            if not _build(interpreter, path, requirements, root, path + ".log"):
                shutil.rmtree(path, ignore_errors=True)
                with open(path + ".log", encoding="utf-8") as log:
                    tail = log.read().splitlines()[-15:]
                raise RuntimeError("building venv %s failed (log %s.log):\n    %s" % (name, path, "\n    ".join(tail)))
            say("Created venv %s in %.1f s" % (name, time.time() - started))
        with open(marker, "w", encoding="utf-8") as stream:
            stream.write(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))
    _prune(base, path)
    return Venv(path, interpreter.version)


CODE_CACHE_MODULE = "_ct_ansiballz_code_cache"


def install_code_cache(venv):
    """Put (or, with CT_ANSIBALLZ_CODE_CACHE=0, take out) the AnsiballZ compiled-code cache in ``venv``.

    Installed on every run rather than when the venv is built, so the hook in the venv is always this tree's.
    """
    purelib = _purelib(venv.python)
    module = os.path.join(purelib, CODE_CACHE_MODULE + ".py")
    pth = os.path.join(purelib, CODE_CACHE_MODULE + ".pth")
    if os.environ.get("CT_ANSIBALLZ_CODE_CACHE", "1") == "0":
        for path in (pth, module):
            if os.path.exists(path):
                os.remove(path)
        return False
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ansiballz_code_cache.py")
    _replace_if_changed(source, module)
    _write_if_changed(pth, "import {0}; {0}.install()\n".format(CODE_CACHE_MODULE))
    return True


def _purelib(python):
    return subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def _replace_if_changed(source, target):
    with open(source, encoding="utf-8") as stream:
        _write_if_changed(target, stream.read())


def _write_if_changed(path, text):
    """Write through a temporary name: a concurrent run's interpreters never import half a file."""
    try:
        with open(path, encoding="utf-8") as stream:
            if stream.read() == text:
                return
    except OSError:
        pass
    temp = "%s.%d.tmp" % (path, os.getpid())
    with open(temp, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.replace(temp, path)
