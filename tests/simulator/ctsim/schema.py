"""The simulator's own model of the CloudTower resources it serves.

Each resource lists its fields in a small line-based notation; serialisation, `where` key validation and
`orderBy` validation are all derived from these lines, so a field is declared in exactly one place.
A contract test compares these declarations with the official OpenAPI specs of every supported version.

Field line:  <name> <type>[?][=<default>] [<version condition>] [flags]
  type       str | dt (timestamp string) | int (int32) | float (double) | i64 (double before 1.10, int64 after)
             | num:<f|i per version, e.g. fif> | bool | enum:<Enum> | json[:<Embedded>[]] | list (of scalars)
             | one:<Target> | many:<Target> [<-<inverse to-one field on Target>]
             | many:<Target> <-<list field on Target>[] (many-to-many: Target rows hold the ids, Vm.labels <- Label.vms)
  ?          the value may be null
  condition  >=1.10, <4.6, ==1.10, !=1.10 ... (absent: every version)
  flags      opaque (neither filterable nor sortable), full==<v> (relation serialised as the whole object),
             ids (a to-many relation stored as a list of ids on the entity, e.g. Label.vms)
Lines starting with "~" declare where/orderBy keys that have no response field, e.g.
  ~password where<1.10 order<4.6          (where operators: all string ones, or ops=range for _lt/_lte/_gt/_gte)
"""

from .versions import CONDITION_OPERATORS, VERSIONS, versions_matching

STRING_OPS = ("", "_not", "_in", "_not_in", "_lt", "_lte", "_gt", "_gte", "_contains", "_not_contains",
              "_starts_with", "_not_starts_with", "_ends_with", "_not_ends_with")
COMPARABLE_OPS = STRING_OPS[:8]
ENUM_OPS = ("", "_not", "_in", "_not_in")
BOOL_OPS = ("", "_not")
TO_MANY_OPS = ("_some", "_every", "_none")
RANGE_OPS = ("_lt", "_lte", "_gt", "_gte")
HIDDEN_OP_FAMILIES = {"str": STRING_OPS, "range": RANGE_OPS}

SCALAR_KINDS = ("str", "dt", "int", "float", "num", "bool", "enum")
NUMERIC_ALIASES = {"int": "iii", "float": "fff", "i64": "fii"}
WHERE_OPS_BY_KIND = {
    "str": STRING_OPS, "dt": COMPARABLE_OPS, "num": COMPARABLE_OPS, "enum": ENUM_OPS, "bool": BOOL_OPS,
    "one": ("",), "many": TO_MANY_OPS, "json": (), "list": (),
}
SORTABLE_KINDS = ("str", "dt", "num", "bool", "enum", "json")

# Enum values; a value with a version condition exists only in the versions it selects.
ENUMS = {
    "Architecture": "AARCH64 X86_64",
    "BPSUnit": "Bps KBps MBps GBps TBps",
    "Bus": "IDE SCSI USB>=4.6 VIRTIO",
    "ByteUnit": "B KB MB GB TB PB",
    "ClusterConnectorErrorCode": "LOAD_CLUSTER_FAILED LOAD_CLUSTER_NETWORK_ERROR LOAD_CLUSTER_NOT_FOUND "
                                 "LOAD_CLUSTER_UNAUTHORIZED LOAD_CLUSTER_UNHEALTHY",
    "CloudInitNetworkTypeEnum": "IPV4 IPV4_DHCP",
    "ClusterType": "BLUESHARK SMTX_ELF>=4.6 SMTX_OS SMTX_ZBS",
    "ConnectState": "CONNECTED DISCONNECTED INITIALIZING REMOVING",
    "ConsistentType": "CRASH_CONSISTENT FILE_SYSTEM_CONSISTENT",
    "CpuFanSpeedUnit": "PERCENT RPM",
    "EntityAsyncStatus": "CREATING DELETING UPDATING",
    "HostState": "IDLE IN_USE REMOVING",
    "HostStatus": "CONNECTED_ERROR CONNECTED_HEALTHY CONNECTED_WARNING CONNECTING INITIALIZING SESSION_EXPIRED",
    "Hypervisor": "BLUESHARK ELF VMWARE XENSERVER",
    "IommuStatus": "DISABLE ENABLE NEED_REBOOT",
    "LicenseType": "PERPETUAL SUBSCRIPTION TRIAL",
    "MfaType": "Mail Sms",
    "NetworkType": "ACCESS MANAGEMENT MIGRATION STORAGE STORAGE_ACCESS>=4.6 VM VPC_SYS>=4.6 VPC_VM>=4.6",
    "NtpMode": "EXTERNAL INTERNAL",
    "SoftwareEdition": "COMMUNITY ENTERPRISE ENTERPRISE_PLUS>=4.6 ESSENTIAL EXPRESS>=4.6 STANDARD TRIAL",
    "TaskStatus": "EXECUTING FAILED PAUSED>=1.10 PENDING SUCCESSED",
    "TaskType": "APPLICATION BACKUP HOST_PLUGIN>=4.6 REPLICATION>=4.6 RESOLVER SFS>=4.6",
    "UserRole": "ADMIN READ_ONLY ROOT",
    "UserSource": "AUTHN>=4.6 LDAP LOCAL SSO>=4.6",
    "VlanModeType": "GENEVE VLAN_ACCESS VLAN_TRUNK VXLAN",
    "VmClockOffset": "LOCALTIME UTC",
    "VmDiskIoPolicy": "RESTRICT_EACH_DISK RESTRICT_WHOLE_VM",
    "VmDiskIoRestrictType": "DYNAMIC FORCED",
    "VmDiskType": "CD_ROM DISK",
    "VmFirmware": "BIOS UEFI",
    "VmGuestsOperationSystem": "LINUX UNKNOWN WINDOWS",
    "VmNicModel": "E1000 SRIOV VIRTIO",
    "VmNicType": "VLAN VPC",
    "VmStatus": "DELETED RUNNING STOPPED SUSPENDED UNKNOWN",
    "VmToolsStatus": "NOT_INSTALLED NOT_RUNNING RESTRICTION RUNNING",
    "VmUsage": "ADVANCED_MONITORING>=4.6 AGENT_MESH_NODE>=4.6 BACKUP_CONTROLLER>=4.6 BUNDLE_APPLICATION>=4.6 "
               "CLOUDTOWER>=4.6 EVEROUTE_CONTROLLER REGISTRY>=4.6 REPLICATION_CONTROLLER>=4.6 SFS_CONTROLLER>=4.6 "
               "SHARE_REGISTRY>=4.6 SKS_MANAGEMENT>=4.6",
    "VmVideoType": "CIRRUS QXL VGA VIRTIO",
    "MigrateType": "COLD_MIGRATE>=4.6 CUTOVER_MIGRATE>=4.6 LIVE_MIGRATE>=4.6",
    "VmVolumeElfStoragePolicyType": "EC>=4.6 ELF_CP_REPLICA_2_THICK_PROVISION>=4.6 ELF_CP_REPLICA_2_THIN_PROVISION>=4.6 "
                                    "ELF_CP_REPLICA_3_THICK_PROVISION>=4.6 ELF_CP_REPLICA_3_THIN_PROVISION>=4.6 "
                                    "REPLICA_1_THICK_PROVISION REPLICA_1_THIN_PROVISION REPLICA_2_THICK_PROVISION "
                                    "REPLICA_2_THIN_PROVISION REPLICA_3_THICK_PROVISION REPLICA_3_THIN_PROVISION",
    "VmVolumeType": "KVM_VOLUME KVM_VOLUME_ISCSI",
    "StoreConnectionType": "ISCSI NVMe",
    "StoreTransportType": "RDMA TCP",
    "UploadResourceType": "CLOUDTOWER_APPLICATION_PACKAGE>=1.10 CLOUDTOWER_K8S_APP_PACKAGE>=4.6 CLUSTER_IMAGE CLUSTER_IMAGE_META "
                          "CONTENT_LIBRARY_IMAGE ELF_IMAGE EVEROUTE_PACKAGE HOST_PLUGIN_PACKAGE>=4.6 MONITOR_IMAGE OVF>=4.6 "
                          "SVT_IMAGE VM_VOLUME_QCOW2>=4.6 VM_VOLUME_RAW>=4.6 VM_VOLUME_VMDK>=4.6",
    "UploadTaskStatus": "FAILED INITIALIZING PAUSED SUCCESSED UPLOADING",
    "VmExportFileType": "OVF QCOW2 RAW VMDK",
    "VmVolumeExportFileType": "QCOW2 RAW",
    "VmVolumeSnapshotType": "KVM_VOLUME_ISCSI_SNAPSHOT KVM_VOLUME_SNAPSHOT",
}

# Relation stubs: which keys a related object is reduced to. Targets not listed are {id, name}.
STUB_KEYS = {
    "Application": "id", "ClusterSettings": "id", "Ipmi": "id", "IsolationPolicy": "id", "VcenterAccount": "id",
    "VmDisk": "id", "VmEntityFilterResult": "id", "VmNic": "id", "VsphereEsxiAccount": "id", "Zone": "id",
    "Host": "id name management_ip>=4.6",
    "Label": "id key>=4.6 value>=4.6", "License": "id", "UploadTask": "id",
    "VirtualPrivateCloudNic": "id local_id ip_addresses vpc vpc_subnet floating_ip",
}
DEFAULT_STUB_KEYS = "id name"

# Objects embedded in a resource (no identity of their own), e.g. a snapshot's frozen disks.
EMBEDDED = {
    "Cpu": """
        cores                int
        sockets              int
    """,
    "FrozenDisks": """
        boot                 num:fii
        bus                  enum:Bus
        disabled             bool?
        disk_name            str?
        elf_image_local_id   str
        image_name           str?
        index                int
        key                  int?
        max_bandwidth        i64?
        max_bandwidth_policy enum:VmDiskIoRestrictType?
        max_iops             int?
        max_iops_policy      enum:VmDiskIoRestrictType?
        path                 str
        size                 i64
        snapshot_local_id    str?
        storage_policy_uuid  str
        svt_image_local_id   str
        type                 enum:VmDiskType
        vm_volume_local_id   str
        vm_volume_snapshot_uuid str?    >=1.10
        vm_volume_template_uuid str?    >=1.10
    """,
    "FrozenNic": """
        enabled              bool?
        gateway              str
        index                int
        ip_address           str
        mac_address          str
        mirror               bool?
        model                enum:VmNicModel?
        subnet_mask          str
        vlan                 json:FrozenVlan
    """,
    "InitiatorChap": """
        chap_name            str
        chap_secret          str
        initiator_iqn        str
    """,
    "TemplateNic": """
        enabled              bool?
        index                int
        ip_address           str?
        mac_address          str?
        mirror               bool?
        model                enum:VmNicModel?
        type                 enum:VmNicType?   >=4.6
        vlan                 json:FrozenVlan
        vpc_nic              json:TemplateVpcNic?  >=4.6
    """,
    "TemplateVpcNic": """
        use_floating_ip      bool       >=4.6
        vpc_local_id         str        >=4.6
        vpc_subnet_local_id  str        >=4.6
    """,
    "ContentLibraryVmTemplateDisk": """
        boot                 int        >=4.6
        bus                  enum:Bus   >=4.6
        content_library_image_id str?   >=4.6
        disabled             bool?      >=4.6
        disk_name            str?       >=4.6
        index                int        >=4.6
        max_bandwidth        i64?       >=4.6
        max_bandwidth_policy enum:VmDiskIoRestrictType? >=4.6
        max_iops             int?       >=4.6
        max_iops_policy      enum:VmDiskIoRestrictType? >=4.6
        path                 str?       >=4.6
        resident_in_cache    bool?      >=4.6
        size                 i64?       >=4.6
        storage_encrypted    bool?      >=4.6
        storage_policy       enum:VmVolumeElfStoragePolicyType? >=4.6
        type                 enum:VmDiskType >=4.6
    """,
    "ContentLibraryVmTemplateNic": """
        egress_rate_limit_burst_in_bit float? >=4.6
        egress_rate_limit_enabled bool? >=4.6
        egress_rate_limit_max_rate_in_bitps float? >=4.6
        enabled              bool?      >=4.6
        index                int        >=4.6
        ingress_rate_limit_burst_in_bit float? >=4.6
        ingress_rate_limit_enabled bool? >=4.6
        ingress_rate_limit_max_rate_in_bitps float? >=4.6
        mirror               bool?      >=4.6
        model                enum:VmNicModel? >=4.6
        type                 enum:VmNicType? >=4.6
        vlan                 json:FrozenVlan? >=4.6
        vpc_nic              json:TemplateVpcNic? >=4.6
    """,
    "TemplateConfig": """
        cpu_exclusive_expected_enabled bool? >=4.6
        guest_os_type        str?       >=4.6
        minimum_replica      bool?      >=4.6
        sync_vm_time_on_resume bool?    >=4.6
    """,
    "FrozenVlan": """
        name                 str
        network_ids          list?      >=4.6
        vds_ovs              str
        vlan_id              num:fii
        vlan_local_id        str
    """,
}

RESOURCES_TEXT = {}

RESOURCES_TEXT["Cluster"] = ("clusters", """
    application_highest_version          str?                     >=1.10
    applications                         many:Application?
    architecture                         enum:Architecture
    auto_converge                        bool?
    connect_state                        enum:ConnectState
    consistency_groups                   many:ConsistencyGroup?
    current_cpu_model                    str?
    datacenters                          many:Datacenter?
    disconnected_date                    dt?
    disconnected_reason                  enum:ClusterConnectorErrorCode?
    dns                                  list
    entityAsyncStatus                    enum:EntityAsyncStatus?
    everoute_cluster                     one:EverouteCluster?
    failure_data_space                   i64?
    has_metrox                           bool?
    has_remote_backup                    bool?                    <1.10
    host_num                             int?
    hosts                                many:Host?<-cluster
    hypervisor                           enum:Hypervisor?
    id                                   str
    ip                                   str
    is_all_flash                         bool?
    iscsi_vip                            str?
    labels                               many:Label?
    license_expire_date                  dt?
    license_serial                       str?
    license_sign_date                    dt?
    license_type                         enum:LicenseType?
    local_id                             str?
    maintenance_end_date                 dt?
    maintenance_start_date               dt?
    management_vip                       str?
    max_chunk_num                        int?
    max_physical_data_capacity           i64?
    max_physical_data_capacity_per_node  i64?
    metro_availability_checklist         json?
    mgt_gateway                          str?
    mgt_netmask                          str?
    migration_data_size                  i64?
    migration_speed                      i64?
    name                                 str
    ntp_mode                             enum:NtpMode?
    ntp_servers                          list
    nvme_over_rdma_enabled               bool?                    >=1.10
    nvme_over_tcp_enabled                bool?                    >=1.10
    nvmf_enabled                         bool?
    pmem_enabled                         bool?
    provisioned_cpu_cores                int?
    provisioned_cpu_cores_for_active_vm  int?
    provisioned_for_active_vm_ratio      float?
    provisioned_memory_bytes             i64?
    provisioned_ratio                    float?
    rdma_enabled                         bool?
    recommended_cpu_models               list
    recover_data_size                    i64?
    recover_speed                        i64?
    reserved_cpu_cores_for_system_service int?
    running_vm_num                       int?
    settings                             one:ClusterSettings?
    software_edition                     enum:SoftwareEdition?
    stopped_vm_num                       int?
    stretch                              bool?
    suspended_vm_num                     int?
    total_cache_capacity                 i64?
    total_cpu_cores                      int?
    total_cpu_hz                         i64?
    total_cpu_models                     list
    total_cpu_sockets                    int?
    total_data_capacity                  i64?
    total_memory_bytes                   i64?
    type                                 enum:ClusterType
    upgrade_tool_version                 str?                     >=1.10
    used_cpu_hz                          num:fif?
    used_data_space                      i64?
    used_memory_bytes                    num:fif?
    valid_data_space                     i64?
    vcenterAccount                       one:VcenterAccount?
    vdses                                many:Vds?<-cluster
    version                              str
    vhost_enabled                        bool?
    vm_folders                           many:VmFolder?<-cluster
    vm_num                               int?
    vm_templates                         many:VmTemplate?<-cluster
    vms                                  many:Vm?<-cluster
    witness                              one:Witness?
    zones                                many:Zone?
    ~has_remote_backup                   order==1.10
    ~password                            where<1.10 order<4.6
    ~username                            where<1.10 order<4.6
    ~version_semantic                    where<1.10 ops=range
""")

RESOURCES_TEXT["Host"] = ("hosts", """
    access_ip                            str?
    allocable_cpu_cores_for_vm_exclusive int?                     >=4.6
    allocatable_memory_bytes             i64
    chunk_id                             str
    cluster                              one:Cluster
    compatible_cpu_models                list
    cpu_brand                            str
    cpu_fan_speed                        list
    cpu_fan_speed_unit                   enum:CpuFanSpeedUnit?
    cpu_hz_per_core                      i64
    cpu_model                            str
    cpu_temperature_celsius              list
    cpu_vendor                           str?                     >=1.10
    data_ip                              str?
    disks                                many:Disk?
    entityAsyncStatus                    enum:EntityAsyncStatus?  >=4.6
    failure_data_space                   i64
    gpu_devices                          many:GpuDevice?          >=4.6
    hdd_data_capacity                    i64
    hdd_disk_count                       int
    host_state                           json?                    >=4.6
    hypervisor_ip                        str?                     >=1.10
    id                                   str
    iommu                                enum:IommuStatus?        >=4.6
    ipmi                                 one:Ipmi?
    is_os_in_raid1                       bool?
    labels                               many:Label?
    local_id                             str
    lsm_cap_disk_safe_umount             bool
    management_ip                        str
    model                                str
    name                                 str
    nested_virtualization                bool
    nic_count                            int
    nics                                 many:Nic?
    node_topo_local_id                   str?
    os_memory_bytes                      i64
    os_version                           str?
    pmem_dimm_capacity                   i64
    pmem_dimm_count                      int
    pmem_dimms                           many:PmemDimm?
    pmem_disk_count                      int
    provisioned_cpu_cores                int
    provisioned_memory_bytes             i64
    running_pause_vm_memory_bytes        i64
    running_vm_num                       int?
    scvm_cpu                             i64?
    scvm_memory                          i64?
    scvm_name                            str?
    serial                               str?
    ssd_data_capacity                    i64
    ssd_disk_count                       int
    state                                enum:HostState
    status                               enum:HostStatus
    stopped_vm_num                       int?
    suspended_vm_num                     int?
    total_cache_capacity                 i64?
    total_cpu_cores                      int
    total_cpu_hz                         i64
    total_cpu_sockets                    int?
    total_data_capacity                  i64
    total_memory_bytes                   i64
    usb_devices                          many:UsbDevice?
    used_cpu_hz                          num:fif?
    used_data_space                      i64
    used_memory_bytes                    num:fif?
    vm_num                               int?
    vmotion_ip                           str?
    vms                                  many:Vm?<-host
    vsphereEsxiAccount                   one:VsphereEsxiAccount?
    with_faster_ssd_as_cache             bool?
    zone                                 one:Zone?
""")

RESOURCES_TEXT["Vlan"] = ("vlans", """
    entityAsyncStatus                    enum:EntityAsyncStatus?
    gateway_ip                           str?
    gateway_subnetmask                   str?
    id                                   str
    labels                               many:Label?
    local_id                             str
    mode_type                            enum:VlanModeType?       >=4.6
    name                                 str
    network_ids                          list                     >=4.6
    qos_burst                            float?                   >=4.6
    qos_max_bandwidth                    float?                   >=4.6
    qos_min_bandwidth                    float?                   >=4.6
    qos_priority                         int?                     >=4.6
    subnetmask                           str?
    type                                 enum:NetworkType
    vds                                  one:Vds
    vlan_id                              int
    vm_nics                              many:VmNic?<-vlan
""")

RESOURCES_TEXT["Vds"] = ("vdses", """
    bond_mode                            str
    cluster                              one:Cluster
    entityAsyncStatus                    enum:EntityAsyncStatus?
    everoute_cluster                     one:EverouteCluster?
    id                                   str
    internal                             bool
    labels                               many:Label?
    local_id                             str
    name                                 str
    nics                                 many:Nic?
    ovsbr_name                           str
    type                                 enum:NetworkType
    vlans                                many:Vlan?<-vds
    vlans_num                            int
    work_mode                            str?                     >=1.10
""")

RESOURCES_TEXT["Deploy"] = ("deploys", """
    id                                   str
    license                              one:License?
    version                              str
""")

RESOURCES_TEXT["VmFolder"] = ("vm_folders", """
    cluster                              one:Cluster
    id                                   str
    local_id                             str?
    name                                 str
    vm_num                               int?
    vms                                  many:Vm?<-folder
""")

RESOURCES_TEXT["ElfImage"] = ("elf_images", """
    cluster                              one:Cluster?
    content_library_image                one:ContentLibraryImage? !=1.10
    description                          str
    entityAsyncStatus                    enum:EntityAsyncStatus?
    id                                   str
    labels                               many:Label?
    local_created_at                     dt
    local_id                             str
    name                                 str
    path                                 str
    size                                 i64
    upload_task                          one:UploadTask?          <1.10  opaque
    vm_disks                             many:VmDisk?<-elf_image
    vm_snapshots                         many:VmSnapshot?
    vm_templates                         many:VmTemplate?
""")

RESOURCES_TEXT["Vm"] = ("vms", """
    backup_plans                         many:BackupPlan?         >=4.6
    bios_uuid                            str?                     >=4.6
    clock_offset                         enum:VmClockOffset
    cloud_init_supported                 bool?                    >=1.10
    cluster                              one:Cluster?
    cpu                                  json:Cpu
    cpu_model                            str
    cpu_usage                            float?
    deleted_at                           dt?
    description                          str
    dns_servers                          str?
    entityAsyncStatus                    enum:EntityAsyncStatus?
    entity_filter_results                many:VmEntityFilterResult?
    firmware                             enum:VmFirmware
    folder                               one:VmFolder?
    gpu_devices                          many:GpuDevice?          >=4.6
    guest_cpu_model                      str?
    guest_os_type                        enum:VmGuestsOperationSystem?
    guest_size_usage                     float?
    guest_used_size                      i64?
    ha                                   bool
    host                                 one:Host?
    hostname                             str?
    id                                   str
    in_recycle_bin                       bool
    internal                             bool
    io_policy                            enum:VmDiskIoPolicy?
    ips                                  str
    isolation_policy                     one:IsolationPolicy?
    kernel_info                          str?
    labels                               many:Label?<-vms[]
    last_shutdown_time                   dt?
    local_created_at                     dt?
    local_id                             str
    logical_size_bytes                   i64?
    max_bandwidth                        i64?
    max_bandwidth_policy                 enum:VmDiskIoRestrictType?
    max_iops                             int?
    max_iops_policy                      enum:VmDiskIoRestrictType?
    memory                               i64
    memory_usage                         float?
    name                                 str
    nested_virtualization                bool
    node_ip                              str
    original_name                        str?
    os                                   str?
    out_uninstall_usb                    list
    pci_nics                             many:Nic?                >=4.6
    protected                            bool
    provisioned_size                     i64?
    size                                 i64?
    snapshot_plan                        one:SnapshotPlan?
    snapshots                            many:VmSnapshot?<-vm
    status                               enum:VmStatus
    unique_logical_size                  float?                   >=4.6
    unique_size                          i64?
    usb_devices                          many:UsbDevice?
    used_size                            int?                     >=4.6
    used_size_usage                      float?                   >=4.6
    vcpu                                 int
    video_type                           enum:VmVideoType?
    vm_disks                             many:VmDisk?<-vm
    vm_nics                              many:VmNic?<-vm
    vm_placement_group                   many:VmPlacementGroup?
    vm_tools_status                      enum:VmToolsStatus
    vm_tools_version                     str?
    vm_usage                             enum:VmUsage?
    win_opt                              bool
""")

RESOURCES_TEXT["VmDisk"] = ("vm_disks", """
    boot                                 int
    bus                                  enum:Bus
    cloud_init_image_name                str?
    cloud_init_image_path                str?
    device                               str?
    disabled                             bool?
    elf_image                            one:ElfImage?
    id                                   str
    key                                  int?
    max_bandwidth                        i64?
    max_bandwidth_policy                 enum:VmDiskIoRestrictType?
    max_iops                             int?
    max_iops_policy                      enum:VmDiskIoRestrictType?
    serial                               str?
    svt_image                            one:SvtImage?
    type                                 enum:VmDiskType
    unsafe_image_path                    str?
    unsafe_image_uuid                    str?
    unsafe_provision                     str?
    vm                                   one:Vm
    vm_volume                            one:VmVolume?
""")

RESOURCES_TEXT["VmVolume"] = ("vm_volumes", """
    cluster                              one:Cluster
    description                          str?
    elf_storage_policy                   enum:VmVolumeElfStoragePolicyType
    entityAsyncStatus                    enum:EntityAsyncStatus?  >=4.6
    guest_size_usage                     float?
    guest_used_size                      i64?
    id                                   str
    labels                               many:Label?
    local_created_at                     dt
    local_id                             str
    lun                                  one:IscsiLun?
    mounting                             bool
    name                                 str
    path                                 str
    sharing                              bool
    size                                 i64
    type                                 enum:VmVolumeType?       >=4.6
    unique_logical_size                  float?                   >=4.6
    unique_size                          i64?
    used_size                            int?                     >=4.6
    used_size_usage                      float?                   >=4.6
    vm_disks                             many:VmDisk?<-vm_volume
""")

RESOURCES_TEXT["VmNic"] = ("vm_nics", """
    egress_rate_limit_burst_in_bit       float?                   >=4.6
    egress_rate_limit_enabled            bool?                    >=4.6
    egress_rate_limit_max_rate_in_bitps  float?                   >=4.6
    enabled                              bool?
    gateway                              str?
    id                                   str
    ingress_rate_limit_burst_in_bit      float?                   >=4.6
    ingress_rate_limit_enabled           bool?                    >=4.6
    ingress_rate_limit_max_rate_in_bitps float?                   >=4.6
    interface_id                         str?
    ip_address                           str?
    local_id                             str
    mac_address                          str?
    mirror                               bool?
    model                                enum:VmNicModel?
    nic                                  one:Nic?
    order                                int?
    subnet_mask                          str?
    type                                 enum:VmNicType?          >=4.6
    vlan                                 one:Vlan?
    vm                                   one:Vm
    vpc_nic                              one:VirtualPrivateCloudNic?  >=4.6
""")

RESOURCES_TEXT["VmSnapshot"] = ("vm_snapshots", """
    clock_offset                         enum:VmClockOffset
    cluster                              one:Cluster
    consistent_type                      enum:ConsistentType
    cpu                                  json:Cpu
    cpu_model                            str
    description                          str
    entityAsyncStatus                    enum:EntityAsyncStatus?
    firmware                             enum:VmFirmware
    ha                                   bool
    id                                   str
    io_policy                            enum:VmDiskIoPolicy?
    labels                               many:Label?
    local_created_at                     dt?
    local_id                             str
    max_bandwidth                        i64?
    max_bandwidth_policy                 enum:VmDiskIoRestrictType?
    max_iops                             int?
    max_iops_policy                      enum:VmDiskIoRestrictType?
    memory                               i64
    name                                 str
    size                                 i64
    snapshot_group                       one:SnapshotGroup?
    vcpu                                 int
    vm                                   one:Vm?
    vm_disks                             json:FrozenDisks[]?
    vm_nics                              json:FrozenNic[]?
    win_opt                              bool
""")

# A VM template: a VM's configuration and disks, frozen like a snapshot's, that VMs are created from.
RESOURCES_TEXT["VmTemplate"] = ("vm_templates", """
    clock_offset                         enum:VmClockOffset
    cloud_init_supported                 bool
    cluster                              one:Cluster
    content_library_vm_template          one:ContentLibraryVmTemplate? !=1.10
    cpu                                  json:Cpu
    cpu_model                            str
    description                          str
    entityAsyncStatus                    enum:EntityAsyncStatus?
    firmware                             enum:VmFirmware
    ha                                   bool
    id                                   str
    io_policy                            enum:VmDiskIoPolicy?
    labels                               many:Label?
    local_created_at                     dt?
    local_id                             str
    max_bandwidth                        i64?
    max_bandwidth_policy                 enum:VmDiskIoRestrictType?
    max_iops                             int?
    max_iops_policy                      enum:VmDiskIoRestrictType?
    memory                               i64
    name                                 str
    size                                 i64
    vcpu                                 int
    video_type                           str?
    vm_disks                             json:FrozenDisks[]?
    vm_nics                              json:TemplateNic[]?
    win_opt                              bool
""")

# A content-library VM template (1.8 and 4.6; 1.10 has none): a template held by CloudTower itself and offered to
# several clusters. 1.8 only lists them; 4.6 makes them from a VM and creates VMs from them.
RESOURCES_TEXT["ContentLibraryVmTemplate"] = ("content_library_vm_templates", """
    architecture                         enum:Architecture        >=4.6
    clock_offset                         enum:VmClockOffset?      >=4.6
    cloud_init_supported                 bool
    clusters                             many:Cluster?            ids
    cpu                                  json={}                  <4.6
    cpu                                  json:Cpu?                >=4.6
    cpu_model                            str?                     >=4.6
    createdAt                            dt
    description                          str
    entityAsyncStatus                    enum:EntityAsyncStatus?
    firmware                             enum:VmFirmware?         >=4.6
    guest_os_type                        enum:VmGuestsOperationSystem? <4.6
    ha                                   bool?                    >=4.6
    id                                   str
    io_policy                            enum:VmDiskIoPolicy?     >=4.6
    labels                               many:Label?
    max_bandwidth                        i64?                     >=4.6
    max_bandwidth_policy                 enum:VmDiskIoRestrictType? >=4.6
    max_iops                             int?                     >=4.6
    max_iops_policy                      enum:VmDiskIoRestrictType? >=4.6
    memory                               i64
    name                                 str
    os                                   str?                     >=4.6
    size                                 i64
    template_config                      json:TemplateConfig?     >=4.6
    vcpu                                 int
    video_type                           str?                     >=4.6
    vm_disks                             json:ContentLibraryVmTemplateDisk[]? >=4.6
    vm_nics                              json:ContentLibraryVmTemplateNic[]? >=4.6
    vm_template_uuids                    list
    vm_templates                         many:VmTemplate?<-content_library_vm_template
    win_opt                              bool?                    >=4.6
    zbs_storage_info                     json?=[]                 >=4.6
""", "!=1.10")

RESOURCES_TEXT["IscsiLun"] = ("iscsi_luns", """
    allowed_initiators                   str
    assigned_size                        i64
    bps                                  i64
    bps_max                              i64
    bps_max_length                       i64
    bps_rd                               i64
    bps_rd_max                           i64
    bps_rd_max_length                    i64
    bps_wr                               i64
    bps_wr_max                           i64
    bps_wr_max_length                    i64
    consistency_group                    one:ConsistencyGroup?
    entityAsyncStatus                    enum:EntityAsyncStatus?
    id                                   str
    io_size                              i64
    iops                                 i64
    iops_max                             i64
    iops_max_length                      i64
    iops_rd                              i64
    iops_rd_max                          i64
    iops_rd_max_length                   i64
    iops_wr                              i64
    iops_wr_max                          i64
    iops_wr_max_length                   i64
    iscsi_target                         one:IscsiTarget
    labels                               many:Label?
    local_created_at                     dt
    local_id                             str
    lun_id                               int
    name                                 str
    replica_num                          int
    shared_size                          i64
    snapshot_num                         int
    stripe_num                           int
    stripe_size                          i64
    thin_provision                       bool
    unique_logical_size                  float?                   >=4.6
    unique_size                          i64
    zbs_volume_id                        str
""")

RESOURCES_TEXT["IscsiTarget"] = ("iscsi_targets", """
    bps                                  i64?
    bps_max                              i64?
    bps_max_length                       i64?
    bps_rd                               i64?
    bps_rd_max                           i64?
    bps_rd_max_length                    i64?
    bps_wr                               i64?
    bps_wr_max                           i64?
    bps_wr_max_length                    i64?
    chap_enabled                         bool
    chap_name                            str?
    chap_secret                          str?
    cluster                              one:Cluster
    description                          str
    entityAsyncStatus                    enum:EntityAsyncStatus?
    external_use                         bool
    id                                   str
    initiator_chaps                      json:InitiatorChap[]?
    internal                             bool
    io_size                              i64?
    iops                                 i64?
    iops_max                             i64?
    iops_max_length                      i64?
    iops_rd                              i64?
    iops_rd_max                          i64?
    iops_rd_max_length                   i64?
    iops_wr                              i64?
    iops_wr_max                          i64?
    iops_wr_max_length                   i64?
    ip_whitelist                         str
    iqn_name                             str
    iqn_whitelist                        str
    labels                               many:Label?
    local_id                             str
    luns                                 many:IscsiLun?<-iscsi_target
    name                                 str
    replica_num                          int
    stripe_num                           int
    stripe_size                          i64
    thin_provision                       bool
""")

RESOURCES_TEXT["IscsiLunSnapshot"] = ("iscsi_lun_snapshots", """
    consistency_group_snapshot           one:ConsistencyGroupSnapshot?
    entityAsyncStatus                    enum:EntityAsyncStatus?
    id                                   str
    iscsi_lun                            one:IscsiLun?
    iscsi_target                         one:IscsiTarget
    labels                               many:Label?
    local_created_at                     dt
    local_id                             str
    name                                 str
    unique_size                          i64
""")

# The data plane: live iSCSI sessions of the portal, chunked uploads and (4.6) export files.
RESOURCES_TEXT["IscsiConnection"] = ("iscsi_connections", """
    client_port                          int
    cluster                              one:Cluster
    host                                 one:Host
    id                                   str
    initiator_ip                         str
    iscsi_target                         one:IscsiTarget?
    nvmf_subsystem                       one:NvmfSubsystem?
    tr_type                              enum:StoreTransportType? >=1.10
    type                                 enum:StoreConnectionType
""")

RESOURCES_TEXT["UploadTask"] = ("upload_tasks", """
    args                                 json={}
    chunk_size                           i64
    current_chunk                        int
    finished_at                          dt?
    id                                   str
    resource_type                        enum:UploadResourceType
    size                                 i64
    started_at                           dt?
    status                               enum:UploadTaskStatus
    updatedAt                            dt
""")

RESOURCES_TEXT["VmExportFile"] = ("vm_export_files", """
    content_library_vm_template          one:ContentLibraryVmTemplate?
    createdAt                            dt
    damaged                              bool
    data_port_id                         str
    entityAsyncStatus                    enum:EntityAsyncStatus?
    files                                json=[]
    id                                   str
    storage_cluster_id                   str
    type                                 enum:VmExportFileType
    vm                                   one:Vm?
    vm_volume                            one:VmVolume?
""", ">=4.6")

# A VM volume's snapshot (4.6): every DISK of a VM snapshot has one (its frozen disk's vm_volume_snapshot_uuid is
# this local_id [assumed]), holding the same bytes as the disk's iSCSI LUN snapshot; rebuild-vm-volume makes a new
# volume of it.
RESOURCES_TEXT["VmVolumeSnapshot"] = ("vm_volume_snapshots", """
    cluster                              one:Cluster
    createAt                             dt?
    description                          str
    elf_storage_policy                   enum:VmVolumeElfStoragePolicyType
    entityAsyncStatus                    enum:EntityAsyncStatus?
    id                                   str
    labels                               many:Label?
    local_created_at                     dt
    local_id                             str
    name                                 str
    shared_size                          float?
    size                                 float?
    type                                 enum:VmVolumeSnapshotType
    unique_size                          float?
    vm_volume                            one:VmVolume?
    volume_sharing                       bool?
    volume_size                          float?
    zbs_snapshot_uuid                    str?
""", ">=4.6")

RESOURCES_TEXT["Task"] = ("tasks", """
    __typename                           str=Task                 ==1.10  opaque
    args                                 json={}
    cluster                              one:Cluster?             full==1.10
    description                          str
    error_code                           str?
    error_message                        str?
    finished_at                          dt?
    id                                   str
    internal                             bool
    key                                  str?                     >=1.10
    local_created_at                     dt
    progress                             float
    resource_id                          str?
    resource_mutation                    str?
    resource_rollback_error              str?
    resource_rollback_retry_count        int?
    resource_rollbacked                  bool?
    resource_type                        str?
    snapshot                             str
    started_at                           dt?
    status                               enum:TaskStatus
    steps                                json=[]
    type                                 enum:TaskType?           >=1.10
    user                                 one:User?                full==1.10
""")

RESOURCES_TEXT["User"] = ("users", """
    __typename                           str=User                 ==1.10  opaque
    auth_config_id                       str?                     >=4.6
    display_username                     str                      >=4.6
    email_address                        str?
    id                                   str
    internal                             bool
    ldap_dn                              str?
    login_info                           json?                    ==1.10  opaque
    mobile_phone                         str?
    name                                 str
    password_expired                     bool?                    >=1.10
    password_recover_qa                  json?                    >=1.10
    password_updated_at                  dt?                      >=1.10
    role                                 enum:UserRole?
    roles                                many:UserRoleNext?       full==1.10
    source                               enum:UserSource
    username                             str
    ~password                            where<1.10 order<4.6
""")

# Labels: key/value pairs attached to many resources. Only VMs are attached here; a label holds the ids of its VMs
# (its "vms" list), and Vm.labels is read from that list, so the two sides cannot disagree.
RESOURCES_TEXT["Label"] = ("labels", """
    cluster_num                          int?
    clusters                             many:Cluster?
    consistency_group_num                int?
    consistency_group_snapshot_num       int?
    consistency_group_snapshots          many:ConsistencyGroupSnapshot?
    consistency_groups                   many:ConsistencyGroup?
    content_library_image_num            int?                     !=1.10
    content_library_images               many:ContentLibraryImage? !=1.10
    content_library_vm_template_num      int?                     !=1.10
    content_library_vm_templates         many:ContentLibraryVmTemplate? !=1.10
    createdAt                            dt
    datacenter_num                       int?
    datacenters                          many:Datacenter?
    disk_num                             int?
    disks                                many:Disk?
    elf_image_num                        int?
    elf_images                           many:ElfImage?
    gpu_device_num                       int?                     >=4.6
    gpu_devices                          many:GpuDevice?          >=4.6
    host_num                             int?
    hosts                                many:Host?
    id                                   str
    iscsi_lun_num                        int?
    iscsi_lun_snapshot_num               int?
    iscsi_lun_snapshots                  many:IscsiLunSnapshot?
    iscsi_luns                           many:IscsiLun?
    iscsi_target_num                     int?
    iscsi_targets                        many:IscsiTarget?
    isolation_policies                   many:IsolationPolicy?
    isolation_policy_num                 int?
    key                                  str
    namespace_group_num                  int?
    namespace_groups                     many:NamespaceGroup?
    nfs_export_num                       int?
    nfs_exports                          many:NfsExport?
    nfs_inode_num                        int?
    nfs_inodes                           many:NfsInode?
    nic_num                              int?
    nics                                 many:Nic?
    nvmf_namespace_num                   int?
    nvmf_namespace_snapshot_num          int?
    nvmf_namespace_snapshots             many:NvmfNamespaceSnapshot?
    nvmf_namespaces                      many:NvmfNamespace?
    nvmf_subsystem_num                   int?
    nvmf_subsystems                      many:NvmfSubsystem?
    security_policies                    many:SecurityPolicy?
    security_policy_num                  int?
    system_vlan_num                      int?
    total_num                            int?
    value                                str?
    vds_num                              int?
    vdses                                many:Vds?
    vlans                                many:Vlan?
    vm_num                               int?
    vm_snapshot_num                      int?
    vm_snapshots                         many:VmSnapshot?
    vm_template_num                      int?
    vm_templates                         many:VmTemplate?
    vm_vlan_num                          int?
    vm_volume_num                        int?
    vm_volume_snapshot_num               int?                     >=4.6
    vm_volume_snapshots                  many:VmVolumeSnapshot?   >=4.6
    vm_volumes                           many:VmVolume?
    vms                                  many:Vm?                 ids
    ~content_library_image_num           order==1.10
    ~content_library_vm_template_num     order==1.10
""")

# Every resource could be sorted by its row timestamps until 2.1 removed createdAt_*/updatedAt_*.
# (Hidden keys of single resources are declared on their "~" lines instead.)
ROW_TIMESTAMP_ORDER_KEYS = ("createdAt", "updatedAt")


class Field:
    """One declared field of a resource or embedded object."""

    def __init__(self, name, kind, nullable=False, target=None, numeric=None, versions=frozenset(VERSIONS),
                 default=None, inverse=None, is_list=False, opaque=False, full_in=frozenset(), held_by=None,
                 stored_ids=False):
        self.name = name
        self.kind = kind
        self.nullable = nullable
        self.target = target
        self.numeric = numeric
        self.versions = versions
        self.default = default
        self.inverse = inverse
        self.is_list = is_list
        self.opaque = opaque
        self.full_in = full_in
        # Many-to-many: the list field of the target rows that holds this entity's id (Vm.labels <- Label.vms).
        self.held_by = held_by
        # A to-many relation stored on the entity itself as a list of ids (Label.vms).
        self.stored_ids = stored_ids

    def __repr__(self):
        return "Field(%s %s)" % (self.name, self.kind)

    def number_type(self, version):
        """'f' (double) or 'i' (integer) for a numeric field in a version."""
        return self.numeric[VERSIONS.index(version)]

    @property
    def where_ops(self):
        return () if self.opaque else WHERE_OPS_BY_KIND[self.kind]

    @property
    def sortable(self):
        return not self.opaque and self.kind in SORTABLE_KINDS

    def accepts(self, value, version):
        """Whether a value fits this field in a version (used to vet direct patches)."""
        if value is None:
            return self.nullable
        checks = {
            "str": lambda: isinstance(value, str), "dt": lambda: isinstance(value, str),
            "bool": lambda: isinstance(value, bool),
            "num": lambda: isinstance(value, (int, float)) and not isinstance(value, bool),
            "enum": lambda: value in enum_values(self.target, version),
            "list": lambda: isinstance(value, list), "json": lambda: isinstance(value, (dict, list)),
        }
        return checks.get(self.kind, lambda: False)()

    def zero_value(self, version):
        """The value a non-null field takes when the simulator has nothing better to say."""
        if self.default is not None:
            return self.default
        if self.nullable:
            return None
        if self.kind == "num":
            return 0.0 if self.number_type(version) == "f" else 0
        if self.kind == "enum":
            return enum_values(self.target, version)[0]
        return {"str": "", "dt": "1970-01-01T00:00:00.000Z", "bool": False, "list": [], "many": [],
                "json": [] if self.is_list else {}}.get(self.kind)


class Resource:
    """A declared resource with its fields and derived query vocabulary (cached per version)."""

    def __init__(self, name, table, fields, hidden, versions=frozenset(VERSIONS)):
        self.name = name
        self.versions = versions
        self.table = table
        self.fields = fields
        self.by_name = {field.name: field for field in fields}
        # A field may be declared twice with different types for disjoint versions (ContentLibraryVmTemplate.cpu).
        self.declarations = {}
        for field in fields:
            self.declarations.setdefault(field.name, []).append(field)
        self.hidden = hidden
        self._where_keys = {}
        self._order_keys = {}

    def __repr__(self):
        return "Resource(%s)" % self.name

    def exists_in(self, version):
        """Whether the version has this resource at all (VmExportFile appeared in 4.x)."""
        return version in self.versions

    def fields_in(self, version):
        return [field for field in self.fields if version in field.versions]

    def field(self, name, version):
        return next((field for field in self.declarations.get(name, ()) if version in field.versions), None)

    def where_keys(self, version):
        """{where key: (field or None for a field-less key, operator suffix)}."""
        if version not in self._where_keys:
            keys = {}
            for field in self.fields_in(version):
                for op in field.where_ops:
                    keys[field.name + op] = (field, op)
            for name, where_versions, _order_versions, ops in self.hidden:
                if version in where_versions:
                    for op in ops:
                        keys[name + op] = (None, op)
            self._where_keys[version] = keys
        return self._where_keys[version]

    def order_keys(self, version):
        """{orderBy value: (field name, descending)}."""
        if version not in self._order_keys:
            names = [field.name for field in self.fields_in(version) if field.sortable]
            names += [name for name, _where_versions, order_versions, _ops in self.hidden if version in order_versions]
            if version in versions_matching("<2.1"):
                names += list(ROW_TIMESTAMP_ORDER_KEYS)
            keys = {}
            for name in names:
                keys[name + "_ASC"] = (name, False)
                keys[name + "_DESC"] = (name, True)
            self._order_keys[version] = keys
        return self._order_keys[version]


def enum_values(name, version):
    """The values of a declared enum in a version, in declaration order."""
    values = []
    for token in ENUMS[name].split():
        value, condition = _split_condition(token)
        if version in versions_matching(condition):
            values.append(value)
    return values


def stub_keys(target, version):
    keys = []
    for token in STUB_KEYS.get(target, DEFAULT_STUB_KEYS).split():
        key, condition = _split_condition(token)
        if version in versions_matching(condition):
            keys.append(key)
    return keys


def _split_condition(token):
    for operator in CONDITION_OPERATORS:
        position = token.find(operator)
        if position > 0:
            return token[:position], token[position:]
    return token, ""


def _parse_type(text):
    """Split "enum:VmStatus?=X" into kind attributes."""
    default = None
    if "=" in text:
        text, raw_default = text.split("=", 1)
        default = {"{}": {}, "[]": []}.get(raw_default, raw_default)
    nullable = text.endswith("?")
    text = text.rstrip("?")
    inverse = None
    if "<-" in text:
        text, inverse = text.split("<-", 1)
        nullable = nullable or text.endswith("?")
        text = text.rstrip("?")
    held_by = None
    if inverse and inverse.endswith("[]"):
        held_by, inverse = inverse[:-2], None
    kind, _colon, target = text.partition(":")
    attributes = {"nullable": nullable, "default": default, "inverse": inverse, "target": target or None, "held_by": held_by}
    if kind in NUMERIC_ALIASES or kind == "num":
        attributes["numeric"] = NUMERIC_ALIASES.get(kind) or target
        attributes["target"] = None
        kind = "num"
    if kind == "json" and target and target.endswith("[]"):
        attributes["target"] = target[:-2]
        attributes["is_list"] = True
    elif kind == "json" and isinstance(default, list):
        attributes["is_list"] = True
    return kind, attributes


def parse_fields(text):
    """Parse declaration lines into (fields, hidden keys)."""
    fields, hidden = [], []
    for line in text.strip().splitlines():
        words = line.split()
        if not words:
            continue
        if words[0].startswith("~"):
            hidden.append(_parse_hidden(words))
            continue
        name, type_text, options = words[0], words[1], words[2:]
        kind, attributes = _parse_type(type_text)
        versions, opaque, full_in, stored_ids = frozenset(VERSIONS), False, frozenset(), False
        for option in options:
            if option == "opaque":
                opaque = True
            elif option == "ids":
                stored_ids = True
            elif option.startswith("full"):
                full_in = versions_matching(option[len("full"):])
            else:
                versions = versions_matching(option)
        fields.append(Field(name, kind, versions=versions, opaque=opaque, full_in=full_in, stored_ids=stored_ids, **attributes))
    return fields, hidden


def _parse_hidden(words):
    where_versions, order_versions, ops = frozenset(), frozenset(), STRING_OPS
    for option in words[1:]:
        if option.startswith("where"):
            where_versions = versions_matching(option[len("where"):])
        elif option.startswith("order"):
            order_versions = versions_matching(option[len("order"):])
        elif option.startswith("ops="):
            ops = HIDDEN_OP_FAMILIES[option[len("ops="):]]
    return words[0][1:], where_versions, order_versions, ops


def _build_resources():
    resources = {}
    for name, (table, text, *condition) in RESOURCES_TEXT.items():
        fields, hidden = parse_fields(text)
        resources[name] = Resource(name, table, fields, hidden, versions_matching(condition[0] if condition else None))
    return resources


def _build_embedded():
    return {name: parse_fields(text)[0] for name, text in EMBEDDED.items()}


RESOURCES = _build_resources()
EMBEDDED_FIELDS = _build_embedded()
RESOURCES_BY_TABLE = {resource.table: resource for resource in RESOURCES.values()}


def resource(name):
    return RESOURCES[name]


def embedded_fields_in(name, version):
    return [field for field in EMBEDDED_FIELDS[name] if version in field.versions]
