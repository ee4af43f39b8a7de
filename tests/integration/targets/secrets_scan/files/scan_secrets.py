#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Looks for secrets in files: every line of each --secrets file (a password, tokens) is searched for in every
file under the given paths, as is, JSON-escaped and base64-encoded. Prints what was scanned and where a secret
was found (never the secret itself) and exits 1 when one was.

usage: scan_secrets.py --secrets FILE [--secrets FILE ...] [--min-secrets N] PATH...
"""

import argparse
import base64
import json
import os
import re
import sys


def forms(secret):
    """The ways a secret can appear in text output."""
    encoded = base64.b64encode(secret.encode("utf-8")).decode("ascii")
    return {secret, json.dumps(secret)[1:-1], encoded.rstrip("=")}


class Needles:
    """Every form of every secret, found in one pass per distinct length.

    A whole -vvv integration run is tens of MB and its simulators issue hundreds of tokens; searching the text
    once per form would take minutes. Forms of one length share an alphabet (tokens are URL-safe base64), so the
    runs of that alphabet are found by one regular expression and only their windows are looked up in a set.
    """

    FEW = 8

    def __init__(self, secrets):
        self.owner = {}
        for number, secret in enumerate(secrets):
            for form in forms(secret):
                if form:
                    self.owner.setdefault(form, number)
        by_length = {}
        for form in self.owner:
            by_length.setdefault(len(form), set()).add(form)
        self.groups = []
        for length, group in sorted(by_length.items()):
            alphabet = "".join(sorted(set("".join(group))))
            runs = re.compile("[%s]{%d,}" % (re.escape(alphabet), length)) if len(group) > self.FEW else None
            self.groups.append((length, group, runs))

    def find(self, text):
        """{secret number: offset of its first occurrence} in text."""
        found = {}
        for length, group, runs in self.groups:
            if runs is None:
                for form in group:
                    position = text.find(form)
                    if position >= 0:
                        found.setdefault(self.owner[form], position)
                continue
            for run in runs.finditer(text):
                chunk = run.group()
                for start in range(len(chunk) - length + 1):
                    window = chunk[start:start + length]
                    if window in group:
                        found.setdefault(self.owner[window], run.start() + start)
        return found


def files_under(paths):
    for path in paths:
        if os.path.isdir(path):
            for directory, _dirs, names in os.walk(path):
                for name in sorted(names):
                    yield os.path.join(directory, name)
        elif os.path.exists(path):
            yield path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", action="append", required=True, help="file with one secret per line")
    parser.add_argument("--min-secrets", type=int, default=1, help="fail when fewer secrets than this were given")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    secrets = []
    for path in args.secrets:
        with open(path, encoding="utf-8") as stream:
            secrets += [line.strip() for line in stream if line.strip()]
    secrets = sorted(set(secrets))
    if len(secrets) < args.min_secrets:
        print("FAILED: only %d secret(s) to look for, expected at least %d" % (len(secrets), args.min_secrets))
        return 1
    needles = Needles(secrets)
    hits, scanned, size = [], 0, 0
    for path in files_under(args.paths):
        with open(path, "rb") as stream:
            text = stream.read().decode("utf-8", errors="replace")
        scanned += 1
        size += len(text)
        for number, position in sorted(needles.find(text).items()):
            line = text.count("\n", 0, position) + 1
            hits.append("%s:%d: secret #%d of %d" % (path, line, number + 1, len(secrets)))
    print("secrets scan: %d secret(s) looked for in %d file(s), %d bytes: %d found" % (len(secrets), scanned, size, len(hits)))
    for hit in hits:
        print("  FOUND " + hit)
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
