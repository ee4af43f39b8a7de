"""--tls: HTTPS with a self-signed certificate for 127.0.0.1/localhost that clients can trust explicitly."""

import importlib
import importlib.util
import shutil

import pytest
import requests

PASSWORD = "tls-password"


def _generators(sim_package):
    tls = importlib.import_module(sim_package.__name__ + ".tls")
    generators = {}
    if importlib.util.find_spec("cryptography") is not None:
        generators["cryptography"] = tls._with_cryptography  # pylint: disable=protected-access
    if shutil.which("openssl"):
        generators["openssl"] = tls._with_openssl  # pylint: disable=protected-access
    return generators


@pytest.mark.parametrize("generator", ["cryptography", "openssl"])
def test_https_with_explicit_trust(sim_package, new_api, tmp_path, generator):
    make = _generators(sim_package).get(generator)
    if make is None:
        pytest.skip("%s is not available on this machine" % generator)
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    make(cert, key)
    with sim_package.Simulator(password=PASSWORD, tls=True, cert=cert, key=key) as simulator:
        assert simulator.url.startswith("https://127.0.0.1:")
        client = new_api(simulator, verify=cert)
        client.login(password=PASSWORD)
        assert client.call("get-clusters", {})
        with pytest.raises(requests.exceptions.SSLError):
            requests.post(simulator.url + "/v2/api/get-clusters", json={}, timeout=10)
        localhost = simulator.url.replace("127.0.0.1", "localhost")
        assert requests.post(localhost + "/v2/api/login", json={"username": "admin", "password": PASSWORD, "source": "LOCAL"},
                             verify=cert, timeout=10).status_code == 200


def test_generated_certificate(sim_package, new_api):
    with sim_package.Simulator(password=PASSWORD, tls=True) as simulator:
        try:
            client = new_api(simulator, verify=simulator.cert)
            client.login(password=PASSWORD)
            assert client.call("get-vms-connection", {})["aggregate"]["count"] > 0
        finally:
            shutil.rmtree(simulator.cert.rsplit("/", 1)[0], ignore_errors=True)
