#!/usr/bin/env bash
# The fault matrix: cloudtower_vm, cloudtower_vm_snapshot, cloudtower_lun_snapshot_info and the vm_backup role under
# injected faults. Part 1 (matrix.yml) sets the faults at run time on the suite's simulator; part 2 needs a simulator
# of its own, to stop it before a run and in the middle of a wait.
set -eu

# shellcheck source=../setup_simulator/files/runme_common.sh
source ../setup_simulator/files/runme_common.sh
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

playbook() { ansible-playbook -i "${INVENTORY_PATH:-localhost,}" -c local -e "@$CONFIG" "$@"; }

rc=0
playbook matrix.yml -e "fm_report=$WORK/matrix.json" "$@" || rc=$?
./stopped.sh "$WORK" "$@" || rc=$?
"$PY" - "$WORK/matrix.json" "$WORK/stopped.json" <<'PYEOF'
import json, os, sys
cells = survived = 0
findings = []
for path in sys.argv[1:]:
    if not os.path.exists(path):
        findings.append("%s was not written" % os.path.basename(path))
        continue
    report = json.load(open(path))
    cells += int(report["tally"]["cells"])
    survived += int(report["tally"]["survived"])
    findings += report["findings"]
print("FAULT MATRIX: %d cell(s) tried, %d fault(s) survived, %d finding(s)" % (cells, survived, len(findings)))
for finding in findings:
    print("  - " + finding)
PYEOF
exit "$rc"
