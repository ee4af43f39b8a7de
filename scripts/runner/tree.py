"""Copies of the checkout laid out as ansible_collections/smartx/cloudtower, which ansible-test needs.

The copy holds the working tree as it is (uncommitted and untracked files included) without VCS data,
caches and generated output, so a test run sees exactly what a commit of the working tree would hold.
"""

import fnmatch
import os
import shutil

NAMESPACE = "smartx"
NAME = "cloudtower"

# Paths relative to the checkout root that are never copied.
EXCLUDED_PATHS = {
    ".git", ".venv", "venv", ".tox", ".nox", "tests/output", "tests/integration/inventory",
    "tests/integration/integration_config.yml", ".ansible", "demo-output", "benchmarks/results",
}
# Names excluded wherever they are.
EXCLUDED_NAMES = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "*.pyc", "*.pyo")
# Names excluded at the top level only.
EXCLUDED_TOP = ("*.tar.gz",)


def _ignore(root):
    def ignore(directory, names):
        rel_dir = os.path.relpath(directory, root)
        skipped = []
        for name in names:
            rel = name if rel_dir == "." else os.path.join(rel_dir, name)
            if rel in EXCLUDED_PATHS or any(fnmatch.fnmatch(name, pattern) for pattern in EXCLUDED_NAMES):
                skipped.append(name)
            elif rel_dir == "." and any(fnmatch.fnmatch(name, pattern) for pattern in EXCLUDED_TOP):
                skipped.append(name)
        return skipped
    return ignore


def collection_dir(base):
    """The collection root inside a tree made under ``base``."""
    return os.path.join(base, "ansible_collections", NAMESPACE, NAME)


def copy_checkout(root, base):
    """Copy the checkout at ``root`` into ``base``/ansible_collections/smartx/cloudtower; return that path."""
    dest = collection_dir(base)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copytree(root, dest, symlinks=True, ignore=_ignore(root))
    return dest


def copy_tree(source, base):
    """Copy an already laid-out collection (``source``) to ``base`` (for a second ansible-test run beside it)."""
    dest = collection_dir(base)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copytree(source, dest, symlinks=True, ignore=_ignore(source))
    return dest
