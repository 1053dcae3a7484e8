#!/usr/bin/env bash
# The long random-kill soak of issue 7: the same test as CI (RandomKillTests), with more kills.
# Not part of `dotnet test` beyond its CI count (50 kills); this script only raises the count.
#
#   tests/soak/run.sh [KILLS] [MAILS]     # default 1000 kills, 8 mails per kill
#   SMARTMAIL_SOAK_SEED=N tests/soak/run.sh 200   # replays a kill schedule (the seed is printed)
#   SMARTMAIL_SOAK_MINUTES=30 tests/soak/run.sh    # stops killing after 30 minutes, then checks (the count is printed)
#
# Needs what the integration tests need: root and Dovecot (dovecot-imapd; the tests start their own servers). About 2 s per kill on 2 cores
# (each kill is followed by a cold start of the worker process), so 1000 kills take about 35-40 minutes.
# Prints the checker's report: mails, lost, duplicated, quarantined, recovery times; exits non-zero on any problem.
set -euo pipefail
cd "$(dirname "$0")/../.."
export SMARTMAIL_SOAK_KILLS="${1:-1000}"
if [ -n "${2:-}" ]; then
  export SMARTMAIL_SOAK_MAILS="$2"
fi
log="${SOAK_LOG:-$(mktemp -t smartmail-soak-XXXXXX.log)}"
dotnet build -c Release tests/SmartMail.Worker.Tests >/dev/null
echo "soak: $SMARTMAIL_SOAK_KILLS kills; full output in $log"
set +e
dotnet test --project tests/SmartMail.Worker.Tests -c Release --no-build --filter-class "*RandomKillTests" --output Detailed >"$log" 2>&1
rc=$?
set -e
grep -E "kills, |kills in |time budget|targets reached|left mail unfinished|problems:|^\s+(failed|succeeded):" "$log" | sed 's/^ *//'
exit $rc
