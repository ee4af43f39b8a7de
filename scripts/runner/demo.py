"""The README's main job: back a few VMs up against the bundled CloudTower simulator.

    scripts/demo.sh                          run playbooks/backup.yml
    scripts/demo.sh --playbook FILE          run another playbook
    scripts/demo.sh --keep -- -e foo=bar     keep the temporary directory; after "--" all goes to ansible-playbook
    scripts/demo.sh -v --check               other arguments go to ansible-playbook

The demo venv holds only what a user needs (ansible-core and requirements.txt: requests, jmespath). The
simulator runs with its demo inventory and a random password; CLOUDTOWER_HOST / _USERNAME / _PASSWORD are
exported for the playbook. Manifests go to ./demo-output/<timestamp>/ (CT_DEMO_OUTPUT overrides; CT_DEMO_VMS,
comma separated, chooses the VMs; CT_DEMO_TASK_SECONDS sets how long each simulated task takes).
"""

import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request

from . import processes, tree
from .context import ROOT
from .simulator import Simulator
from .stages import user_venv

DEFAULT_COUNT = 3
# A VM with VMTools running (file-system-consistent snapshot), one without (crash-consistent fallback) and one
# with two data disks, when the simulator's demo state has them under these names.
PREFERRED = ("web-01", "web-02", "db-01")


def say(text):
    print(text, file=sys.stderr, flush=True)


def demo_vms(sim, count=DEFAULT_COUNT):
    """A few demo VMs whose names identify exactly one VM (VM names are not unique in CloudTower), read through
    the simulator's admin API: no login and no API call, so the playbook's requests are all the summary counts."""
    with urllib.request.urlopen(sim.url + "/__sim/state?resource=vms", timeout=30) as response:  # nosec - loopback
        vms = [vm for vm in json.load(response)["vms"] if not vm.get("in_recycle_bin")]
    counts = {}
    for vm in vms:
        counts[vm["name"]] = counts.get(vm["name"], 0) + 1
    unique = sorted(vm["name"] for vm in vms if counts[vm["name"]] == 1)
    return list(PREFERRED) if all(name in unique for name in PREFERRED) else unique[:count]


def parse(argv):
    playbook, keep, extra = None, False, []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--playbook" and args:
            playbook = args.pop(0)
        elif arg.startswith("--playbook="):
            playbook = arg.split("=", 1)[1]
        elif arg == "--keep":
            keep = True
        elif arg in ("-h", "--help"):
            print(__doc__)
            sys.exit(0)
        elif arg == "--":
            extra += args
            break
        else:
            extra.append(arg)
    return playbook, keep, extra


def main(argv):
    playbook, keep, extra = parse(argv)
    default = os.path.join(ROOT, "playbooks", "backup.yml")
    playbook = os.path.abspath(playbook or default)
    if not os.path.isfile(playbook):
        sys.exit("ERROR: playbook not found: %s" % playbook)
    started = time.time()
    venv = user_venv(ROOT)
    work = tempfile.mkdtemp(prefix="smartx.cloudtower-demo.")
    try:
        tree.copy_checkout(ROOT, os.path.join(work, "tree"))
        sim_args = ["--state", "demo", "--record", os.path.join(work, "record.jsonl")]
        if os.environ.get("CT_DEMO_TASK_SECONDS"):
            sim_args += ["--task-seconds", os.environ["CT_DEMO_TASK_SECONDS"]]
        with Simulator(venv.python, ROOT, os.path.join(work, "simulator.log"), extra_args=sim_args, username="demo-admin") as sim:
            say("CloudTower simulator (demo state) at %s" % sim.url)
            env = venv.env()
            for name in ("ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_CONFIG"):
                env.pop(name, None)
            env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(work, "tree"), ANSIBLE_LOCALHOST_WARNING="false",
                       ANSIBLE_INVENTORY_UNPARSED_WARNING="false", CLOUDTOWER_HOST=sim.url,
                       CLOUDTOWER_USERNAME=sim.username, CLOUDTOWER_PASSWORD=sim.password)
            output = None
            command = [os.path.join(venv.bin, "ansible-playbook")]
            if playbook == default:
                output = os.path.abspath(os.environ.get("CT_DEMO_OUTPUT") or os.path.join(
                    os.getcwd(), "demo-output", time.strftime("%Y%m%dT%H%M%S")))
                os.makedirs(output, exist_ok=True)
                chosen = [v.strip() for v in os.environ.get("CT_DEMO_VMS", "").split(",") if v.strip()] or demo_vms(sim)
                variables = {"vm_backup_vms": chosen, "vm_backup_dir": output}
                say("Extra vars: %s" % json.dumps(variables))
                command += ["-e", json.dumps(variables)]
            command += extra + [playbook]
            say("\n==> ansible-playbook %s" % os.path.relpath(playbook, ROOT))
            playbook_started = time.time()
            process = processes.start(command, env=env)
            try:
                returncode = process.wait()
            finally:
                processes.stop(process)
            playbook_seconds = time.time() - playbook_started
        with open(os.path.join(work, "record.jsonl"), encoding="utf-8") as stream:
            exchanges = [json.loads(line) for line in stream if line.strip()]
        logins = sum(1 for exchange in exchanges if exchange.get("endpoint") == "login")
        rows = [("playbook", os.path.relpath(playbook, ROOT)),
                ("result", "passed" if returncode == 0 else "FAILED (exit code %d)" % returncode),
                ("playbook time", "%.1f s (total %.1f s with set-up)" % (playbook_seconds, time.time() - started)),
                ("API calls", "%d (to the simulator), of which %d login(s)" % (len(exchanges), logins))]
        if output:
            files = sum(len(names) for dummy, dummy2, names in os.walk(output))
            rows.append(("manifests", "%s (%d file(s))" % (output, files)))
        rows.append(("toolchain", "Python %s, ansible-core %s" % (venv.version, venv.ansible_core)))
        print("\n================ smartx.cloudtower demo summary ================")
        for label, value in rows:
            print("%-18s %s" % (label, value))
        return returncode
    finally:
        if keep:
            say("Kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
