"""Fixtures for the simulator's own tests.

One simulator per session runs in a thread on a free port and records every exchange; each test starts from a
fresh demo state (`sim` fixture) and, when the official specs are present, every request the simulator accepted
and every response it sent during the test is validated against the spec of the version in use.
"""

import json
import os
import sys
import time

import pytest
import requests

# Tests write only into temp dirs: no bytecode caches beside the sources either.
sys.dont_write_bytecode = True
# ctsim and contract are importable through pytest.ini's pythonpath (tests/simulator), or installed from
# tests/simulator/pyproject.toml: no sys.path edit here.
import contract  # pylint: disable=import-error
import ctsim  # pylint: disable=import-error

PASSWORD = "test-password"
FAST_TASKS = 0.05
FAST_SETTINGS = {"async_status_linger_seconds": 0.02}
FINAL_STATUSES = ("SUCCESSED", "FAILED")


class Api:
    """A thin CloudTower client for tests: raw responses when asked, JSON with a status check otherwise."""

    def __init__(self, simulator, verify=True):
        self.sim = simulator
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = verify
        self.token = None

    @property
    def url(self):
        return self.sim.url

    def login(self, username="admin", password=PASSWORD, source="LOCAL"):
        self.token = self.call("login", {"username": username, "password": password, "source": source})["data"]["token"]
        return self.token

    def post(self, endpoint, body=None, token=None, headers=None, raw_body=None):
        all_headers = {"Authorization": token if token is not None else (self.token or "")}
        all_headers.update(headers or {})
        if raw_body is not None:
            return self.session.post(self.url + "/v2/api/" + endpoint, data=raw_body, headers=all_headers, timeout=30)
        return self.session.post(self.url + "/v2/api/" + endpoint, json={} if body is None else body, headers=all_headers, timeout=30)

    def call(self, endpoint, body=None, status=200, **kwargs):
        response = self.post(endpoint, body, **kwargs)
        assert response.status_code == status, "%s -> %s %s" % (endpoint, response.status_code, response.text[:500])
        return response.json()

    def reset(self, **config):
        """POST /__sim/reset (tokens survive a reset)."""
        return self.admin("POST", "reset", config)

    def admin(self, method, route, body=None, status=200):
        response = self.session.request(method, self.url + "/__sim/" + route, json=body, timeout=30)
        assert response.status_code == status, response.text
        return response.json()

    def vms(self, where=None, **args):
        return self.call("get-vms", dict(args, where=where or {}))

    def vm(self, name):
        found = self.vms({"name": name})
        assert found, "no VM named %s" % name
        return found[0]

    def tasks(self, task_ids):
        return self.call("get-tasks", {"where": {"id_in": list(task_ids)}})

    def wait(self, task_ids, timeout=10.0):
        """Poll until every task is final; returns them in the order asked."""
        task_ids = list(task_ids)
        deadline = time.time() + timeout
        while True:
            tasks = {task["id"]: task for task in self.tasks(task_ids)}
            if len(tasks) == len(task_ids) and all(task["status"] in FINAL_STATUSES for task in tasks.values()):
                return [tasks[task_id] for task_id in task_ids]
            assert time.time() < deadline, "tasks not finished: %s" % [(t["id"], t["status"]) for t in tasks.values()]
            time.sleep(0.01)

    def run(self, endpoint, body):
        """A mutation followed by waiting for its tasks; returns (answers, tasks)."""
        answers = self.call(endpoint, body)
        return answers, self.wait([answer["task_id"] for answer in answers])

    def settle(self, seconds=0.05):
        """Let entityAsyncStatus linger end after tasks finished."""
        time.sleep(seconds)


@pytest.fixture(scope="session")
def spec_dir():
    return contract.find_spec_dir()


@pytest.fixture(scope="session")
def contract_checker(spec_dir):
    if spec_dir is None:
        pytest.skip("official OpenAPI specs not found: set %s or place them in ../shared/cloudtower-openapi" % contract.SPEC_DIR_ENV)
    try:
        return contract.ContractChecker(spec_dir)
    except ImportError as error:
        pytest.skip("jsonschema/referencing not importable: %s" % error)
        return None


@pytest.fixture(scope="session")
def session_sim(tmp_path_factory):
    record = tmp_path_factory.mktemp("ctsim") / "exchanges.jsonl"
    simulator = ctsim.Simulator(username="admin", password=PASSWORD, task_seconds=FAST_TASKS, seed=7, record=str(record),
                                settings=FAST_SETTINGS)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="session")
def optional_checker(spec_dir):
    if spec_dir is None:
        return None
    try:
        return contract.ContractChecker(spec_dir)
    except ImportError:
        return None


@pytest.fixture
def sim(session_sim, optional_checker):
    """The session simulator, reset to the demo state on 4.6.0; exchanges are contract-checked afterwards."""
    session_sim.reset(state="demo", api_version="4.6.0", task_seconds=FAST_TASKS, seed=7)
    record = session_sim.log.record_path
    offset = os.path.getsize(record) if os.path.exists(record) else 0
    yield session_sim
    if optional_checker is None:
        return
    with open(record, encoding="utf-8") as stream:
        stream.seek(offset)
        exchanges = [json.loads(line) for line in stream if line.strip()]
    violations = ["%s %s %s: %s" % (exchange["api_version"], exchange.get("endpoint") or exchange["path"], exchange["status"], problem)
                  for exchange in exchanges for problem in optional_checker.check(exchange)]
    assert not violations, "exchanges violate the spec:\n" + "\n".join(violations[:20])


@pytest.fixture
def api(sim):
    client = Api(sim)
    client.login()
    return client


@pytest.fixture
def new_api():
    """Build an Api for another simulator (TLS, CLI...)."""
    return Api


@pytest.fixture
def sim_package():
    return ctsim


@pytest.fixture
def contract_module():
    return contract


@pytest.fixture(params=ctsim.VERSIONS)
def version(request):
    return request.param
