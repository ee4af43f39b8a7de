# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM reconciler behind cloudtower_vm: find the VM, plan, run the plan through the executor, report.

The module declares its options; everything it decides lives here, over the VM decisions of vm.py, the
request bodies of vm_spec.py and the API layer (api/vms.py), so no operation name is spelled in the module.
"""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import labels
from ansible_collections.smartx.cloudtower.plugins.module_utils.api.content_library_vm_templates import offered_to
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import snapshots as api_snapshots
from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.content_library import refuse_before_4_6
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError, InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import (
    CLUSTER,
    CONTENT_LIBRARY_VM_TEMPLATE,
    VM,
    VM_SNAPSHOT,
    VM_TEMPLATE,
    named_cluster,
    related_to,
    scope_text,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.plan import diff_of, predicted_after
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import where_and
from ansible_collections.smartx.cloudtower.plugins.module_utils.retry import Backoff, Deadline, sleep_within
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import wait_until_idle
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm import (
    CREATION_STATUS,
    POWER_STATES,
    PlanRunner,
    PowerStep,
    VmPlan,
    basic_info_changes,
    check_delete_effect_supported,
    describe_changes,
    explain_refused_effect,
    managed_view,
    placement_drift,
    power_changes,
    power_steps,
    update_data,
    warning_for,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_devices import DevicePlanner, TemplateDiskPlanner, placement_changes
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_labels import LabelPlanner
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_migration import find_in_other_clusters, plan_migration, refuse_unsupported
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_spec import (
    References,
    VmSpec,
    clone_body,
    creation_body,
    missing_for_create,
    rebuild_body,
    resolve_references,
    template_body,
)


def check_option_combinations(params):
    """Contradictions Ansible's argument spec cannot express, refused before any request."""
    state = params["state"]
    if state != "absent":
        for option in ("delete_snapshots", "recycle_bin"):
            if params[option]:
                raise InputError(option, True, "only applies with state: absent (state is %s)" % state)
    else:
        if params.get("new_name"):
            raise InputError("new_name", params["new_name"], "cannot be used with state: absent")
        if params["delete_snapshots"] and params["recycle_bin"]:
            raise InputError("delete_snapshots", True, "conflicts with recycle_bin: true; a VM in the recycle bin keeps its snapshots")
    if params.get("migrate_across_clusters") and not params.get("cluster"):
        raise InputError("migrate_across_clusters", True, "needs cluster: the cluster to move the VM to")
    for purge, declared in (("purge_disks", "disks"), ("purge_nics", "nics"), ("purge_labels", "labels")):
        if params.get(purge) and params.get(declared) is None:
            raise InputError(purge, True, "needs %s: without it the VM's %s are not managed, so nothing says which to keep; "
                                          "declare the %s to keep" % (declared, declared, declared))
    if params.get("wait_for") and state not in ("running", "restarted"):
        raise InputError("wait_for", params["wait_for"], "needs state: running or restarted (state is %s): only a running guest "
                                                         "starts VMTools and reports IP addresses" % state)
    if params.get("wait_for_timeout") is not None and params["wait_for_timeout"] <= 0:
        raise InputError("wait_for_timeout", params["wait_for_timeout"], "must be a positive number of seconds")
    if params["shutdown_timeout"] <= 0:
        raise InputError("shutdown_timeout", params["shutdown_timeout"], "must be a positive number of seconds")
    if params["wait_timeout"] <= 0:
        raise InputError("wait_timeout", params["wait_timeout"], "must be a positive number of seconds")


def guest_ips(vm):
    """The VM's IP addresses as a list (CloudTower reports them comma-separated)."""
    return [ip.strip() for ip in ((vm or {}).get("ips") or "").split(",") if ip.strip()]


def guest_not_ready(vm, wanted):
    """What of wanted (vmtools, ip) the VM's guest does not show yet, as sentences; [] when ready."""
    missing = []
    if vm.get("status") != "RUNNING":
        missing.append("the VM is %s" % vm.get("status"))
    if "vmtools" in wanted and vm.get("vm_tools_status") != "RUNNING":
        missing.append("VMTools is %s" % vm.get("vm_tools_status"))
    if "ip" in wanted and not guest_ips(vm):
        missing.append("no IP address reported")
    return missing


def check_cloud_init_nics(spec, template):
    """Each cloud-init network must name a NIC the new VM has (the nics option's, else the template's)."""
    count = len(spec.nics) if spec.nics is not None else len(template.get("vm_nics") or ())
    for position, network in enumerate((spec.cloud_init or {}).get("networks") or ()):
        nic = position if network.get("nic") is None else network["nic"]
        if nic >= count:
            raise InputError("cloud_init.networks[%d].nic" % position, nic, "names NIC %d, but the new VM has %d NIC(s) (%s)" % (
                nic, count, "the nics option" if spec.nics is not None else "those of template %s" % template.get("name")))


def label(vm):
    return "%s (id %s)" % (vm.get("name"), vm.get("id"))


class VmTask:
    """One run of cloudtower_vm: find the VM, plan, run the plan (unless check mode), report."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = module.client
        self.state = self.params["state"]
        self.spec = VmSpec(self.params)
        self.plan = VmPlan()
        self.runner = PlanRunner(module, self.params["shutdown_timeout"], find_lost_creation=self.find_lost_creation)
        self.home_cluster_id = None
        self.adopted = None
        self.changes = {}
        self.drift = []
        self.device_changes = {}
        self.predicted = None
        self.moved = None
        self.moved_changes = {}

    # ----- finding the VM ------------------------------------------------------------------------
    def locate(self, scope):
        if self.params.get("id"):
            found = vms.find(self.client, where_and(scope, {"id": self.params["id"]}))
            return found[0] if found else None
        live = where_and(scope, {"in_recycle_bin": False})
        vm = VM.find(self.client, "name", self.spec.name, live)
        new_name = self.spec.new_name
        if new_name and new_name != self.spec.name:
            renamed = VM.find(self.client, "new_name", new_name, live)
            if vm and renamed:
                raise InputError("new_name", new_name, "VM %s already has this name; renaming VM %s to it would make the name "
                                                       "ambiguous" % (label(renamed), label(vm)))
            vm = vm or renamed
        return vm

    def refuse_taken_name(self, vm):
        """Renaming by id: another live VM of the cluster must not already have the new name."""
        where = {"name": self.spec.new_name, "in_recycle_bin": False, "id_not": vm["id"]}
        others = vms.find(self.client, where_and(related_to("cluster", vm.get("cluster")), where))
        if others:
            raise InputError("new_name", self.spec.new_name, "VM %s in the same cluster already has this name; renaming VM %s "
                                                             "to it would make the name ambiguous" % (label(others[0]), label(vm)))

    # ----- planning --------------------------------------------------------------------------------
    def plan_absent(self, vm):
        if vm is None:
            return
        recycle = self.params["recycle_bin"]
        if vm.get("in_recycle_bin") and recycle:
            return
        if not vm.get("in_recycle_bin") and vm.get("status") != "STOPPED":
            if not self.params["force"]:
                raise InputError("force", False, "VM %s is %s; deleting it needs it powered off first: set force: true to power it "
                                                 "off, or stop it with state: stopped" % (label(vm), vm.get("status")))
            self.plan.add(vms.POWEROFF, vms.on_vm(vm["id"]), "Power VM %s off before deleting it (force: true)" % label(vm),
                          {"status": {"before": vm.get("status"), "after": "STOPPED"}})
            self.changes["status"] = {"before": vm.get("status"), "after": "STOPPED"}
        if recycle:
            change = {"in_recycle_bin": {"before": False, "after": True}}
            self.plan.add(vms.MOVE_TO_RECYCLE_BIN, vms.on_vm(vm["id"]), "Move VM %s to the recycle bin" % label(vm), change)
        else:
            with_snapshots = self.params["delete_snapshots"]
            if with_snapshots:
                check_delete_effect_supported(self.client)
            summary = "Delete VM %s%s" % (label(vm), " and its snapshots" if with_snapshots else "")
            change = {"exists": {"before": True, "after": False}}
            self.plan.add(vms.DELETE, vms.delete_body(vm["id"], with_snapshots), summary, change)
        self.changes.update(change)

    def resolve_snapshot(self, value, in_cluster, cluster):
        """A snapshot id is found wherever it is (CloudTower judges a rebuild across clusters); a name only in the cluster."""
        by_id = api_snapshots.by_ids(self.client, [value])
        if by_id:
            return by_id[0]
        return VM_SNAPSHOT.resolve(self.client, "from_snapshot", value, in_cluster, scope_text("cluster", cluster))

    def plan_create(self, cluster):
        spec = self.spec
        if self.params.get("id"):
            raise InputError("id", self.params["id"], "no VM with this id exists; a VM cannot be created with a chosen id: "
                                                      "give name (and cluster) instead")
        status = CREATION_STATUS[self.state]
        in_cluster = related_to("cluster", cluster)
        if spec.clone_from:
            origin = VM.resolve(self.client, "clone_from", spec.clone_from)
        elif spec.from_snapshot:
            origin = self.resolve_snapshot(spec.from_snapshot, in_cluster, cluster)
        elif spec.template_content_library:
            origin = self.resolve_library_template(cluster)
            check_cloud_init_nics(spec, origin)
        elif spec.template:
            origin = VM_TEMPLATE.resolve(self.client, "template", spec.template, in_cluster, scope_text("cluster", cluster))
            check_cloud_init_nics(spec, origin)
        else:
            origin = None
            missing = missing_for_create(spec)
            if missing:
                raise missing
        home = cluster or origin.get("cluster")
        self.home_cluster_id = (home or {}).get("id")
        refs = resolve_references(self.client, spec, home)
        follow_up = []
        if spec.clone_from:
            operation, body = vms.CLONE, clone_body(spec, refs, origin, cluster, status)
            how = "Clone VM %s from VM %s" % (spec.final_name, label(origin))
        elif spec.from_snapshot:
            operation, body = vms.REBUILD, rebuild_body(spec, refs, origin, cluster, status)
            how = "Rebuild VM %s from snapshot %s" % (spec.final_name, label(origin))
        elif spec.template:
            disks = TemplateDiskPlanner(self.client, spec, refs, origin, self.params.get("purge_disks"),
                                        lambda: self.server_has(vms.EXPAND_DISK_SINCE)) if spec.disks is not None else None
            operation = vms.CREATE_FROM_CONTENT_LIBRARY_TEMPLATE if spec.template_content_library else vms.CREATE_FROM_TEMPLATE
            body = template_body(spec, refs, origin, cluster, status, disks.plan_template() if disks else None)
            kind = "content-library template" if spec.template_content_library else "template"
            how = "Create VM %s from %s %s%s" % (spec.final_name, kind, label(origin), " with cloud-init" if spec.cloud_init else "")
            follow_up = disks.grow_changes() if disks else []
        else:
            operation, body = vms.CREATE, creation_body(spec, refs, cluster, status)
            how = "Create VM %s in cluster %s" % (spec.final_name, home.get("name"))
        self.predicted = self.predict_new_vm(body, origin)
        self.changes = dict({"exists": {"before": False, "after": True}},
                            **{field: {"before": None, "after": value} for field, value in self.predicted.items()})
        self.plan.add(operation, [body], "%s, %s" % (how, status), self.changes)
        self.add_devices(follow_up)
        for device in follow_up + self.add_labels({}):
            self.changes = dict(self.changes, **device.changes)
        if self.state == "suspended":
            self.plan.add_power(PowerStep(vms.SUSPEND, "Suspend the new VM %s" % spec.final_name))

    def resolve_library_template(self, cluster):
        """The content-library template the task names, among those offered to the VM's cluster (API 4.6)."""
        refuse_before_4_6(self.client, "template_content_library", True)
        if cluster is None:
            raise InputError("cluster", None, "is required to create VM %s from content-library template %r: CloudTower creates it "
                                              "in one of the clusters the template is offered to" % (self.spec.final_name, self.spec.template))
        return CONTENT_LIBRARY_VM_TEMPLATE.resolve(self.client, "template", self.spec.template, offered_to(cluster),
                                                   "the content library, offered to %s" % scope_text("cluster", cluster))

    def predict_new_vm(self, body, origin):
        """The managed fields a new VM will have: the body's, else its source's."""
        origin = origin or {}
        cpu = origin.get("cpu") or {}
        after = {
            "name": body["name"],
            # CloudTower's description is never null: a new VM without one has "".
            "description": body.get("description", origin.get("description", "") if self.spec.clone_from else ""),
            "vcpu": body.get("vcpu", origin.get("vcpu")),
            "cpu_sockets": body.get("cpu_sockets", cpu.get("sockets")),
            "cpu_cores": body.get("cpu_cores", cpu.get("cores")),
            "memory": body.get("memory", origin.get("memory")),
            "ha": body.get("ha", origin.get("ha")),
            "status": "SUSPENDED" if self.state == "suspended" else body["status"],
            "in_recycle_bin": False,
        }
        if after["memory"] is not None:
            after["memory"] = int(float(after["memory"]))
        return after

    def plan_existing(self, vm):
        if vm.get("in_recycle_bin"):
            raise CloudTowerError("VM %s is in the recycle bin; recover it in CloudTower first (or delete it with state: absent)" % label(vm),
                                  vm_id=vm["id"])
        spec = self.spec
        basic = basic_info_changes(vm, spec)
        if "name" in basic and self.params.get("id"):
            self.refuse_taken_name(vm)
        target = self.state if self.state in POWER_STATES else None
        status = vm.get("status")
        power = power_steps(status, target, self.params["force"]) if target else []
        planner = DevicePlanner(self.client, spec, None, vm, self.params.get("purge_disks"), self.params.get("purge_nics"),
                                can_expand=lambda: self.server_has(vms.EXPAND_DISK_SINCE),
                                can_eject=lambda: self.server_has(vms.EJECT_ISO_SINCE))
        # What the VM already shows is not looked up: a run with nothing to change reads only the VM and its devices.
        refs = resolve_references(self.client, spec, vm.get("cluster"), planner.known_references()) if spec.names_references() \
            else References()
        devices = planner.plan(refs) + placement_changes(spec, vm, refs, will_start=False)
        stop_for = [d.needs_stop for d in devices if d.needs_stop]
        cycle = bool(stop_for) and status != "STOPPED" and target != "stopped"
        if cycle:
            self.refuse_without_force_restart(vm, stop_for)
            power = self.restart_cold(status, target)
        will_start = any(p.operation == vms.START for p in power)
        if will_start or target == "stopped":
            # The VM starts on the host (no migration), or it stops: a migration would be undone or refused.
            devices = [d for d in devices if d.operation != vms.MIGRATE]
        self.drift = placement_drift(spec, vm, refs, will_start)
        start_data = {"host_id": refs.host["id"]} if refs.host else None
        # Updates go in while the VM is stopped when the task stops it (or stops it to apply them), before starting it otherwise.
        stops_first = (target == "stopped" and status != "STOPPED") or cycle
        stop_steps = power[:self.stop_count(power)] if cycle else (power if stops_first else [])
        later_steps = power[len(stop_steps):]
        self.add_power_steps(vm, stop_steps, start_data)
        self.add_update(vm, basic)
        self.add_devices(devices)
        devices = devices + self.add_labels(vm)
        self.add_power_steps(vm, later_steps, start_data)
        self.device_changes = {}
        for device in devices:
            self.device_changes.update(device.changes)
        self.changes = dict(basic, **self.device_changes)
        if cycle:
            self.changes["restarted"] = {"before": False, "after": True}
        elif target:
            self.changes.update(power_changes(status, target))

    def move_across_clusters(self, cluster):
        """The VM the task names, moved here from another cluster first (in check mode: as it is, to plan the rest).

        The move is its own plan, run before the rest is decided: on its new cluster the VM's VLANs, hosts and folders
        are that cluster's, so what else the task declares is compared with the VM as it is there.
        """
        source = find_in_other_clusters(self.client, self.params, cluster)
        if source is None:
            return None
        refuse_unsupported(vms.server_version(self.client), source, cluster)
        self.moved = VmPlan()
        self.moved_changes = plan_migration(self.moved, self.client, self.spec, source, cluster)
        if self.module.check_mode:
            # What else would change is only known on the new cluster: check mode announces the move.
            result = dict(changed=True, vm=source, changes=self.moved_changes, actions=self.moved.describe(), tasks=[],
                          not_applied=[], ips=guest_ips(source))
            diff = diff_of(self.module, {"cluster": self.moved_changes["cluster"]["before"]}, {"cluster": cluster["name"]})
            if diff is not None:
                result["diff"] = diff
            self.module.exit_json(**result)
        try:
            self.runner.run(self.moved, source)
        except CloudTowerError as error:
            self.module.fail_from_error(error, changed=self.moved.sent(), actions=self.moved.describe(),
                                        tasks=self.runner.task_summaries(), changes=self.moved_changes)
        # Found again by name or id in its new cluster: the move may give it a new id there.
        return self.locate(named_cluster(self.spec.cluster))

    def server_has(self, since):
        version = vms.server_version(self.client)
        return version is None or version >= since

    def refuse_without_force_restart(self, vm, stop_for):
        if self.params.get("force_restart"):
            return
        raise InputError("force_restart", False, "VM %s is %s and CloudTower needs it stopped for %s: set force_restart: true to "
                                                 "stop it, apply the changes and start it again in one run, or stop it first "
                                                 "(state: stopped)" % (label(vm), vm.get("status"), ", ".join(dict.fromkeys(stop_for))))

    def restart_cold(self, status, target):
        """The power steps around changes that need the VM stopped: stop it, then bring it back to where it was or is wanted."""
        back_to = target or {"RUNNING": "running", "SUSPENDED": "suspended"}.get(status, "running")
        return power_steps(status, "stopped", self.params["force"]) + power_steps("STOPPED", back_to, self.params["force"])

    @staticmethod
    def stop_count(power):
        """How many of power's first steps bring the VM down (resume before a shutdown included)."""
        for index, step in enumerate(power):
            if step.operation in (vms.SHUTDOWN, vms.POWEROFF):
                return index + 1
        return 0

    def add_devices(self, devices):
        for device in devices:
            self.plan.add(device.operation, device.body, device.summary, device.changes)

    def add_labels(self, vm):
        """Plan the labels option on vm ({} for a VM still to be created); returns the label steps added."""
        if self.params.get("labels") is None:
            return []
        created = []
        steps = LabelPlanner(self.client, self.params["labels"], self.params.get("purge_labels"), vm).plan(
            lambda: [reply["data"]["id"] for step in created for reply in step.replies])
        for step in steps:
            added = self.plan.add(step.operation, step.body, step.summary, step.changes)
            if step.operation == labels.CREATE:
                created.append(added)
        return steps

    def add_update(self, vm, basic):
        if not basic:
            return
        data = update_data(basic, vm)
        self.plan.add(vms.UPDATE_BASIC_INFO, lambda vm_id: vms.update_body(vm_id, data),
                      "Update VM %s: %s" % (label(vm), describe_changes(basic)), basic)

    def add_power_steps(self, vm, steps, start_data):
        for step in steps:
            named = PowerStep(step.operation, step.summary.replace("the VM", "VM %s" % label(vm)), step.fallback)
            self.plan.add_power(named, start_data)

    # ----- guest readiness ------------------------------------------------------------------------------------------
    def wait_for_guest(self, vm):
        """The VM once its guest is ready as wait_for asks (VMTools running, an IP address), within wait_for_timeout."""
        wanted = self.params["wait_for"]
        deadline = Deadline(self.params["wait_for_timeout"])
        backoff = Backoff(initial=1.0, factor=1.25, cap=10.0, jitter=0.1)
        while True:
            missing = guest_not_ready(vm, wanted)
            if not missing:
                return vm
            if not sleep_within(deadline, backoff.next_delay()):
                raise CloudTowerError("VM %s is running but its guest is not ready after wait_for_timeout (%ss): %s" % (
                    label(vm), self.params["wait_for_timeout"], "; ".join(missing)), vm_id=vm["id"])
            vm = vms.read(self.client, vm["id"]) or vm

    # ----- a lost create reply, and creators racing for one VM --------------------------------------------------------
    def same_named(self):
        """The live VMs of the cluster the new VM goes to that have its name, oldest (lowest id) first."""
        where = {"name": self.spec.final_name, "in_recycle_bin": False}
        if self.home_cluster_id:
            where["cluster"] = {"id": self.home_cluster_id}
        return sorted(vms.find(self.client, where), key=lambda v: v["id"])

    def find_lost_creation(self, _step):
        """The VM a create whose reply was lost made, looked for within retry_timeout; None leaves the failure standing."""
        deadline = Deadline(self.params.get("retry_timeout") or 0)
        backoff = Backoff(initial=0.2, factor=1.5, cap=2.0, jitter=0.1)
        try:
            while True:
                found = self.same_named()
                if found:
                    return found[0]
                if not sleep_within(deadline, backoff.next_delay()):
                    return None
        except CloudTowerError:
            return None

    def settle_creation_race(self, created):
        """After a create: one VM of the name must remain when others were created at the same time.

        Several hosts creating the same VM at once (or a re-run right after a lost reply) each find it missing
        and each create it. Every creator then looks for its namesakes in the cluster; once none is still being
        created, the oldest (lowest id: CloudTower's ids grow with creation time) stays and every other creator
        deletes the VM it made and adopts that one, as cloudtower_vm_snapshot settles a lost race.
        """
        ours = self.runner.resource_id
        others = [vm["id"] for vm in self.same_named() if vm["id"] != ours]
        if not others:
            return created
        timeout = self.params["wait_timeout"]
        fresh = wait_until_idle(self.client, vms.READ, [ours] + others, timeout)
        alive = sorted((vm for vm in fresh.values() if vm.get("name") == self.spec.final_name and not vm.get("in_recycle_bin")),
                       key=lambda vm: vm["id"])
        if not alive or alive[0]["id"] == ours:
            return fresh.get(ours, created)
        keeper = alive[0]
        mine = fresh.get(ours)
        if mine is not None:
            self.discard_duplicate(mine, keeper)
        self.adopted = keeper
        return self.bring_adopted_to_state(keeper)

    def discard_duplicate(self, mine, keeper):
        where = vms.on_vm(mine["id"])
        steps = []
        if mine.get("status") != "STOPPED":
            steps.append(self.plan.add(vms.POWEROFF, where, "Power off VM %s, a duplicate of VM %s created at the same time"
                                       % (label(mine), label(keeper))))
        steps.append(self.plan.add(vms.DELETE, where, "Delete VM %s, a duplicate of VM %s created at the same time (that one "
                                   "is kept)" % (label(mine), label(keeper))))
        self.runner.resource_id = mine["id"]
        for step in steps:
            self.runner.wait_until_idle()
            self.runner.send_and_wait(step)

    def bring_adopted_to_state(self, keeper):
        """The adopted VM, with whatever the task asks of it that its creator did not do (a power state, say)."""
        created_plan, created_changes = self.plan, self.changes
        self.make_plan(keeper, None)
        follow_up = self.plan
        self.plan = created_plan
        self.plan.steps.extend(follow_up.steps)
        self.changes = dict(created_changes, **self.changes)
        if follow_up:
            return self.runner.run(follow_up, keeper)
        self.runner.resource_id = keeper["id"]
        return self.runner.wait_until_idle()

    def execute(self, vm):
        if self.module.check_mode or not self.plan:
            return vm
        try:
            after = self.runner.run(self.plan, vm)
            if vm is None and self.state != "absent":
                after = self.settle_creation_race(after)
            return after
        except CloudTowerError as error:
            error = explain_refused_effect(error)
            sent = self.plan.sent()
            self.module.fail_from_error(error, changed=sent, actions=self.plan.describe(), tasks=self.runner.task_summaries(),
                                        changes=self.changes if sent else {}, not_applied=self.drift)
        return None

    def diff_after(self, before, after_vm):
        if not self.module.check_mode or not self.plan:
            return dict(managed_view(after_vm), **{field: change["after"] for field, change in self.device_changes.items()})
        if self.state == "absent" and "exists" in self.changes:
            return {}
        if self.predicted is not None:
            return self.predicted
        # Only the VM's own fields: "restarted" is a change without a field to show it.
        return {field: value for field, value in predicted_after(before, self.changes).items() if field in before}

    def make_plan(self, vm, cluster):
        self.plan, self.changes, self.drift, self.predicted, self.device_changes = VmPlan(), {}, [], None, {}
        if self.state == "absent":
            self.plan_absent(vm)
        elif vm is None:
            self.plan_create(cluster)
        else:
            self.plan_existing(vm)

    def run(self):
        check_option_combinations(self.params)
        # The cluster filters the VM query itself: a run that finds its VM reads nothing else. Only a
        # VM to create needs the cluster resolved (which also tells an unknown cluster from a new VM).
        vm = self.locate(named_cluster(self.spec.cluster))
        cluster = CLUSTER.resolve(self.client, "cluster", self.spec.cluster) if self.spec.cluster and vm is None else None
        if vm is None and cluster and self.params.get("migrate_across_clusters") and self.state != "absent":
            vm = self.move_across_clusters(cluster)
        self.make_plan(vm, cluster)
        if vm and vm.get("entityAsyncStatus") and (self.plan or self.state in POWER_STATES):
            # A task still runs on the VM (wait: false earlier): decide again from the state it leaves.
            self.runner.resource_id = vm["id"]
            vm = self.runner.wait_until_idle()
            self.make_plan(vm, cluster)
        for drift in self.drift:
            self.module.warn(warning_for(drift))
        after = self.execute(vm)
        if self.params.get("wait_for") and not self.module.check_mode and after:
            try:
                after = self.wait_for_guest(after)
            except CloudTowerError as error:
                # What was sent stays sent: the failure reports it.
                self.module.fail_from_error(error, changed=bool(self.plan), vm=after, actions=self.plan.describe(),
                                            tasks=self.runner.task_summaries(), changes=self.changes, ips=guest_ips(after))
        result = dict(
            changed=bool(self.plan) or bool(self.moved),
            vm=after,
            changes=dict(self.moved_changes, **self.changes) if self.moved else self.changes,
            actions=(self.moved.describe() if self.moved else []) + self.plan.describe(),
            tasks=self.runner.task_summaries(),
            not_applied=self.drift,
            ips=guest_ips(after),
        )
        # Device fields (disks[1].size, nics[0].vlan, host, folder...) are shown when the task changes them.
        before = dict(managed_view(vm), **{field: change["before"] for field, change in self.device_changes.items()})
        diff = diff_of(self.module, before, self.diff_after(before, after))
        if diff is not None:
            result["diff"] = diff
        self.module.exit_json(**result)
