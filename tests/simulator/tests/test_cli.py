"""The command-line contract: first line, serving, --record, --tls, and a clean exit on SIGTERM."""

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading

import requests

SIM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRY = os.path.join(SIM_DIR, "cloudtower_sim.py")
CONTRACT = os.path.join(SIM_DIR, "contract.py")
PASSWORD = "cli-password"


class Running:
    """A simulator subprocess whose stdout lines are read on a thread (no blocking reads in the test)."""

    def __init__(self, *args):
        env = dict(os.environ, CLOUDTOWER_SIM_PASSWORD=PASSWORD, PYTHONDONTWRITEBYTECODE="1")
        self.process = subprocess.Popen([sys.executable, ENTRY, "--port", "0", *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def line(self):
        return self.lines.get(timeout=20)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)


def _login(url, verify=True):
    response = requests.post(url + "/v2/api/login", json={"username": "admin", "password": PASSWORD, "source": "LOCAL"},
                             timeout=20, verify=verify)
    assert response.status_code == 200, response.text
    return response.json()["data"]["token"]


def test_first_line_request_and_sigterm(tmp_path, spec_dir):
    record = tmp_path / "record.jsonl"
    running = Running("--vms", "50", "--task-seconds", "0.05", "--api-version", "1.10.0", "--record", str(record), "--seed", "3")
    try:
        first = running.line()
        assert first.startswith("CloudTower simulator listening on http://127.0.0.1:")
        url = first.rsplit(" ", 1)[-1]
        token = _login(url)
        count = requests.post(url + "/v2/api/get-vms-connection", json={}, headers={"Authorization": token}, timeout=20).json()
        assert count == {"aggregate": {"count": 50}}
    finally:
        assert running.stop() == 0
    assert running.process.stderr.read() == ""
    lines = record.read_text().splitlines()
    assert len(lines) == 2 and PASSWORD not in record.read_text() and token not in record.read_text()
    if spec_dir is not None:
        checked = subprocess.run([sys.executable, CONTRACT, "--specs", spec_dir, str(record)], capture_output=True, text=True,
                                 timeout=60, check=False, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_tls_prints_the_certificate():
    running = Running("--tls", "--state", "empty")
    cert = None
    try:
        url = running.line().rsplit(" ", 1)[-1]
        cert_line = running.line()
        assert url.startswith("https://") and cert_line.startswith("TLS certificate")
        cert = cert_line.rsplit(" ", 1)[-1]
        assert os.path.isfile(cert)
        _login(url, verify=cert)
    finally:
        assert running.stop() == 0
        if cert is not None:
            shutil.rmtree(os.path.dirname(cert), ignore_errors=True)


def test_bad_arguments_exit_non_zero():
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, ENTRY, "--api-version", "9.9.9"], capture_output=True, text=True, timeout=20, check=False, env=env)
    assert result.returncode == 2 and "unsupported api version" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run([sys.executable, ENTRY, "--faults", '{"bogus": 1}'], capture_output=True, text=True, timeout=20, check=False,
                            env=env)
    assert result.returncode == 2 and "unknown fault keys" in result.stderr and "Traceback" not in result.stderr
