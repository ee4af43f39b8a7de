# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudTower VLANs (VM networks): the read that lists and resolves them."""

from __future__ import annotations

READ = "get-vlans"


def in_cluster(cluster):
    """Where clause for the VLANs of one cluster record: a VLAN belongs to a cluster through its distributed switch.

    VLAN names such as "default" repeat in every cluster, so a VLAN named for a VM is only looked for here.
    """
    return {"vds": {"cluster": {"id": cluster["id"]}}} if cluster else {}
