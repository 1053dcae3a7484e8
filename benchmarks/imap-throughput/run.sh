#!/usr/bin/env bash
# Backlog throughput over loopback IMAP: a throwaway Dovecot gets N mails from 20 Newsgroups bydate-test in INBOX,
# then `smartmail run` drains it once (Release build) and prints mails/s. Needs root (Dovecot, PostgreSQL) and ../shared.
# Usage: [BATCH=500] [PROVIDER=Sqlite|PostgreSql] [CHECKOUT=<another checkout of SmartMail>] benchmarks/imap-throughput/run.sh [N=5000]
# PG_EXTRA="Max Auto Prepare=64" appends Npgsql connection settings (PostgreSql only).
# PROVIDER=PostgreSql keeps the state in a throwaway PostgreSQL (Debian's package, its default durability settings) on
# 127.0.0.1; CHECKOUT runs another commit's build (e.g. a git worktree) against the same kind of backlog (compare.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=$(realpath "$repo/../shared")
checkout=$(realpath "${CHECKOUT:-$repo}")
n=${1:-5000}
provider=${PROVIDER:-Sqlite}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d); chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
cleanup() {
  bash "$shared/dovecot/stop.sh" "$work/dovecot" >/dev/null 2>&1 || true
  [[ -d "$work/pg" ]] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$(free_port)
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
state=()
if [[ "$provider" == PostgreSql ]]; then
  [[ -x "$pgbin/pg_ctl" ]] || { echo "PROVIDER=PostgreSql needs Debian's postgresql package" >&2; exit 2; }
  pgport=$(free_port)
  mkdir -p "$work/pg"; head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/pg/pw"; chown -R postgres:postgres "$work/pg"
  runuser -u postgres -- "$pgbin/initdb" -D "$work/pg/data" -U bench --pwfile "$work/pg/pw" -A scram-sha-256 -E UTF8 >/dev/null
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1" start >/dev/null
  echo "Host=127.0.0.1;Port=$pgport;Database=postgres;Username=bench;Password=$(cat "$work/pg/pw")${PG_EXTRA:+;$PG_EXTRA}" > "$work/pg/connection"
  state=(--SmartMail:State:Provider=PostgreSql --SmartMail:State:ConnectionStringFile="$work/pg/connection")
fi
dotnet build -c Release "$checkout/src/SmartMail.Cli" -v q -nologo >/dev/null
cd "$work"
export SMARTMAIL_SmartMail__Mailboxes__0__Password="$pass"  # secrets through the environment, not the command line
/usr/bin/time -f "%e s wall, %M KB peak RSS" dotnet "$checkout/src/SmartMail.Cli/bin/Release/net10.0/smartmail.dll" run \
  --SmartMail:DataDirectory="$work/data" --SmartMail:ModelPath="$checkout/models/default/smartmail-20news.zip" "${state[@]}" \
  --SmartMail:Mailboxes:0:Name=bench --SmartMail:Mailboxes:0:Host=127.0.0.1 --SmartMail:Mailboxes:0:Port="$port" \
  --SmartMail:Mailboxes:0:Security=None --SmartMail:Mailboxes:0:AllowPlaintext=true \
  --SmartMail:Mailboxes:0:Username=bench --SmartMail:Mailboxes:0:BatchSize="${BATCH:-500}" \
  --Logging:LogLevel:SmartMail.Worker.Processing.MailProcessor=Debug 2>&1 | python3 -c '
import re, sys
stages = dict.fromkeys(("fetch", "prepare", "claim", "deliver", "complete"), 0.0); mails = 0
for line in sys.stdin:
    m = re.search(r"Batch of (\d+) in \S+: fetch (\d+) ms, prepare (\d+) ms, claim (\d+) ms, deliver (\d+) ms, complete (\d+) ms", line)
    if m:
        mails += int(m[1])
        for name, value in zip(stages, m.groups()[1:]): stages[name] += float(value)
    elif re.search(r"Mailbox|This run|wall", line):
        print(line, end="")
if mails:  # the stage log (event 2017, Debug) exists from the commit that added it on
    print("Per mail: " + ", ".join(f"{k} {v / mails:.2f} ms" for k, v in stages.items()) + f" (sum {sum(stages.values()) / mails:.2f} ms)")
' 
