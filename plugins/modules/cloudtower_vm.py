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
  - A missing VM is created from the options (C(create-vm)), cloned from another VM (O(clone_from), C(clone-vm)),
    rebuilt from a VM snapshot (O(from_snapshot), C(rebuild-vm-from-snapshot)) or created from a VM template with
    cloud-init (O(template), O(cloud_init), C(create-vm-from-template); from a content-library template with
    O(template_content_library), C(create-vm-from-content-library-template)). Running the same task again finds
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
  - On an existing VM, O(disks) and O(nics) are reconciled (disks added, grown, and removed with O(purge_disks);
    CD-ROMs added, ISOs mounted and ejected; NICs added, reconnected, updated and removed with O(purge_nics)), a
    running VM is migrated live to O(host), the VM is moved to O(folder) and given the O(labels) it lacks (detaching
    the others with O(purge_labels)). Entries are matched on stable keys,
    never by list position alone (see O(disks) and O(nics)), so a re-run changes nothing and never duplicates a
    device.
  - A change CloudTower only makes on a stopped VM (adding or removing an IDE disk or a CD-ROM drive, a NIC's
    model or MAC address) is refused, before anything is sent, while the VM runs, unless O(force_restart=true),
    which stops the VM, applies every change and starts it again in one run.
  - Options CloudTower cannot change on an existing VM (O(firmware), O(guest_os_type), and O(host) of a VM that is
    neither running nor started by the task) are compared with the VM; when they differ, the module warns for each
    one that it was not applied and lists it in RV(not_applied). O(clone_from) and O(from_snapshot) only matter
    when the VM is created.
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
    details:
      - Before and after of the managed fields (name, description, CPU, memory, HA, status, recycle bin), and of each
        device field the task changes (V(disks[1].size), V(nics[0].vlan), V(host), V(folder), V(labels)...).
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
      - A VM of the same name in another cluster is another VM, unless O(migrate_across_clusters=true).
    type: str
  migrate_across_clusters:
    description:
      - When no VM is found in O(cluster), move the VM the task names from another cluster to O(cluster) instead of
        creating one (C(migrate-vm-across-cluster), CloudTower API 4.6 and later; refused on older CloudTowers before
        any request, naming this option). The VM is the one live VM of that O(name) outside O(cluster) (several are
        refused listing their ids), or the VM with that O(id).
      - A running VM is moved live, a stopped one cold; a suspended VM is refused. It lands on O(host) when given (a
        host of O(cluster)), and the source VM is removed.
      - Each NIC keeps its network through the VLAN of O(cluster) that O(nics) gives for it (matched by position),
        else the VLAN of O(cluster) with the same name as its current one; a NIC with neither is refused.
      - The rest of the task (CPU, memory, devices, folder, labels, power state) is then applied to the VM in its new
        cluster, in the same run. In check mode only the move is announced, as what else changes depends on the
        VM's state in the new cluster.
      - Once the VM is in O(cluster) the option changes nothing, so the task stays idempotent.
    type: bool
    default: false
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
      - O(force) has one meaning in every module of this collection. O(force=true) allows a forced power operation
        (power off, forced restart), which loses the guest's unsaved state, where the task needs the VM stopped or
        restarted. Without it only graceful operations are sent, and a VM that is not where the task needs it fails
        the task with an explanation, before anything is sent.
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
      - A running VM on another host is migrated live (C(migrate-vm)). A stopped or suspended VM is not moved (it
        starts on O(host) when the task starts it); that is reported in RV(not_applied).
    type: str
  folder:
    description: VM folder (name or id, within the VM's cluster) of the VM. An existing VM in another folder (or in none) is moved to it.
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
      - "On an existing VM: an entry with O(disks[].volume) matches the disk on that volume; another disk entry
        matches the VM's disks of the same bus in boot order (the first VIRTIO entry the first VIRTIO disk, and so
        on); CD-ROM entries match the VM's CD-ROM drives in boot order. An entry that matches nothing is added after
        the VM's devices. A matched disk smaller than O(disks[].size) is grown (C(expand-vm-disk), CloudTower API 1.10
        and later); a larger one is an error, as CloudTower cannot shrink a disk. A matched CD-ROM gets the ISO of
        O(disks[].image) mounted, or ejected when the entry has none (C(eject-iso-from-vm-cd-rom), API 1.10 and
        later). Disks and CD-ROMs no entry matches are kept unless O(purge_disks=true)."
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
      - On an existing VM, an entry with O(nics[].mac_address) matches the NIC with that MAC, another entry the NIC
        at its position. A matched NIC is reconnected to O(nics[].vlan) and gets the model, MAC and enabled state
        given (a model or MAC change needs the VM stopped, see O(force_restart)); an entry that matches nothing adds
        a NIC. NICs no entry matches are kept unless O(purge_nics=true).
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
        description: Whether the NIC is connected (V(false) disconnects it, V(true) connects it again).
        type: bool
  purge_disks:
    description:
      - Remove the disks and CD-ROM drives of an existing VM that no entry of O(disks) matches (C(remove-vm-disk),
        C(remove-vm-cd-rom)). A removed disk's volume is kept by CloudTower.
      - Without it they are kept; a shorter O(disks) list never removes anything.
      - Needs O(disks) (the disks to keep); without it the run is refused before any request.
    type: bool
    default: false
  purge_nics:
    description:
      - Remove the NICs of an existing VM that no entry of O(nics) matches (C(remove-vm-nic)).
      - Needs O(nics) (the NICs to keep); without it the run is refused before any request.
    type: bool
    default: false
  labels:
    description:
      - Labels (key and optional value) the VM carries. A label no label on CloudTower has is created (one
        C(create-label) for all), those the VM lacks are attached (one C(add-labels-to-resources)); labels the VM
        already carries are kept unless O(purge_labels=true).
      - A label is matched on its key and value; a missing value and an empty one are the same.
      - From API 4.6 the VM record shows its labels' keys and values, so a run that changes nothing sends no request
        beyond reading the VM; API 1.8 and 1.10 show only the labels' ids, and one C(get-labels) resolves them.
      - Two labels on CloudTower with the same key and value cannot be told apart; attaching such a label is refused,
        naming their ids, before anything is sent. Blank keys and an entry listed twice are refused too.
      - Also applied to a VM the task creates, once it exists.
    type: list
    elements: dict
    suboptions:
      key:
        description: The label's key.
        type: str
        required: true
      value:
        description: The label's value (none by default).
        type: str
  purge_labels:
    description:
      - Detach from the VM the labels no entry of O(labels) names (one C(remove-labels-from-resources)); the labels
        stay on CloudTower and on other resources. With O(labels=[]) every label is detached.
      - Without it the VM's labels are left as they are. It needs O(labels) (the labels to keep); without it the run
        is refused before any request.
    type: bool
    default: false
  force_restart:
    description:
      - Allow the module to stop a running (or suspended) VM, apply changes CloudTower only makes on a stopped VM,
        and start it again, in one run. The shutdown is graceful, falling back to a power-off only with O(force=true).
      - Without it such changes fail the task, naming them, before anything is sent.
    type: bool
    default: false
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
  template:
    description:
      - Create the VM from this VM template (name or id, within O(cluster) when given; C(create-vm-from-template), a
        linked clone). Options given override the template's (CPU, memory, HA, description, NICs...). Ignored once
        the VM exists. See M(smartx.cloudtower.cloudtower_vm_template).
      - O(disks) describes the new VM's whole disk list, matched with the template's disks as with an existing VM; an
        entry bigger than the template's disk grows it once the VM exists, an entry that matches none is a new disk,
        and with O(purge_disks=true) the template's disks no entry matches are left out. The template's CD-ROM drives
        are kept.
    type: str
  template_content_library:
    description:
      - V(true) makes O(template) a template of CloudTower's content library (CloudTower API 4.6; see
        M(smartx.cloudtower.cloudtower_vm_template) and its O(smartx.cloudtower.cloudtower_vm_template#module:content_library)),
        found by name or id among those offered to O(cluster), which is then required. The VM is created with
        C(create-vm-from-content-library-template), with the same overrides, O(disks) and O(cloud_init) as from a
        cluster template.
      - Refused on a CloudTower older than 4.6, naming the option, before any change is sent.
    type: bool
    default: false
  cloud_init:
    description:
      - Guest customisation of a VM created from a O(template) whose guest has cloud-init (the template's
        C(cloud_init_supported)). Sent once, with the creation; ignored once the VM exists.
      - Users other than the image's default user, packages and any other cloud-config go in O(cloud_init.user_data).
    type: dict
    suboptions:
      hostname:
        description: Host name of the guest.
        type: str
      default_user_password:
        description: Password of the image's default user. Never logged or returned.
        type: str
      public_keys:
        description: SSH public keys authorised for the image's default user.
        type: list
        elements: str
      nameservers:
        description: DNS servers.
        type: list
        elements: str
      user_data:
        description: Cloud-config user data (a C(#cloud-config) document), e.g. to add users or run commands.
        type: str
      networks:
        description:
          - Network configuration per NIC of the new VM (its O(nics), else the template's NICs).
        type: list
        elements: dict
        suboptions:
          nic:
            description: Position of the NIC (0 for the first). Defaults to the entry's own position.
            type: int
          type:
            description: V(dhcp), or V(static) with O(cloud_init.networks[].ip_address) and O(cloud_init.networks[].netmask).
            type: str
            choices: [dhcp, static]
            default: dhcp
          ip_address:
            description: Static IPv4 address.
            type: str
          netmask:
            description: Netmask of the static address, such as V(255.255.255.0).
            type: str
          gateway:
            description: Default gateway (a route to V(0.0.0.0/0.0.0.0)).
            type: str
          routes:
            description: Further static routes.
            type: list
            elements: dict
            suboptions:
              network:
                description: Destination network.
                type: str
                required: true
              netmask:
                description: Netmask of the destination.
                type: str
                required: true
              gateway:
                description: Gateway of the route.
                type: str
                required: true
  wait_for:
    description:
      - Once the VM runs, wait until its guest is ready - V(vmtools) (VMTools running) and/or V(ip) (an IP address
        reported) - up to O(wait_for_timeout). The addresses are returned in RV(ips).
      - Needs O(state=running) or O(state=restarted). A VM already ready costs no extra request.
    type: list
    elements: str
    choices: [vmtools, ip]
  wait_for_timeout:
    description: Seconds to wait for O(wait_for). The task fails, naming what is missing, when they pass.
    type: int
    default: 600
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
- name: Move web-1 from whichever cluster holds it to prod-cluster-2 (CloudTower 4.6), its NIC onto prod-vlan-100 there
  smartx.cloudtower.cloudtower_vm:
    name: web-1
    cluster: prod-cluster-2
    migrate_across_clusters: true
    host: node-2a
    nics:
      - vlan: prod-vlan-100
    state: running

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

- name: Grow the data disk, add a second NIC and mount a newer ISO; move to another folder and host (no restart)
  smartx.cloudtower.cloudtower_vm:
    name: web-01
    cluster: prod-cluster
    host: node-2
    folder: web-servers
    disks:
      - size: 40GiB
      - size: 300GiB
        bus: SCSI
      - type: cdrom
        image: rocky-9.5-x86_64-minimal.iso
    nics:
      - vlan: vm-network-101
      - vlan: backup-network

- name: Change a NIC's model, which needs the VM stopped, and drop NICs and disks not listed
  smartx.cloudtower.cloudtower_vm:
    name: web-01
    cluster: prod-cluster
    nics:
      - vlan: vm-network-101
        model: E1000
    purge_nics: true
    force_restart: true

- name: Labels env=prod and backup (created when missing); detach every other label of the VM
  smartx.cloudtower.cloudtower_vm:
    name: web-01
    cluster: prod-cluster
    labels:
      - key: env
        value: prod
      - key: backup
    purge_labels: true

- name: A VM from a template with cloud-init, a static address, and a bigger system disk; wait for its IP
  smartx.cloudtower.cloudtower_vm:
    name: app-07
    cluster: prod-cluster
    template: rocky-9-cloud
    vcpu: 4
    memory: 8GiB
    disks:
      - size: 60GiB
    nics:
      - vlan: vm-network-101
    cloud_init:
      hostname: app-07
      public_keys:
        - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... deploy@ci"
      default_user_password: "{{ vault_default_password }}"
      networks:
        - type: static
          ip_address: 192.168.10.37
          netmask: 255.255.255.0
          gateway: 192.168.10.1
      nameservers: [192.168.10.2]
    state: running
    wait_for: [vmtools, ip]
  register: app

- name: A VM from a content-library template (CloudTower 4.6) with cloud-init, DHCP on its first NIC
  smartx.cloudtower.cloudtower_vm:
    name: app-08
    cluster: prod-cluster
    template: rocky-9-library
    template_content_library: true
    cloud_init:
      hostname: app-08
      networks:
        - type: dhcp
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
    - Device changes are keyed by the entry they come from (C(disks[1].size), C(disks[2].image), C(disks[3].exists),
      C(nics[0].vlan), C(nics[1].enabled)...), plus C(disks.removed), C(cd_roms.removed), C(nics.removed), C(host),
      C(folder), C(labels) (the VM's labels before and after, each as C({key, value}), sorted) and C(cluster) (a move
      to another cluster, O(migrate_across_clusters)).
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
ips:
  description: The VM's IP addresses as CloudTower reports them (the guest's, through VMTools); empty when none is known.
  returned: always
  type: list
  elements: str
  sample: [192.168.10.21]
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

from ansible_collections.smartx.cloudtower.plugins.module_utils.module import CloudTowerModule
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm import STATES
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_labels import label_suboptions
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_reconciler import VmTask
from ansible_collections.smartx.cloudtower.plugins.module_utils.vm_spec import (
    FIRMWARES,
    GUEST_OS_TYPES,
    cloud_init_suboptions,
    disk_suboptions,
    nic_suboptions,
)


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
        template=dict(type="str"),
        template_content_library=dict(type="bool", default=False),
        cloud_init=dict(type="dict", options=cloud_init_suboptions()),
        wait_for=dict(type="list", elements="str", choices=["vmtools", "ip"]),
        wait_for_timeout=dict(type="int", default=600),
        purge_disks=dict(type="bool", default=False),
        purge_nics=dict(type="bool", default=False),
        force_restart=dict(type="bool", default=False),
        labels=dict(type="list", elements="dict", options=label_suboptions()),
        purge_labels=dict(type="bool", default=False),
        migrate_across_clusters=dict(type="bool", default=False),
    )


def main():
    module = CloudTowerModule(
        argument_spec=argument_spec(),
        waits=True,
        non_blank=("id", "name", "new_name", "cluster", "host", "folder", "clone_from", "from_snapshot", "template"),
        supports_check_mode=True,
        mutually_exclusive=[("id", "name"), ("clone_from", "from_snapshot", "template")],
        required_one_of=[("id", "name")],
    )
    module.subject = "VM %s" % (module.params["name"] or module.params["id"])
    module.run(lambda m: VmTask(m).run())


if __name__ == "__main__":
    main()
