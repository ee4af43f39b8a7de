"""What the stages of one test run share: the checkout, a work directory, the test venv and one tree copy.

``scripts/test.sh`` makes the work directory and passes it on ($CT_WORK), so the summary it prints at the end
can read every stage's result; ``nox`` run by hand makes its own.
"""

import json
import os
import resource
import shutil
import sys
import tempfile
import time

from . import tree
from .venvs import Venv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Skip(Exception):
    """A stage that has nothing to check here; the message says why."""


class Failed(Exception):
    """A stage that failed; the message says what to look at."""


def say(text):
    print(text, file=sys.stderr, flush=True)


def cpu_seconds():
    """CPU seconds of this process and of every child it has waited for (tools, ansible-test, simulators)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def openapi_dir():
    """The OpenAPI specs: $CLOUDTOWER_OPENAPI_DIR, else ../shared/cloudtower-openapi beside the checkout."""
    path = os.environ.get("CLOUDTOWER_OPENAPI_DIR") or os.path.join(ROOT, "..", "shared", "cloudtower-openapi")
    return os.path.realpath(path)


def have_specs(path):
    return os.path.isdir(path) and any(name.endswith(".json") for name in os.listdir(path))


class Context:
    """One per runner process."""

    def __init__(self):
        self.root = ROOT
        self.work = os.environ.get("CT_WORK")
        self.owns_work = not self.work
        if not self.work:
            self.work = tempfile.mkdtemp(prefix="smartx.cloudtower-test.")
        os.makedirs(os.path.join(self.work, "results"), exist_ok=True)
        self.venv = Venv(sys.prefix, "%d.%d" % sys.version_info[:2])
        self.specs = openapi_dir()
        self._collection = None

    @property
    def collection(self):
        """The collection root of this run's tree copy (made on first use)."""
        if self._collection is None:
            base = self.tree_base
            existing = tree.collection_dir(base)
            self._collection = existing if os.path.isdir(existing) else tree.copy_checkout(self.root, base)
        return self._collection

    @property
    def tree_base(self):
        """Each lane (CT_LANE) of a run has a tree of its own: ansible-test keeps its state in the tree's tests/output."""
        lane = os.environ.get("CT_LANE")
        return os.path.join(self.work, "tree-%s" % lane if lane else "tree")

    def record(self, stage, status, seconds, note="", cpu=None):
        """Write one stage's result for the summary."""
        path = os.path.join(self.work, "results", "%s.json" % stage)
        with open(path, "w", encoding="utf-8") as stream:
            json.dump({"stage": stage, "status": status, "seconds": round(seconds, 1), "note": note,
                       "cpu": None if cpu is None else round(cpu, 1), "finished": time.time()}, stream)

    def cleanup(self):
        if self.owns_work and not os.environ.get("CT_KEEP"):
            shutil.rmtree(self.work, ignore_errors=True)


_CONTEXT = None


def current():
    global _CONTEXT  # pylint: disable=global-statement
    if _CONTEXT is None:
        _CONTEXT = Context()
    return _CONTEXT
