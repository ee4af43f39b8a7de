# -*- coding: utf-8 -*-
# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test runner's own logic (scripts/runner): shards, progress lines, stage selection, the support matrix."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from ansible_collections.smartx.cloudtower.scripts.runner import bootstrap, integration, matrix, tree, venvs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def test_shards_balance_the_measured_weights_and_keep_every_target_once():
    names = sorted(integration.WEIGHTS) + ["new_target_a", "new_target_b"]
    shards = integration.balance(names, 3)
    assert sorted(name for shard in shards for name in shard) == sorted(names)
    loads = [sum(integration.WEIGHTS.get(n, integration.DEFAULT_WEIGHT) for n in shard) for shard in shards]
    # Longest-first onto the lightest shard: no shard carries more than the heaviest target above the lightest.
    assert max(loads) - min(loads) <= max(integration.WEIGHTS.values())
    assert integration.balance(["only"], 3) == [["only"]]


def test_a_line_per_target_as_it_ends(tmp_path):
    log = tmp_path / "shard.log"
    shard = integration.Shard("shard1", str(tmp_path), ["a", "b"], str(log))
    log.write_text("noise\nRunning a integration test role\nmore noise\nRunning b integration test scr")
    assert shard.poll_events(10.0) == []
    with open(log, "a", encoding="utf-8") as stream:
        stream.write("ipt\n")
    # A half-written line is read again once whole.
    # No process here: no CPU figure (a real shard reads its ansible-test's from /proc).
    assert shard.poll_events(25.0) == [("a", 15.0, None)]
    shard.returncode = 0
    assert shard.finish(40.0) == [("b", 15.0, None)] and shard.done == ["a", "b"]


def test_cpu_seconds_of_a_process_grow_with_the_children_it_reaped():
    if not os.path.isdir("/proc"):
        pytest.skip("no /proc on this platform")
    before = integration.cpu_seconds(os.getpid())
    subprocess.run([sys.executable, "-c", "sum(range(3 * 10 ** 7))"], check=True)
    after = integration.cpu_seconds(os.getpid())
    assert after - before > 0.2
    assert integration.cpu_seconds(os.getpid(), children=False) < after
    assert integration.cpu_seconds(2 ** 22 + 7) is None


def test_the_lanes_split_the_stages_unless_one_lane_is_asked(monkeypatch):
    monkeypatch.delenv("CT_LANES", raising=False)
    lanes = dict(bootstrap.lanes_of(bootstrap.selected_sessions([])))
    assert lanes["runs"] == ["integration"]
    assert lanes["checks"][:2] == ["changelog", "sanity"] and "core-%s" % matrix.OLDEST in lanes["checks"]
    assert lanes["simulator"] == ["simulator", "units", "lint"]
    assert sorted(lanes["runs"] + lanes["checks"] + lanes["simulator"]) == sorted(bootstrap.selected_sessions([]))
    assert bootstrap.lanes_of(["integration", "units"]) == [("runs", ["integration"]), ("simulator", ["units"])]
    assert bootstrap.lanes_of(["sanity", "docs"]) == [("", ["sanity", "docs"])]
    monkeypatch.setenv("CT_LANES", "1")
    assert bootstrap.lanes_of(["sanity", "units"]) == [("", ["sanity", "units"])]


def test_stage_selection_keeps_the_canonical_order_and_knows_the_matrix():
    assert bootstrap.selected_sessions([]) == list(bootstrap.MAIN) + ["core-%s" % matrix.OLDEST]
    assert bootstrap.selected_sessions(["units", "sanity"]) == ["sanity", "units"]
    assert bootstrap.selected_sessions(["matrix"]) == ["core-%s" % r for r in matrix.releases() if r != matrix.NEWEST]
    with pytest.raises(SystemExit):
        bootstrap.selected_sessions(["no-such-stage"])


def test_requires_ansible_and_the_readme_state_the_tested_matrix():
    with open(os.path.join(ROOT, "meta", "runtime.yml"), encoding="utf-8") as stream:
        requires = yaml.safe_load(stream)["requires_ansible"]
    assert requires == ">=%s.0" % matrix.OLDEST
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as stream:
        readme = stream.read()
    assert "Requires ansible-core %s or later" % matrix.OLDEST in readme
    table = readme[readme.index("### Supported ansible-core"):]
    for release in matrix.releases():
        assert re.search(r"^\|[^|\n]*\b%s\b" % re.escape(release), table, re.M), release
    for role in ("vm_backup", "vm_restore", "snapshot_retention"):
        with open(os.path.join(ROOT, "roles", role, "meta", "main.yml"), encoding="utf-8") as stream:
            assert yaml.safe_load(stream)["galaxy_info"]["min_ansible_version"] == matrix.OLDEST


def test_requirement_for_a_release_takes_its_newest_patch():
    assert matrix.requirement_for("2.16") == "ansible-core>=2.16,<2.17"
    assert matrix.pythons_for(matrix.NEWEST)


def test_venv_key_follows_the_requirement_files(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "req.txt").write_text("-r inner.txt\n")
    (tmp_path / "tests" / "inner.txt").write_text("requests\n")
    interpreter = type("I", (), {"full": "3.13.0", "path": "/usr/bin/python3.13"})()
    first = venvs._key(interpreter, ["-rtests/req.txt"], str(tmp_path))  # pylint: disable=protected-access
    (tmp_path / "tests" / "inner.txt").write_text("requests>=2.30\n")
    assert venvs._key(interpreter, ["-rtests/req.txt"], str(tmp_path)) != first  # pylint: disable=protected-access


def test_bytecode_of_removed_temporary_directories_is_forgotten_and_the_rest_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("SMARTX_CLOUDTOWER_CACHE", str(tmp_path / "cache"))
    temp = tmp_path / "tmp"
    (temp / "alive").mkdir(parents=True)
    mirror = tmp_path / "cache" / "pycache" / str(temp).lstrip(os.sep)
    for name in ("alive", "gone"):
        (mirror / name / "__pycache__").mkdir(parents=True)
    venvs.forget_bytecode_of_removed(str(temp))
    assert sorted(os.listdir(str(mirror))) == ["alive"]
    venvs.forget_bytecode(str(temp / "alive"))
    assert os.listdir(str(mirror)) == []


def test_shards_weighed_as_one_lane_get_the_autogroup_nice_of_one_share():
    from ansible_collections.smartx.cloudtower.scripts.runner import processes
    assert [processes.autogroup_nice_for(count) for count in (1, 2, 3, 4)] == [0, 3, 5, 6]
    if not os.path.exists("/proc/self/autogroup"):
        pytest.skip("no scheduler autogroups on this kernel")
    child = processes.start([sys.executable, "-c", "import time; time.sleep(5)"], autogroup_nice=5)
    try:
        with open("/proc/%d/autogroup" % child.pid, encoding="ascii") as stream:
            assert stream.read().split()[-2:] == ["nice", "5"]
        with open("/proc/self/autogroup", encoding="ascii") as stream:
            assert stream.read().split()[-2:] == ["nice", "0"]
    finally:
        processes.stop(child, grace=1)


def test_the_tree_copy_leaves_out_vcs_data_caches_and_output(tmp_path):
    source = tmp_path / "checkout"
    for path in ("plugins/modules/m.py", ".git/HEAD", "tests/output/x", "plugins/__pycache__/m.pyc", "demo-output/a",
                 "x.tar.gz", "docs/a.tar.gz"):
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_text("x")
    dest = tree.copy_checkout(str(source), str(tmp_path / "copy"))
    copied = sorted(os.path.relpath(os.path.join(d, f), dest) for d, _dirs, files in os.walk(dest) for f in files)
    assert copied == ["docs/a.tar.gz", "plugins/modules/m.py"]
