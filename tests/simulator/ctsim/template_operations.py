"""VM templates: clone or convert a VM into a template, delete templates, create VMs from a template with cloud-init.

A template freezes a VM's configuration, disks and NICs like a snapshot does. A VM created from it gets new volumes
of the template's disk sizes (the simulator does not copy template bytes), the template's NICs unless vm_nics are
given, and keeps the cloud-init the request carried in its private `_cloud_init` (the default user password is
never kept), for tests to inspect through the admin state.
"""

from .errors import bad_request
from .store import iso_timestamp
from .tasks import TaskFailure, TaskPlan

# [assumed] error codes: CloudTower's own wording for these refusals is not public.
TEMPLATE_NOT_FOUND = "VM_TEMPLATE_NOT_FOUND"
DUPLICATE_TEMPLATE = "VM_TEMPLATE_DUPLICATE_NAME"
NO_CLOUD_INIT = "VM_TEMPLATE_CLOUD_INIT_NOT_SUPPORTED"
CLOUD_INIT_NIC = "CLOUD_INIT_NIC_INDEX_INVALID"
NOT_STOPPED = "VM_NOT_STOPPED"


class TemplateMutations:
    """Handlers bound to the core Mutations object (whose helpers they share)."""

    def __init__(self, core):
        self.core = core
        self.handlers = {
            "clone-vm-template-from-vm": self.clone_templates, "convert-vm-template-from-vm": self.convert_templates,
            "delete-vm-template": self.delete_templates, "create-vm-from-template": self.create_vms,
        }

    @property
    def store(self):
        return self.core.store

    @property
    def factory(self):
        return self.core.state.factory

    # ----- making templates -------------------------------------------------------------------------------

    def clone_templates(self, body, now, user_id):
        return self._templates("clone-vm-template-from-vm", body, now, user_id, convert=False)

    def convert_templates(self, body, now, user_id):
        return self._templates("convert-vm-template-from-vm", body, now, user_id, convert=True)

    def _templates(self, endpoint, body, now, user_id, convert):
        sources = []
        taken = {(t["cluster"], t["name"]) for t in self.store.rows("vm_templates")}
        for position, item in enumerate(body):
            vm = self.store.get("vms", item["vm_id"])
            if vm is None:
                raise bad_request("VM_NOT_FOUND", "body[%d].vm_id %s does not exist" % (position, item["vm_id"]))
            if item.get("cluster_id") not in (None, vm["cluster"]):
                raise bad_request("CLUSTER_NOT_FOUND", "body[%d].cluster_id: a template is made in its VM's cluster" % position)
            if (vm["cluster"], item["name"]) in taken:
                raise bad_request(DUPLICATE_TEMPLATE, "body[%d].name: a VM template named %s exists in the cluster" % (position, item["name"]))
            if convert and vm["status"] != "STOPPED":
                raise bad_request(NOT_STOPPED, "body[%d]: VM %s is %s; only a stopped VM is converted to a template"
                                  % (position, vm["name"], vm["status"]))
            taken.add((vm["cluster"], item["name"]))
            sources.append((item, vm))
        locked = self.core._locked_ids([vm for _item, vm in sources], "VM", now)
        return [self._template_task(endpoint, item, vm, now, user_id, vm["id"] in locked, convert) for item, vm in sources]

    def _template_task(self, endpoint, item, vm, now, user_id, locked, convert):
        template = self._template_row(now, item, vm)
        template_id, vm_id = template["id"], vm["id"]

        def finish(when):
            current = self.core._vm_or_failure(vm_id)
            if convert:
                self.factory.destroy_vm(when, current, include_snapshots=False)

        def roll_back(_when):
            self.store.delete("vm_templates", template_id)
            return True

        verb = "Convert" if convert else "Clone"
        plan = TaskPlan(endpoint, "%s VM %s to template %s" % (verb, vm["name"], item["name"]), "VmTemplate", template_id, finish, roll_back)
        plan.cluster_id, plan.vm_name, plan.args = vm["cluster"], vm["name"], {"name": item["name"], "vm_id": vm_id}
        plan.locks = (vm_id, template_id)
        plan.busy = (("vm_templates", template_id, "CREATING"),)
        return self.core._answer(self.core._submit(plan, now, user_id, locked), "VmTemplate", template)

    def _template_row(self, now, item, vm):
        frozen_disks, frozen_nics = self.factory.frozen_config(vm)
        nics = [{"enabled": nic["enabled"], "index": nic["index"], "ip_address": nic["ip_address"] or None,
                 "mac_address": nic["mac_address"], "mirror": nic["mirror"], "model": nic["model"], "type": "VLAN",
                 "vlan": nic["vlan"], "vpc_nic": None} for nic in frozen_nics]
        template = {
            "id": self.factory.ids.cuid(now), "local_id": self.factory.ids.uuid(), "name": item["name"],
            "description": item.get("description") or "", "cluster": vm["cluster"],
            "cloud_init_supported": item["cloud_init_supported"], "vcpu": vm["vcpu"], "cpu": dict(vm["cpu"]),
            "memory": vm["memory"], "size": vm.get("size") or 0, "firmware": vm["firmware"], "ha": vm["ha"],
            "clock_offset": vm["clock_offset"], "cpu_model": vm["cpu_model"], "win_opt": vm["win_opt"],
            "io_policy": vm.get("io_policy"), "max_iops": vm.get("max_iops"), "max_iops_policy": vm.get("max_iops_policy"),
            "max_bandwidth": vm.get("max_bandwidth"), "max_bandwidth_policy": vm.get("max_bandwidth_policy"),
            "video_type": "VGA", "local_created_at": iso_timestamp(now), "vm_disks": frozen_disks, "vm_nics": nics,
            "entityAsyncStatus": "CREATING", "_guest_os_type": vm.get("guest_os_type"),
            "_tools_installed": vm.get("_tools_installed", False),
        }
        return self.store.insert("vm_templates", template, now)

    def delete_templates(self, body, now, user_id):
        templates = self.core._select("VmTemplate", body["where"])
        locked = self.core._locked_ids(templates, "VM_TEMPLATE", now) if templates else set()
        answers = []
        for template in templates:
            def destroy(_when, template_id=template["id"]):
                if self.store.delete("vm_templates", template_id) is None:
                    raise TaskFailure(TEMPLATE_NOT_FOUND, "The VM template no longer exists")
            plan = TaskPlan("delete-vm-template", "Delete VM template %s" % template["name"], "VmTemplate", template["id"], destroy)
            plan.cluster_id = template["cluster"]
            plan.locks = (template["id"],)
            plan.busy = (("vm_templates", template["id"], "DELETING"),)
            task = self.core._submit(plan, now, user_id, template["id"] in locked)
            answers.append({"task_id": task["id"], "data": self.core.state.serializer.serialize("VmTemplate", template)})
        return answers

    # ----- VMs from a template ----------------------------------------------------------------------------

    # The operation create_vms answers and the kind of template its task description names (subclasses change both).
    CREATE_OPERATION = "create-vm-from-template"
    TEMPLATE_KIND = "template"

    def create_vms(self, body, now, user_id):
        # Every item is checked before the first VM is created: a bad item leaves nothing behind.
        specs = [self._vm_spec(item, "body[%d]" % position) for position, item in enumerate(body)]
        answers = []
        for template, spec in specs:
            answer = self.core._create_from_spec(self.CREATE_OPERATION, "Create a VM from %s %s" % (self.TEMPLATE_KIND, template["name"]),
                                                 spec, now, user_id)
            if spec["cloud_init"] is not None:
                self.store.update("vms", answer["data"]["id"], {"_cloud_init": spec["cloud_init"], "cloud_init_supported": True}, now)
            answers.append(answer)
        return answers

    def _vm_spec(self, item, path):
        """(template, the VM's creation spec) for one item of create-vm-from-template."""
        template = self.store.get("vm_templates", item["template_id"])
        if template is None or template.get("entityAsyncStatus") == "CREATING":
            raise bad_request(TEMPLATE_NOT_FOUND, "%s.template_id %s does not exist" % (path, item["template_id"]))
        return template, self._spec_for_item(template, self._spec_from_template(template), item, template["cluster"], path)

    def _spec_for_item(self, template, base, item, cluster_id, path):
        """The item's overrides, disk operations, cloud-init and NICs applied to the template's spec."""
        if item.get("disk_operate") is not None:
            base["disks"] = self._operate_disks(base["disks"], item["disk_operate"], cluster_id, path)
        spec = self.core._creation_spec(item, base, path)
        spec["cloud_init"] = self._cloud_init(template, item.get("cloud_init"), len(spec["nics"]), path)
        self._configure_nics(spec)
        return spec

    def _spec_from_template(self, template):
        snapshot_like = dict(template, _guest_os_type=template.get("_guest_os_type"))
        spec = self.core._spec_from_snapshot(snapshot_like)
        spec["tools_installed"] = template.get("_tools_installed", False)
        for position, disk in enumerate(spec["disks"]):
            if disk["kind"] == "new":
                disk["name"] = "%s-disk%d" % (template["name"], position)
        return spec

    def _operate_disks(self, disks, operate, cluster_id, path):
        """The template's disks after disk_operate: removals and bus/volume changes by index, then new disks."""
        disks = [dict(disk) for disk in disks]
        removed = set((operate.get("remove_disks") or {}).get("disk_index") or ())
        for index in removed | {m["disk_index"] for m in operate.get("modify_disks") or ()}:
            if not 0 <= index < len(disks):
                raise bad_request("VM_DISK_NOT_FOUND", "%s.disk_operate: the template has no disk %d" % (path, index))
        for modify in operate.get("modify_disks") or ():
            disk = disks[modify["disk_index"]]
            if modify.get("bus") is not None:
                disk["bus"] = modify["bus"]
            if modify.get("vm_volume_id") is not None:
                disk.update(kind="mount", volume_id=modify["vm_volume_id"])
        kept = [disk for index, disk in enumerate(disks) if index not in removed]
        if operate.get("new_disks"):
            kept += self.core._disk_specs(operate["new_disks"], cluster_id, path + ".disk_operate.new_disks")
        return kept

    @staticmethod
    def _configure_nics(spec):
        """cloud-init's static addresses are what the guest will report on its NICs once it runs."""
        for network in (spec["cloud_init"] or {}).get("networks") or ():
            if network["type"] != "IPV4":
                continue
            nic = spec["nics"][network["nic_index"]] = dict(spec["nics"][network["nic_index"]])
            nic["ip_address"], nic["subnet_mask"] = network["ip_address"], network["netmask"]
            default = [r for r in network.get("routes") or () if r["network"] == "0.0.0.0"]
            nic["gateway"] = default[0]["gateway"] if default else None

    @staticmethod
    def _cloud_init(template, cloud_init, nic_count, path):
        if cloud_init is None:
            return None
        if not template["cloud_init_supported"]:
            raise bad_request(NO_CLOUD_INIT, "%s.cloud_init: template %s does not support cloud-init" % (path, template["name"]))
        for position, network in enumerate(cloud_init.get("networks") or ()):
            if not 0 <= network["nic_index"] < nic_count:
                raise bad_request(CLOUD_INIT_NIC, "%s.cloud_init.networks[%d].nic_index %d: the VM has %d NICs"
                                  % (path, position, network["nic_index"], nic_count))
            if network["type"] == "IPV4" and not (network.get("ip_address") and network.get("netmask")):
                raise bad_request(CLOUD_INIT_NIC, "%s.cloud_init.networks[%d]: a static IPV4 network needs ip_address and netmask"
                                  % (path, position))
        kept = {key: value for key, value in cloud_init.items() if key != "default_user_password"}
        kept["default_user_password_set"] = cloud_init.get("default_user_password") is not None
        return kept
