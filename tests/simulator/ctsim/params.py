"""Request bodies of the mutations and login: declared shapes and the validator that enforces them.

Shape line:  <key> <type> [required | required<cond>] [<version condition>]
  type  str | int | num:<f|i per version> | bool | enum:<Enum> | where:<Resource> | obj:<Shape> | arr:<Shape or scalar> | any
Unknown keys, missing required keys, wrong JSON types and unknown enum values are refused with 400.
"""

import json

from .errors import invalid_input
from .schema import NUMERIC_ALIASES, enum_values
from .versions import VERSIONS, versions_matching

VM_SHAPE = """
    name                  str                        required
    cluster_id            str                        {create}
    host_id               str
    description           str
    folder_id             str
    guest_os_type         enum:VmGuestsOperationSystem
    cpu_sockets           int                        {create}
    cpu_cores             int                        {create}
    vcpu                  int                        {create_lt_1_10}
    memory                num:fii                    {create}
    memory_unit           enum:ByteUnit              >=4.6
    vm_disks              obj:VmDiskParams           {create}
    vm_nics               arr:VmNicParams            {create}
    ha                    bool                       {create}
    firmware              enum:VmFirmware            {create}
    status                enum:VmStatus              {create}
    io_policy             enum:VmDiskIoPolicy
    max_iops              int
    max_iops_policy       enum:VmDiskIoRestrictType
    max_bandwidth         num:fii
    max_bandwidth_policy  enum:VmDiskIoRestrictType
    max_bandwidth_unit    enum:BPSUnit               >=4.6
    pci_nics              any                        >=4.6
    vm_placement_group    any                        >=4.6
    gpu_devices           any                        >=4.6
    owner                 any                        >=4.6
"""

DISK_LIMITS = """
    max_iops              int
    max_iops_policy       enum:VmDiskIoRestrictType
    max_bandwidth         num:fii
    max_bandwidth_policy  enum:VmDiskIoRestrictType
    max_bandwidth_unit    enum:BPSUnit               >=4.6
"""

# QoS limits of iSCSI targets and LUNs: doubles in 1.8, int64 after; units from 4.6.
QOS_LIMITS = "".join("""
    %s  num:fii""" % name for name in (
    "iops", "iops_rd", "iops_wr", "iops_max", "iops_max_length", "iops_rd_max", "iops_rd_max_length", "iops_wr_max",
    "iops_wr_max_length", "bps", "bps_rd", "bps_wr", "bps_max", "bps_max_length", "bps_rd_max", "bps_rd_max_length",
    "bps_wr_max", "bps_wr_max_length")) + "".join("""
    %s  enum:BPSUnit  >=4.6""" % name for name in (
        "bps_unit", "bps_rd_unit", "bps_wr_unit", "bps_max_unit", "bps_rd_max_unit", "bps_wr_max_unit"))

ISCSI_TARGET_COMMON = QOS_LIMITS + """
    ip_whitelist          str
    iqn_whitelist         str
    chap_enabled          bool
    chap_name             str
    chap_secret           str
    initiator_chaps       arr:IscsiTargetCommonParamsInitiatorChaps
    description           str
    bps_wr_max_size       enum:BPSUnit               >=4.6
"""

ISCSI_LUN_COMMON = QOS_LIMITS + """
    allowed_initiators    str
"""

SHAPES = {
    "LoginInput": """
        username          str                        required
        password          str                        required
        source            enum:UserSource            required<4.6
        mfa_type          enum:MfaType               >=4.6
        auth_config_id    str                        >=4.6
    """,
    "VmOperateParams": """
        where             where:Vm                   required
    """,
    "VmDeleteParams": """
        where             where:Vm                   required
        effect            obj:VmDeleteEffect         >=4.6
    """,
    "VmDeleteEffect": """
        include_snapshots bool
    """,
    "VmStartParams": """
        where             where:Vm                   required
        data              obj:VmStartData
    """,
    "VmStartData": """
        host_id           str                        required
    """,
    "VmUpdateParams": """
        where             where:Vm                   required
        data              obj:VmUpdateData           required
    """,
    "VmUpdateData": """
        name              str
        description       str
        vcpu              int
        cpu_cores         int
        cpu_sockets       int
        memory            num:fii
        memory_unit       enum:ByteUnit              >=4.6
        ha                bool
    """,
    "VmSnapshotCreationParams": """
        data              arr:VmSnapshotCreationParamsData  required
    """,
    "VmSnapshotCreationParamsData": """
        vm_id             str                        required
        name              str                        required
        consistent_type   enum:ConsistentType
    """,
    "VmSnapshotDeletionParams": """
        where             where:VmSnapshot           required
    """,
    "VmRollbackParams": """
        where             where:Vm                   required
        data              obj:VmRollbackData         required
    """,
    "VmRollbackData": """
        snapshot_id       str                        required
    """,
    "VmCreationParams": VM_SHAPE.format(create="required", create_lt_1_10="required<1.10"),
    "VmCloneParams": VM_SHAPE.format(create="", create_lt_1_10="") + """
        src_vm_id         str                        required
        is_full_copy      bool                       >=4.6
    """,
    "VmRebuildParams": VM_SHAPE.format(create="", create_lt_1_10="") + """
        rebuild_from_snapshot_id str                 required
        is_full_copy      bool                       >=4.6
    """,
    "VmDiskParams": """
        mount_cd_roms           arr:VmCdRomParams
        mount_disks             arr:MountDisksParams
        mount_new_create_disks  arr:MountNewCreateDisksParams
    """,
    "VmCdRomParams": """
        boot              int                        required
        index             int                        required<1.10
        key               int
        elf_image_id      str
        content_library_image_id str                 >=4.6
    """,
    "MountDisksParams": """
        vm_volume_id      str                        required
        bus               enum:Bus                   required
        boot              int                        required
        index             int                        required<1.10
        key               int
    """ + DISK_LIMITS,
    "MountNewCreateDisksParams": """
        vm_volume         obj:NewVolumeParams        required
        bus               enum:Bus                   required
        boot              int                        required
        index             int
        key               int
    """ + DISK_LIMITS,
    "NewVolumeParams": """
        name              str                        required
        size              num:fii                    required
        size_unit         enum:ByteUnit              >=4.6
        elf_storage_policy enum:VmVolumeElfStoragePolicyType  required
        path              str
    """,
    "VmNicParams": """
        connect_vlan_id   str                        required<4.6
        mac_address       str
        model             enum:VmNicModel
        enabled           bool
        mirror            bool
        ip_address        str
        gateway           str
        subnet_mask       str
        nic_id            str
        local_id          str
        type              enum:VmNicType             >=4.6
        vpc_nic           any                        >=4.6
        qos               any                        >=4.6
    """,
    "IscsiTargetCommonParams": ISCSI_TARGET_COMMON,
    "IscsiTargetCommonParamsInitiatorChaps": """
        initiator_iqn     str                        required
        chap_name         str                        required
        chap_secret       str                        required
    """,
    "IscsiTargetCreationParams": ISCSI_TARGET_COMMON + """
        name              str                        required
        cluster_id        str                        required
        thin_provision    bool                       required
        replica_num       int                        required
        stripe_num        int                        required
        stripe_size       num:fii                    required
        stripe_size_unit  enum:ByteUnit              >=4.6
    """,
    "IscsiTargetUpdationParams": """
        where             where:IscsiTarget          required
        data              obj:IscsiTargetCommonParams required
    """,
    "IscsiTargetDeletionParams": """
        where             where:IscsiTarget          required
    """,
    "IscsiLunCreationParams": ISCSI_LUN_COMMON + """
        name              str                        required
        iscsi_target_id   str                        required
        replica_num       int                        required
        assigned_size     num:fii                    required
        assigned_size_unit enum:ByteUnit             >=4.6
        lun_id            int
    """,
    "IscsiLunDeletionParams": """
        where             where:IscsiLun             required
        data              obj:IscsiLunDeletionData   required
    """,
    "IscsiLunDeletionData": """
        remove_snapshot   bool                       required
    """,
    "IscsiLunCloneParams": """
        iscsi_target_id   str                        required
        name              str                        required
        snapshot_id       str                        required
    """,
    "VmVolumeCreationParams": """
        name              str                        required
        cluster_id        str                        required
        elf_storage_policy enum:VmVolumeElfStoragePolicyType  required
        size              int                        required
        size_unit         enum:ByteUnit              >=4.6
        sharing           bool                       required
    """,
    "VmVolumeDeletionParams": """
        where             where:VmVolume             required
        effect            obj:VmVolumeDeletionParamsEffect  >=4.6
    """,
    "VmVolumeDeletionParamsEffect": """
        include_snapshots bool
    """,
    "VmVolumeExportParams": """
        where             where:VmVolume             required
        data              obj:VmVolumeExportData     required
    """,
    "VmVolumeExportData": """
        type              enum:VmVolumeExportFileType required
    """,
    "VmExportParams": """
        where             where:Vm                   required
        data              obj:VmExportParamsData     required
    """,
    "VmExportParamsData": """
        type              enum:VmExportFileType      required
        keep_mac          bool
    """,
    "VmAddDiskParams": """
        where             where:Vm                   required
        data              obj:VmAddDiskData          required
    """,
    "VmAddDiskData": """
        vm_disks          obj:VmAddDiskVmDisks       required
        io_policy         enum:VmDiskIoPolicy
    """ + DISK_LIMITS,
    "VmAddDiskVmDisks": """
        mount_disks             arr:MountDisksParams
        mount_new_create_disks  arr:MountNewCreateDisksParams
    """,
    "ImportVmVolumeParams": """
        cluster_id        str                        required
        name              str                        required
        storage_policy    enum:VmVolumeElfStoragePolicyType  required
        upload_task_id    str                        required
    """,
    "VmVolumeRebuildParams": """
        name              str                        required
        description       str                        required
        volume_snapshot_id str                       required
    """,
    "GetExportFileDownloadLinksParams": """
        where             obj:VmExportFileWhereUniqueInput  required
    """,
    "VmExportFileWhereUniqueInput": """
        id                str
        data_port_id      str
    """,
    # multipart/form-data: every field is a string, the file is bytes.
    "UploadElfFileParams": """
        file              any                        required
        name              str
        size              str
        size_unit         str
        cluster_id        str
        upload_task_id    str
    """,

    # ----- devices, placement and folders of an existing VM (issue 18; add-vm-disk's shapes are above) -----
    "VmExpandVmDiskParams": """
        where             where:VmDisk               required
        size              int                        required
        size_unit         enum:ByteUnit              >=4.6
    """,
    "VmRemoveDiskParams": """
        where             where:Vm                   required
        data              obj:VmRemoveDiskParamsData required
    """,
    "VmRemoveDiskParamsData": """
        disk_ids          arr:str                    required
    """,
    "VmUpdateDiskParams": """
        where             where:Vm                   required
        data              obj:VmUpdateDiskParamsData required
    """,
    "VmUpdateDiskParamsData": """
        vm_disk_id        str                        required
        bus               enum:Bus
        vm_volume_id      str
        elf_image_id      str
        content_library_image_id str                 >=4.6
    """,
    "VmEjectCdRomParams": """
        where             where:VmDisk               required
    """,
    "VmAddCdRomParams": """
        where             where:Vm                   required
        data              obj:VmAddCdRomParamsData   required
    """,
    "VmAddCdRomParamsData": """
        vm_cd_roms        arr:VmCdRomParams          required
    """,
    "VmRemoveCdRomParams": """
        where             where:Vm                   required
        data              obj:VmRemoveCdRomParamsData required
    """,
    "VmRemoveCdRomParamsData": """
        cd_rom_ids        arr:str                    required
    """,
    "VmAddNicParams": """
        where             where:Vm                   required
        data              obj:VmAddNicParamsData     required
    """,
    "VmAddNicParamsData": """
        vm_nics           arr:VmNicParams            required
    """,
    "VmUpdateNicParams": """
        where             where:Vm                   required
        data              obj:VmUpdateNicParamsData  required
    """,
    "VmUpdateNicParamsData": """
        nic_index         int                        required
        connect_vlan_id   str
        mac_address       str
        model             enum:VmNicModel
        enabled           bool
        mirror            bool
        ip_address        str
        gateway           str
        subnet_mask       str
        nic_id            str
        vpc_nic           any                        >=4.6
    """,
    "VmRemoveNicParams": """
        where             where:Vm                   required
        data              obj:VmRemoveNicParamsData  required
    """,
    "VmRemoveNicParamsData": """
        nic_index         arr:int                    required
    """,
    "VmMigrateParams": """
        where             where:Vm                   required
        data              obj:VmMigrateParamsData
    """,
    "VmMigrateParamsData": """
        host_id           str                        required
    """,
    # ----- 4.6: cross-cluster migration -----
    "VmMigrateAcrossClusterParams": """
        where             where:Vm                   required
        data              obj:VmMigrateAcrossClusterParamsData  required
    """,
    "VmMigrateAcrossClusterParamsData": """
        cluster_id        str                        required
        host_id           str
        vm_config         obj:MigrateVmConfig        required
    """,
    "MigrateVmConfig": """
        migrate_type      enum:MigrateType           required
        elf_storage_policy  enum:VmVolumeElfStoragePolicyType  required
        network_mapping   arr:VlanMapping            required
        delete_src_vm     bool
        new_name          str
        remove_unmovable_devices  bool
    """,
    "VlanMapping": """
        src_vlan_local_id   str                      required
        dest_vlan_local_id  str                      required
    """,
    "VmAddFolderParams": """
        where             where:Vm                   required
        data              obj:VmAddFolderParamsData  required
    """,
    "VmAddFolderParamsData": """
        folder_id         str                        required
    """,
    # ----- labels (issue 18): only VMs are attached; the other resources are refused by the handler -----
    "LabelCreationParams": """
        key               str                        required
        value             str
    """,
    "AddLabelsToResourcesParams": """
        where             where:Label                required
        data              obj:AddLabelsToResourcesParamsData required
    """,
    "AddLabelsToResourcesParamsData": """
        vms               where:Vm
        clusters          any
        consistency_group_snapshots any
        consistency_groups any
        content_library_images any                        >=4.6
        content_library_vm_templates any                        >=4.6
        datacenters       any
        disks             any
        elf_images        any
        gpu_devices       any                        >=4.6
        hosts             any
        iscsi_lun_snapshots any
        iscsi_luns        any
        iscsi_targets     any
        isolation_policies any                        >=4.6
        namespace_groups  any
        nfs_exports       any
        nfs_inodes        any
        nics              any
        nvmf_namespace_snapshots any
        nvmf_namespaces   any
        nvmf_subsystems   any
        security_policies any                        >=4.6
        vdses             any
        vlans             any
        vm_snapshots      any
        vm_templates      any
        vm_volume_snapshots any                        >=4.6
        vm_volumes        any
    """,
    # ----- VM templates (issue 18) -----
    "VmTemplateCreationParams": """
        name              str                        required
        vm_id             str                        required
        cloud_init_supported bool                    required
        cluster_id        str
        description       str
    """,
    "VmTemplateDeletionParams": """
        where             where:VmTemplate           required
    """,
    "VmCreateVmFromTemplateParams": """
        name              str                        required
        template_id       str                        required
        is_full_copy      bool                       required
        cluster_id        str
        host_id           str
        folder_id         str
        description       str
        guest_os_type     enum:VmGuestsOperationSystem
        cpu_sockets       int
        cpu_cores         int
        vcpu              int
        memory            num:fii
        memory_unit       enum:ByteUnit              >=4.6
        ha                bool
        firmware          enum:VmFirmware
        status            enum:VmStatus
        io_policy         enum:VmDiskIoPolicy
        max_iops          int
        max_iops_policy   enum:VmDiskIoRestrictType
        max_bandwidth     num:fii
        max_bandwidth_policy enum:VmDiskIoRestrictType
        max_bandwidth_unit enum:BPSUnit              >=4.6
        vm_nics           arr:VmNicParams
        disk_operate      obj:VmDiskOperate
        cloud_init        obj:TemplateCloudInit
        gpu_devices       any                        >=4.6
        owner             any                        >=4.6
        pci_nics          any                        >=4.6
        vm_placement_group any                       >=4.6
    """,
    # ----- content-library VM templates (4.6) -----
    "ContentLibraryVmTemplateCreationParams": """
        name              str                        required
        vm                obj:VmWhereUniqueInput     required
        clusters          where:Cluster              required
        cloud_init_supported bool
        description       str
    """,
    "VmWhereUniqueInput": """
        id                str
        local_id          str
    """,
    "ContentLibraryVmTemplateDeletionParams": """
        where             where:ContentLibraryVmTemplate required
    """,
    "VmCreateVmFromContentLibraryTemplateParams": """
        name              str                        required
        template_id       str                        required
        is_full_copy      bool                       required
        cluster_id        str                        required
        host_id           str
        folder_id         str
        description       str
        guest_os_type     enum:VmGuestsOperationSystem
        cpu_sockets       int
        cpu_cores         int
        vcpu              int
        memory            num:fii
        memory_unit       enum:ByteUnit
        ha                bool
        firmware          enum:VmFirmware
        status            enum:VmStatus
        io_policy         enum:VmDiskIoPolicy
        max_iops          int
        max_iops_policy   enum:VmDiskIoRestrictType
        max_bandwidth     num:fii
        max_bandwidth_policy enum:VmDiskIoRestrictType
        max_bandwidth_unit enum:BPSUnit
        vm_nics           arr:VmNicParams
        disk_operate      obj:VmDiskOperate
        cloud_init        obj:TemplateCloudInit
        gpu_devices       any
        owner             any
        pci_nics          any
        vm_placement_group any
    """,
    "VmDiskOperate": """
        modify_disks      arr:DiskOperateModifyDisk
        new_disks         obj:VmDiskParams
        remove_disks      obj:VmDiskOperateRemoveDisks
    """,
    "VmDiskOperateRemoveDisks": """
        disk_index        arr:int                    required
    """,
    "DiskOperateModifyDisk": """
        disk_index        int                        required
        bus               enum:Bus
        vm_volume_id      str
    """,
    "TemplateCloudInit": """
        default_user_password str
        hostname          str
        nameservers       arr:str
        networks          arr:CloudInitNetWork
        public_keys       arr:str
        user_data         str
    """,
    "CloudInitNetWork": """
        nic_index         int                        required
        type              enum:CloudInitNetworkTypeEnum required
        ip_address        str
        netmask           str
        routes            arr:CloudInitNetWorkRoute
    """,
    "CloudInitNetWorkRoute": """
        gateway           str                        required
        netmask           str                        required
        network           str                        required
    """,
}

# The top-level body of each mutation: "obj:X" or "arr:X".
BODIES = {
    "login": "obj:LoginInput",
    "create-vm": "arr:VmCreationParams",
    "update-vm-basic-info": "obj:VmUpdateParams",
    "delete-vm": "obj:VmDeleteParams",
    "move-vm-to-recycle": "obj:VmOperateParams",
    "start-vm": "obj:VmStartParams",
    "shutdown-vm": "obj:VmOperateParams",
    "poweroff-vm": "obj:VmOperateParams",
    "restart-vm": "obj:VmOperateParams",
    "force-restart-vm": "obj:VmOperateParams",
    "suspend-vm": "obj:VmOperateParams",
    "resume-vm": "obj:VmOperateParams",
    "create-vm-snapshot": "obj:VmSnapshotCreationParams",
    "delete-vm-snapshot": "obj:VmSnapshotDeletionParams",
    "rollback-vm": "obj:VmRollbackParams",
    "rebuild-vm-from-snapshot": "arr:VmRebuildParams",
    "clone-vm": "arr:VmCloneParams",
    "create-iscsi-target": "arr:IscsiTargetCreationParams",
    "update-iscsi-target": "obj:IscsiTargetUpdationParams",
    "delete-iscsi-target": "obj:IscsiTargetDeletionParams",
    "create-iscsi-lun": "arr:IscsiLunCreationParams",
    "delete-iscsi-lun": "obj:IscsiLunDeletionParams",
    "clone-iscsi-lun-from-snapshot": "arr:IscsiLunCloneParams",
    "create-vm-volume": "arr:VmVolumeCreationParams",
    "delete-vm-volume": "obj:VmVolumeDeletionParams",
    "export-vm-volume": "obj:VmVolumeExportParams",
    "export-vm": "obj:VmExportParams",
    "import-vm-volume": "arr:ImportVmVolumeParams",
    "rebuild-vm-volume": "arr:VmVolumeRebuildParams",
    "add-vm-disk": "obj:VmAddDiskParams",
    "get-export-file-download-links": "obj:GetExportFileDownloadLinksParams",
    "upload-elf-file": "obj:UploadElfFileParams",
    "expand-vm-disk": "obj:VmExpandVmDiskParams",
    "remove-vm-disk": "obj:VmRemoveDiskParams",
    "update-vm-disk": "obj:VmUpdateDiskParams",
    "eject-iso-from-vm-cd-rom": "obj:VmEjectCdRomParams",
    "add-vm-cd-rom": "obj:VmAddCdRomParams",
    "remove-vm-cd-rom": "obj:VmRemoveCdRomParams",
    "add-vm-nic": "obj:VmAddNicParams",
    "update-vm-nic": "obj:VmUpdateNicParams",
    "remove-vm-nic": "obj:VmRemoveNicParams",
    "migrate-vm": "obj:VmMigrateParams",
    "migrate-vm-across-cluster": "obj:VmMigrateAcrossClusterParams",
    "add-vm-to-folder": "obj:VmAddFolderParams",
    "remove-vm-from-folder": "obj:VmOperateParams",
    "clone-vm-template-from-vm": "arr:VmTemplateCreationParams",
    "convert-vm-template-from-vm": "arr:VmTemplateCreationParams",
    "delete-vm-template": "obj:VmTemplateDeletionParams",
    "create-vm-from-template": "arr:VmCreateVmFromTemplateParams",
    "clone-content-library-vm-template-from-vm": "arr:ContentLibraryVmTemplateCreationParams",
    "convert-content-library-vm-template-from-vm": "arr:ContentLibraryVmTemplateCreationParams",
    "delete-content-library-vm-template": "obj:ContentLibraryVmTemplateDeletionParams",
    "create-vm-from-content-library-template": "arr:VmCreateVmFromContentLibraryTemplateParams",
    "create-label": "arr:LabelCreationParams",
    "add-labels-to-resources": "obj:AddLabelsToResourcesParams",
    "remove-labels-from-resources": "obj:AddLabelsToResourcesParams",
}
# Bodies sent as multipart/form-data rather than JSON.
MULTIPART_BODIES = ("upload-elf-file",)


class Key:
    def __init__(self, name, type_text, required_in, versions):
        self.name = name
        self.type_text = type_text
        self.required_in = required_in
        self.versions = versions


def _parse_shape(text):
    keys = []
    for line in text.strip().splitlines():
        words = line.split()
        if not words:
            continue
        name, type_text, required_in, versions = words[0], words[1], frozenset(), frozenset(VERSIONS)
        for option in words[2:]:
            if option.startswith("required"):
                required_in = versions_matching(option[len("required"):])
            else:
                versions = versions_matching(option)
        keys.append(Key(name, type_text, required_in, versions))
    return keys


PARSED_SHAPES = {name: _parse_shape(text) for name, text in SHAPES.items()}


def shape_keys(shape, version):
    """[(key, type text, required)] of a shape in a version."""
    return [(key.name, key.type_text, version in key.required_in) for key in PARSED_SHAPES[shape] if version in key.versions]


class BodyValidator:
    """Validates a request body for one version; where objects are checked later by the query compiler."""

    def __init__(self, version):
        self.version = version

    def validate(self, endpoint, body):
        self.check(BODIES[endpoint], body, "body")

    def check(self, type_text, value, path):
        kind, _colon, target = type_text.partition(":")
        if kind == "obj":
            self._check_object(target, value, path)
        elif kind == "arr":
            self._check_array(target, value, path)
        elif kind == "where":
            if not isinstance(value, dict):
                raise invalid_input("%s must be an object" % path)
        elif kind != "any":
            self._check_scalar(kind, target, value, path)

    def _check_object(self, shape, value, path):
        if not isinstance(value, dict):
            raise invalid_input("%s must be an object" % path)
        keys = {name: (type_text, required) for name, type_text, required in shape_keys(shape, self.version)}
        for name in value:
            if name not in keys:
                raise invalid_input("property %s.%s should not exist" % (path, name))
        for name, (type_text, required) in keys.items():
            if value.get(name) is None:
                if required:
                    raise invalid_input("%s.%s is required" % (path, name))
                continue
            self.check(type_text, value[name], "%s.%s" % (path, name))

    def _check_array(self, item_type, value, path):
        if not isinstance(value, list):
            raise invalid_input("%s must be an array" % path)
        item_text = item_type if item_type in ("str", "int", "bool") else "obj:" + item_type
        for position, item in enumerate(value):
            self.check(item_text, item, "%s[%d]" % (path, position))

    def _check_scalar(self, kind, target, value, path):
        if kind == "num" or kind in NUMERIC_ALIASES:
            number_type = (target or NUMERIC_ALIASES.get(kind, "fff"))[VERSIONS.index(self.version)]
            valid = isinstance(value, (int, float)) and not isinstance(value, bool)
            valid = valid and (number_type == "f" or float(value).is_integer())
        elif kind == "str":
            valid = isinstance(value, str)
        elif kind == "bool":
            valid = isinstance(value, bool)
        elif kind == "enum":
            valid = value in enum_values(target, self.version)
        else:
            raise AssertionError("unknown shape type " + kind)
        if not valid:
            raise invalid_input("%s has an invalid value %s" % (path, json.dumps(value)))
