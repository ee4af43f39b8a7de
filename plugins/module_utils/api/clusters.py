# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudTower clusters: the read that resolves them and the cheapest authenticated request there is."""

from __future__ import annotations

READ = "get-clusters"


def probe(client):
    """One cluster read: proves a token works (the client logs in again once when it does not)."""
    client.call(READ, {"first": 1})
