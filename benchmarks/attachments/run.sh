#!/bin/sh
# The measured effect of attachment text (issue 16): SIB-200 Danish sentences (7 topics, standing in for departments)
# in PDF, DOCX and ODT attachments of mails whose subject and body say nothing ("Se vedhæftede."). One model is
# trained on train.tsv with attachment text read, one with it off (ExtractionOptions.ReadAttachments = false); both
# are evaluated on test.tsv. Usage: benchmarks/attachments/run.sh [path/to/sib200_danish]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${1:-$root/../shared/data/sib200_danish}
dotnet build -c Release "$root/benchmarks/SmartMail.Benchmarks" -v quiet -nologo >/dev/null
exec nice -n 10 dotnet "$root/benchmarks/SmartMail.Benchmarks/bin/Release/net10.0/SmartMail.Benchmarks.dll" attachments "$data"
