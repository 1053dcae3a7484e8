#!/usr/bin/env bash
# Builds the Windows zip smartmail_VERSION_win-x64.zip from this checkout (on Linux or in Git Bash/WSL):
#   deploy/windows/build-zip.sh [--out DIR]        (default DIR: artifacts/windows)
# Inside: program/ (the self-contained win-x64 publish of the worker and the CLI, and the shipped model; no .NET runtime
# needed on the server), install.ps1 (creates the service and the data directory with inheritance removed),
# appsettings.json (the template install.ps1 fills in) and README.txt. Built here; run install.ps1 on Windows.
set -euo pipefail
# shellcheck source=../publish.sh
. "$(dirname "$0")/../publish.sh"
smartmail_build_args "$(cd "$(dirname "$0")/../.." && pwd)/artifacts/windows" "$@"
here="$repo/deploy/windows"
command -v zip >/dev/null || { echo "zip is missing: apt-get install zip" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
top="$stage/smartmail-$version-win-x64"
smartmail_publish win-x64 "$top/program"
sed "s|@MODEL_FILE@|$model|" "$here/appsettings.json" > "$top/appsettings.json" # Windows takes '/' in paths too
cp "$here/install.ps1" "$top/install.ps1"
sed "s/@VERSION@/$version/" "$here/README.txt" > "$top/README.txt"
mkdir -p "$top/monitoring" && cp "$repo"/deploy/monitoring/* "$top/monitoring/"

mkdir -p "$out"
zipfile="$(cd "$out" && pwd)/smartmail_${version}_win-x64.zip"
rm -f "$zipfile"
(cd "$stage" && zip -qr -1 "$zipfile" "$(basename "$top")")
echo "$zipfile"
