#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the CloudTower simulator and writes every token it issues to a file, one per line.

The simulator keeps tokens in memory only and never logs them; a secrets scan needs every one of them to look
for. This wrapper changes nothing else: the arguments after --token-log FILE are the simulator's own.

usage: record_tokens.py --sim PATH/TO/cloudtower_sim.py --token-log FILE [simulator arguments...]
"""

import os
import sys
import threading


def parse(argv):
    args = list(argv)
    values = {}
    for key in ("--sim", "--token-log"):
        if key not in args:
            sys.exit("record_tokens.py: %s is required" % key)
        position = args.index(key)
        values[key] = args[position + 1]
        del args[position:position + 2]
    return values["--sim"], values["--token-log"], args


def record_logins(token_log):
    from ctsim import auth  # pylint: disable=import-outside-toplevel,import-error

    issue = auth.Sessions.login
    lock = threading.Lock()

    def login_and_record(self, body, state):
        token = issue(self, body, state)
        with lock:
            fd = os.open(token_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a") as stream:
                stream.write(token + "\n")
        return token

    auth.Sessions.login = login_and_record


def main():
    sim, token_log, simulator_args = parse(sys.argv[1:])
    sys.path.insert(0, os.path.dirname(os.path.abspath(sim)))
    record_logins(token_log)
    from ctsim.cli import main as simulator_main  # pylint: disable=import-outside-toplevel,import-error
    return simulator_main(simulator_args)


if __name__ == "__main__":
    sys.exit(main())
