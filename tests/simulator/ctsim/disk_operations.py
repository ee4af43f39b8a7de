"""add-vm-disk: mount existing volumes (or new ones) on a VM that exists, as CloudTower's "Add disk" does.

A restore of one disk from a backup uses it: the restored volume is mounted on the VM as a new disk. The disks
follow the VM's existing ones (index and device name continue after them when the request gives no index).
"""

from .device_operations import needs_stopped
from .errors import bad_request


UNPLACED = -1


class DiskMutations:
    def __init__(self, core):
        self.core = core
        self.handlers = {"add-vm-disk": self.add_disks}

    @property
    def store(self):
        return self.core.store

    def add_disks(self, body, now, user_id):
        core = self.core
        vms = core._select("Vm", body["where"])  # pylint: disable=protected-access
        if not vms:
            return []
        if len(vms) > 1 and body["data"]["vm_disks"].get("mount_disks"):
            raise bad_request("VM_VOLUME_IN_USE", "data.vm_disks.mount_disks: a volume can be mounted on one VM of the where only")
        locked = core._locked_ids(vms, "VM", now)  # pylint: disable=protected-access
        answers = []
        for vm in vms:
            specs = core._disk_specs(self._marked(body), vm["cluster"], "data.vm_disks")  # pylint: disable=protected-access
            if vm["id"] not in locked and any(spec["bus"] == "IDE" for spec in specs):
                needs_stopped(vm, "adding an IDE disk")
            plan = core._vm_plan("add-vm-disk", vm, "Add disks to VM %s" % vm["name"], self._attach(vm["id"], specs),  # pylint: disable=protected-access
                                 args={"data": body["data"]})
            task = core._submit(plan, now, user_id, vm["id"] in locked)  # pylint: disable=protected-access
            answers.append(core._answer(task, "Vm", vm))  # pylint: disable=protected-access
        return answers

    @staticmethod
    def _marked(body):
        """The request's vm_disks with UNPLACED as the index of each disk given none (placed when the task ends)."""
        disks = body["data"]["vm_disks"]
        return {kind: [dict(mount, index=mount.get("index", UNPLACED)) for mount in disks.get(kind) or ()]
                for kind in ("mount_disks", "mount_new_create_disks")}

    def _attach(self, vm_id, specs):
        factory = self.core.state.factory

        def apply(when):
            vm = self.core._vm_or_failure(vm_id)  # pylint: disable=protected-access
            existing = self.store.children("vm_disks", "vm", vm_id)
            taken = {disk.get("_index") for disk in existing}
            for offset, spec in enumerate(specs):
                if spec.get("index") == UNPLACED:
                    spec["index"] = max([i for i in taken if i is not None] + [-1]) + 1
                taken.add(spec["index"])
                factory._attach_disk(when, vm, spec, len(existing) + offset)  # pylint: disable=protected-access
            factory.refresh_vm(when, vm)
        return apply
