"""Relation filters at every depth: to-one (`{"vds": {"cluster": {"id": ...}}}`) and to-many (`_some`).

A filter must follow the stored relation to the related row and apply the nested where there, whatever the
depth; comparing the stored id with the nested where object matches nothing (the bug behind
`get-vlans {"where": {"vds": {"cluster": {"id": ...}}}}` returning []).
"""

GIB = 1024 ** 3
NO_SUCH_ID = "cnosuchrow000000000000000"
MAX_DEPTH = 3


def _ids(rows):
    return sorted(row["id"] for row in rows)


def _make_tasks_and_a_catalog_vm(api):
    """A task on each cluster, and a VM in a folder with an ISO mounted, so those relations are not empty."""
    for name in ("db-02", "cache-01"):
        api.run("start-vm", {"where": {"name": name}})
    cluster = api.call("get-clusters", {"where": {"name": "cluster-a"}})[0]
    folder = api.call("get-vm-folders", {"where": {"cluster": {"id": cluster["id"]}}})[0]
    image = api.call("get-elf-images", {"where": {"cluster": {"id": cluster["id"]}}})[0]
    api.run("create-vm", [{"name": "iso-vm", "cluster_id": cluster["id"], "folder_id": folder["id"], "cpu_sockets": 1,
                           "cpu_cores": 1, "vcpu": 1, "memory": GIB, "ha": False, "firmware": "BIOS", "status": "STOPPED",
                           "vm_nics": [], "vm_disks": {"mount_cd_roms": [{"boot": 0, "index": 0, "elf_image_id": image["id"]}]}}])


# Relation chains ending at a cluster, as the collection's lookups use them (the last key is always "cluster").
NAMED_PATHS = [
    ("get-vlans", "vds cluster"), ("get-hosts", "cluster"), ("get-tasks", "cluster"), ("get-vm-snapshots", "vm cluster"),
    ("get-vm-nics", "vlan vds cluster"), ("get-iscsi-luns", "iscsi_target cluster"),
    ("get-iscsi-lun-snapshots", "iscsi_target cluster"), ("get-iscsi-lun-snapshots", "iscsi_lun iscsi_target cluster"),
    ("get-vm-disks", "vm_volume lun iscsi_target cluster"), ("get-vm-volumes", "vm_disks_some vm cluster"),
    ("get-elf-images", "cluster"), ("get-vm-folders", "cluster"), ("get-vms", "folder cluster"),
    ("get-vms", "vm_disks_some elf_image cluster"), ("get-clusters", "vdses_some vlans_some vm_nics_some vm cluster"),
]


def _by_id(state, table, row_id):
    return next(row for row in state[table] if row["id"] == row_id)


def _reach(schema, state, table, row, keys):
    """Ids at the end of a relation chain, read from the stubs of the /__sim/state dump rather than by a filter."""
    rows = [row]
    for key in keys:
        field = schema.RESOURCES_BY_TABLE[table].by_name[key[:-len("_some")] if key.endswith("_some") else key]
        table = schema.RESOURCES[field.target].table
        stubs = [stub for current in rows for stub in (current[field.name] if field.kind == "many" else [current[field.name]]) if stub]
        rows = [_by_id(state, table, stub["id"]) for stub in stubs]
    return {current["id"] for current in rows}


def test_vlans_of_a_cluster_through_its_vds(api, version):
    """The reported bug: VLANs filtered by their VDS's cluster, in every version (the filter is in every spec)."""
    api.reset(api_version=version)
    for cluster in api.call("get-clusters", {}):
        where = {"vds": {"cluster": {"id": cluster["id"]}}}
        vlans = api.call("get-vlans", {"where": where})
        of_its_vds = [vlan for vlan in api.call("get-vlans", {}) if vlan["vds"]["id"] == cluster["vdses"][0]["id"]]
        assert _ids(vlans) == _ids(of_its_vds) and len(vlans) == 4
        assert api.call("get-vlans-connection", {"where": where}) == {"aggregate": {"count": 4}}
    default = api.call("get-vlans", {"where": {"name": "default", "vds": {"cluster": {"name": "cluster-b"}}}})
    assert len(default) == 1 and default[0]["vds"]["name"] == "vds-ovsbr-cluster-b"
    assert api.call("get-vlans", {"where": {"vds": {"cluster": {"id": NO_SUCH_ID}}}}) == []


def test_named_relation_paths(api, sim_package, version):
    api.reset(api_version=version)
    _make_tasks_and_a_catalog_vm(api)
    state = api.admin("GET", "state")
    cluster_a = next(cluster["id"] for cluster in state["clusters"] if cluster["name"] == "cluster-a")
    for endpoint, chain in NAMED_PATHS:
        keys = chain.split()
        table = endpoint[len("get-"):].replace("-", "_")
        want = sorted(row["id"] for row in state[table] if cluster_a in _reach(sim_package.schema, state, table, row, keys))
        assert want, "the demo state should give %s %s something to find" % (endpoint, chain)
        assert _ids(api.call(endpoint, {"where": _nest(keys, {"id": cluster_a})})) == want, (endpoint, chain)
        assert api.call(endpoint, {"where": _nest(keys, {"id": NO_SUCH_ID})}) == [], (endpoint, chain)


def test_nested_logic_and_to_many_inside_relations(api):
    cluster_b = api.call("get-clusters", {"where": {"name": "cluster-b"}})[0]["id"]
    both = {"vds": {"AND": [{"cluster": {"id": cluster_b}}, {"vlans_num_gte": 1}], "NOT": {"name": "x"}}}
    assert len(api.call("get-vlans", {"where": both})) == 4
    either = {"vds": {"OR": [{"cluster": {"name": "cluster-a"}}, {"cluster": {"id": cluster_b}}]}}
    assert len(api.call("get-vlans", {"where": either})) == 8
    by_sibling = api.call("get-clusters", {"where": {"vdses_some": {"vlans_some": {"name": "prod-vlan-200"}}}})
    assert [cluster["name"] for cluster in by_sibling] == ["cluster-b"]
    assert api.call("get-clusters", {"where": {"vdses_every": {"vlans_none": {"type": "MANAGEMENT"}}}}) == []
    assert api.post("get-vlans", {"where": {"vds": {"clustr": {"id": cluster_b}}}}).status_code == 400
    assert api.post("get-vlans", {"where": {"vds": {"vlans_num": "four"}}}).status_code == 400


def _relation_fields(resource, version, table_of):
    return [field for field in resource.fields_in(version)
            if field.kind == "one" and table_of(field.target) or field.kind == "many" and field.inverse]


def _follow(store, table_of, entity, field):
    """Ids of the rows entity reaches through one relation field."""
    if field.kind == "one":
        return [entity[field.name]] if entity.get(field.name) else []
    return [child["id"] for child in store.children(table_of(field.target), field.inverse, entity["id"])]


def _paths(schema, table_of, store, resource_name, entity, version, depth):
    """[(where keys, end id)] for every relation chain from entity up to depth, one end per chain."""
    found = []
    for field in _relation_fields(schema.RESOURCES[resource_name], version, table_of):
        key = field.name if field.kind == "one" else field.name + "_some"
        for related_id in _follow(store, table_of, entity, field)[:1]:
            found.append(([key], related_id))
            if depth > 1:
                related = store.get(table_of(field.target), related_id)
                found += [([key] + keys, end) for keys, end in _paths(schema, table_of, store, field.target, related, version, depth - 1)]
    return found


def _nest(keys, leaf):
    where = leaf
    for key in reversed(keys):
        where = {key: where}
    return where


def test_every_relation_path_follows_the_stored_relation(api, sim, sim_package, version):
    """Walk every relation chain up to three deep from a row of every resource: filtering on the chain's end id
    finds the row, and a made-up id does not."""
    api.reset(api_version=version)
    _make_tasks_and_a_catalog_vm(api)
    state = sim.state_now()
    schema, query, table_of = sim_package.schema, sim_package.query, sim_package.store.table_of
    checked, wrong = 0, []
    for name, resource in schema.RESOURCES.items():
        seen = set()
        for entity in list(state.store.rows(resource.table)):
            for keys, end_id in _paths(schema, table_of, state.store, name, entity, version, MAX_DEPTH):
                if tuple(keys) in seen:
                    continue
                seen.add(tuple(keys))
                for leaf, should_match in (({"id": end_id}, True), ({"id": NO_SUCH_ID}, False)):
                    where = {"AND": [{"id": entity["id"]}, _nest(keys, leaf)]}
                    matched = bool(query.select(state.store, resource, {"where": where}, version))
                    checked += 1
                    if matched != should_match:
                        wrong.append((name, ".".join(keys), should_match))
    assert checked > 500 and not wrong, wrong[:10]


def test_stored_relations_point_at_rows(sim, sim_package, api):
    """Every stored to-one value names a row of the target's table (unmodelled targets are never stored), so
    every relation a filter can name is one it can follow."""
    _make_tasks_and_a_catalog_vm(api)
    store, schema, table_of = sim.state_now().store, sim_package.schema, sim_package.store.table_of
    for resource in schema.RESOURCES.values():
        for field in resource.fields:
            if field.kind != "one":
                continue
            for entity in store.rows(resource.table):
                value = entity.get(field.name)
                if value is None:
                    continue
                table = table_of(field.target)
                assert table and store.get(table, value) is not None, (resource.name, field.name, value)
