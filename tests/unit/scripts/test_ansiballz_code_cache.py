# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test venvs' compiled-code cache for AnsiballZ payloads (scripts/runner/ansiballz_code_cache.py)."""

from __future__ import annotations

import os
import sys
import traceback
import zipfile

import pytest

from ansible_collections.smartx.cloudtower.scripts.runner import ansiballz_code_cache as cache, venvs

MODULE = "ct_cache_probe"


def payload(directory, name, source):
    """A zip laid out like an AnsiballZ payload (a package with one module), in a directory of its own."""
    directory.mkdir()
    path = os.path.join(str(directory), "ansible_%s_payload.zip" % name)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MODULE + "/__init__.py", "")
        archive.writestr(MODULE + "/probe.py", source)
    return path


@pytest.fixture(name="hooked")
def fixture_hooked(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "CACHE_DIR", str(tmp_path / "cache"))
    cache.install()
    yield tmp_path
    cache.uninstall()
    for name in [n for n in sys.modules if n == MODULE or n.startswith(MODULE + ".")]:
        del sys.modules[name]


def import_probe(path):
    for name in [n for n in sys.modules if n == MODULE or n.startswith(MODULE + ".")]:
        del sys.modules[name]
    sys.path.insert(0, path)
    try:
        __import__(MODULE + ".probe")
        return sys.modules[MODULE + ".probe"]
    finally:
        sys.path.remove(path)


def cached_files(directory):
    return sorted(n for n in os.listdir(str(directory / "cache")) if n.endswith(".code"))


SOURCE = "def fail():\n    def inner():\n        raise ValueError('boom')\n    inner()\n\nVALUE = 1\n"


def test_a_second_payload_with_the_same_source_reuses_the_compiled_code_and_names_its_own_file(hooked):
    first = import_probe(payload(hooked / "run1", "m", SOURCE))
    assert type(first.__loader__).__name__ == "CachingZipImporter"
    stored = cached_files(hooked)
    assert len(stored) == 2  # the package's __init__ and the module

    second_path = payload(hooked / "run2", "m", SOURCE)
    second = import_probe(second_path)
    assert cached_files(hooked) == stored  # nothing compiled again
    assert second.__file__ == os.path.join(second_path, MODULE, "probe.py")
    with pytest.raises(ValueError) as raised:
        second.fail()
    frames = traceback.extract_tb(raised.value.__traceback__)
    # Nested functions too: a traceback names this run's payload, and linecache finds the source line.
    assert [frame.filename for frame in frames[-2:]] == [second.__file__] * 2
    assert frames[-1].line == "raise ValueError('boom')"


def test_a_changed_source_is_compiled_afresh(hooked):
    assert import_probe(payload(hooked / "a", "m", SOURCE)).VALUE == 1
    changed = import_probe(payload(hooked / "b", "m", SOURCE.replace("VALUE = 1", "VALUE = 2")))
    assert changed.VALUE == 2
    assert len(cached_files(hooked)) == 3


def test_other_zips_and_directories_are_left_to_the_standard_importers(hooked):
    plain = hooked / "plain.zip"
    with zipfile.ZipFile(str(plain), "w") as archive:
        archive.writestr(MODULE + "/__init__.py", "")
        archive.writestr(MODULE + "/probe.py", SOURCE)
    module = import_probe(str(plain))
    assert type(module.__loader__).__name__ == "zipimporter"
    assert not (hooked / "cache").exists()


def test_an_unwritable_cache_only_costs_the_compile(hooked, monkeypatch):
    blocker = hooked / "not-a-directory"
    blocker.write_text("x")
    monkeypatch.setattr(cache, "CACHE_DIR", str(blocker / "cache"))
    assert import_probe(payload(hooked / "c", "m", SOURCE)).VALUE == 1


def test_the_runner_installs_and_removes_the_hook_in_a_venv(tmp_path, monkeypatch):
    purelib = tmp_path / "site-packages"
    purelib.mkdir()
    venv = type("Venv", (), {"python": sys.executable})()
    monkeypatch.setattr(venvs, "_purelib", lambda python: str(purelib))
    assert venvs.install_code_cache(venv) is True
    pth = (purelib / "_ct_ansiballz_code_cache.pth").read_text()
    assert pth.startswith("import _ct_ansiballz_code_cache;") and "install()" in pth
    assert (purelib / "_ct_ansiballz_code_cache.py").read_text() == open(cache.__file__, encoding="utf-8").read()
    monkeypatch.setenv("CT_ANSIBALLZ_CODE_CACHE", "0")
    assert venvs.install_code_cache(venv) is False
    assert not list(purelib.iterdir())
