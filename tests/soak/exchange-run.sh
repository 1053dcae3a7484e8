#!/usr/bin/env bash
# The whole worker flow on Exchange Online as issue 14 asks for it: `smartmail run --watch` with the documented config
# (OAuth2 with a certificate, the Dovecot Exchange profile, the local OIDC authority), 500 mails arriving over time, kill -9
# five times at random and restart; then nothing lost or doubled. CI runs the same test with 150 mails and 3 kills.
#
#   tests/soak/exchange-run.sh                          # 500 mails, 5 kills
#   SMARTMAIL_SOAK_SEED=N tests/soak/exchange-run.sh    # replays a schedule (the seed is printed)
#
# Needs root and Dovecot (dovecot-imapd), like the integration tests. About 2-4 minutes on 2 loaded cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
export SMARTMAIL_SOAK=1
log="${SOAK_LOG:-$(mktemp -t smartmail-exchange-soak-XXXXXX.log)}"
dotnet build tests/SmartMail.Cli.Tests >/dev/null
echo "exchange soak: 500 mails, 5 kills; full output in $log"
set +e
dotnet test --project tests/SmartMail.Cli.Tests --no-build --filter-class "*ExchangeRunTests" --output Detailed >"$log" 2>&1
rc=$?
set -e
grep -E "mails, .* kills|^\s+kill [0-9]|authority:|problems|^\s+(failed|succeeded):" "$log" | sed 's/^ *//'
exit $rc
