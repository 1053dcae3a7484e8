# Shared by deploy/debian/build.sh and deploy/windows/build-zip.sh (sourced, not run): the command line, the version and
# one self-contained publish of the worker and the CLI with the shipped model.
# After `smartmail_build_args DEFAULT_OUT "$@"`: $repo, $out, $version and $model (the default model, relative to $repo).
smartmail_build_args() {
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  out=$1
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) out=$2; shift 2 ;;
      *) echo "usage: $0 [--out DIR]" >&2; exit 2 ;;
    esac
  done
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  version=$(dotnet msbuild "$repo/src/SmartMail.Cli/SmartMail.Cli.csproj" -getProperty:Version | tr -d '[:space:]')
  # The shipped default model, as the CLI names it (src/SmartMail.Cli/DefaultPaths.cs).
  model=$(sed -n 's/.*ModelFile = "\([^"]*\)".*/\1/p' "$repo/src/SmartMail.Cli/DefaultPaths.cs")
  [ -f "$repo/$model" ] || { echo "the default model $model is missing" >&2; exit 1; }
}

# smartmail_publish RID DIR: the worker and the CLI, self-contained for RID, into DIR (they share the runtime and every
# assembly), without appsettings.json (the installation's own is elsewhere), with the shipped model (its folder under models/). A clean Release build
# under a temporary artifacts path: the checkout's own obj/ and bin/ (and a test run using them) are not touched.
smartmail_publish() {
  local rid=$1 dir=$2 exe="" artifacts
  [ "${rid%%-*}" = win ] && exe=.exe
  artifacts=$(mktemp -d)
  for project in SmartMail.Cli SmartMail.Worker; do
    dotnet publish "$repo/src/$project/$project.csproj" -c Release -r "$rid" --self-contained \
      --artifacts-path "$artifacts" -p:DebugType=none -o "$dir" -v q -nologo
  done
  rm -rf "$artifacts"
  [ -f "$dir/smartmail$exe" ] && [ -f "$dir/SmartMail.Worker$exe" ] \
    || { echo "the publish lacks smartmail$exe or SmartMail.Worker$exe" >&2; exit 1; }
  rm -f "$dir/appsettings.json"
  mkdir -p "$dir/models"
  cp -a "$repo/$(dirname "$model")" "$dir/models/"
}
