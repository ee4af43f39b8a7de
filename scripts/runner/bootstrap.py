"""Entry point of scripts/test.sh and scripts/demo.sh: build (or reuse) the venv, then run the stages or the demo.

    bootstrap.py test [--keep] [--list] [STAGE ...]     STAGE: a stage, core-X.Y, "matrix" or "all"
    bootstrap.py demo [demo options]

Runs on any Python 3.8+ with the standard library alone; the venvs it builds use the newest Python that the
newest supported ansible-core runs on.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

if sys.version_info < (3, 8):
    sys.exit("ERROR: scripts/test.sh and scripts/demo.sh need python3 to be Python 3.8 or later (it is %d.%d)"
             % sys.version_info[:2])

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from runner import matrix, processes, pythons, venvs  # noqa: E402
from runner.context import ROOT  # noqa: E402

MAIN = ("changelog", "sanity", "simulator", "units", "integration", "lint", "docs", "build", "release", "ee")
CORES = tuple("core-%s" % r for r in matrix.releases() if r != matrix.NEWEST)
EVERY_RUN = tuple("core-%s" % r for r in matrix.EVERY_RUN)
# Lanes side by side, each with its own tree: the checks (sanity, lint, docs, build and the other ansible-core
# releases) keep one core busy for minutes at a time, while the integration shards could use two. Run one after
# the other they left a core idle for half the run. The simulator's own tests mostly wait (timed tasks, a dropped
# iSCSI connection: 73 s of wall time for 24 CPU-seconds), so ansible-lint follows them in a third lane; in the
# checks lane the two made it the longest (measured: runs 570 s, checks 578 s, simulator 68 s). The unit tests
# joined them once the integration stage alone was as long as the checks lane: ahead of it they kept the shards
# waiting (measured: runs 660 s with units 113 s first, checks 600 s, simulator 91 s).
# CT_LANES=1 runs every stage in one lane.
LANES = (
    ("runs", ("integration",)),
    ("checks", ("changelog", "sanity", "docs", "build", "release", "ee") + CORES),
    ("simulator", ("simulator", "units", "lint")),
)
USAGE = """usage: scripts/test.sh [--keep] [--list] [STAGE ...]

  (no STAGE)   every stage: the full suite on ansible-core %(newest)s, and sanity + units + smoke
               integration on ansible-core %(every)s
  matrix       sanity + units + smoke integration on every other supported ansible-core (%(cores)s)
  all          both
  --keep       keep the work directory (logs, tree copies, simulator records)
  --list       list the stages

Environment: SMARTX_CLOUDTOWER_CACHE (venv cache), SMARTX_CLOUDTOWER_PYTHON (force the interpreter),
CLOUDTOWER_OPENAPI_DIR (the OpenAPI specs; default ../shared/cloudtower-openapi), CT_SANITY_ARGS,
CT_UNITS_ARGS, CT_INTEGRATION_ARGS (targets), CT_INTEGRATION_SHARDS (default 3), CT_SECRETS_SCAN=0.
"""


def say(text):
    print(text, file=sys.stderr, flush=True)


def usage():
    return USAGE % {"newest": matrix.NEWEST, "every": ", ".join(matrix.EVERY_RUN), "cores": ", ".join(CORES)}


def test_venv():
    """The newest Python the newest ansible-core supports, with tests/requirements.txt."""
    interpreter = pythons.by_version(pythons.discover(), matrix.pythons_for(matrix.NEWEST))
    if interpreter is None:
        sys.exit("ERROR: ansible-core %s needs Python %s; none found (set SMARTX_CLOUDTOWER_PYTHON)"
                 % (matrix.NEWEST, " or ".join(matrix.pythons_for(matrix.NEWEST))))
    return venvs.ensure("test", interpreter, [matrix.requirement_for(matrix.NEWEST), "-rtests/requirements.txt"], ROOT)


def selected_sessions(words):
    if not words:
        return list(MAIN + EVERY_RUN)
    chosen = set()
    for word in words:
        if word == "all":
            chosen.update(MAIN + CORES)
        elif word == "matrix":
            chosen.update(CORES)
        elif word in MAIN or word in CORES:
            chosen.add(word)
        else:
            sys.exit("ERROR: unknown stage: %s\n\n%s" % (word, usage()))
    return [name for name in MAIN + CORES if name in chosen]


def list_stages(venv):
    subprocess.run([os.path.join(venv.bin, "nox"), "-f", os.path.join(ROOT, "noxfile.py"), "--list"], cwd=ROOT,
                   env=venv.env(), check=False)


def read_results(work):
    results = {}
    directory = os.path.join(work, "results")
    for name in os.listdir(directory) if os.path.isdir(directory) else ():
        with open(os.path.join(directory, name), encoding="utf-8") as stream:
            result = json.load(stream)
        results[result["stage"]] = result
    return results


def summary(sessions, results, venv, started, returncode):
    lines = ["", "================ smartx.cloudtower test summary ================",
             "%-13s %-11s %8s %8s  %s" % ("STAGE", "RESULT", "SECONDS", "CPU-S", "NOTE")]
    for name in sessions:
        result = results.get(name)
        if result:
            cpu = result.get("cpu")
            lines.append("%-13s %-11s %8.1f %8s  %s" % (name, result["status"], result["seconds"],
                                                        "" if cpu is None else "%.0f" % cpu, result["note"]))
        else:
            lines.append("%-13s %-11s %8s %8s  %s" % (name, "not run", "", "", ""))
    cpu_total = sum(r.get("cpu") or 0 for r in results.values())
    lines.append("%-13s %-11s %8.1f %8.0f" % ("total", "passed" if returncode == 0 else "FAILED", time.time() - started, cpu_total))
    lines += ["", "ansible-core support matrix of this run:"]
    main_ran = [n for n in MAIN if n in results]
    lines.append("  %-8s %-14s %s" % (venv.ansible_core, "Python " + venv.version,
                                      "%s: %s" % (", ".join(main_ran) or "nothing", _status(results, main_ran))))
    for release in matrix.releases():
        name = "core-%s" % release
        if release == matrix.NEWEST:
            continue
        result = results.get(name)
        if result:
            lines.append("  %-8s %-14s %s: %s" % (release, "", result["note"] or "sanity, units, smoke integration", result["status"]))
        else:
            lines.append("  %-8s %-14s not run this time (scripts/test.sh matrix)" % (release, ""))
    statuses = [results[n]["status"] for n in sessions if n in results]
    failed = statuses.count("FAILED") or (1 if returncode != 0 else 0)
    # The closing line CI reads: stages passed and failed (a skipped stage counts as neither).
    lines += ["", "stages: %d passed, %d failed" % (statuses.count("passed"), failed)]
    print("\n".join(lines), flush=True)


def _status(results, names):
    statuses = {results[n]["status"] for n in names}
    return "FAILED" if "FAILED" in statuses else "passed" if names else "-"


def run_tests(args):
    keep = "--keep" in args
    words = [a for a in args if a not in ("--keep", "--list")]
    if any(a in ("-h", "--help") for a in args):
        print(usage())
        return 0
    for word in words:
        if word.startswith("-"):
            sys.exit("ERROR: unknown option: %s\n\n%s" % (word, usage()))
    started = time.time()
    sessions = [] if "--list" in args else selected_sessions(words)
    prebuild = start_prebuilding_venvs(sessions)
    venv = test_venv()
    if "--list" in args:
        list_stages(venv)
        return 0
    work = tempfile.mkdtemp(prefix="smartx.cloudtower-test.")
    env = venv.env()
    # Bytecode goes to a prefix outside the checkout and its copies (no __pycache__ in a tree that is built or
    # scanned); the venvs are installed without it, so each run compiles only what it imports.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(CT_WORK=work, PYTHONPYCACHEPREFIX=venvs.bytecode_prefix(),
               ANSIBLE_FORCE_COLOR=env.get("ANSIBLE_FORCE_COLOR", "0"))
    if not words:
        # A plain run checks the oldest release at run time only; `matrix` or core-X.Y also runs its sanity.
        env.setdefault("CT_CORE_STEPS", ",".join(matrix.EVERY_RUN_STEPS))
    # The run must not depend on the caller's Ansible configuration.
    for name in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_CONFIG"):
        env.pop(name, None)
    say("Python %s, ansible-core %s, venv %s\nWork directory: %s" % (venv.version, venv.ansible_core, venv.path, work))
    returncode = run_lanes(venv, lanes_of(sessions), env)
    prebuild.join()
    summary(sessions, read_results(work), venv, started, returncode)
    if keep:
        say("Kept the work directory: %s" % work)
    else:
        import shutil  # pylint: disable=import-outside-toplevel
        shutil.rmtree(work, ignore_errors=True)
    venvs.forget_bytecode_of_removed(tempfile.gettempdir())
    return returncode


def start_prebuilding_venvs(sessions):
    """Build the venvs of the oldest releases and of the release stage in a thread, while the test venv is built:
    pip installs on one core, so the other one is idle then. The stages reuse them (a venv is built once, under
    a lock); when a build fails here, its stage builds it again and reports the failure."""
    from runner import stages  # pylint: disable=import-outside-toplevel

    releases = [s[len("core-"):] for s in sessions if s.startswith("core-")]

    def silent(dummy_text):
        pass

    def build_all():
        try:
            for release in releases:
                stages.core_venv(release, ROOT, silent)
            if "release" in sessions:
                stages.user_venv(ROOT, silent)
        except Exception:  # pylint: disable=broad-except
            pass

    thread = threading.Thread(target=build_all, daemon=True)
    thread.start()
    return thread


def lanes_of(sessions):
    """[(lane name, its sessions in order)]: one lane when CT_LANES=1 or when only one lane has work."""
    if os.environ.get("CT_LANES", "2") == "1":
        return [("", sessions)]
    lanes = [(name, [s for s in sessions if s in stages]) for name, stages in LANES]
    lanes = [(name, chosen) for name, chosen in lanes if chosen]
    return lanes if len(lanes) > 1 else [("", sessions)]


def start_lane(venv, name, sessions, env):
    """nox over ``sessions``; with a lane name, its output is prefixed with it (the lanes share the console)."""
    # A failed main stage stops its lane (later stages build on it); the matrix releases are independent.
    stop_first = ["-x"] if any(s in MAIN for s in sessions) else ["--no-stop-on-first-error"]
    command = [os.path.join(venv.bin, "nox"), "-f", os.path.join(ROOT, "noxfile.py")] + stop_first + ["-s"] + sessions
    if not name:
        return processes.start(command, cwd=ROOT, env=env), None
    say("[%s] %s" % (name, " ".join(sessions)))
    process = processes.start(command, cwd=ROOT, env=dict(env, CT_LANE=name), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    prefix = ("[%s] " % name).encode("utf-8")

    def forward():
        for line in iter(process.stdout.readline, b""):
            sys.stdout.buffer.write(prefix + line)
            sys.stdout.buffer.flush()

    thread = threading.Thread(target=forward, daemon=True)
    thread.start()
    return process, thread


def run_lanes(venv, lanes, env):
    """Run the lanes side by side; the first non-zero exit code, or 0."""
    started = [start_lane(venv, name, sessions, env) for name, sessions in lanes]
    codes = _wait_forwarding_signals([process for process, dummy in started])
    for dummy, thread in started:
        if thread:
            thread.join(timeout=10)
    return next((code for code in codes if code), 0)


def _wait_forwarding_signals(processes_):
    """Wait for every process; SIGINT/SIGTERM are passed on (each stops its own children), then they are waited for."""
    if not isinstance(processes_, list):
        return _wait_forwarding_signals([processes_])[0]

    def forward(signum, dummy_frame):
        for process in processes_:
            try:
                process.send_signal(signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)
            except ProcessLookupError:
                pass

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    try:
        return [process.wait() for process in processes_]
    finally:
        for process in processes_:
            processes.stop(process, grace=60)


def run_benchmarks(args):
    """benchmarks/bench.py from the test venv (it has cloudtower-sdk) over a copy of the working tree."""
    from runner import tree  # pylint: disable=import-outside-toplevel
    import shutil  # pylint: disable=import-outside-toplevel
    if not sys.platform.startswith("linux"):
        sys.exit("ERROR: the benchmarks read /proc for memory figures: Linux only")
    venv = test_venv()
    work = tempfile.mkdtemp(prefix="smartx.cloudtower-bench.")
    results = os.path.join(ROOT, "benchmarks", "results", time.strftime("%Y%m%dT%H%M%S"))
    os.makedirs(results)
    say("Results and logs: %s" % results)
    try:
        collection = tree.copy_checkout(ROOT, os.path.join(work, "tree"))
        env = venv.env()
        for name in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_CONFIG"):
            env.pop(name, None)
        # bench.py imports the collection (ansible_collections.smartx.cloudtower) from the copy: no sys.path edit there.
        env["PYTHONPATH"] = os.path.join(work, "tree")
        bench = processes.start([venv.python, os.path.join(collection, "benchmarks", "bench.py"), "--collections-path",
                                 os.path.join(work, "tree"), "--results", results] + list(args), env=env)
        return _wait_forwarding_signals(bench)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    if not argv or argv[0] not in ("test", "demo", "bench"):
        sys.exit("usage: bootstrap.py test|demo|bench [arguments]")
    if argv[0] == "test":
        return run_tests(argv[1:])
    if argv[0] == "bench":
        return run_benchmarks(argv[1:])
    from runner import demo  # pylint: disable=import-outside-toplevel
    return demo.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
