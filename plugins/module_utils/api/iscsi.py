# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iSCSI side of a backup: the one place that spells CloudTower's iSCSI target and LUN operations.

A disk is read by cloning its LUN snapshot into an iSCSI target the collection owns, reading the clone over
the portal, and deleting the clone. The target is created on first use, named with BACKUP_PREFIX and this
backup host's name, and open to this host alone (its address and its initiator name): never to everyone.
Every clone is named with the same prefix, so a later run can find what an interrupted one left behind.
"""

from __future__ import annotations

import re
import socket

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import clusters
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError

BACKUP_PREFIX = "smartx-cloudtower-backup-"
INITIATOR_PREFIX = "iqn.2016-02.com.smartx.cloudtower:backup-"
DEFAULT_ISCSI_PORT = 3260
# Target creation needs a layout; these are CloudTower's own defaults for a thin target (256 KiB x 4 stripes).
TARGET_LAYOUT = {"stripe_size": 262144, "stripe_num": 4, "replica_num": 2, "thin_provision": True}
UNSAFE_NAME = re.compile(r"[^a-z0-9-]")


def host_label(hostname=None):
    """This backup host's name as it goes into a target name and an IQN: lower case, letters, digits and '-'."""
    label = UNSAFE_NAME.sub("-", (hostname or socket.gethostname()).lower()).strip("-")
    return label[:40] or "host"


def backup_target_name(label):
    return BACKUP_PREFIX + label


def initiator_name(label):
    """The IQN this host reads with; the target's iqn_whitelist holds it and nothing else."""
    return INITIATOR_PREFIX + label


def clone_name(vm_id, disk_index, token):
    """A clone's LUN name: the prefix marks it as ours, the token tells one run's clones from another's."""
    return "%s%s-disk%s-%s" % (BACKUP_PREFIX, vm_id, disk_index, token)


def parse_portal(option, value):
    """(host, port) of 'host' or 'host:port' (IPv6 in brackets); a CloudTowerError naming option otherwise."""
    text = str(value or "").strip()
    match = re.match(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$", text)
    if not match or (match.group(2) and not 0 < int(match.group(2)) < 65536):
        raise CloudTowerError("Invalid value %r for %s: give the iSCSI portal as host or host:port" % (value, option),
                              option=option, value=value)
    return match.group(1).strip("[]"), int(match.group(2) or DEFAULT_ISCSI_PORT)


def local_address_towards(host, port):
    """The address this host uses to reach host:port: what the portal sees, so what its whitelist must name.

    A UDP connect sends nothing; it only asks the kernel which source address its route would use.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_DGRAM)
    try:
        probe.connect((host, port))
        return probe.getsockname()[0]
    finally:
        probe.close()


class IscsiApi:
    """CloudTower's iSCSI operations as a backup needs them; every mutation is waited for."""

    def __init__(self, client, waiter):
        self.client = client
        self.waiter = waiter

    # ----- the backup target -------------------------------------------------------------------------------
    def find_target(self, cluster_id, name):
        targets = self.client.call("get-iscsi-targets", {"where": {"name": name, "cluster": {"id": cluster_id}}}) or []
        return targets[0] if targets else None

    def ensure_target(self, cluster_id, name, address, iqn, chap=None):
        """The backup target of this host on the cluster, created when missing, its whitelists set to this host only.

        chap (name, secret) makes the target ask for CHAP too; without it CHAP is off. Returns (target, action) where
        action is 'created', 'restricted' (whitelists or CHAP were other than wanted) or None.
        """
        wanted = {"ip_whitelist": address, "iqn_whitelist": iqn, "chap_enabled": bool(chap)}
        if chap:
            wanted.update(chap_name=chap[0], chap_secret=chap[1])
        target = self.find_target(cluster_id, name)
        if target is None:
            params = dict(TARGET_LAYOUT, cluster_id=cluster_id, name=name, description="smartx.cloudtower backups", **wanted)
            replies = self.client.mutate("create-iscsi-target", [params])
            self.waiter.wait([r["task_id"] for r in replies if r.get("task_id")], context="create backup iSCSI target %s" % name)
            return self.find_target(cluster_id, name), "created"
        if any(bool(target.get(key)) != value if key == "chap_enabled" else target.get(key) != value for key, value in wanted.items()):
            # Someone widened it (or it was made for another address, or other CHAP): a backup target is never left open.
            replies = self.client.mutate("update-iscsi-target", {"where": {"id": target["id"]}, "data": wanted})
            self.waiter.wait([r["task_id"] for r in replies if r.get("task_id")], context="restrict backup iSCSI target %s" % name)
            return self.find_target(cluster_id, name), "restricted"
        return target, None

    # ----- clones ------------------------------------------------------------------------------------------
    def clone_lun(self, target_id, name, lun_snapshot_id):
        """Clone a LUN snapshot into the target and wait; returns the new LUN (its lun_id is what the portal serves)."""
        replies = self.client.mutate("clone-iscsi-lun-from-snapshot",
                                     [{"iscsi_target_id": target_id, "name": name, "snapshot_id": lun_snapshot_id}])
        lun_ids = [(r.get("data") or {}).get("id") for r in replies]
        self.waiter.wait([r["task_id"] for r in replies if r.get("task_id")], context="clone LUN %s" % name)
        luns = self.client.call("get-iscsi-luns", {"where": {"id_in": [i for i in lun_ids if i]}}) or []
        if not luns:
            raise CloudTowerError("clone-iscsi-lun-from-snapshot of %s reported success but LUN %s is not there" % (lun_snapshot_id, name))
        return luns[0]

    def find_clones(self, target_id):
        """Every LUN of the backup target whose name carries our prefix: all of them are ours to delete."""
        where = {"iscsi_target": {"id": target_id}, "name_starts_with": BACKUP_PREFIX}
        return self.client.call("get-iscsi-luns", {"where": where}) or []

    def delete_luns(self, lun_ids):
        """Delete LUNs (and any snapshot of them: a clone has none of ours) and wait."""
        if not lun_ids:
            return []
        replies = self.client.mutate("delete-iscsi-lun", {"where": {"id_in": list(lun_ids)}, "data": {"remove_snapshot": True}})
        return self.waiter.wait([r["task_id"] for r in replies if r.get("task_id")], context="delete cloned LUNs")

    def cluster_iscsi_vip(self, cluster_id):
        found = self.client.call(clusters.READ, {"where": {"id": cluster_id}}) or []
        return (found[0].get("iscsi_vip") if found else None) or None
