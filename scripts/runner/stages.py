"""The test stages. Each takes the run's Context, returns a short note for the summary, and raises
context.Skip (nothing to check) or context.Failed (with what to look at)."""

import fcntl
import glob
import json
import os
import re
import subprocess
import tarfile

from . import ansible_test, matrix, pythons, tree, venvs
from .context import Failed, Skip, have_specs, say
from .integration import IntegrationRun
from .simulator import Simulator

DOC_TYPES = ("module", "inventory", "lookup", "callback", "connection", "become", "cache", "vars", "role")
# Nothing generated or secret may end up in the artifact (galaxy.yml build_ignore).
FORBIDDEN_IN_TARBALL = re.compile(r"(^|/)(tests/output|\.ansible|__pycache__|\.pytest_cache|\.git|\.venv)(/|$)"
                                  r"|integration_config\.yml$|tests/integration/inventory$|\.py[co]$")


def run(command, cwd, env=None, check=True, capture=False):
    """Run ``command``; with ``capture`` return its output (stdout and stderr), else let it print."""
    say("$ %s" % " ".join(command))
    result = subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, check=False, text=True,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.STDOUT if capture else None)
    if check and result.returncode != 0:
        if capture:
            say(result.stdout)
        raise Failed("%s exited with %d" % (command[0], result.returncode))
    return result.stdout if capture else result.returncode


def changelog(ctx):
    coll = ctx.collection
    if not os.path.isfile(os.path.join(coll, "changelogs", "config.yaml")):
        raise Skip("no changelogs/config.yaml")
    env = ctx.venv.env()
    run(["antsibull-changelog", "lint"], coll, env)
    if os.path.isfile(os.path.join(coll, "changelogs", "changelog.yaml")):
        run(["antsibull-changelog", "lint-changelog-yaml", "changelogs/changelog.yaml"], coll, env)
    fragments = [n for n in os.listdir(os.path.join(coll, "changelogs", "fragments")) if n.endswith((".yml", ".yaml"))]
    return "%d fragment(s)" % len(fragments)


def check_ignore_files(coll):
    """The sanity ignore files must stay empty: fix the causes instead."""
    for path in sorted(glob.glob(os.path.join(coll, "tests", "sanity", "ignore-*.txt"))):
        if os.path.getsize(path):
            with open(path, encoding="utf-8") as stream:
                raise Failed("%s is not empty: fix the causes instead of ignoring them:\n%s"
                             % (os.path.relpath(path, coll), stream.read()))


def sanity_in(venv, coll, extra=()):
    check_ignore_files(coll)
    ansible_test.prepare(venv.python)
    run(["ansible-test", "sanity", "--venv", "--python", venv.version, "--color", "no"] + list(extra), coll, venv.env())


def sanity(ctx):
    sanity_in(ctx.venv, ctx.collection, os.environ.get("CT_SANITY_ARGS", "").split())
    return "ansible-core %s, Python %s, ignore files empty" % (ctx.venv.ansible_core, ctx.venv.version)


def simulator(ctx):
    coll = ctx.collection
    env = ctx.venv.env()
    if have_specs(ctx.specs):
        env["CLOUDTOWER_OPENAPI_DIR"] = ctx.specs
    else:
        say("OpenAPI specs not found at %s: the spec-based simulator tests skip" % ctx.specs)
        env.pop("CLOUDTOWER_OPENAPI_DIR", None)
    install_dataplane_tools(ctx, coll)
    code = run([ctx.venv.python, "-m", "pytest", "tests/simulator/tests", "-q", "-p", "no:cacheprovider"], coll, env, check=False)
    if code == 5:
        raise Skip("no simulator tests collected")
    if code != 0:
        raise Failed("pytest exited with %d" % code)
    return "specs %s" % ("used" if have_specs(ctx.specs) else "ABSENT: spec tests skipped")


def install_dataplane_tools(ctx, coll):
    """The data plane's Debian packages (tgt, qemu-utils, ...), installed with apt-get when missing and root;
    without them the tests that need them skip, naming the package."""
    script = os.path.join(coll, "tests", "simulator", "ctsim", "dataplane_deps.py")
    if not os.path.isfile(script):
        return
    # The simulator and integration stages run in different lanes and both need the tools: the first one
    # installs them while the other waits (two apt-gets side by side fail on dpkg's lock).
    with open(os.path.join(ctx.work, "dataplane-tools.lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if subprocess.run([ctx.venv.python, script], stdout=subprocess.DEVNULL, check=False).returncode == 0:
            return
        say("data plane: installing the missing tools (apt-get, root only)")
        run([ctx.venv.python, script, "--install"], coll, ctx.venv.env(), check=False)


def unit_workers():
    """Three pytest workers on 2 cores (1.5 per core): many unit tests wait on the simulator's timed tasks, and
    more workers overlap those waits but each costs CPU, which the whole run is short of (measured on 2 cores, same
    tests: 2 workers 74 s / 47 CPU-s, 3 54 s / 48, 4 60 s / 50, 6 41 s / 55, 10 46 s / 72)."""
    return min(16, max(2, (3 * (os.cpu_count() or 1)) // 2))


def units_in(venv, coll, extra=()):
    if not glob.glob(os.path.join(coll, "tests", "unit", "**", "test_*.py"), recursive=True):
        raise Skip("no unit tests under tests/unit")
    extra = list(extra)
    if "--num-workers" not in extra:
        extra += ["--num-workers", str(unit_workers())]
    # --local: the venv already has pytest, pytest-mock, pytest-xdist and mock (no per-run venv to build).
    run(["ansible-test", "units", "--local", "--python", venv.version, "--color", "no"] + extra, coll, venv.env())


def units(ctx):
    units_in(ctx.venv, ctx.collection, os.environ.get("CT_UNITS_ARGS", "").split())
    return "ansible-core %s" % ctx.venv.ansible_core


def secrets_scan_on():
    return os.environ.get("CT_SECRETS_SCAN", "1") != "0"


def _scan_secrets(ctx, integration):
    say("\n==> integration: the suite's -vvv output, logs, records and results searched for passwords and tokens")
    script = os.path.join(ctx.collection, "tests", "integration", "targets", "secrets_scan", "files", "scan_secrets.py")
    command = [ctx.venv.python, script, "--min-secrets", "2"]
    for path in integration.secret_files():
        command += ["--secrets", path]
    try:
        run(command + integration.scanned_paths(), ctx.collection, ctx.venv.env())
    finally:
        for path in integration.secret_files():
            os.remove(path)


class ContractCheck:
    """The recorded API calls of every shard checked against the OpenAPI specs, in one process started before the
    secrets scan and waited for after it: both only read the shards' files, and each keeps one core busy."""

    def __init__(self, ctx, integration):
        self.ctx = ctx
        self.records = integration.records()
        self.calls = 0
        for record in self.records:
            with open(record, encoding="utf-8") as stream:
                self.calls += sum(1 for dummy in stream)
        self.process = None

    def start(self):
        if not have_specs(self.ctx.specs):
            return
        command = [self.ctx.venv.python, "tests/simulator/contract.py", "--specs", self.ctx.specs] + self.records
        say("\n==> integration: API contract check of %d recorded calls against %s (beside the secrets scan)\n$ %s"
            % (self.calls, self.ctx.specs, " ".join(command)))
        self.process = subprocess.Popen(command, cwd=self.ctx.collection, env=self.ctx.venv.env(),  # pylint: disable=consider-using-with
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish(self):
        if self.process is None:
            return "contract check SKIPPED: no OpenAPI specs at %s (%d recorded calls)" % (self.ctx.specs, self.calls)
        output = self.process.communicate()[0]
        say("==> integration: API contract check\n" + output.rstrip())
        if self.process.returncode != 0:
            raise Failed("contract.py exited with %d" % self.process.returncode)
        return "%d recorded API calls conform to the OpenAPI specs" % self.calls

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def integration(ctx):
    coll = ctx.collection
    if not runnable(coll):
        raise Skip("no integration targets under tests/integration/targets")
    install_dataplane_tools(ctx, coll)
    targets = os.environ.get("CT_INTEGRATION_ARGS", "").split()
    shards = int(os.environ.get("CT_INTEGRATION_SHARDS", "3")) if not targets else 1
    run_ = IntegrationRun(ctx.venv, coll, ctx.work, shards=shards, targets=targets, verbose=secrets_scan_on(),
                          token_logs=secrets_scan_on(), specs=ctx.specs if have_specs(ctx.specs) else None,
                          as_one_lane=bool(os.environ.get("CT_LANE")))
    if not run_.run():
        raise Failed("integration targets failed (see the shard logs above)")
    notes = ["%d target(s) in %d shard(s)" % (len(run_.targets), len(run_.shards))]
    contract = ContractCheck(ctx, run_)
    contract.start()
    try:
        if secrets_scan_on():
            _scan_secrets(ctx, run_)
            notes.append("secrets scan clean")
        notes.append(contract.finish())
    finally:
        contract.stop()
    return "; ".join(notes)


def runnable(coll):
    base = os.path.join(coll, "tests", "integration", "targets")
    return os.path.isdir(base) and any(os.path.isdir(os.path.join(base, n)) for n in os.listdir(base))


def lint(ctx):
    env = ctx.venv.env()
    # offline: ansible-lint finds smartx.cloudtower through ANSIBLE_COLLECTIONS_PATH.
    env["ANSIBLE_COLLECTIONS_PATH"] = ctx.tree_base
    run(["ansible-lint", "--profile", "production", "--offline"], ctx.collection, env)
    return "production profile"


def docs(ctx):
    run(["antsibull-docs", "lint-collection-docs", "--plugin-docs", "."], ctx.collection, ctx.venv.env())
    return "antsibull-docs lint"


def build_tarball(venv, coll, dist):
    os.makedirs(dist, exist_ok=True)
    run(["ansible-galaxy", "collection", "build", "--force", "--output-path", dist, "."], coll, venv.env(), capture=True)
    found = glob.glob(os.path.join(dist, "%s-%s-*.tar.gz" % (tree.NAMESPACE, tree.NAME)))
    if not found:
        raise Failed("ansible-galaxy collection build made no tarball in %s" % dist)
    return found[0]


def _documented(coll, doc_type):
    if doc_type == "role":
        return ["%s.%s.%s" % (tree.NAMESPACE, tree.NAME, os.path.basename(os.path.dirname(os.path.dirname(f))))
                for f in sorted(glob.glob(os.path.join(coll, "roles", "*", "meta", "argument_specs.y*ml")))]
    directory = os.path.join(coll, "plugins", "modules" if doc_type == "module" else doc_type)
    return ["%s.%s.%s" % (tree.NAMESPACE, tree.NAME, os.path.basename(f)[:-3])
            for f in sorted(glob.glob(os.path.join(directory, "*.py"))) if not f.endswith("__init__.py")]


def build(ctx):
    dist = os.path.join(ctx.work, "dist")
    installed = os.path.join(ctx.work, "installed")
    tarball = build_tarball(ctx.venv, ctx.collection, dist)
    with tarfile.open(tarball) as archive:
        bad = [name for name in archive.getnames() if FORBIDDEN_IN_TARBALL.search(name)]
    if bad:
        raise Failed("the built collection contains files that belong in galaxy.yml build_ignore:\n    " + "\n    ".join(bad))
    env = ctx.venv.env()
    env.update(ANSIBLE_COLLECTIONS_PATH=installed, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_NOCOLOR="1")
    run(["ansible-galaxy", "collection", "install", "--offline", "-p", installed, tarball], ctx.work, env, capture=True)
    rendered = []
    for doc_type in DOC_TYPES:
        names = _documented(ctx.collection, doc_type)
        if not names:
            continue
        result = subprocess.run(["ansible-doc", "-t", doc_type] + names, cwd=ctx.work, env=env, capture_output=True,
                                text=True, stdin=subprocess.DEVNULL, check=False)
        output = result.stdout + result.stderr
        # (ansible-core's own internal _protomatter collection warns about its missing MANIFEST.json.)
        problems = [line for line in output.splitlines() if ("WARNING" in line or "ERROR" in line) and "_protomatter" not in line]
        if result.returncode != 0 or problems:
            raise Failed("ansible-doc -t %s failed with the installed collection:\n%s" % (doc_type, output[-3000:]))
        missing = [name for name in names if not re.search(r"^> .*%s\b" % re.escape(name), output, re.M)]
        if missing:
            raise Failed("ansible-doc -t %s did not render %s from the installed collection" % (doc_type, ", ".join(missing)))
        rendered.append("%d %s(s)" % (len(names), doc_type))
    return "%s; ansible-doc rendered %s from the installed copy" % (os.path.basename(tarball), ", ".join(rendered))


def user_venv(root, say_=say):
    """A user's machine: the newest ansible-core and the collection's requirements.txt, nothing from the tests."""
    interpreter = pythons.by_version(pythons.discover(), matrix.pythons_for(matrix.NEWEST))
    if interpreter is None:
        raise Failed("no Python among %s for ansible-core %s" % (", ".join(matrix.pythons_for(matrix.NEWEST)), matrix.NEWEST))
    return venvs.ensure("user", interpreter, [matrix.requirement_for(matrix.NEWEST), "-rrequirements.txt"], root, say_)


def release(ctx):
    coll = ctx.collection
    tarball = build_tarball(ctx.venv, coll, os.path.join(ctx.work, "release-dist"))
    user = user_venv(ctx.root)
    installed = os.path.join(ctx.work, "release-collections")
    manifests = os.path.join(ctx.work, "release-manifests")
    run([os.path.join(user.bin, "ansible-galaxy"), "collection", "install", "--offline", "-p", installed, tarball],
        ctx.work, user.env(), capture=True)
    with Simulator(ctx.venv.python, coll, os.path.join(ctx.work, "release-simulator.log"),
                   extra_args=["--state", "demo", "--task-seconds", "0.2"]) as sim:
        env = user.env()
        env.update(CLOUDTOWER_HOST=sim.url, CLOUDTOWER_USERNAME=sim.username, CLOUDTOWER_PASSWORD=sim.password,
                   ANSIBLE_COLLECTIONS_PATH=installed, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
        # Run from outside the checkout, so only the installed copy can provide smartx.cloudtower.
        run([os.path.join(user.bin, "ansible-playbook"), "-i", "localhost,", "-e",
             "ansible_python_interpreter=%s" % user.python, "smartx.cloudtower.backup", "-e",
             json.dumps({"vm_backup_vms": ["web-01", "db-01"], "vm_backup_dir": manifests})], ctx.work, env)
    count = len(glob.glob(os.path.join(manifests, "**", "*.json"), recursive=True))
    if count != 2:
        raise Failed("expected 2 manifests from the installed collection, found %d" % count)
    return "%s installed in a user venv (ansible-core %s) wrote %d manifests" % (os.path.basename(tarball), user.ansible_core, count)


def ee(ctx):
    script = os.path.join(ctx.collection, "tests", "ee", "check_ee.sh")
    if not os.path.isfile(script):
        raise Skip("tests/ee/check_ee.sh does not exist")
    run(["bash", script, ctx.venv.python], ctx.collection, ctx.venv.env())
    return "ansible-builder create"


def native_jinja_for_old_releases(coll, release_):
    """Before ansible-core 2.19, "{{ x | default(none) }}" renders as "" unless jinja2_native is on; the targets pass
    optional role variables that way (2.19 and later always template natively), so the smoke runs on older releases
    turn it on for the test playbooks through ansible-test's tests/integration/integration.cfg."""
    if tuple(int(part) for part in release_.split(".")) >= (2, 19):
        return
    with open(os.path.join(coll, "tests", "integration", "integration.cfg"), "w", encoding="utf-8") as stream:
        stream.write("[defaults]\njinja2_native = True\n")


def core_venv(release_, root, say_=say):
    """(interpreter, venv): ansible-core ``release_`` on a Python it supports, with the collection's and the
    matrix's requirements."""
    interpreter = pythons.by_version(pythons.discover(), matrix.pythons_for(release_))
    if interpreter is None:
        raise Failed("ansible-core %s needs one of Python %s, and this machine has none of them"
                     % (release_, ", ".join(matrix.pythons_for(release_))))
    requirements = [matrix.requirement_for(release_), "-rrequirements.txt", "-rtests/requirements-matrix.txt"]
    return interpreter, venvs.ensure("core%s" % release_, interpreter, requirements, root, say_)


def core(ctx, release_):
    """Sanity, units and the smoke integration targets on ansible-core ``release_``."""
    interpreter, venv = core_venv(release_, ctx.root)
    coll = tree.copy_tree(ctx.collection, os.path.join(ctx.work, "core-%s" % release_))
    native_jinja_for_old_releases(coll, release_)
    # CT_CORE_STEPS (e.g. "units,smoke") runs some of the steps, for a quick look while fixing one of them.
    steps = os.environ.get("CT_CORE_STEPS", ",".join(matrix.STEPS)).split(",")
    if "sanity" in steps:
        sanity_in(venv, coll)
    if "units" in steps:
        units_in(venv, coll)
    if "smoke" in steps:
        smoke = IntegrationRun(venv, coll, os.path.join(ctx.work, "core-%s" % release_), shards=2,
                               targets=matrix.SMOKE_TARGETS, sim_args=["--state", "demo", "--task-seconds", "0.2"],
                               smoke=True)
        if not smoke.run():
            raise Failed("smoke integration targets failed on ansible-core %s" % venv.ansible_core)
    done = [s if s != "smoke" else "smoke integration (%s)" % " ".join(matrix.SMOKE_TARGETS) for s in steps]
    return "ansible-core %s, Python %s: %s" % (venv.ansible_core, interpreter.full, ", ".join(done))
