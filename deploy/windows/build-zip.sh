#!/usr/bin/env bash
# Builds the Windows zip smartmail_VERSION_win-x64.zip from this checkout (on Linux or in Git Bash/WSL):
#   deploy/windows/build-zip.sh [--out DIR]        (default DIR: artifacts/windows)
# Inside: program/ (the self-contained win-x64 publish of the worker and the CLI, and the shipped model; no .NET runtime
# needed on the server), install.ps1 (creates the service and the data directory with inheritance removed),
# appsettings.json (the template install.ps1 fills in) and README.txt. Built here; run install.ps1 on Windows.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/deploy/windows"
out="$repo/artifacts/windows"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--out DIR]" >&2; exit 2 ;;
  esac
done
command -v zip >/dev/null || { echo "zip is missing: apt-get install zip" >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

version=$(dotnet msbuild "$repo/src/SmartMail.Cli/SmartMail.Cli.csproj" -getProperty:Version | tr -d '[:space:]')
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
top="$stage/smartmail-$version-win-x64"
mkdir -p "$top/program"
for project in SmartMail.Cli SmartMail.Worker; do
  dotnet publish "$repo/src/$project/$project.csproj" -c Release -r win-x64 --self-contained \
    -p:DebugType=none -o "$top/program" -v q -nologo
done
[ -f "$top/program/smartmail.exe" ] && [ -f "$top/program/SmartMail.Worker.exe" ] \
  || { echo "the publish lacks smartmail.exe or SmartMail.Worker.exe" >&2; exit 1; }
rm -f "$top/program/appsettings.json" # install.ps1 writes it from the template, and never over an existing one
mkdir -p "$top/program/models"
cp -a "$repo/models/default" "$top/program/models/"
model=$(sed -n 's/.*ModelFile = "\([^"]*\)".*/\1/p' "$repo/src/SmartMail.Cli/DefaultPaths.cs")
[ -f "$repo/$model" ] || { echo "the default model $model is missing" >&2; exit 1; }
sed "s|@MODEL_FILE@|$model|" "$here/appsettings.json" > "$top/appsettings.json" # Windows takes '/' in paths too
cp "$here/install.ps1" "$top/install.ps1"
sed "s/@VERSION@/$version/" "$here/README.txt" > "$top/README.txt"
mkdir -p "$top/monitoring" && cp "$repo"/deploy/monitoring/* "$top/monitoring/"

mkdir -p "$out"
zipfile="$(cd "$out" && pwd)/smartmail_${version}_win-x64.zip"
rm -f "$zipfile"
(cd "$stage" && zip -qr -1 "$zipfile" "$(basename "$top")")
echo "$zipfile"
