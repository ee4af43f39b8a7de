# Copyright: smartx.cloudtower contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render report.html in a real browser (headless Chromium through chromedriver) and read its values back.

usage: browser_check.py REPORT_DIR SCREENSHOT.png

Chromium loads the file, a screenshot is saved, and a script run in the page reads what a person would see: the
summary numbers, each VM row (name, status, age), the two charts, the resources the page fetched (none: the report
is self-contained). They must equal report.json. Prints one JSON line of what was read; exits 1 naming each mismatch.
Chromium and chromedriver are the Debian packages chromium and chromium-driver, installed with apt-get when missing
and this runs as root (as the test runner installs the simulator's data-plane packages); else exit 77 with the reason.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

PACKAGES = {"chromium": "chromium", "chromedriver": "chromium-driver"}
READ_PAGE = """
const text = (el) => el ? el.innerText.trim() : null;
const rows = [...document.querySelectorAll('#vms tbody tr')].map(tr => ({
  id: tr.dataset.vmId, status: tr.dataset.status, name: text(tr.querySelector('.vm-name')),
  hours: tr.querySelector('.age').dataset.hours, age: text(tr.querySelector('.age')),
  status_color: getComputedStyle(tr.querySelector('.status')).color, restore_test: text(tr.querySelector('.restore-test'))}));
return {
  summary: {missing: text(document.querySelector('#summary-missing')), stale: text(document.querySelector('#summary-stale')),
            ok: text(document.querySelector('#summary-ok'))},
  rows: rows,
  age_bars: document.querySelectorAll('#age-chart rect.bar').length,
  age_chart_height: document.querySelector('#age-chart').getBoundingClientRect().height,
  growth_line: !!document.querySelector('#growth-chart polyline'),
  fetched: performance.getEntriesByType('resource').length,
  scripts: document.scripts.length,
  title: document.title};
"""


def ensure_browser():
    missing = [package for tool, package in PACKAGES.items() if shutil.which(tool) is None]
    if not missing:
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "needs the Debian packages %s (apt-get, as root)" % " ".join(missing)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # A fresh machine may have no package lists yet: update first, as the data-plane installer does.
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return "%s failed: %s" % (" ".join(command[:2]), done.stderr.strip().splitlines()[-1:] or "")
    return None


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=60) as response:
        return json.loads(response.read().decode("utf-8"))["value"]


def read_in_browser(html_path, screenshot):
    port = free_port()
    driver = subprocess.Popen(["chromedriver", "--port=%d" % port], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = "http://127.0.0.1:%d" % port
    try:
        for _attempt in range(100):
            try:
                call(base, "GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        options = {"binary": shutil.which("chromium"),
                   "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600"]}
        session = call(base, "POST", "/session", {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}})
        session_path = "/session/%s" % session["sessionId"]
        try:
            call(base, "POST", session_path + "/url", {"url": "file://" + os.path.abspath(html_path)})
            page = call(base, "POST", session_path + "/execute/sync", {"script": READ_PAGE, "args": []})
            with open(screenshot, "wb") as stream:
                stream.write(base64.b64decode(call(base, "GET", session_path + "/screenshot")))
            return page
        finally:
            call(base, "DELETE", session_path)
    finally:
        driver.terminate()
        driver.wait(10)


def compare(page, data):
    problems = []
    summary = data["summary"]
    for key in ("missing", "stale", "ok"):
        if page["summary"][key] != str(summary[key]):
            problems.append("summary %s: the page shows %s, report.json %s" % (key, page["summary"][key], summary[key]))
    if [r["id"] for r in page["rows"]] != [v["vm"]["id"] for v in data["vms"]]:
        problems.append("the page lists the VMs in another order (or other VMs) than report.json")
    for row, vm in zip(page["rows"], data["vms"]):
        hours = "" if vm["age_hours"] is None else str(vm["age_hours"])
        if row["status"] != vm["status"] or row["name"] != vm["vm"]["name"] or float(row["hours"] or 0) != float(hours or 0):
            problems.append("VM %s: the page shows %s/%s/%s, report.json %s/%s/%s" % (
                vm["vm"]["name"], row["name"], row["status"], row["hours"], vm["vm"]["name"], vm["status"], hours))
    if page["age_bars"] != min(len(data["vms"]), 600) or page["age_chart_height"] < 100:
        problems.append("the age chart has %s bars, %s px high" % (page["age_bars"], page["age_chart_height"]))
    if bool(data["growth"]) != page["growth_line"]:
        problems.append("the growth chart does not match report.json's growth")
    if page["fetched"] or page["scripts"]:
        problems.append("the page is not self-contained: %s resources fetched, %s scripts" % (page["fetched"], page["scripts"]))
    return problems


def main():
    report_dir, screenshot = sys.argv[1], sys.argv[2]
    reason = ensure_browser()
    if reason:
        print("SKIPPED: the browser check %s" % reason)
        sys.exit(77)
    with open(os.path.join(report_dir, "report.json"), encoding="utf-8") as stream:
        data = json.load(stream)
    page = read_in_browser(os.path.join(report_dir, "report.html"), screenshot)
    problems = compare(page, data)
    print(json.dumps({"screenshot": screenshot, "screenshot_bytes": os.path.getsize(screenshot), "summary": page["summary"],
                      "rows": len(page["rows"]), "first_rows": page["rows"][:3], "fetched": page["fetched"], "problems": problems}))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
