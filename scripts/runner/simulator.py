"""The CloudTower simulator as a background process of the runner (one per integration shard, demo or release).

The password reaches the simulator through $CLOUDTOWER_SIM_PASSWORD, so it appears neither in the
output nor in the process list.
"""

import os
import re
import secrets
import time

from . import processes

READY = re.compile(r"listening on (https?://\S+)")


def new_password():
    return "Ct-" + secrets.token_urlsafe(24)


class Simulator:
    """``with Simulator(python, collection, log, ...) as sim:`` -> ``sim.url``, ``sim.username``, ``sim.password``."""

    def __init__(self, python, collection, log_path, extra_args=(), token_log=None, username="ct-admin", specs=None):
        self.python = python
        self.collection = collection
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.token_log = token_log
        self.username = username
        self.password = new_password()
        self.specs = specs
        self.url = None
        self.process = None

    def _command(self):
        sim = os.path.join(self.collection, "tests", "simulator", "cloudtower_sim.py")
        command = [self.python, sim]
        if self.token_log:
            # Every token the simulator issues is appended to the token log, for the secrets scan.
            recorder = os.path.join(self.collection, "tests", "integration", "targets", "secrets_scan", "files",
                                    "record_tokens.py")
            command = [self.python, recorder, "--sim", sim, "--token-log", self.token_log]
        return command + ["--host", "127.0.0.1", "--port", "0", "--username", self.username] + self.extra_args

    def start(self, timeout=30.0):
        env = dict(os.environ, PYTHONUNBUFFERED="1", CLOUDTOWER_SIM_PASSWORD=self.password)
        if self.specs:
            env["CLOUDTOWER_OPENAPI_DIR"] = self.specs
        log = open(self.log_path, "w", encoding="utf-8")  # pylint: disable=consider-using-with
        self.process = processes.start(self._command(), stdout=log, stderr=log, stdin=open(os.devnull, encoding="utf-8"),
                                       cwd=self.collection, env=env)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path, encoding="utf-8", errors="replace") as stream:
                match = READY.search(stream.read())
            if match:
                self.url = match.group(1).rstrip("/")
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        with open(self.log_path, encoding="utf-8", errors="replace") as stream:
            output = stream.read()
        raise RuntimeError("the simulator did not start; its output:\n" + output)

    def stop(self):
        processes.stop(self.process)
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
