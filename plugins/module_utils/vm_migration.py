# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moving an existing VM to another cluster (migrate-vm-across-cluster, CloudTower API 4.6).

cloudtower_vm finds a VM by name within its cluster, so a VM in another cluster is a different VM unless the task
says otherwise: only with migrate_across_clusters is one live VM of that name (or the VM with that id) in another
cluster moved here instead of a new VM being created. The move is planned alone: what else the task declares is
decided on the VM as it is in its new cluster, where its VLANs, hosts and folders are those of that cluster.
"""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vlans as api_vlans
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import AmbiguousNameError, InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import HOST, VLAN, related_to, scope_text
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import paginate, where_and

ACROSS_CLUSTER_SINCE = (4, 6)
# The policy CloudTower gives new volumes; used only for a VM without any volume to take the policy from.
DEFAULT_STORAGE_POLICY = "REPLICA_2_THIN_PROVISION"
MIGRATE_TYPES = {"RUNNING": "LIVE_MIGRATE", "STOPPED": "COLD_MIGRATE"}


def label(record):
    return "%s (id %s)" % (record.get("name"), record.get("id"))


def find_in_other_clusters(client, params, cluster):
    """The one live VM the task names (by id, or by name) outside cluster; None when there is none."""
    outside = {"cluster": {"id_not": cluster["id"]}, "in_recycle_bin": False}
    if params.get("id"):
        found = vms.find(client, where_and(outside, {"id": params["id"]}))
        return found[0] if found else None
    found = vms.find(client, where_and(outside, {"name": params["name"]}))
    if len(found) > 1:
        raise AmbiguousNameError("name", params["name"], "VM", found)
    return found[0] if found else None


def refuse_unsupported(server_version, vm, cluster):
    if server_version is not None and server_version < ACROSS_CLUSTER_SINCE:
        raise InputError("migrate_across_clusters", True,
                         "VM %s is in cluster %s; moving it to cluster %s needs migrate-vm-across-cluster, which CloudTower "
                         "has from API 4.6 and this CloudTower (%d.%d) has not: move it in CloudTower, or set cluster to %s"
                         % (label(vm), (vm.get("cluster") or {}).get("name"), cluster["name"], server_version[0], server_version[1],
                            (vm.get("cluster") or {}).get("name")))
    if vm.get("status") not in MIGRATE_TYPES:
        raise InputError("cluster", cluster["name"],
                         "VM %s is %s: CloudTower moves a running VM (live) or a stopped one (cold) to another cluster; "
                         "start or stop it first" % (label(vm), vm.get("status")))


def _storage_policy(client, vm):
    volumes = paginate(client, vms.VOLUMES_READ, where={"vm_disks_some": {"vm": {"id": vm["id"]}}})
    policies = [v.get("elf_storage_policy") for v in volumes if v.get("elf_storage_policy")]
    return policies[0] if policies else DEFAULT_STORAGE_POLICY


def _network_mapping(client, spec, vm, cluster):
    """[{src_vlan_local_id, dest_vlan_local_id}] for each NIC: to the VLAN nics[N] names, else the same-named VLAN."""
    nics = sorted(vms.nics(client, vm["id"]), key=lambda n: n.get("order") or 0)
    source_ids = sorted({(nic.get("vlan") or {}).get("id") for nic in nics} - {None})
    sources = {v["id"]: v for v in paginate(client, api_vlans.READ, where={"id_in": source_ids})} if source_ids else {}
    in_target = api_vlans.in_cluster(cluster)
    mapping = {}
    for position, nic in enumerate(nics):
        source = sources.get((nic.get("vlan") or {}).get("id"))
        if source is None or source["local_id"] in mapping:
            continue
        declared = spec.nics[position].vlan if spec.nics is not None and position < len(spec.nics) else None
        option = "nics[%d].vlan" % position if declared else "cluster"
        wanted = declared or source["name"]
        target = VLAN.find(client, option, wanted, in_target)
        if target is None:
            raise InputError(option, wanted if declared else cluster["name"],
                             "NIC %d of VM %s is on VLAN %s, and cluster %s has no VLAN %s to carry it: declare nics with "
                             "a VLAN of that cluster for each NIC" % (position, label(vm), source["name"], cluster["name"], wanted))
        mapping[source["local_id"]] = target["local_id"]
    return [{"src_vlan_local_id": src, "dest_vlan_local_id": dest} for src, dest in mapping.items()]


def migration_body(client, spec, vm, cluster):
    """migrate-vm-across-cluster's body moving vm to cluster (onto spec.host when given), deleting the source VM."""
    data = {"cluster_id": cluster["id"], "vm_config": {
        "migrate_type": MIGRATE_TYPES[vm["status"]],
        "elf_storage_policy": _storage_policy(client, vm),
        "network_mapping": _network_mapping(client, spec, vm, cluster),
        "delete_src_vm": True,
    }}
    if spec.host:
        data["host_id"] = HOST.resolve(client, "host", spec.host, related_to("cluster", cluster), scope_text("cluster", cluster))["id"]
    return {"where": {"id": vm["id"]}, "data": data}


def plan_migration(plan, client, spec, vm, cluster):
    body = migration_body(client, spec, vm, cluster)
    how = "live" if body["data"]["vm_config"]["migrate_type"] == "LIVE_MIGRATE" else "cold"
    change = {"cluster": {"before": (vm.get("cluster") or {}).get("name"), "after": cluster["name"]}}
    plan.add(vms.MIGRATE_ACROSS_CLUSTER, body, "Move VM %s from cluster %s to cluster %s (%s migration)" % (
        label(vm), change["cluster"]["before"], cluster["name"], how), change)
    return change
