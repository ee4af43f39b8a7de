#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtower_vm
short_description: Create, update, power and delete CloudTower VMs idempotently
version_added: 0.1.0
description:
  - Makes a SmartX CloudTower VM exist (O(state=present)), exist in a power state (V(running), V(stopped), V(suspended),
    V(restarted)), or not exist (O(state=absent)).
  - A VM is identified by O(id), or by O(name) within O(cluster) when given. VM names are not unique in CloudTower,
    so a name that matches several VMs is an error listing their ids, never a guess. VMs in the recycle bin are
    not matched by name.
  - A missing VM is created from the options (C(create-vm)), cloned from another VM (O(clone_from), C(clone-vm)) or
    rebuilt from a VM snapshot (O(from_snapshot), C(rebuild-vm-from-snapshot)). Running the same task again finds
    the VM by name and creates nothing.
  - When the reply to a create is lost (no reply within O(request_timeout)), the module looks for the VM it made
    (by name, in its cluster, within O(retry_timeout)) and carries on with it instead of failing. When several
    runs create the same VM at once (hosts of one play, or a re-run right after a lost reply), each looks for VMs
    of the same name in the cluster once its own is made; the oldest stays, and every other run deletes the VM it
    made and adopts that one, so exactly one VM remains.
  - Empty or blank names (O(name), O(new_name), O(cluster), O(host), O(folder), O(clone_from), O(from_snapshot), and
    the names in O(disks) and O(nics)) are refused before any request.
  - An existing VM is updated in place for what CloudTower can change on it (O(new_name), O(description), O(vcpu),
    O(cpu_sockets), O(cpu_cores), O(memory), O(ha)); RV(changes) lists each changed field.
  - Options CloudTower cannot change on an existing VM (O(host) except when the task starts the VM, O(folder),
    O(firmware), O(guest_os_type), O(disks), O(nics)) are compared with the VM; when they differ, the module
    warns for each one that it was not applied and lists it in RV(not_applied). It never fails for them and
    never changes them. O(clone_from) and O(from_snapshot) only matter when the VM is created.
  - Power operations are chosen from the VM's status as just read, because CloudTower fails a start on a running
    VM or a shutdown on a stopped one, so a VM already in the wanted state gets no request.
  - Works with the CloudTower API 1.8, 1.10 and 4.6.
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
extends_documentation_fragment:
  - smartx.cloudtower.attributes
  - smartx.cloudtower.attributes.action_group
  - smartx.cloudtower.connection
  - smartx.cloudtower.wait
attributes:
  check_mode:
    support: full
    details:
      - Reads the VM and everything the task names, makes the same decisions as a real run and reports them in
        RV(actions) and RV(changes), without sending any request that changes CloudTower.
  diff_mode:
    support: full
    details: Before and after of the managed fields (name, description, CPU, memory, HA, status, recycle bin).
options:
  id:
    description:
      - Id of the VM. A VM cannot be created with a given id, so with O(state=present) or a power state an unknown
        id is an error; with O(state=absent) it means there is nothing to delete.
      - Mutually exclusive with O(name). Use O(new_name) to rename the VM.
    type: str
  name:
    description:
      - Name of the VM, looked up within O(cluster) when given, else in every cluster.
      - The name of the VM to create when none matches (or O(new_name) when given).
    type: str
  cluster:
    description:
      - Cluster (name or id) of the VM. Restricts the lookup of O(name) or O(id), and is where a new VM is created.
      - Required to create a VM, except with O(clone_from) or O(from_snapshot), where the new VM defaults to the
        source's cluster.
    type: str
  new_name:
    description:
      - Rename the VM to this name.
      - When no VM is named O(name) but one is named O(new_name), that VM is taken as already renamed, so the task
        stays idempotent. When both exist, the module fails instead of making the name ambiguous, as it does when
        another VM of the cluster already has O(new_name).
      - When neither exists, the VM is created with this name.
    type: str
  state:
    description:
      - V(present) makes the VM exist; a new VM is created stopped and an existing VM keeps its power state.
      - V(running), V(stopped) and V(suspended) also bring the VM to that power state. V(stopped) shuts the guest
        down gracefully (see O(force)). A stopped VM is started before it is suspended; a suspended VM is resumed
        before it is shut down or restarted, as a paused guest cannot react to a graceful request.
      - V(restarted) restarts a running VM (always a change) and starts a stopped one.
      - V(absent) deletes the VM, or moves it to the recycle bin with O(recycle_bin=true).
    type: str
    choices: [present, absent, running, stopped, suspended, restarted]
    default: present
  force:
    description:
      - With O(state=stopped) or O(state=restarted), when the graceful shutdown or restart fails or takes longer
        than O(shutdown_timeout), power the VM off (C(poweroff-vm)) or restart it forcibly (C(force-restart-vm)).
        The graceful step is then always waited for, even with O(wait=false).
      - With O(state=absent), power off a VM that is not stopped before deleting it. Without it, deleting a
        running or suspended VM fails with an explanation and nothing is sent.
    type: bool
    default: false
  shutdown_timeout:
    description:
      - Seconds to wait for a graceful shutdown or restart before falling back to the forced operation, when
        O(force=true). Without O(force), the graceful operation is waited for up to O(wait_timeout) and its
        failure is the task's failure.
    type: int
    default: 180
  host:
    description:
      - Host (name or id, within the VM's cluster) to create the VM on, or to start it on when the task starts it.
      - A running VM on another host is not migrated; that is reported in RV(not_applied).
    type: str
  folder:
    description: VM folder (name or id, within the VM's cluster) of a new VM.
    type: str
  description:
    description: Description of the VM.
    type: str
  vcpu:
    description:
      - Number of virtual CPUs. CloudTower keeps O(vcpu) = O(cpu_sockets) x O(cpu_cores); a contradiction is an error.
      - Given alone, an existing VM keeps its cores per socket when they divide O(vcpu); a new VM gets one core per socket.
    type: int
  cpu_sockets:
    description: Number of CPU sockets. See O(vcpu).
    type: int
  cpu_cores:
    description: Number of cores per CPU socket. See O(vcpu).
    type: int
  memory:
    description:
      - Memory of the VM, such as V(4GiB), V(512MiB) or a number of bytes. KiB, MiB, GiB and TiB (also written
        K, M, G, T) are binary; KB, MB, GB and TB are decimal.
      - Required, with O(vcpu) or O(cpu_sockets) and O(cpu_cores), to create a VM without O(clone_from) or
        O(from_snapshot), which otherwise take the source's values.
    type: str
  firmware:
    description: Firmware of a new VM. Defaults to V(BIOS) for a VM created from scratch.
    type: str
    choices: [BIOS, UEFI]
  ha:
    description: Whether CloudTower restarts the VM on another host when its host fails. A new VM defaults to V(true).
    type: bool
  guest_os_type:
    description: Guest operating system type of a new VM.
    type: str
    choices: [LINUX, UNKNOWN, WINDOWS]
  disks:
    description:
      - Disks and CD-ROMs of a new VM, in boot order. Not with O(clone_from) or O(from_snapshot), whose VM gets
        the source's disks.
      - On an existing VM, compared with its disks (type, bus, size, volume, image, in boot order) and reported in
        RV(not_applied) when they differ.
    type: list
    elements: dict
    suboptions:
      type:
        description: V(disk) for a virtual disk, V(cdrom) for a CD-ROM drive.
        type: str
        choices: [disk, cdrom]
        default: disk
      size:
        description:
          - Size of a new disk, such as V(40GiB), or a number of bytes. Must be positive.
          - Required for a new disk; not with O(disks[].volume).
        type: str
      volume:
        description: An existing VM volume (name or id, within the VM's cluster) to attach instead of creating a disk.
        type: str
      name:
        description: Name of the new disk's volume. Defaults to C(<VM name>-disk<position>).
        type: str
      bus:
        description:
          - Bus of the disk. Defaults to V(VIRTIO). V(USB) needs CloudTower 4.6. Not for CD-ROMs.
        type: str
        choices: [IDE, SCSI, USB, VIRTIO]
      storage_policy:
        description:
          - Storage policy of a new disk's volume. Defaults to V(REPLICA_2_THIN_PROVISION).
          - The C(ELF_CP_*) and V(EC) policies need CloudTower 4.6.
        type: str
        choices:
          - REPLICA_1_THICK_PROVISION
          - REPLICA_1_THIN_PROVISION
          - REPLICA_2_THICK_PROVISION
          - REPLICA_2_THIN_PROVISION
          - REPLICA_3_THICK_PROVISION
          - REPLICA_3_THIN_PROVISION
          - ELF_CP_REPLICA_2_THICK_PROVISION
          - ELF_CP_REPLICA_2_THIN_PROVISION
          - ELF_CP_REPLICA_3_THICK_PROVISION
          - ELF_CP_REPLICA_3_THIN_PROVISION
          - EC
      image:
        description: For a CD-ROM, the ISO image (ELF image name or id, within the VM's cluster) to mount. Omit for an empty drive.
        type: str
  nics:
    description:
      - Network interfaces of the VM, in order. With O(clone_from) or O(from_snapshot) they replace the source's.
      - On an existing VM, compared with its NICs (VLAN, and model, MAC and enabled when given) and reported in
        RV(not_applied) when they differ.
    type: list
    elements: dict
    suboptions:
      vlan:
        description: The VM network (VLAN name or CloudTower id, within the VM's cluster) to connect to. Not a VLAN number.
        type: str
        required: true
      model:
        description: NIC model. A new NIC defaults to V(VIRTIO).
        type: str
        choices: [E1000, SRIOV, VIRTIO]
      mac_address:
        description: MAC address, such as V(52:54:00:12:34:56). CloudTower assigns one when omitted.
        type: str
      enabled:
        description: Whether the NIC is connected.
        type: bool
  clone_from:
    description:
      - Create the VM as a clone of this VM (name or id). Options given override the source's (CPU, memory, HA,
        description, NICs...). Ignored once the VM exists.
    type: str
  from_snapshot:
    description:
      - Create the VM from this VM snapshot (name or id, within O(cluster) when given), keeping the source VM.
        Ignored once the VM exists.
    type: str
  delete_snapshots:
    description:
      - With O(state=absent), also delete the VM's snapshots (and their iSCSI LUN snapshots). Otherwise they
        survive the VM.
      - Needs CloudTower 2.7 or later. The module reads CloudTower's version first and fails, before any
        change, on an older one; when the version cannot be read, CloudTower judges the request.
      - Not with O(recycle_bin=true).
    type: bool
    default: false
  recycle_bin:
    description:
      - With O(state=absent), move the VM to the recycle bin (C(move-vm-to-recycle)) instead of deleting it.
      - A VM found by O(id) that is already in the recycle bin is then unchanged; without this option it is
        deleted for good.
    type: bool
    default: false
notes:
  - The VM returned in RV(vm) is read again after the tasks ended, so it is what CloudTower shows.
  - CloudTower marks a VM busy while one of its tasks runs and shortly after; before CloudTower 3.3 a change sent to
    a busy VM is accepted and then fails. So every step waits until the VM is idle, and when the VM is busy with a
    task started earlier (for example with O(wait=false)), the module waits for it before deciding a power
    transition or any change. These waits are bounded by O(wait_timeout).
  - With O(wait=false) the module still waits for every step but the last one, because CloudTower locks a VM
    while one of its tasks runs. The last step's tasks are returned in RV(tasks) with their state at return.
seealso:
  - module: smartx.cloudtower.cloudtower_vm_info
  - module: smartx.cloudtower.cloudtower_task_info
"""

EXAMPLES = r"""
- name: Create a VM with a boot disk, a data disk, an installer CD-ROM and one NIC, and start it
  smartx.cloudtower.cloudtower_vm:
    name: web-1
    cluster: prod-cluster
    vcpu: 4
    memory: 8GiB
    firmware: UEFI
    guest_os_type: LINUX
    description: Front-end web server
    disks:
      - size: 40GiB
      - size: 200GiB
        bus: SCSI
        storage_policy: REPLICA_3_THIN_PROVISION
      - type: cdrom
        image: rocky-9.4-x86_64-minimal.iso
    nics:
      - vlan: vm-network-101
        model: VIRTIO
    state: running

- name: Give it more memory and a new name
  smartx.cloudtower.cloudtower_vm:
    name: web-1
    cluster: prod-cluster
    new_name: web-01
    memory: 16GiB

- name: Shut it down, powering it off if the guest does not stop within two minutes
  smartx.cloudtower.cloudtower_vm:
    name: web-01
    cluster: prod-cluster
    state: stopped
    force: true
    shutdown_timeout: 120

- name: Clone a template VM, connected to another VLAN, without waiting
  smartx.cloudtower.cloudtower_vm:
    name: web-2
    clone_from: web-template
    nics:
      - vlan: vm-network-102
    state: running
    wait: false
  register: clone

- name: Wait for the clone
  smartx.cloudtower.cloudtower_task_info:
    ids: "{{ clone.tasks | map(attribute='id') }}"
    wait: true

- name: Rebuild a VM from last night's snapshot
  smartx.cloudtower.cloudtower_vm:
    name: web-01-restored
    cluster: prod-cluster
    from_snapshot: nightly-web-01
    state: running

- name: Delete a VM and its snapshots, powering it off first
  smartx.cloudtower.cloudtower_vm:
    name: web-2
    cluster: prod-cluster
    state: absent
    force: true
    delete_snapshots: true

- name: Move a VM to the recycle bin
  smartx.cloudtower.cloudtower_vm:
    id: cmg6y13w6055h0958o1afczt5
    state: absent
    recycle_bin: true
"""

RETURN = r"""
vm:
  description:
    - The VM as CloudTower shows it after the change, read again once the tasks ended (all fields of C(get-vms)).
    - The VM as read, unchanged, in check mode or when nothing changed. V(null) when there is no VM (deleted,
      absent, or to be created in check mode).
  returned: always
  type: dict
  sample:
    id: cmg6y13w6055h0958o1afczt5
    name: web-1
    status: RUNNING
    vcpu: 4
    cpu: {sockets: 4, cores: 1}
    memory: 8589934592
    ha: true
    cluster: {id: cmg6xz1ab000s0958a8a2b3c4, name: prod-cluster}
    in_recycle_bin: false
changes:
  description:
    - The field-level changes, each as C({before, after}); empty when nothing changed.
    - Fields are the VM's (C(name), C(description), C(vcpu), C(cpu_sockets), C(cpu_cores), C(memory) in bytes,
      C(ha), C(status), C(in_recycle_bin)), plus C(exists) for a creation or a deletion and C(restarted) for a
      restart.
  returned: always
  type: dict
  sample:
    memory: {before: 4294967296, after: 8589934592}
    status: {before: STOPPED, after: RUNNING}
actions:
  description:
    - The planned steps, in order, each with its C(operation) (the CloudTower API call), a C(summary), the
      C(changes) it makes, the C(task_ids) it started, the C(fallback) operation if any and C(fell_back) when it
      was used. Also in check mode, where nothing is sent.
  returned: always
  type: list
  elements: dict
  sample:
    - operation: update-vm-basic-info
      summary: "Update VM web-1: memory 4GiB -> 8GiB"
      changes: {memory: {before: 4294967296, after: 8589934592}}
    - operation: start-vm
      summary: Start VM web-1
tasks:
  description:
    - The CloudTower tasks the module started, each with C(id), C(description), C(status), C(progress) and, when
      it failed, C(error_code) and C(error_message). With O(wait=false), the last step's tasks as they were at return.
  returned: always
  type: list
  elements: dict
  sample:
    - id: cmg6y2k3v05600958lq2e7yhd
      description: Start VM
      status: SUCCESSED
      progress: 1
not_applied:
  description:
    - Options that differ from the existing VM but that CloudTower cannot change on it (or that this module does
      not change), each with C(option), C(wanted), C(current) and C(reason). Each also gives a warning.
  returned: always
  type: list
  elements: dict
  sample:
    - option: firmware
      wanted: UEFI
      current: BIOS
      reason: the firmware of an existing VM cannot be changed
diff:
  description: Before and after of the managed fields, with C(--diff).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError, InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import CLUSTER, VM, VM_SNAPSHOT, named_cluster, related_to, scope_text
from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import fetch_by_ids, paginate, where_and
from ansible_collections.smartx.cloudtower.plugins.module_utils.reconcile import Reconciler, predicted_after
from ansible_collections.smartx.cloudtower.plugins.module_utils.retry import Backoff, Deadline, sleep_within
from ansible_collections.smartx.cloudtower.plugins.module_utils.tasks import wait_until_idle
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm import (
    CREATION_STATUS,
    POWER_STATES,
    STATES,
    PlanRunner,
    PowerStep,
    VmPlan,
    basic_info_changes,
    check_delete_effect_supported,
    describe_changes,
    disk_drift,
    explain_refused_effect,
    managed_view,
    nic_drift,
    placement_drift,
    power_changes,
    power_steps,
    update_data,
    warning_for,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_spec import (
    FIRMWARES,
    GUEST_OS_TYPES,
    References,
    VmSpec,
    clone_body,
    creation_body,
    disk_suboptions,
    missing_for_create,
    nic_suboptions,
    rebuild_body,
    resolve_references,
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
    if params["shutdown_timeout"] <= 0:
        raise InputError("shutdown_timeout", params["shutdown_timeout"], "must be a positive number of seconds")
    if params["wait_timeout"] <= 0:
        raise InputError("wait_timeout", params["wait_timeout"], "must be a positive number of seconds")


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
        self.predicted = None

    # ----- finding the VM ------------------------------------------------------------------------
    def locate(self, scope):
        if self.params.get("id"):
            found = paginate(self.client, "get-vms", where=where_and(scope, {"id": self.params["id"]}))
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
        others = paginate(self.client, "get-vms", where=where_and(related_to("cluster", vm.get("cluster")), where))
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
            self.plan.add("poweroff-vm", {"where": {"id": vm["id"]}}, "Power VM %s off before deleting it (force: true)" % label(vm),
                          {"status": {"before": vm.get("status"), "after": "STOPPED"}})
            self.changes["status"] = {"before": vm.get("status"), "after": "STOPPED"}
        if recycle:
            change = {"in_recycle_bin": {"before": False, "after": True}}
            self.plan.add("move-vm-to-recycle", {"where": {"id": vm["id"]}}, "Move VM %s to the recycle bin" % label(vm), change)
        else:
            body = {"where": {"id": vm["id"]}}
            summary = "Delete VM %s" % label(vm)
            if self.params["delete_snapshots"]:
                check_delete_effect_supported(self.client)
                body["effect"] = {"include_snapshots": True}
                summary += " and its snapshots"
            change = {"exists": {"before": True, "after": False}}
            self.plan.add("delete-vm", body, summary, change)
        self.changes.update(change)

    def resolve_snapshot(self, value, in_cluster, cluster):
        """A snapshot id is found wherever it is (CloudTower judges a rebuild across clusters); a name only in the cluster."""
        by_id = fetch_by_ids(self.client, "get-vm-snapshots", [value])
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
        else:
            origin = None
            missing = missing_for_create(spec)
            if missing:
                raise missing
        home = cluster or origin.get("cluster")
        self.home_cluster_id = (home or {}).get("id")
        refs = resolve_references(self.client, spec, home)
        if spec.clone_from:
            operation, body = "clone-vm", clone_body(spec, refs, origin, cluster, status)
            how = "Clone VM %s from VM %s" % (spec.final_name, label(origin))
        elif spec.from_snapshot:
            operation, body = "rebuild-vm-from-snapshot", rebuild_body(spec, refs, origin, cluster, status)
            how = "Rebuild VM %s from snapshot %s" % (spec.final_name, label(origin))
        else:
            operation, body = "create-vm", creation_body(spec, refs, cluster, status)
            how = "Create VM %s in cluster %s" % (spec.final_name, home.get("name"))
        self.predicted = self.predict_new_vm(body, origin)
        self.changes = dict({"exists": {"before": False, "after": True}},
                            **{field: {"before": None, "after": value} for field, value in self.predicted.items()})
        self.plan.add(operation, [body], "%s, %s" % (how, status), self.changes)
        if self.state == "suspended":
            self.plan.add_power(PowerStep("suspend-vm", "Suspend the new VM %s" % spec.final_name))

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
        refs = resolve_references(self.client, spec, vm.get("cluster")) if spec.names_references() else References()
        self.drift = self.compare_creation_options(vm, refs, will_start=any(p.operation == "start-vm" for p in power))
        start_data = {"host_id": refs.host["id"]} if refs.host else None
        # Updates go in while the VM is stopped when the task stops it, and before starting it otherwise.
        if target == "stopped" and status != "STOPPED":
            self.add_power_steps(vm, power, start_data)
            self.add_update(vm, basic)
        else:
            self.add_update(vm, basic)
            self.add_power_steps(vm, power, start_data)
        self.changes = dict(basic, **(power_changes(status, target) if target else {}))

    def compare_creation_options(self, vm, refs, will_start):
        """The options CloudTower cannot change on this VM that differ from it (reported, never applied)."""
        spec = self.spec
        return (placement_drift(spec, vm, refs, will_start) + disk_drift(self.client, spec, vm, refs)
                + nic_drift(self.client, spec, vm, refs))

    def add_update(self, vm, basic):
        if not basic:
            return
        data = update_data(basic, vm)
        self.plan.add("update-vm-basic-info", lambda vm_id: {"where": {"id": vm_id}, "data": data},
                      "Update VM %s: %s" % (label(vm), describe_changes(basic)), basic)

    def add_power_steps(self, vm, steps, start_data):
        for step in steps:
            named = PowerStep(step.operation, step.summary.replace("the VM", "VM %s" % label(vm)), step.fallback)
            self.plan.add_power(named, start_data)

    # ----- running and reporting ---------------------------------------------------------------------
    # ----- a lost create reply, and creators racing for one VM --------------------------------------------------------
    def same_named(self):
        """The live VMs of the cluster the new VM goes to that have its name, oldest (lowest id) first."""
        where = {"name": self.spec.final_name, "in_recycle_bin": False}
        if self.home_cluster_id:
            where["cluster"] = {"id": self.home_cluster_id}
        return sorted(paginate(self.client, "get-vms", where=where), key=lambda v: v["id"])

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
        ours = self.runner.vm_id
        others = [vm["id"] for vm in self.same_named() if vm["id"] != ours]
        if not others:
            return created
        timeout = self.params["wait_timeout"]
        fresh = wait_until_idle(self.client, "get-vms", [ours] + others, timeout)
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
        where = {"where": {"id": mine["id"]}}
        steps = []
        if mine.get("status") != "STOPPED":
            steps.append(self.plan.add("poweroff-vm", where, "Power off VM %s, a duplicate of VM %s created at the same time"
                                       % (label(mine), label(keeper))))
        steps.append(self.plan.add("delete-vm", where, "Delete VM %s, a duplicate of VM %s created at the same time (that one "
                                   "is kept)" % (label(mine), label(keeper))))
        self.runner.vm_id = mine["id"]
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
        self.runner.vm_id = keeper["id"]
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
            sent = any(step.replies for step in self.plan.steps)
            self.module.fail_from_error(error, changed=sent, actions=self.plan.describe(), tasks=self.runner.task_summaries(),
                                        changes=self.changes if sent else {}, not_applied=self.drift)
        return None

    def diff_after(self, before, after_vm):
        if not self.module.check_mode or not self.plan:
            return managed_view(after_vm)
        if self.state == "absent" and "exists" in self.changes:
            return {}
        if self.predicted is not None:
            return self.predicted
        # Only the VM's own fields: "restarted" is a change without a field to show it.
        return {field: value for field, value in predicted_after(before, self.changes).items() if field in before}

    def make_plan(self, vm, cluster):
        self.plan, self.changes, self.drift, self.predicted = VmPlan(), {}, [], None
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
        self.make_plan(vm, cluster)
        if vm and vm.get("entityAsyncStatus") and (self.plan or self.state in POWER_STATES):
            # A task still runs on the VM (wait: false earlier): decide again from the state it leaves.
            self.runner.vm_id = vm["id"]
            vm = self.runner.wait_until_idle()
            self.make_plan(vm, cluster)
        for drift in self.drift:
            self.module.warn(warning_for(drift))
        after = self.execute(vm)
        result = dict(
            changed=bool(self.plan),
            vm=after,
            changes=self.changes,
            actions=self.plan.describe(),
            tasks=self.runner.task_summaries(),
            not_applied=self.drift,
        )
        before = managed_view(vm)
        diff = Reconciler(self.module).diff(before, self.diff_after(before, after))
        if diff is not None:
            result["diff"] = diff
        self.module.exit_json(**result)


def argument_spec():
    return dict(
        id=dict(type="str"),
        name=dict(type="str"),
        cluster=dict(type="str"),
        new_name=dict(type="str"),
        state=dict(type="str", choices=list(STATES), default="present"),
        force=dict(type="bool", default=False),
        shutdown_timeout=dict(type="int", default=180),
        host=dict(type="str"),
        folder=dict(type="str"),
        description=dict(type="str"),
        vcpu=dict(type="int"),
        cpu_sockets=dict(type="int"),
        cpu_cores=dict(type="int"),
        memory=dict(type="str"),
        firmware=dict(type="str", choices=list(FIRMWARES)),
        ha=dict(type="bool"),
        guest_os_type=dict(type="str", choices=list(GUEST_OS_TYPES)),
        disks=dict(type="list", elements="dict", options=disk_suboptions()),
        nics=dict(type="list", elements="dict", options=nic_suboptions()),
        clone_from=dict(type="str"),
        from_snapshot=dict(type="str"),
        delete_snapshots=dict(type="bool", default=False),
        recycle_bin=dict(type="bool", default=False),
    )


def main():
    module = CloudTowerModule(
        argument_spec=argument_spec(),
        waits=True,
        non_blank=("id", "name", "new_name", "cluster", "host", "folder", "clone_from", "from_snapshot"),
        supports_check_mode=True,
        mutually_exclusive=[("id", "name"), ("clone_from", "from_snapshot")],
        required_one_of=[("id", "name")],
    )
    module.subject = "VM %s" % (module.params["name"] or module.params["id"])
    module.run(lambda m: VmTask(m).run())


if __name__ == "__main__":
    main()
