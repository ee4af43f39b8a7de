# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: cloudtower
short_description: SmartX CloudTower VMs as an Ansible inventory
version_added: 0.1.0
description:
  - Reads the VMs of a SmartX CloudTower in one paginated C(get-vms) query and makes each VM a host.
  - The query is filtered on the server with O(where), O(clusters), O(statuses) and O(include_recycle_bin).
  - Hosts are grouped by cluster and power status by default (O(group_by)), get C(ansible_host) from the VM's
    IP addresses when it has any (O(ansible_host_from_ips), O(ansible_host_networks)), and carry the VM's
    fields as variables named O(hostvar_prefix) + field (for example C(cloudtower_status)).
  - The usual C(constructed) features (O(compose), O(groups), O(keyed_groups), O(strict)) work on those variables.
  - "VM names are not unique in CloudTower. Host names come from O(hostname_template) (default V({name}));
    when several VMs would get the same host name, O(duplicate_hostnames) decides: by default every one of them
    is named C(<name>_<VM id>), so no VM is hidden and no host name depends on the order of the query."
  - "The source file must be named C(cloudtower.yml) or C(cloudtower.yaml), or end with C(.cloudtower.yml)
    or C(.cloudtower.yaml), and contain C(plugin: smartx.cloudtower.cloudtower)."
author:
  - smartx.cloudtower contributors (@smartx-cloudtower)
requirements:
  - requests >= 2.25
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks the file as a source for this plugin.
    required: true
    type: str
    choices: [smartx.cloudtower.cloudtower]
  cloudtower_host:
    description:
      - URL of CloudTower, with its scheme, for example V(https://cloudtower.example.com).
      - Required, here or in the environment variable.
      - Plain C(http://) works but sends credentials unencrypted, so the plugin warns about it.
    type: str
    env:
      - name: CLOUDTOWER_HOST
  cloudtower_username:
    description:
      - User to log in as. Needed unless O(cloudtower_token) is given.
    type: str
    env:
      - name: CLOUDTOWER_USERNAME
  cloudtower_password:
    description:
      - Password of O(cloudtower_username). Never printed, logged or cached.
      - Prefer the environment variable, or encrypt the value with C(ansible-vault encrypt_string).
    type: str
    env:
      - name: CLOUDTOWER_PASSWORD
  cloudtower_user_source:
    description: Where O(cloudtower_username) is defined.
    type: str
    choices: [LOCAL, LDAP]
    default: LOCAL
    env:
      - name: CLOUDTOWER_USER_SOURCE
  cloudtower_token:
    description:
      - An existing CloudTower token or API key, used instead of logging in.
      - When CloudTower rejects it and O(cloudtower_username) and O(cloudtower_password) are also given, the
        plugin logs in again once.
      - Never printed, logged or cached.
    type: str
    env:
      - name: CLOUDTOWER_TOKEN
  validate_certs:
    description:
      - Verify CloudTower's TLS certificate. Keep this on; point O(ca_path) at the CA certificate of a
        self-signed installation instead of turning it off.
    type: bool
    default: true
    env:
      - name: CLOUDTOWER_VALIDATE_CERTS
  ca_path:
    description: Path to a PEM file with the CA certificate(s) used to verify CloudTower's certificate.
    type: path
    env:
      - name: CLOUDTOWER_CA_PATH
  language:
    description: Language of CloudTower's messages (the C(content-language) header).
    type: str
    choices: [en-US, zh-CN]
    default: en-US
    env:
      - name: CLOUDTOWER_LANGUAGE
  request_timeout:
    description: Seconds to wait for each HTTP reply.
    type: float
    default: 30
    env:
      - name: CLOUDTOWER_REQUEST_TIMEOUT
  retry_timeout:
    description:
      - Seconds during which a failed query (connection failure, HTTP 500/502/503/504) is retried with
        jittered exponential backoff. V(0) disables retries.
    type: float
    default: 60
    env:
      - name: CLOUDTOWER_RETRY_TIMEOUT
  where:
    description:
      - A CloudTower C(VmWhereInput) filter, sent as it is and combined (AND) with the other filters.
      - "For example V({name_starts_with: web}) or V({labels_some: {key: env, value: prod}}) (labels have a key
        from CloudTower 4.x)."
    type: dict
    default: {}
  clusters:
    description:
      - Only VMs of these clusters, each given by name or id.
      - A value that matches no VM of the result gives a warning (a typo, or an empty cluster).
    type: list
    elements: str
    default: []
  statuses:
    description: Only VMs in one of these power statuses.
    type: list
    elements: str
    choices: [RUNNING, STOPPED, SUSPENDED, UNKNOWN, DELETED]
    default: []
  include_recycle_bin:
    description: Also list the VMs in CloudTower's recycle bin.
    type: bool
    default: false
  page_size:
    description:
      - Number of VMs per C(get-vms) request. Large pages make large inventories fast.
    type: int
    default: 1000
  hostname_template:
    description:
      - Python format string that builds each host name from the VM's fields, for example V({name}),
        V({name}.{cluster}) or V({local_id}).
      - "Fields: every scalar field of the VM (such as C(name), C(id), C(local_id), C(status)), and C(cluster),
        C(host) and C(folder), which give the name of the VM's cluster, host and folder."
      - A field without a value gives an empty string; a host name that comes out empty becomes the VM id.
    type: str
    default: "{name}"
  duplicate_hostnames:
    description:
      - What to do when several VMs get the same host name from O(hostname_template) (VM names are not unique).
      - V(suffix_id) names each of these VMs C(<host name>_<VM id>).
      - V(error) fails, listing the ids of the VMs that collide.
    type: str
    choices: [suffix_id, error]
    default: suffix_id
  hostvar_prefix:
    description:
      - Prefix of the variable names that carry the VM's fields, for example C(cloudtower_status).
      - The prefix keeps VM fields such as C(name) or C(memory) from overriding role defaults of the same name.
        V("") gives the bare field names.
    type: str
    default: cloudtower_
  legacy_host_variable:
    description:
      - The VM's C(host) field (the node it runs on) is the variable O(hostvar_prefix) + C(node), for example
        C(cloudtower_node). With the default prefix, C(cloudtower_host) would shadow the connection variable of the
        same name that playbooks pass to the modules (as C(playbooks/backup.yml) does in its C(module_defaults)), and a
        play over these hosts that delegates to localhost would send the node's record as the CloudTower URL.
      - V(true) also sets the old variable O(hostvar_prefix) + C(host), with a deprecation warning, for inventories
        whose C(compose), C(groups) or playbooks still read it. It will be removed in 2.0.0.
    type: bool
    default: false
  hostvar_fields:
    description:
      - The VM fields to turn into host variables (before O(hostvar_prefix) is added), as C(get-vms) returns them.
      - V([all]) gives every field of the VM (about 70, depending on the CloudTower version).
      - Each variable costs time and memory in every Ansible command that loads the inventory (0.2 to 0.4 s per
        variable and 10,000 hosts for C(ansible-inventory --list)), hence the short default.
      - A field CloudTower does not return (an older version, or a typo) is left out with a warning.
    type: list
    elements: str
    default: [id, local_id, name, description, status, cluster, host, folder, ips, vcpu, memory, guest_os_type, vm_tools_status, labels]
  ansible_host_from_ips:
    description:
      - Set C(ansible_host) to one of the VM's IP addresses (the C(ips) field that VMTools report).
      - VMs without an IP address get no C(ansible_host). A O(compose) entry for C(ansible_host) overrides this.
    type: bool
    default: true
  ansible_host_networks:
    description:
      - Networks (CIDR, IPv4 or IPv6) to take C(ansible_host) from, in order of preference, for example V(10.0.0.0/8).
      - When empty, the first address in C(ips) is used. When set, a VM with no address in these networks gets no
        C(ansible_host).
    type: list
    elements: str
    default: []
  reuse_expression_results:
    description:
      - Has no effect. It made the plugin reuse O(compose), O(groups) and O(keyed_groups) results across hosts
        by overriding private methods of ansible-core's Constructable, which change between ansible-core
        releases; those features are now evaluated by Constructable itself, for every host.
      - Over 10,000 VMs, each such expression costs a few seconds of templating (see the inventory figures in
        C(benchmarks/README.md)); keep them few on large inventories.
    type: bool
    deprecated:
      why: The plugin no longer overrides ansible-core's private Constructable methods.
      version: 2.0.0
      alternatives: Nothing to set; remove the option.
  group_by:
    description:
      - Groups every host is put in, named O(group_prefix) + V(cluster_<cluster name>), V(status_<status>)
        (in lower case) and V(host_<host name>).
      - Invalid characters in group names are replaced with underscores.
    type: list
    elements: str
    choices: [cluster, status, host]
    default: [cluster, status]
  group_prefix:
    description: Prefix of the names of the O(group_by) groups.
    type: str
    default: ""
notes:
  - Everything comes from one paginated C(get-vms) query (O(page_size) VMs per request); there is no request
    per VM, so 10,000 VMs take about a dozen requests.
  - With O(cache) on, only VM data is cached; the password and the token never are. The cache key includes the
    CloudTower URL, the user and the filters, so two sources with different filters do not share an entry.
  - Credentials come from the same E(CLOUDTOWER_HOST), E(CLOUDTOWER_USERNAME), E(CLOUDTOWER_PASSWORD) and
    E(CLOUDTOWER_TOKEN) environment variables as the modules, so one AWX credential serves both.
seealso:
  - module: smartx.cloudtower.cloudtower_vm_info
"""

EXAMPLES = r"""
# Three inventory source files; each is a file of its own (one YAML document), shown one after the other.
#
# 1. cloudtower.yml: every VM, grouped by cluster and status; credentials from CLOUDTOWER_* variables.
#
#   plugin: smartx.cloudtower.cloudtower
#
# 2. fqdn.cloudtower.yml: host names "<vm>.<cluster>", a small variable set, cached for ten minutes.
#
#   plugin: smartx.cloudtower.cloudtower
#   hostname_template: "{name}.{cluster}"
#   hostvar_fields: [id, name, status, ips, cluster, host, vcpu, memory, guest_os_type]
#   cache: true
#   cache_plugin: ansible.builtin.jsonfile
#   cache_connection: ~/.cache/ansible-inventory
#   cache_timeout: 600
#
# 3. prod.cloudtower.yml: running VMs of two clusters, reached on the management network, with constructed
#    groups and variables:
plugin: smartx.cloudtower.cloudtower
cloudtower_host: https://cloudtower.example.com
ca_path: /etc/pki/cloudtower-ca.pem
clusters: [prod-a, prod-b]
statuses: [RUNNING]
ansible_host_networks: [10.10.0.0/16]
where:
  name_starts_with: web
keyed_groups:
  - key: cloudtower_guest_os_type | lower
    prefix: os
  - key: cloudtower_labels | map(attribute='key') | list
    prefix: label
groups:
  windows: cloudtower_guest_os_type == 'WINDOWS'
  big: cloudtower_memory >= 16 * 1024 ** 3
compose:
  ansible_user: "'Administrator' if cloudtower_guest_os_type == 'WINDOWS' else 'root'"
"""

import hashlib
import ipaddress
import json
import os
import re
import string
from collections import Counter

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.inventory import Cacheable, Constructable

from ansible_collections.smartx.cloudtower.plugins.module_utils.api import vms as api_vms
from ansible_collections.smartx.cloudtower.plugins.module_utils.client import (
    HAS_REQUESTS,
    CloudTowerClient,
)
from ansible_collections.smartx.cloudtower.plugins.module_utils.errors import CloudTowerError
from ansible_collections.smartx.cloudtower.plugins.module_utils.query import iter_pages, validate_where, where_and
from ansible_collections.smartx.cloudtower.plugins.plugin_utils.inventory import CloudTowerInventoryBase

SOURCE_SUFFIXES = ("cloudtower.yml", "cloudtower.yaml")
# Relation stubs whose name stands for the relation in host names and group names.
NAMED_RELATIONS = ("cluster", "host", "folder")
ALL_FIELDS = "all"
# VM fields whose variable gets another name: with the default prefix, "host" would give cloudtower_host, the
# connection variable every module and playbook of this collection reads.
HOSTVAR_RENAMES = {"host": "node"}
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def relation_name(value):
    """The name inside a relation stub ({id, name}), or "" for no relation."""
    if isinstance(value, dict):
        return value.get("name") or value.get("id") or ""
    return value or ""


def build_where(user_where, clusters, statuses, include_recycle_bin):
    """The single VmWhereInput sent to get-vms."""
    clauses = [validate_where("where", user_where)]
    if clusters:
        # One nested clause resolves names and ids on the server, with no extra query for the clusters.
        clauses.append({"cluster": {"OR": [{"id_in": list(clusters)}, {"name_in": list(clusters)}]}})
    if statuses:
        clauses.append({"status_in": list(statuses)})
    if not include_recycle_bin:
        clauses.append({"in_recycle_bin": False})
    return where_and(*clauses)


def parse_networks(values):
    networks = []
    for value in values or ():
        try:
            networks.append(ipaddress.ip_network(to_text(value).strip(), strict=False))
        except ValueError as error:
            raise AnsibleParserError("Invalid value %r for option 'ansible_host_networks': %s" % (value, error))
    return networks


def vm_addresses(ips_text):
    """The valid IP addresses of a VM's comma-separated ``ips`` field, in order."""
    addresses = []
    for text in (ips_text or "").split(","):
        try:
            addresses.append(ipaddress.ip_address(text.strip()))
        except ValueError:
            continue
    return addresses


def pick_ansible_host(ips_text, networks):
    """The first address (in the order of networks, when given) or None."""
    addresses = vm_addresses(ips_text)
    if not networks:
        return str(addresses[0]) if addresses else None
    for network in networks:
        for address in addresses:
            if address.version == network.version and address in network:
                return str(address)
    return None


class HostnameTemplate:
    """A str.format template over a VM's scalar fields and the names of its relations."""

    def __init__(self, template):
        self.template = template
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as error:
            raise AnsibleParserError("Invalid value %r for option 'hostname_template': %s" % (template, error))
        self.fields = [field for _text, field, _spec, _conversion in parsed if field is not None]
        for field in self.fields:
            if not VARIABLE_NAME.match(field):
                raise AnsibleParserError(
                    "Invalid value %r for option 'hostname_template': {%s} is not a field name; use plain names such as "
                    "{name}, {id} or {cluster}" % (template, field))

    def check_fields(self, vm):
        """Fail on a field CloudTower's VMs do not have, naming the ones they do."""
        unknown = [field for field in self.fields if field not in vm]
        if unknown:
            raise AnsibleParserError(
                "Invalid value %r for option 'hostname_template': the VMs have no field %s (fields: %s)"
                % (self.template, ", ".join(unknown), ", ".join(sorted(vm))))

    def render(self, vm):
        values = {}
        for field in self.fields:
            value = vm.get(field)
            if field in NAMED_RELATIONS:
                value = relation_name(value)
            elif isinstance(value, (dict, list)):
                raise AnsibleParserError("Invalid value %r for option 'hostname_template': {%s} is not a scalar field of the VM"
                                         % (self.template, field))
            values[field] = "" if value is None else value
        try:
            name = self.template.format(**values)
        except (ValueError, TypeError) as error:
            raise AnsibleParserError("Invalid value %r for option 'hostname_template' for VM %s: %s"
                                     % (self.template, vm.get("id"), error))
        return name or vm["id"]


def assign_hostnames(vms, template, on_duplicate):
    """[(host name, vm)] with a unique host name per VM, in O(n).

    Every VM of a colliding name is renamed, not all but the first, so that a
    host's name does not depend on which VM CloudTower happened to list first.
    """
    if vms:
        template.check_fields(vms[0])
    names = [template.render(vm) for vm in vms]
    counts = Counter(names)
    collisions = {name for name, count in counts.items() if count > 1}
    if collisions and on_duplicate == "error":
        details = "; ".join(
            "%s: %s" % (name, ", ".join(vm["id"] for vm, vm_name in zip(vms, names) if vm_name == name))
            for name in sorted(collisions))
        raise AnsibleParserError(
            "duplicate_hostnames=error: several VMs get the same host name from hostname_template %r (%s). "
            "Use a template with {id} or {local_id}, or duplicate_hostnames: suffix_id" % (template.template, details))
    return [("%s_%s" % (name, vm["id"]) if name in collisions else name, vm) for name, vm in zip(names, vms)]


def default_groups(vm, group_by, prefix):
    """Raw (unsanitized) names of the group_by groups of one VM."""
    groups = []
    for key in group_by:
        value = vm.get(key)
        value = (value or "").lower() if key == "status" else relation_name(value)
        if value:
            groups.append("%s%s_%s" % (prefix, key, value))
    return groups


class InventoryModule(CloudTowerInventoryBase, Constructable, Cacheable):
    """Hosts from CloudTower VMs."""

    NAME = "smartx.cloudtower.cloudtower"

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        base = os.path.basename(to_text(path))
        return base in SOURCE_SUFFIXES or base.endswith(tuple("." + suffix for suffix in SOURCE_SUFFIXES))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        self._check_options()
        vms = self._vms_from_cache_or_api(path, cache)
        self._populate(vms)

    # ----- options ---------------------------------------------------------------------------------

    def _check_options(self):
        prefix = self.get_option("hostvar_prefix") or ""
        if prefix and not VARIABLE_NAME.match(prefix):
            raise AnsibleParserError("Invalid value %r for option 'hostvar_prefix': variable names may only contain "
                                     "letters, digits and underscores, and not start with a digit" % prefix)
        if self.get_option("page_size") < 1:
            raise AnsibleParserError("Invalid value %r for option 'page_size': must be a positive number" % self.get_option("page_size"))
        self._networks = parse_networks(self.get_option("ansible_host_networks"))
        self._template = HostnameTemplate(self.get_option("hostname_template"))
        self._where = self._query_where()
        self._legacy_host_variable = self.get_option("legacy_host_variable")
        if self._legacy_host_variable:
            self.display.deprecated(
                "smartx.cloudtower.cloudtower: legacy_host_variable sets %shost, which with the default prefix shadows the "
                "connection variable cloudtower_host; read %snode instead" % (prefix, prefix),
                version="2.0.0", collection_name="smartx.cloudtower")

    def _query_where(self):
        try:
            return build_where(self.get_option("where"), self.get_option("clusters"), self.get_option("statuses"),
                               self.get_option("include_recycle_bin"))
        except CloudTowerError as error:
            raise AnsibleParserError(error.message)

    # ----- data ------------------------------------------------------------------------------------

    def _cache_key(self, path):
        """The path's key plus a digest of what selects the VMs; never a secret."""
        selection = {
            "host": self.get_option("cloudtower_host"),
            "user": self.get_option("cloudtower_username"),
            "where": self._where,
            "fields": sorted(self._stored_fields() or []),
        }
        digest = hashlib.sha256(json.dumps(selection, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:12]
        return "%s_%s" % (self.get_cache_key(path), digest)

    def _vms_from_cache_or_api(self, path, cache):
        use_cache = self.get_option("cache")
        key = self._cache_key(path)
        if use_cache and cache:
            try:
                return self._cache[key]
            except KeyError:
                pass
        vms = self._fetch_vms()
        if use_cache:
            self._cache[key] = vms
        return vms

    def _hostvar_fields(self):
        """The fields that become host variables; None means all of them."""
        wanted = self.get_option("hostvar_fields") or []
        return None if ALL_FIELDS in wanted else set(wanted)

    def _stored_fields(self):
        """Fields kept per VM: the hostvars asked for plus those naming and grouping need; None = all."""
        wanted = self._hostvar_fields()
        if wanted is None:
            return None
        return wanted | {"id", "name", "ips", "cluster"} | set(self.get_option("group_by")) | set(self._template.fields)

    def _fetch_vms(self):
        if not HAS_REQUESTS:
            raise AnsibleError("The smartx.cloudtower.cloudtower inventory plugin needs the Python library requests: pip install requests")
        client = CloudTowerClient(self._connection_settings(), warn=self.display.warning)
        fields = self._stored_fields()
        vms = []
        try:
            # Trimming each page as it arrives keeps only the wanted fields of 10,000 VMs in memory at once.
            for page in iter_pages(client, api_vms.READ, where=self._where, page_size=self.get_option("page_size")):
                if fields is not None:
                    if not vms:
                        self._warn_about_unknown_fields(page[0])
                    page = [{key: value for key, value in vm.items() if key in fields} for vm in page]
                vms.extend(page)
        except CloudTowerError as error:
            raise AnsibleParserError("smartx.cloudtower.cloudtower inventory: %s" % client.redact(error.message))
        self.display.vvv("smartx.cloudtower.cloudtower: %d VMs in %d request(s)" % (len(vms), client.request_count))
        return vms

    def _warn_about_unknown_fields(self, vm):
        unknown = sorted(self._hostvar_fields() - set(vm))
        if unknown:
            self.display.warning("smartx.cloudtower.cloudtower: hostvar_fields %s: CloudTower's VMs have no such field "
                                 "(fields: %s)" % (", ".join(unknown), ", ".join(sorted(vm))))

    # ----- inventory -------------------------------------------------------------------------------

    def _populate(self, vms):
        self._warn_about_unmatched_clusters(vms)
        hosts = assign_hostnames(vms, self._template, self.get_option("duplicate_hostnames"))
        hostvar_fields = self._hostvar_fields()
        prefix = self.get_option("hostvar_prefix") or ""
        group_by = self.get_option("group_by")
        group_prefix = self.get_option("group_prefix") or ""
        compose = self.get_option("compose")
        conditional_groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        constructed = bool(compose or conditional_groups or keyed_groups)
        strict = self.get_option("strict")
        with_ansible_host = self.get_option("ansible_host_from_ips")
        known_groups = {}
        for hostname, vm in hosts:
            self.inventory.add_host(hostname)
            for key, value in self._host_variables(vm, hostvar_fields, prefix, with_ansible_host).items():
                self.inventory.set_variable(hostname, key, value)
            for raw_group in default_groups(vm, group_by, group_prefix):
                group = known_groups.get(raw_group)
                if group is None:
                    group = known_groups[raw_group] = self.inventory.add_group(self._sanitize_group_name(raw_group))
                self.inventory.add_child(group, hostname)
            if constructed:
                self._construct(hostname, compose, conditional_groups, keyed_groups, strict)

    def _host_variables(self, vm, hostvar_fields, prefix, with_ansible_host):
        variables = {prefix + HOSTVAR_RENAMES.get(key, key): value for key, value in vm.items()
                     if hostvar_fields is None or key in hostvar_fields}
        if self._legacy_host_variable and "host" in vm and (hostvar_fields is None or "host" in hostvar_fields):
            variables[prefix + "host"] = vm["host"]
        if with_ansible_host:
            address = pick_ansible_host(vm.get("ips"), self._networks)
            if address:
                variables["ansible_host"] = address
        return variables

    def _construct(self, hostname, compose, conditional_groups, keyed_groups, strict):
        """compose, groups and keyed_groups through ansible-core's Constructable, as every inventory plugin does."""
        self._set_composite_vars(compose, self.inventory.get_host(hostname).get_vars(), hostname, strict=strict)
        # Read the variables once more so that groups see what compose just set.
        variables = self.inventory.get_host(hostname).get_vars()
        self._add_host_to_composed_groups(conditional_groups, variables, hostname, strict=strict, fetch_hostvars=False)
        self._add_host_to_keyed_groups(keyed_groups, variables, hostname, strict=strict, fetch_hostvars=False)

    def _warn_about_unmatched_clusters(self, vms):
        wanted = self.get_option("clusters")
        if not wanted:
            return
        seen = set()
        for vm in vms:
            cluster = vm.get("cluster") or {}
            seen.update((cluster.get("id"), cluster.get("name")))
        for value in wanted:
            if value not in seen:
                self.display.warning("smartx.cloudtower.cloudtower: no VM matched clusters entry %r: no such cluster, "
                                     "or none of its VMs passes the other filters" % value)
