"""Content-library VM templates (4.6): clone or convert a VM into one, delete one, create VMs from one with cloud-init.

A content-library template is held by CloudTower rather than by one cluster and is offered to the clusters its
`clusters` filter chose when it was made; a VM is created from it in one of those clusters. Like a cluster template
it freezes the VM's configuration, disks and NICs (kept privately in the cluster template's frozen form, so VMs are
made from it the same way) and a VM from it gets new volumes of the template's disk sizes.
"""

from .errors import bad_request
from .store import iso_timestamp
from .tasks import TaskFailure, TaskPlan
from .template_operations import NOT_STOPPED, TemplateMutations

# [assumed] error codes and rules: CloudTower's wording is not public, nor whether names are unique across the
# content library (assumed: they are, as the library is one list in the UI).
TEMPLATE_NOT_FOUND = "CONTENT_LIBRARY_VM_TEMPLATE_NOT_FOUND"
DUPLICATE_TEMPLATE = "CONTENT_LIBRARY_VM_TEMPLATE_DUPLICATE_NAME"
CLUSTER_NOT_OFFERED = "CONTENT_LIBRARY_VM_TEMPLATE_CLUSTER_NOT_FOUND"
TABLE = "content_library_vm_templates"


class ContentLibraryTemplateMutations(TemplateMutations):
    """The content-library operations; VMs are made with the cluster templates' helpers."""

    def __init__(self, core):
        super().__init__(core)
        self.handlers = {
            "clone-content-library-vm-template-from-vm": self.clone_templates,
            "convert-content-library-vm-template-from-vm": self.convert_templates,
            "delete-content-library-vm-template": self.delete_templates,
            "create-vm-from-content-library-template": self.create_vms,
        }

    def clone_templates(self, body, now, user_id):
        return self._library_templates("clone-content-library-vm-template-from-vm", body, now, user_id, convert=False)

    def convert_templates(self, body, now, user_id):
        return self._library_templates("convert-content-library-vm-template-from-vm", body, now, user_id, convert=True)

    def _library_templates(self, endpoint, body, now, user_id, convert):
        sources = []
        taken = {t["name"] for t in self.store.rows(TABLE)}
        for position, item in enumerate(body):
            path = "body[%d]" % position
            vm = self._vm_by_unique(item["vm"], path)
            clusters = self.core._select("Cluster", item["clusters"])
            if not clusters:
                raise bad_request("CLUSTER_NOT_FOUND", "%s.clusters matches no cluster" % path)
            if item["name"] in taken:
                raise bad_request(DUPLICATE_TEMPLATE, "%s.name: a content library VM template named %s exists" % (path, item["name"]))
            if convert and vm["status"] != "STOPPED":
                raise bad_request(NOT_STOPPED, "%s: VM %s is %s; only a stopped VM is converted to a template" % (path, vm["name"], vm["status"]))
            taken.add(item["name"])
            sources.append((item, vm, [cluster["id"] for cluster in clusters]))
        locked = self.core._locked_ids([vm for _item, vm, _clusters in sources], "VM", now)
        return [self._library_task(endpoint, item, vm, cluster_ids, now, user_id, vm["id"] in locked, convert)
                for item, vm, cluster_ids in sources]

    def _vm_by_unique(self, where, path):
        found = [vm for vm in self.store.rows("vms")
                 if (where.get("id") is None or vm["id"] == where["id"]) and (where.get("local_id") is None or vm["local_id"] == where["local_id"])]
        if not (where.get("id") or where.get("local_id")) or len(found) != 1:
            raise bad_request("VM_NOT_FOUND", "%s.vm %s matches no VM" % (path, where))
        return found[0]

    def _library_task(self, endpoint, item, vm, cluster_ids, now, user_id, locked, convert):
        template = self._library_row(now, item, vm, cluster_ids)
        template_id, vm_id = template["id"], vm["id"]

        def finish(_when):
            current = self.core._vm_or_failure(vm_id)
            if convert:
                self.factory.destroy_vm(_when, current, include_snapshots=False)

        def roll_back(_when):
            self.store.delete(TABLE, template_id)
            return True

        verb = "Convert" if convert else "Clone"
        plan = TaskPlan(endpoint, "%s VM %s to content library template %s" % (verb, vm["name"], item["name"]),
                        "ContentLibraryVmTemplate", template_id, finish, roll_back)
        plan.cluster_id, plan.vm_name, plan.args = vm["cluster"], vm["name"], {"name": item["name"], "vm_id": vm_id}
        plan.locks = (vm_id, template_id)
        plan.busy = ((TABLE, template_id, "CREATING"),)
        return self.core._answer(self.core._submit(plan, now, user_id, locked), "ContentLibraryVmTemplate", template)

    def _library_row(self, now, item, vm, cluster_ids):
        frozen_disks, frozen_nics = self.factory.frozen_config(vm)
        disks = [{"boot": int(disk["boot"]), "bus": disk["bus"], "content_library_image_id": None, "disabled": disk["disabled"],
                  "disk_name": disk["disk_name"], "index": disk["index"], "max_bandwidth": disk["max_bandwidth"],
                  "max_bandwidth_policy": disk["max_bandwidth_policy"], "max_iops": disk["max_iops"],
                  "max_iops_policy": disk["max_iops_policy"], "path": disk["path"] or None, "resident_in_cache": False,
                  "size": disk["size"], "storage_encrypted": False, "storage_policy": disk["_policy"], "type": disk["type"]}
                 for disk in frozen_disks]
        nics = [{"enabled": nic["enabled"], "index": nic["index"], "mirror": nic["mirror"], "model": nic["model"], "type": "VLAN",
                 "vlan": nic["vlan"], "vpc_nic": None, "egress_rate_limit_burst_in_bit": None, "egress_rate_limit_enabled": False,
                 "egress_rate_limit_max_rate_in_bitps": None, "ingress_rate_limit_burst_in_bit": None,
                 "ingress_rate_limit_enabled": False, "ingress_rate_limit_max_rate_in_bitps": None} for nic in frozen_nics]
        template = {
            "id": self.factory.ids.cuid(now), "name": item["name"], "description": item.get("description") or "",
            "clusters": cluster_ids, "cloud_init_supported": bool(item.get("cloud_init_supported")), "architecture": "X86_64",
            "vcpu": vm["vcpu"], "cpu": dict(vm["cpu"]), "memory": vm["memory"], "size": vm.get("size") or 0,
            "firmware": vm["firmware"], "ha": vm["ha"], "clock_offset": vm["clock_offset"], "cpu_model": vm["cpu_model"],
            "win_opt": vm["win_opt"], "io_policy": vm.get("io_policy"), "max_iops": vm.get("max_iops"),
            "max_iops_policy": vm.get("max_iops_policy"), "max_bandwidth": vm.get("max_bandwidth"),
            "max_bandwidth_policy": vm.get("max_bandwidth_policy"), "os": None, "video_type": "VGA",
            "template_config": {"cpu_exclusive_expected_enabled": False, "guest_os_type": vm.get("guest_os_type"),
                                "minimum_replica": False, "sync_vm_time_on_resume": False},
            "createdAt": iso_timestamp(now), "vm_disks": disks, "vm_nics": nics, "vm_template_uuids": [], "zbs_storage_info": [],
            "entityAsyncStatus": "CREATING", "_frozen_disks": frozen_disks, "_frozen_nics": frozen_nics,
            "_guest_os_type": vm.get("guest_os_type"), "_tools_installed": vm.get("_tools_installed", False),
        }
        return self.store.insert(TABLE, template, now)

    def delete_templates(self, body, now, user_id):
        templates = self.core._select("ContentLibraryVmTemplate", body["where"])
        locked = self.core._locked_ids(templates, "CONTENT_LIBRARY_VM_TEMPLATE", now) if templates else set()
        answers = []
        for template in templates:
            def destroy(_when, template_id=template["id"]):
                if self.store.delete(TABLE, template_id) is None:
                    raise TaskFailure(TEMPLATE_NOT_FOUND, "The content library VM template no longer exists")
            plan = TaskPlan("delete-content-library-vm-template", "Delete content library VM template %s" % template["name"],
                            "ContentLibraryVmTemplate", template["id"], destroy)
            plan.locks = (template["id"],)
            plan.busy = ((TABLE, template["id"], "DELETING"),)
            task = self.core._submit(plan, now, user_id, template["id"] in locked)
            answers.append({"task_id": task["id"], "data": {"id": template["id"]}})
        return answers

    CREATE_OPERATION = "create-vm-from-content-library-template"
    TEMPLATE_KIND = "content library template"

    def _vm_spec(self, item, path):
        """(template, spec) for one item of create-vm-from-content-library-template, in the item's cluster."""
        template = self.store.get(TABLE, item["template_id"])
        if template is None or template.get("entityAsyncStatus") == "CREATING":
            raise bad_request(TEMPLATE_NOT_FOUND, "%s.template_id %s does not exist" % (path, item["template_id"]))
        if item["cluster_id"] not in template["clusters"]:
            raise bad_request(CLUSTER_NOT_OFFERED, "%s.cluster_id %s: content library VM template %s is not offered to that cluster"
                              % (path, item["cluster_id"], template["name"]))
        frozen = dict(template, cluster=item["cluster_id"], vm_disks=template["_frozen_disks"],
                      vm_nics=self._nics_in_cluster(template["_frozen_nics"], item["cluster_id"]))
        return template, self._spec_for_item(template, self._spec_from_template(frozen), item, item["cluster_id"], path)

    def _nics_in_cluster(self, frozen_nics, cluster_id):
        """[assumed] A NIC whose VLAN is not in the VM's cluster is left out (vm_nics sets the NICs there)."""
        kept = []
        for nic in frozen_nics:
            vlans = [vlan for vlan in self.store.rows("vlans") if vlan["local_id"] == nic["vlan"]["vlan_local_id"]]
            if vlans and (self.store.get("vdses", vlans[0].get("vds")) or {}).get("cluster") == cluster_id:
                kept.append(nic)
        return kept
