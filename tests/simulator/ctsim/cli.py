"""Command line: start a simulator, print where it listens, serve until SIGTERM/SIGINT (exit 0)."""

import argparse
import json
import os
import signal
import sys
import threading

from .faults import FaultSpecError
from .iscsi_portal import PortalError
from .settings import SettingsError
from .simulator import Simulator
from .versions import DEFAULT_VERSION, VERSIONS, normalise


def _api_version(text):
    try:
        return normalise(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def build_parser():
    parser = argparse.ArgumentParser(description="CloudTower API simulator (see tests/simulator/README.md)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on the first line)")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default=None,
                        help="default: $CLOUDTOWER_SIM_PASSWORD, else 'simulator'")
    parser.add_argument("--state", choices=("demo", "empty"), default="demo")
    parser.add_argument("--vms", type=int, default=None, help="number of VMs (demo list, then generated ones)")
    parser.add_argument("--task-seconds", type=float, default=1.0)
    parser.add_argument("--api-version", type=_api_version, default=DEFAULT_VERSION, help="one of %s" % ", ".join(VERSIONS))
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed certificate")
    parser.add_argument("--cert", help="PEM certificate for --tls (default: generated)")
    parser.add_argument("--key", help="PEM private key for --tls")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", help="append one JSON line per API exchange to this file")
    parser.add_argument("--settings", help="JSON object of settings (or @file)")
    parser.add_argument("--data-dir", help="where volume bytes live (default: a temporary directory removed on exit)")
    parser.add_argument("--iscsi-portal", metavar="HOST:PORT",
                        help="serve the iSCSI targets and LUNs over iSCSI with tgtd on this address (port 0: a free one)")
    faults = parser.add_argument_group("faults (combined into one fault spec; --faults gives the whole spec)")
    faults.add_argument("--faults", help="JSON fault spec (or @file)")
    faults.add_argument("--latency-ms", type=float, help="added latency on every API request")
    faults.add_argument("--error-rate", type=float, help="share of API requests answered with --error-status")
    faults.add_argument("--error-nth", type=int, help="answer the nth API request with --error-status")
    faults.add_argument("--error-status", type=int, default=503, choices=(500, 502, 503, 504))
    faults.add_argument("--reset-rate", type=float, help="share of API requests whose connection is dropped")
    faults.add_argument("--invalidate-tokens-after", type=int, help="forget every token after N API requests")
    faults.add_argument("--fail-tasks", metavar="VM_NAME_GLOB", help="tasks on VMs whose name matches fail")
    faults.add_argument("--lock-vm", metavar="ID_OR_GLOB", help="VMs locked (ResourceLocked) for --lock-seconds")
    faults.add_argument("--lock-seconds", type=float, default=30.0)
    return parser


def _json_argument(text):
    if text is None:
        return {}
    if text.startswith("@"):
        with open(text[1:], encoding="utf-8") as stream:
            return json.load(stream)
    return json.loads(text)


def fault_spec(args):
    spec = _json_argument(args.faults)
    if args.latency_ms:
        spec.setdefault("latency", []).append({"ms": args.latency_ms})
    if args.error_rate:
        spec.setdefault("http_errors", []).append({"status": args.error_status, "share": args.error_rate})
    if args.error_nth:
        spec.setdefault("http_errors", []).append({"status": args.error_status, "nth": args.error_nth})
    if args.reset_rate:
        spec.setdefault("connection_resets", []).append({"share": args.reset_rate})
    if args.invalidate_tokens_after is not None:
        spec["invalidate_tokens_after"] = args.invalidate_tokens_after
    if args.fail_tasks:
        spec.setdefault("task_failures", []).append({"vm_name": args.fail_tasks})
    if args.lock_vm:
        spec.setdefault("locks", []).append({"vm": args.lock_vm, "seconds": args.lock_seconds})
    return spec


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.cert) != bool(args.key):
        parser.error("--cert and --key go together")
    try:
        simulator = Simulator(
            username=args.username, password=args.password, state=args.state, vms=args.vms, task_seconds=args.task_seconds,
            api_version=args.api_version, seed=args.seed, tls=args.tls, cert=args.cert, key=args.key, host=args.host,
            port=args.port, record=os.path.abspath(args.record) if args.record else None,
            settings=_json_argument(args.settings), faults=fault_spec(args), data_dir=args.data_dir,
            iscsi_portal=args.iscsi_portal)
        simulator.start()
    except PortalError as error:
        sys.stderr.write("cloudtower_sim: %s\n" % error)
        return 2
    except (ValueError, FaultSpecError, SettingsError, OSError) as error:
        parser.error(str(error))
    sys.stdout.write("CloudTower simulator listening on %s\n" % simulator.url)
    if args.tls:
        sys.stdout.write("TLS certificate (use it as the CA bundle): %s\n" % simulator.cert)
    if simulator.dataplane.portal is not None:
        sys.stdout.write("iSCSI portal (tgtd) on %s\n" % simulator.dataplane.portal.address)
    sys.stdout.flush()
    stopping = threading.Event()

    def request_stop(_signum, _frame):
        stopping.set()
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    while not stopping.wait(0.5):
        pass
    simulator.stop()
    return 0
