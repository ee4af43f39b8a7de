"""Labels: create-label, add-labels-to-resources and remove-labels-from-resources (every version).

A label is a key and an optional value; it holds the ids of the VMs it is attached to (Label.vms), and a VM shows its
labels from there (4.6 shows each label's key and value, 1.8 and 1.10 only its id). Only VMs are attached here;
naming another kind of resource is refused rather than silently ignored.

[assumed] These calls change CloudTower's own database only, so they answer at once with task_id null. CloudTower
refuses a second label with the same key and value (LABEL_EXISTED), so duplicates only come from elsewhere (a test
seeds them with the factory to exercise a client's ambiguity check).
"""

from .errors import bad_request

EXISTS = "LABEL_EXISTED"
UNSUPPORTED = "LABEL_RESOURCE_NOT_SIMULATED"


def same_pair(label, key, value):
    return label["key"] == key and (label.get("value") or "") == (value or "")


class LabelMutations:
    """Handlers bound to the core Mutations object."""

    def __init__(self, core):
        self.core = core
        self.handlers = {
            "create-label": self.create_labels,
            "add-labels-to-resources": self.add_to_resources,
            "remove-labels-from-resources": self.remove_from_resources,
        }

    @property
    def store(self):
        return self.core.store

    def _answer(self, label):
        return {"task_id": None, "data": self.core.state.serializer.serialize("Label", label)}

    def create_labels(self, body, now, _user_id):
        seen = set()
        for position, item in enumerate(body):
            pair = (item["key"], item.get("value") or "")
            if pair in seen or any(same_pair(label, *pair) for label in self.store.rows("labels")):
                raise bad_request(EXISTS, "body[%d]: a label %s=%s already exists" % (position, pair[0], pair[1]))
            seen.add(pair)
        return [self._answer(self.core.state.factory.label(now, item["key"], item.get("value"))) for item in body]

    def add_to_resources(self, body, now, _user_id):
        return self._relabel(body, now, lambda held, vm_ids: held + [vm_id for vm_id in vm_ids if vm_id not in held])

    def remove_from_resources(self, body, now, _user_id):
        return self._relabel(body, now, lambda held, vm_ids: [vm_id for vm_id in held if vm_id not in vm_ids])

    def _relabel(self, body, now, combine):
        others = sorted(key for key in body["data"] if key != "vms")
        if others:
            raise bad_request(UNSUPPORTED, "data.%s: the simulator attaches labels to VMs only" % others[0])
        labels = self.core._select("Label", body["where"])
        vm_ids = [vm["id"] for vm in self.core._select("Vm", body["data"]["vms"])] if body["data"].get("vms") else []
        answers = []
        for label in labels:
            held = combine(list(label.get("vms") or ()), vm_ids)
            self.store.update("labels", label["id"], {"vms": held, "vm_num": len(held), "total_num": len(held)}, now)
            answers.append(self._answer(label))
        return answers
