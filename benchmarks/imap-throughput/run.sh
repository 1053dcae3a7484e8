#!/usr/bin/env bash
# Backlog throughput over loopback IMAP: a throwaway Dovecot gets N mails from 20 Newsgroups bydate-test in INBOX,
# then `smartmail run` drains it once (Release build) and prints mails/s. Needs root (Dovecot) and ../shared.
# Usage: [BATCH=500] benchmarks/imap-throughput/run.sh [N=5000]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=$(realpath "$repo/../shared")
n=${1:-5000}
work=$(mktemp -d); trap 'bash "$shared/dovecot/stop.sh" "$work/dovecot" >/dev/null 2>&1; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pass=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
bash "$shared/dovecot/start.sh" "$work/dovecot" "$port" "bench:$pass" >/dev/null
python3 - "$shared/data/20news-bydate/20news-bydate-test" "$port" "$pass" "$n" <<'PY'
import imaplib, os, sys, itertools
root, port, password, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
files = sorted(os.path.join(d, f) for d in (os.path.join(root, g) for g in sorted(os.listdir(root))) for f in sorted(os.listdir(d)))
imap = imaplib.IMAP4("127.0.0.1", port); imap.login("bench", password)
for path in itertools.islice(itertools.cycle(files), n):
    data = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    imap.append("INBOX", None, None, data)
imap.logout()
PY
dotnet build -c Release "$repo/src/SmartMail.Cli" -v q -nologo >/dev/null
cd "$work"
export SMARTMAIL_SmartMail__Mailboxes__0__Password="$pass"  # secrets through the environment, not the command line
/usr/bin/time -f "%e s wall, %M KB peak RSS" dotnet "$repo/src/SmartMail.Cli/bin/Release/net10.0/smartmail.dll" run \
  --SmartMail:DataDirectory="$work/data" --SmartMail:ModelPath="$repo/models/default/smartmail-20news.zip" \
  --SmartMail:Mailboxes:0:Name=bench --SmartMail:Mailboxes:0:Host=127.0.0.1 --SmartMail:Mailboxes:0:Port="$port" \
  --SmartMail:Mailboxes:0:Security=None --SmartMail:Mailboxes:0:AllowPlaintext=true \
  --SmartMail:Mailboxes:0:Username=bench --SmartMail:Mailboxes:0:BatchSize="${BATCH:-500}" | grep -E "Mailbox|This run|wall"
