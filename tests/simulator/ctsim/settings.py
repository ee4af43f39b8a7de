"""Run-time settings, chiefly the behaviours nothing public pins down ([assumed] in CLOUDTOWER_API.md).

Each such behaviour is a setting so a test can exercise every plausible form, with the likeliest as default.
"""

import copy

MUTATING_ENDPOINTS = (
    "create-vm", "update-vm-basic-info", "delete-vm", "move-vm-to-recycle", "start-vm", "shutdown-vm",
    "poweroff-vm", "restart-vm", "force-restart-vm", "suspend-vm", "resume-vm", "create-vm-snapshot", "delete-vm-snapshot",
    "rollback-vm", "rebuild-vm-from-snapshot", "clone-vm",
    # iSCSI targets and LUNs, VM volumes (every version) ...
    "create-iscsi-target", "update-iscsi-target", "delete-iscsi-target", "create-iscsi-lun", "delete-iscsi-lun",
    "clone-iscsi-lun-from-snapshot", "create-vm-volume", "delete-vm-volume",
    # ... and the 4.6 data path: export files, uploads, imports.
    "export-vm-volume", "export-vm", "upload-elf-file", "import-vm-volume", "rebuild-vm-volume",
    # Mounting a volume on an existing VM (a restore of one disk).
    "add-vm-disk",
    # Devices, placement and folder of an existing VM (expand-vm-disk and eject-iso-from-vm-cd-rom from 1.10;
    # add-vm-disk above).
    "expand-vm-disk", "remove-vm-disk", "update-vm-disk", "eject-iso-from-vm-cd-rom", "add-vm-cd-rom",
    "remove-vm-cd-rom", "add-vm-nic", "update-vm-nic", "remove-vm-nic", "migrate-vm", "migrate-vm-across-cluster", "add-vm-to-folder",
    "remove-vm-from-folder",
    # VM templates.
    "clone-vm-template-from-vm", "convert-vm-template-from-vm", "delete-vm-template", "create-vm-from-template",
    # Content-library VM templates (4.6).
    "clone-content-library-vm-template-from-vm", "convert-content-library-vm-template-from-vm",
    "delete-content-library-vm-template", "create-vm-from-content-library-template",
    # Labels.
    "create-label", "add-labels-to-resources", "remove-labels-from-resources",
)
# Calls answered by the mutation handlers that change nothing and start no task.
ACTION_ENDPOINTS = ("get-export-file-download-links",)

DEFAULTS = {
    # Seconds a task takes unless task_durations names its endpoint (rule 16; realistic values are minutes).
    "task_seconds": 1.0,
    "task_durations": {},
    # Share of a task's duration spent PENDING before EXECUTING.
    "task_pending_fraction": 0.1,
    # How long entityAsyncStatus (and the resource lock) outlives the task (rule 6: "shortly after").
    "async_status_linger_seconds": 0.1,
    # Extra seconds a FILE_SYSTEM_CONSISTENT snapshot takes (quiescing the guest).
    "fs_consistent_extra_seconds": 0.0,
    # Rule 7: a duplicate snapshot name in the cluster -> "task" (failed task) or "400".
    "snapshot_duplicate_name_error": "task",
    # Rule 10: power operation on a VM in the wrong state -> "400" (PRECHECK_VMS_STATE_UNMATCH) or
    # "task" (failed task EC_JOB_VM_STATE_MACHINE_ERROR).
    "vm_state_error": "400",
    # Rule 9: rollback of a VM that is not stopped -> "400" or "task" (VM_NOT_STOPPED either way).
    "rollback_not_stopped_error": "400",
    # Rule 15: order of results without orderBy: "creation" or "reverse" (to flush out order-dependent clients).
    "default_order": "creation",
    # Whether source LDAP accepts the simulator's credentials (as if the user also lived in the directory).
    "ldap_login": True,
    # Rule 13: status of a missing/unknown token ("401"; some proxies answer 403).
    "unauthorized_status": 401,
    # [assumed] The chunk size upload-elf-file tasks ask for (UploadTask.chunk_size).
    "upload_chunk_size": 4 * 1024 * 1024,
}

CHOICES = {
    "snapshot_duplicate_name_error": ("task", "400"),
    "vm_state_error": ("400", "task"),
    "rollback_not_stopped_error": ("400", "task"),
    "default_order": ("creation", "reverse"),
    "unauthorized_status": (401, 403),
}


class SettingsError(ValueError):
    """A settings document the simulator cannot apply."""


def defaults(task_seconds=None):
    settings = copy.deepcopy(DEFAULTS)
    if task_seconds is not None:
        settings["task_seconds"] = float(task_seconds)
    return settings


def merge(current, changes):
    """A new settings dict with `changes` applied; raises SettingsError on anything unknown or malformed."""
    if not isinstance(changes, dict):
        raise SettingsError("settings must be an object")
    merged = copy.deepcopy(current)
    for key, value in changes.items():
        if key not in DEFAULTS:
            raise SettingsError("unknown setting %r (known: %s)" % (key, ", ".join(sorted(DEFAULTS))))
        merged[key] = _checked(key, value)
    return merged


def _checked(key, value):
    if key in CHOICES:
        if value not in CHOICES[key]:
            raise SettingsError("%s must be one of %s" % (key, list(CHOICES[key])))
        return value
    if key == "task_durations":
        if not isinstance(value, dict) or any(name not in MUTATING_ENDPOINTS for name in value):
            raise SettingsError("task_durations maps mutating endpoints (%s) to seconds" % ", ".join(MUTATING_ENDPOINTS))
        return {name: _non_negative(name, seconds) for name, seconds in value.items()}
    if key == "ldap_login":
        if not isinstance(value, bool):
            raise SettingsError("ldap_login must be true or false")
        return value
    if key == "upload_chunk_size":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SettingsError("upload_chunk_size must be a positive integer (bytes)")
        return value
    return _non_negative(key, value)


def _non_negative(key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SettingsError("%s must be a non-negative number" % key)
    return float(value)
