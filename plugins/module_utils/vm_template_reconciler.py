# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconciler behind cloudtower_vm_template: a template exists (made from a VM by clone or convert) or not.

A template is identified by its name within the cluster (an ambiguous name is refused listing the ids), so a re-run
finds the template it made and sends nothing. The template's content is never compared with its source VM: a
template is a snapshot of a VM at one moment, and making it again would not be idempotent.

With content_library (API 4.6) the template lives in CloudTower's content library instead of a cluster: it is
identified by its name in the library, and a new one is offered to the cluster of its VM.
"""

from __future__ import annotations

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import content_library_vm_templates, vm_templates
from ansible_collections.smartx.cloudtower.plugins.module_utils.content_library import refuse_before_4_6
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError, InputError
from ansible_collections.smartx.cloudtower.plugins.module_utils.lookups import CONTENT_LIBRARY_VM_TEMPLATE, VM_TEMPLATE, named_cluster, resolve_vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.plan import Executor, Plan, diff_of

MODES = ("clone", "convert")


class TemplateKind:
    """Cluster templates, or content-library templates: their API, how one is found and how one is made."""

    def __init__(self, api, lookup, noun):
        self.api = api
        self.lookup = lookup
        self.noun = noun
        self.operations = {"clone": api.CLONE_FROM_VM, "convert": api.CONVERT_FROM_VM}


CLUSTER_TEMPLATES = TemplateKind(vm_templates, VM_TEMPLATE, "VM template")
LIBRARY_TEMPLATES = TemplateKind(content_library_vm_templates, CONTENT_LIBRARY_VM_TEMPLATE, "content-library VM template")


def label(record):
    return "%s (id %s)" % (record.get("name"), record.get("id"))


def find_template(client, params, kind):
    # A content-library template is not in a cluster: its name is looked for in the whole library.
    scope = {} if kind is LIBRARY_TEMPLATES else named_cluster(params.get("cluster"))
    return kind.lookup.find(client, "name", params["name"], scope)


def creation_body(params, source, kind):
    if kind is LIBRARY_TEMPLATES:
        return content_library_vm_templates.creation_body(params["name"], source["id"], [source["cluster"]["id"]],
                                                          params["cloud_init_supported"], params.get("description"))
    return vm_templates.creation_body(params["name"], source["id"], params["cloud_init_supported"], params.get("description"))


def plan_present(client, params, plan, kind):
    if not params.get("vm"):
        raise InputError("vm", None, "is required to make %s %r (the VM to %s into it)" % (kind.noun, params["name"], params["mode"]))
    source = resolve_vms(client, "vm", [params["vm"]], "cluster", params.get("cluster"), {"in_recycle_bin": False})[0]
    mode = params["mode"]
    if mode == "convert" and source.get("status") != "STOPPED":
        raise InputError("mode", mode, "needs VM %s stopped (it is %s): CloudTower converts only a stopped VM; stop it first, or "
                                       "use mode: clone, which keeps the VM" % (label(source), source.get("status")))
    verb = "Clone" if mode == "clone" else "Convert"
    plan.add(kind.operations[mode], [creation_body(params, source, kind)], "%s VM %s into %s %s%s" % (
        verb, label(source), kind.noun, params["name"], " (the VM is removed)" if mode == "convert" else ""),
        {"exists": {"before": False, "after": True}})


def run(module):
    params, client = module.params, module.client
    kind = LIBRARY_TEMPLATES if params.get("content_library") else CLUSTER_TEMPLATES
    if kind is LIBRARY_TEMPLATES:
        refuse_before_4_6(client, "content_library", True)
    template = find_template(client, params, kind)
    plan = Plan()
    if params["state"] == "present" and template is None:
        plan_present(client, params, plan, kind)
    elif params["state"] == "absent" and template is not None:
        plan.add(kind.api.DELETE, kind.api.by_id(template["id"]), "Delete %s %s" % (kind.noun, label(template)),
                 {"exists": {"before": True, "after": False}})
    executor = Executor(module, kind.api)
    try:
        after = executor.run(plan, template if params["state"] == "absent" else None)
    except CloudTowerError as error:
        module.fail_from_error(error, changed=plan.sent(), actions=plan.describe(), tasks=executor.task_summaries())
        return
    if not plan:
        after = template
    result = dict(changed=bool(plan), template=after, changes=plan.steps[0].changes if plan else {}, actions=plan.describe(),
                  tasks=executor.task_summaries())
    diff = diff_of(module, {"exists": template is not None}, {"exists": params["state"] == "present"})
    if diff is not None:
        result["diff"] = diff
    module.exit_json(**result)
