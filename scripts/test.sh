#!/usr/bin/env bash
# The test command (README, .ci/run): install what is needed, then run every test tier:
# unit tests, lab end-to-end tests and Testinfra host suites (root is needed for the lab).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then   # pytest: no tests collected. Never a silent green.
  echo "test: pytest collected no tests" >&2
  exit 1
fi
exit $rc
