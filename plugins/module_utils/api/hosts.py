# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudTower hosts: the read that lists and resolves them."""

from __future__ import annotations

READ = "get-hosts"


def in_cluster(cluster):
    """Where clause for the hosts of one cluster record (or every host when cluster is None)."""
    return {"cluster": {"id": cluster["id"]}} if cluster else {}
