#!/usr/bin/env bash
# Take the screenshots of the Apps page again (static/description/cliniko_*.png): the browser
# tour of tests/test_guide_tour.py migrates the sandbox clinic (the full run stopped midway)
# and, with CLINIKO_SCREENSHOTS=1, saves the overview, the run in progress, a patient's lead
# and the calendar at 1440x900. Then commit them.
set -euo pipefail
cd "$(dirname "$0")/.."
CLINIKO_SCREENSHOTS=1 ./tools/test.sh tests/test_guide_tour.py "$@"
ls -l static/description/cliniko_*.png
