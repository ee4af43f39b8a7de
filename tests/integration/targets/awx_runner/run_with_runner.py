#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the collection's content the way AWX / Automation Controller does, through ansible-runner.

AWX starts playbooks and inventory updates with ansible_runner, and a credential of the
custom type in docs/awx/credential_type.yml reaches them only as the CLOUDTOWER_* environment
variables its injectors render. This script renders them the way AWX does and, against the
simulator, runs:

1. the inventory plugin as an AWX inventory source (ansible-inventory --list through runner);
2. playbooks/backup.yml, copied unchanged into the project directory, with username and password;
3. the same playbook with a token instead of a password;

and checks that each run succeeded, did its work, and that no password or token reached
what AWX shows and stores: the job's stdout and its events.

Usage: run_with_runner.py WORKDIR PLAYBOOK CREDENTIAL_TYPE_YML MODULE_PYTHON
(the simulator's URL and account in CLOUDTOWER_HOST/USERNAME/PASSWORD)
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
import urllib.request
from types import SimpleNamespace

import yaml
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

import ansible_runner  # pylint: disable=import-error

BACKUP_VMS = ["web-01", "db-01"]
# AWX writes no env files into the private data dir; runner still records its command and
# environment in artifacts/<ident>/command (mode 0600), which is not job output.
RUNNER_ENV_RECORD = "command"


def fail(message):
    raise SystemExit("FAILED: " + message)


def login_token(host, username, password):
    body = json.dumps({"username": username, "password": password, "source": "LOCAL"}).encode()
    request = urllib.request.Request(host + "/v2/api/login", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as reply:  # nosec - the simulator's URL from integration_config.yml
        return json.load(reply)["data"]["token"]


def load_credential_type(path):
    """docs/awx/credential_type.yml, checked the way AWX validates a credential type."""
    with open(path, encoding="utf-8") as stream:
        credential_type = yaml.safe_load(stream)
    if credential_type.get("kind") != "cloud":
        fail("credential type: kind must be cloud to be usable by inventory sources, got %r" % credential_type.get("kind"))
    fields = {field["id"]: field for field in credential_type["inputs"]["fields"]}
    for field in fields.values():
        if field.get("type") not in ("string", "boolean") or not field.get("label"):
            fail("credential type: field %s needs a label and type string or boolean" % field["id"])
    unknown_required = set(credential_type["inputs"].get("required", [])) - set(fields)
    if unknown_required:
        fail("credential type: required names unknown fields %s" % sorted(unknown_required))
    parser = ImmutableSandboxedEnvironment()
    templates = dict(credential_type["injectors"].get("env", {}), **credential_type["injectors"].get("file", {}))
    for name, template in templates.items():
        unknown = meta.find_undeclared_variables(parser.parse(template)) - set(fields) - {"tower"}
        if unknown:
            fail("credential type: injector %s uses undefined fields %s" % (name, sorted(unknown)))
    for name in credential_type["injectors"].get("env", {}):
        if not name.startswith("CLOUDTOWER_"):
            fail("credential type: injector %s is not a CLOUDTOWER_* variable" % name)
    return credential_type


def awx_injected_env(credential_type, inputs, private_data_dir):
    """The environment AWX's CredentialType.inject_credential builds from a credential's inputs.

    As AWX does: empty strings are left out of the template namespace (they render as ""),
    booleans never set are false, file injectors are written under private_data_dir/env and
    their paths offered as tower.filename.<name>.
    """
    namespace = {name: value for name, value in inputs.items() if isinstance(value, bool) or value}
    for field in credential_type["inputs"]["fields"]:
        if field["type"] == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = False
    sandbox = ImmutableSandboxedEnvironment()
    filenames = SimpleNamespace()
    env_dir = os.path.join(private_data_dir, "env")
    os.makedirs(env_dir, exist_ok=True)
    for label, template in credential_type["injectors"].get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w") as stream:
            stream.write(sandbox.from_string(template).render(**namespace))
        setattr(filenames, label.split(".", 1)[1], path)
    namespace["tower"] = SimpleNamespace(filename=filenames)
    env = {name: sandbox.from_string(template).render(**namespace)
           for name, template in credential_type["injectors"]["env"].items()}
    # In AWX the collection is installed in the execution environment; here it is where ansible-test put it.
    env["ANSIBLE_COLLECTIONS_PATH"] = os.environ["ANSIBLE_COLLECTIONS_PATH"]
    return env


def check_injectors(credential_type, work):
    """What the credential type injects for the less common inputs."""
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    env = awx_injected_env(credential_type, {"host": "https://ct.example.com", "token": "t", "ca_cert": pem},
                           os.path.join(work, "injectors"))
    with open(env["CLOUDTOWER_CA_PATH"], encoding="utf-8") as stream:
        if stream.read() != pem:
            fail("credential type: CLOUDTOWER_CA_PATH does not hold the CA certificate")
    expected = {"CLOUDTOWER_VALIDATE_CERTS": "True", "CLOUDTOWER_USER_SOURCE": "LOCAL", "CLOUDTOWER_USERNAME": "",
                "CLOUDTOWER_PASSWORD": "", "CLOUDTOWER_TOKEN": "t"}
    if {name: env[name] for name in expected} != expected:
        fail("credential type: unexpected environment %s" % {name: env[name] for name in expected})
    env = awx_injected_env(credential_type, {"host": "h", "skip_tls_verify": True, "ca_cert": "", "user_source": "LDAP"},
                           os.path.join(work, "injectors"))
    if (env["CLOUDTOWER_VALIDATE_CERTS"], env["CLOUDTOWER_CA_PATH"], env["CLOUDTOWER_USER_SOURCE"]) != ("False", "", "LDAP"):
        fail("credential type: skip_tls_verify / empty CA / LDAP gave %s" % env)
    print("credential type: injectors give the expected CLOUDTOWER_* variables")


def clean_process_env():
    """Only runner's envvars may carry the credentials, as in an AWX job."""
    for name in list(os.environ):
        if name.startswith("CLOUDTOWER_"):
            del os.environ[name]


def job_output_files(private_data_dir):
    """Every file AWX would show or keep of the job: stdout, events, status, rc."""
    for root, _dirs, files in os.walk(os.path.join(private_data_dir, "artifacts")):
        for name in files:
            path = os.path.join(root, name)
            if name == RUNNER_ENV_RECORD:
                if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
                    fail("runner's environment record %s is readable by others" % path)
                continue
            yield path


def check_no_secret(private_data_dir, stdout, secrets, what):
    texts = {"stdout": stdout}
    for path in job_output_files(private_data_dir):
        with open(path, encoding="utf-8", errors="replace") as stream:
            texts[path] = stream.read()
    if len(texts) < 3:
        fail("%s: runner wrote no artifacts to check (%s)" % (what, sorted(texts)))
    for secret in secrets:
        leaked = [name for name, text in texts.items() if secret in text]
        if leaked:
            fail("%s: a secret appears in %s" % (what, leaked))
    print("%s: no secret in stdout and %d artifact file(s)" % (what, len(texts) - 1))


def run_inventory_source(work, credential_type, inputs, secrets):
    private_data_dir = os.path.join(work, "inventory_update")
    os.makedirs(private_data_dir)
    env = awx_injected_env(credential_type, inputs, private_data_dir)
    source = os.path.join(private_data_dir, "cloudtower.yml")
    with open(source, "w", encoding="utf-8") as stream:
        stream.write("plugin: smartx.cloudtower.cloudtower\n")
    out, err = ansible_runner.get_inventory(action="list", inventories=[source], response_format="json", quiet=True,
                                            private_data_dir=private_data_dir, envvars=env, suppress_env_files=True)
    inventory = out if isinstance(out, dict) else json.loads(out)
    hosts = inventory.get("_meta", {}).get("hostvars", {})
    if len(hosts) != 14 or "web-01" not in hosts:
        fail("inventory source: %d hosts (%s); stderr: %s" % (len(hosts), sorted(hosts)[:5], err))
    for secret in secrets:
        if secret in json.dumps(inventory) or secret in (err or ""):
            fail("inventory source: a secret appears in the output")
    print("inventory source: %d hosts, groups %s" % (len(hosts), sorted(k for k in inventory if k != "_meta")))


def run_playbook(work, name, playbook, module_python, credential_type, inputs, secrets, backup_dir):
    private_data_dir = os.path.join(work, name)
    env = awx_injected_env(credential_type, inputs, private_data_dir)
    project = os.path.join(private_data_dir, "project")
    os.makedirs(project)
    shutil.copy(playbook, os.path.join(project, os.path.basename(playbook)))
    inventory = os.path.join(private_data_dir, "inventory")
    os.makedirs(inventory)
    with open(os.path.join(inventory, "hosts"), "w", encoding="utf-8") as stream:
        stream.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % module_python)
    result = ansible_runner.run(
        private_data_dir=private_data_dir, playbook=os.path.basename(playbook), envvars=env,
        extravars={"vm_backup_vms": BACKUP_VMS, "vm_backup_dir": backup_dir}, verbosity=1,
        suppress_env_files=True, quiet=True)
    stdout = result.stdout.read()
    if result.status != "successful" or result.rc != 0:
        fail("%s: status %s, rc %s\n%s" % (name, result.status, result.rc, stdout[-3000:]))
    changed = result.stats.get("changed", {}).get("localhost", 0)
    if not changed:
        fail("%s: nothing changed (stats %s)" % (name, result.stats))
    manifests = [os.path.join(root, f) for root, _dirs, files in os.walk(backup_dir) for f in files if f.endswith(".json")]
    if len(manifests) < len(BACKUP_VMS):
        fail("%s: %d manifest(s) in %s" % (name, len(manifests), backup_dir))
    events = [event["event"] for event in result.events]
    print("%s: %s, %d change(s), %d event(s), %d manifest(s)" % (name, result.status, changed, len(events), len(manifests)))
    check_no_secret(private_data_dir, stdout, secrets, name)


def main(work, playbook, credential_type_path, module_python):
    host = os.environ["CLOUDTOWER_HOST"]
    username = os.environ["CLOUDTOWER_USERNAME"]
    password = os.environ["CLOUDTOWER_PASSWORD"]
    clean_process_env()
    credential_type = load_credential_type(credential_type_path)
    check_injectors(credential_type, work)
    token = login_token(host, username, password)
    # As the AWX UI saves a credential: every field, empty ones as "".
    with_password = {"host": host, "username": username, "password": password, "user_source": "LOCAL", "token": "",
                     "ca_cert": "", "skip_tls_verify": False}
    # As the API saves one with only a token: the other fields absent.
    with_token = {"host": host, "token": token}
    run_inventory_source(work, credential_type, with_password, [password])
    run_playbook(work, "backup_with_password", playbook, module_python, credential_type, with_password, [password],
                 os.path.join(work, "backups-1"))
    run_playbook(work, "backup_with_token", playbook, module_python, credential_type, with_token, [password, token],
                 os.path.join(work, "backups-2"))


if __name__ == "__main__":
    main(*sys.argv[1:5])
