"""The test stages of smartx.cloudtower, one nox session each.

``scripts/test.sh`` (the README's test command) builds the test venv and runs these sessions from it; the
stages themselves live in scripts/runner/stages.py. Run by hand from the test venv:

    nox -s sanity units            two stages
    nox -t matrix                  sanity + units + smoke integration on every supported ansible-core
    nox --list                     every session

Why nox: the stages are Python (simulators, shards, progress, secrets scan), nox gives them names, selection,
listing and tags without a tox.ini per stage; every session shares the one test venv (``python=False``)
instead of building a venv per stage, and the ansible-core matrix builds its own venvs through
scripts/runner/venvs.py, cached by content.
"""

import os
import signal
import sys
import time

import nox

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts"))

from runner import context, matrix, stages  # noqa: E402  pylint: disable=wrong-import-position

nox.options.stop_on_first_error = True
nox.options.error_on_missing_interpreters = True

MAIN_STAGES = (
    ("changelog", stages.changelog, "antsibull-changelog lint (fragments and changelog.yaml)"),
    ("sanity", stages.sanity, "ansible-test sanity --venv (ignore files must stay empty)"),
    ("simulator", stages.simulator, "pytest tests/simulator/tests (the CloudTower simulator's own tests)"),
    ("units", stages.units, "ansible-test units (tests/unit)"),
    ("integration", stages.integration,
     "every integration target against simulators, in shards, at -vvv; secrets scan; API contract check"),
    ("lint", stages.lint, "ansible-lint --profile production (offline)"),
    ("docs", stages.docs, "antsibull-docs lint-collection-docs --plugin-docs"),
    ("build", stages.build, "ansible-galaxy collection build + install; ansible-doc of every plugin and role"),
    ("release", stages.release, "the built tarball in a user venv (ansible-core + requirements.txt) runs the backup playbook"),
    ("ee", stages.ee, "the execution-environment definition (ansible-builder create, no container engine)"),
)


def _stop(signum, dummy_frame):
    # Unwinding runs the stages' finally blocks, which stop simulators and ansible-test process groups.
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _stop)


def _define(name, function, doc, args=(), tags=()):
    def session(nox_session):
        ctx = context.current()
        started, cpu = time.time(), context.cpu_seconds()

        def record(status, note):
            ctx.record(name, status, time.time() - started, note, cpu=context.cpu_seconds() - cpu)

        try:
            note = function(ctx, *args)
        except context.Skip as skip:
            record("skipped", str(skip))
            nox_session.skip(str(skip))
        except context.Failed as failed:
            record("FAILED", str(failed).splitlines()[0])
            nox_session.error(str(failed))
        except BaseException as error:
            record("FAILED", "%s: %s" % (type(error).__name__, error))
            raise
        record("passed", note or "")

    session.__doc__ = doc
    session.__name__ = name.replace("-", "_").replace(".", "_")
    return nox.session(name=name, python=False, tags=list(tags))(session)


for _name, _function, _doc in MAIN_STAGES:
    _define(_name, _function, _doc, tags=("main",))

for _release in matrix.releases():
    if _release != matrix.NEWEST:
        _define("core-%s" % _release, stages.core,
                "sanity, units and the smoke integration targets on ansible-core %s" % _release,
                args=(_release,), tags=("matrix",) + (("every-run",) if _release in matrix.EVERY_RUN else ()))

nox.options.sessions = [name for name, dummy, dummy in MAIN_STAGES] + ["core-%s" % r for r in matrix.EVERY_RUN]
