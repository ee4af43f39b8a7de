"""Mutations of iSCSI targets, iSCSI LUNs and VM volumes (every version 1.8 -> 4.6).

These carry the data path of a backup: clone a LUN out of a VM snapshot's LUN snapshot into a target that a
backup host may reach (whitelist, CHAP), read it over the iSCSI portal, delete it again. Like every mutation,
each call answers at once with {task_id, data} and its task applies the change when it ends.
"""

from .entities import BYTE_UNITS, target_settings
from .errors import bad_request
from .tasks import TaskFailure, TaskPlan

# [assumed] error codes: CloudTower's own wording for these refusals is not public.
TARGET_NOT_FOUND = "ISCSI_TARGET_NOT_FOUND"
LUN_SNAPSHOT_NOT_FOUND = "ISCSI_LUN_SNAPSHOT_NOT_FOUND"
LUN_NOT_FOUND = "ISCSI_LUN_NOT_FOUND"
VOLUME_SNAPSHOT_NOT_FOUND = "VM_VOLUME_SNAPSHOT_NOT_FOUND"


class StorageMutations:
    """Handlers bound to the core Mutations object (whose helpers they share)."""

    def __init__(self, core):
        self.core = core
        self.handlers = {
            "create-iscsi-target": self.create_targets, "update-iscsi-target": self.update_targets,
            "delete-iscsi-target": self.delete_targets, "create-iscsi-lun": self.create_luns,
            "delete-iscsi-lun": self.delete_luns, "clone-iscsi-lun-from-snapshot": self.clone_luns,
            "create-vm-volume": self.create_volumes, "delete-vm-volume": self.delete_volumes,
            "rebuild-vm-volume": self.rebuild_volumes,
        }

    @property
    def store(self):
        return self.core.store

    @property
    def factory(self):
        return self.core.state.factory

    def _plan(self, endpoint, description, resource_type, entity, table, on_success, busy_status, cluster_id):
        plan = TaskPlan(endpoint, description, resource_type, entity["id"], on_success)
        plan.cluster_id = cluster_id
        plan.locks = (entity["id"],)
        plan.busy = ((table, entity["id"], busy_status),)
        return plan

    def _creation(self, endpoint, description, resource_type, table, entity, finish, cluster_id, user_id, now, answer_as):
        """Submit a creation task: the row exists at once (CREATING) and goes away again if the task fails."""
        def roll_back(_when):
            doomed = self.store.delete(table, entity["id"])
            if doomed is not None and table == "iscsi_luns":
                self.store.data.discard(table, doomed)
            return True
        plan = self._plan(endpoint, description, resource_type, entity, table, finish, "CREATING", cluster_id)
        plan.on_failure = roll_back
        return self.core._answer(self.core.state.engine.submit(plan, now, user_id), answer_as, entity)

    def _cluster(self, cluster_id, path):
        cluster = self.store.get("clusters", cluster_id)
        if cluster is None:
            raise bad_request("CLUSTER_NOT_FOUND", "%s.cluster_id %s does not exist" % (path, cluster_id))
        return cluster

    def _target(self, target_id, path):
        target = self.store.get("iscsi_targets", target_id)
        if target is None:
            raise bad_request(TARGET_NOT_FOUND, "%s.iscsi_target_id %s does not exist" % (path, target_id))
        return target

    # ----- targets ----------------------------------------------------------------------------------------

    def create_targets(self, body, now, user_id):
        answers = []
        for position, params in enumerate(body):
            cluster = self._cluster(params["cluster_id"], "body[%d]" % position)
            params = dict(params, stripe_size=int(params["stripe_size"] * BYTE_UNITS[params.get("stripe_size_unit") or "B"]))
            target = self.factory.external_iscsi_target(now, cluster, params)

            def finish(when, target_id=target["id"]):
                self.store.update("iscsi_targets", target_id, {"entityAsyncStatus": None}, when)
            answers.append(self._creation("create-iscsi-target", "Create iSCSI target %s" % params["name"], "IscsiTarget",
                                          "iscsi_targets", target, finish, cluster["id"], user_id, now, "IscsiTarget"))
        return answers

    def update_targets(self, body, now, user_id):
        targets = self.core._select("IscsiTarget", body["where"])
        locked = self.core._locked_ids(targets, "ISCSI_TARGET", now) if targets else set()
        changes = target_settings(body["data"])
        answers = []
        for target in targets:
            def apply(when, target_id=target["id"]):
                if self.store.get("iscsi_targets", target_id) is None:
                    raise TaskFailure(TARGET_NOT_FOUND, "The iSCSI target no longer exists")
                self.store.update("iscsi_targets", target_id, changes, when)
            plan = self._plan("update-iscsi-target", "Edit iSCSI target %s" % target["name"], "IscsiTarget", target,
                              "iscsi_targets", apply, "UPDATING", target["cluster"])
            plan.args = {"data": body["data"]}
            answers.append(self.core._answer(self.core._submit(plan, now, user_id, target["id"] in locked), "IscsiTarget", target))
        return answers

    def delete_targets(self, body, now, user_id):
        targets = self.core._select("IscsiTarget", body["where"])
        internal = [target["name"] for target in targets if target.get("internal")]
        if internal:
            raise bad_request("ISCSI_TARGET_INTERNAL", "the cluster's own targets cannot be deleted: %s" % ", ".join(internal))
        locked = self.core._locked_ids(targets, "ISCSI_TARGET", now) if targets else set()
        answers = []
        for target in targets:
            def destroy(_when, target_id=target["id"]):
                # [assumed] ZBS refuses to drop a target that still exports LUNs; clients delete the LUNs first.
                if self.store.children("iscsi_luns", "iscsi_target", target_id):
                    raise TaskFailure("ISCSI_TARGET_NOT_EMPTY", "Delete the LUNs of the iSCSI target first")
                self.store.delete("iscsi_targets", target_id)
            plan = self._plan("delete-iscsi-target", "Delete iSCSI target %s" % target["name"], "IscsiTarget", target,
                              "iscsi_targets", destroy, "DELETING", target["cluster"])
            task = self.core._submit(plan, now, user_id, target["id"] in locked)
            answers.append({"task_id": task["id"], "data": {"id": target["id"]}})
        return answers

    # ----- LUNs -------------------------------------------------------------------------------------------

    def create_luns(self, body, now, user_id):
        answers = []
        for position, params in enumerate(body):
            target = self._target(params["iscsi_target_id"], "body[%d]" % position)
            size = int(params["assigned_size"] * BYTE_UNITS[params.get("assigned_size_unit") or "B"])
            if size <= 0:
                raise bad_request("ISCSI_LUN_SIZE_INVALID", "body[%d].assigned_size must be positive" % position)
            self._check_lun_number(target, params.get("lun_id"), "body[%d]" % position)
            lun = self.factory.lun(now, target, params["name"], size, params["replica_num"], target.get("thin_provision", True),
                                   lun_number=params.get("lun_id"))
            updates = {"entityAsyncStatus": "CREATING"}
            if params.get("allowed_initiators") is not None:
                updates["allowed_initiators"] = params["allowed_initiators"]
            self.store.update("iscsi_luns", lun["id"], updates, now)
            answers.append(self._creation("create-iscsi-lun", "Create iSCSI LUN %s" % params["name"], "IscsiLun", "iscsi_luns", lun,
                                          self._finish_lun(lun["id"]), target["cluster"], user_id, now, "IscsiLun"))
        return answers

    def _check_lun_number(self, target, number, path):
        if number is None:
            return
        if number < 1 or number > 255:
            raise bad_request("ISCSI_LUN_ID_INVALID", "%s.lun_id must be 1..255" % path)
        if any(lun["lun_id"] == number for lun in self.store.children("iscsi_luns", "iscsi_target", target["id"])):
            raise bad_request("ISCSI_LUN_ID_DUPLICATE", "%s.lun_id %d is taken in target %s" % (path, number, target["name"]))

    def _finish_lun(self, lun_id, content_from=None):
        def finish(when):
            lun = self.store.get("iscsi_luns", lun_id)
            if content_from is not None:
                source = self.store.get("iscsi_lun_snapshots", content_from)
                if source is None:
                    raise TaskFailure(LUN_SNAPSHOT_NOT_FOUND, "The iSCSI LUN snapshot no longer exists")
                self.store.data.finish_copy("iscsi_lun_snapshots", source, "iscsi_luns", lun)
            self.store.update("iscsi_luns", lun_id, {"entityAsyncStatus": None}, when)
        return finish

    def clone_luns(self, body, now, user_id):
        answers = []
        for position, params in enumerate(body):
            path = "body[%d]" % position
            target = self._target(params["iscsi_target_id"], path)
            snapshot = self.store.get("iscsi_lun_snapshots", params["snapshot_id"])
            if snapshot is None:
                raise bad_request(LUN_SNAPSHOT_NOT_FOUND, "%s.snapshot_id %s does not exist" % (path, params["snapshot_id"]))
            source_lun = self.store.get("iscsi_luns", snapshot.get("iscsi_lun")) or {}
            lun = self.factory.lun(now, target, params["name"], snapshot["_size"], source_lun.get("replica_num", 2),
                                   source_lun.get("thin_provision", True))
            self.store.update("iscsi_luns", lun["id"], {"entityAsyncStatus": "CREATING"}, now)
            self.store.data.prepare_copy("iscsi_lun_snapshots", snapshot, "iscsi_luns", lun)
            finish = self._finish_lun(lun["id"], content_from=snapshot["id"])
            answers.append(self._creation("clone-iscsi-lun-from-snapshot", "Clone iSCSI LUN %s from snapshot %s" % (
                params["name"], snapshot["name"]), "IscsiLun", "iscsi_luns", lun, finish, target["cluster"], user_id, now, "IscsiLun"))
        return answers

    def delete_luns(self, body, now, user_id):
        luns = self.core._select("IscsiLun", body["where"])
        in_use = [lun["name"] for lun in luns if self._volume_of(lun["id"]) is not None]
        if in_use:
            raise bad_request("ISCSI_LUN_IN_USE", "LUNs backing VM volumes are deleted with the volume: %s" % ", ".join(in_use))
        locked = self.core._locked_ids(luns, "ISCSI_LUN", now) if luns else set()
        remove_snapshots = body["data"]["remove_snapshot"]
        answers = []
        for lun in luns:
            def destroy(when, lun_id=lun["id"]):
                self._destroy_lun(when, lun_id, remove_snapshots)
            target = self.store.get("iscsi_targets", lun["iscsi_target"]) or {}
            plan = self._plan("delete-iscsi-lun", "Delete iSCSI LUN %s" % lun["name"], "IscsiLun", lun, "iscsi_luns", destroy,
                              "DELETING", target.get("cluster"))
            task = self.core._submit(plan, now, user_id, lun["id"] in locked)
            answers.append({"task_id": task["id"], "data": {"id": lun["id"]}})
        return answers

    def _volume_of(self, lun_id):
        for volume in self.store.rows("vm_volumes"):
            if volume.get("lun") == lun_id:
                return volume
        return None

    def _destroy_lun(self, when, lun_id, remove_snapshots):
        lun = self.store.get("iscsi_luns", lun_id)
        if lun is None:
            raise TaskFailure(LUN_NOT_FOUND, "The iSCSI LUN no longer exists")
        for lun_snapshot in list(self.store.rows("iscsi_lun_snapshots")):
            if lun_snapshot.get("iscsi_lun") != lun_id:
                continue
            if remove_snapshots:
                self.store.data.discard("iscsi_lun_snapshots", self.store.delete("iscsi_lun_snapshots", lun_snapshot["id"]))
            else:
                self.store.update("iscsi_lun_snapshots", lun_snapshot["id"], {"iscsi_lun": None}, when)
        self.store.data.discard("iscsi_luns", self.store.delete("iscsi_luns", lun_id))

    # ----- VM volumes -------------------------------------------------------------------------------------

    def create_volumes(self, body, now, user_id):
        answers = []
        for position, params in enumerate(body):
            cluster = self._cluster(params["cluster_id"], "body[%d]" % position)
            size = int(params["size"] * BYTE_UNITS[params.get("size_unit") or "B"])
            if size <= 0:
                raise bad_request("VM_VOLUME_SIZE_INVALID", "body[%d].size must be positive" % position)
            volume = self.new_volume(now, cluster["id"], params["name"], size, params["elf_storage_policy"], params["sharing"])
            answers.append(self._volume_creation("create-vm-volume", "Create VM volume %s" % params["name"], volume,
                                                 None, user_id, now))
        return answers

    def new_volume(self, now, cluster_id, name, size, policy, sharing=False):
        """A VM volume (and LUN) shown as being created until its task ends."""
        volume = self.factory.volume(now, cluster_id, name, size, policy)
        self.store.update("vm_volumes", volume["id"], {"entityAsyncStatus": "CREATING", "sharing": bool(sharing)}, now)
        return volume

    def _volume_creation(self, endpoint, description, volume, fill, user_id, now):
        """Submit a volume creation; `fill(when, volume)` may give it content before it appears."""
        volume_id = volume["id"]

        def finish(when):
            created = self.store.get("vm_volumes", volume_id)
            if fill is not None:
                fill(when, created)
            self.store.update("vm_volumes", volume_id, {"entityAsyncStatus": None}, when)

        def roll_back(when):
            doomed = self.store.get("vm_volumes", volume_id)
            if doomed is not None:
                self.factory.remove_volume(when, doomed)
            return True
        plan = self._plan(endpoint, description, "VmVolume", volume, "vm_volumes", finish, "CREATING", volume["cluster"])
        plan.on_failure = roll_back
        return self.core._answer(self.core.state.engine.submit(plan, now, user_id), "VmVolume", volume)

    def rebuild_volumes(self, body, now, user_id):
        """rebuild-vm-volume (4.6): a new volume holding a VM volume snapshot's bytes, in the snapshot's cluster."""
        answers = []
        for position, params in enumerate(body):
            snapshot = self.store.get("vm_volume_snapshots", params["volume_snapshot_id"])
            if snapshot is None:
                raise bad_request(VOLUME_SNAPSHOT_NOT_FOUND, "body[%d].volume_snapshot_id %s does not exist" % (position, params["volume_snapshot_id"]))
            volume = self.new_volume(now, snapshot["cluster"], params["name"], int(snapshot["volume_size"]), snapshot["elf_storage_policy"])
            self.store.update("vm_volumes", volume["id"], {"description": params["description"]}, now)
            source = self.store.get("iscsi_lun_snapshots", snapshot.get("_lun_snapshot"))
            if source is not None:
                self.store.data.prepare_copy("iscsi_lun_snapshots", source, "iscsi_luns", self.store.get("iscsi_luns", volume["lun"]))
            answers.append(self._volume_creation("rebuild-vm-volume", "Rebuild VM volume %s from snapshot %s" % (
                params["name"], snapshot["name"]), volume, self._snapshot_filler(snapshot["id"]), user_id, now))
        return answers

    def _snapshot_filler(self, volume_snapshot_id):
        def fill(_when, volume):
            snapshot = self.store.get("vm_volume_snapshots", volume_snapshot_id)
            source = self.store.get("iscsi_lun_snapshots", (snapshot or {}).get("_lun_snapshot"))
            if source is None:
                raise TaskFailure(VOLUME_SNAPSHOT_NOT_FOUND, "The VM volume snapshot no longer exists")
            self.store.data.finish_copy("iscsi_lun_snapshots", source, "iscsi_luns", self.store.get("iscsi_luns", volume["lun"]))
        return fill

    def delete_volumes(self, body, now, user_id):
        volumes = self.core._select("VmVolume", body["where"])
        mounted = [volume["name"] for volume in volumes if self.store.children("vm_disks", "vm_volume", volume["id"])]
        if mounted:
            raise bad_request("VM_VOLUME_IN_USE", "unmount before deleting: %s" % ", ".join(mounted))
        locked = self.core._locked_ids(volumes, "VM_VOLUME", now) if volumes else set()
        answers = []
        for volume in volumes:
            def destroy(when, volume_id=volume["id"]):
                doomed = self.store.get("vm_volumes", volume_id)
                if doomed is None:
                    raise TaskFailure("VM_VOLUME_NOT_FOUND", "The VM volume no longer exists")
                if self.store.children("vm_disks", "vm_volume", volume_id):
                    raise TaskFailure("VM_VOLUME_IN_USE", "The VM volume was mounted meanwhile")
                self.factory.remove_volume(when, doomed)
            plan = self._plan("delete-vm-volume", "Delete VM volume %s" % volume["name"], "VmVolume", volume, "vm_volumes",
                              destroy, "DELETING", volume["cluster"])
            task = self.core._submit(plan, now, user_id, volume["id"] in locked)
            answers.append({"task_id": task["id"], "data": {"id": volume["id"]}})
        return answers
