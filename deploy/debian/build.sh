#!/usr/bin/env bash
# Builds the Debian package smartmail_VERSION_amd64.deb from this checkout, with one command:
#   deploy/debian/build.sh [--out DIR]        (default DIR: artifacts/debian)
# Needs the .NET 10 SDK and dpkg-deb; not root (file owners in the package are set by dpkg-deb --root-owner-group).
# Layout: /opt/smartmail (the self-contained linux-x64 publish of the worker and the CLI, and the shipped model),
# /usr/bin/smartmail -> /opt/smartmail/smartmail, /etc/smartmail/appsettings.json (a conffile),
# /lib/systemd/system/smartmail.service (deploy/systemd/smartmail.service), /usr/share/smartmail/monitoring.
# The maintainer scripts make the system user `smartmail` and /var/lib/smartmail (0700); see docs/operations.md.
set -euo pipefail
# shellcheck source=../publish.sh
. "$(dirname "$0")/../publish.sh"
smartmail_build_args "$(cd "$(dirname "$0")/../.." && pwd)/artifacts/debian" "$@"
here="$repo/deploy/debian"
command -v dpkg-deb >/dev/null || { echo "dpkg-deb is missing: apt-get install dpkg" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/smartmail_${version}_amd64"
mkdir -p "$root/opt/smartmail" "$root/DEBIAN"

# 1. The program: worker and CLI published into one folder, the shipped model, the command on the PATH.
smartmail_publish linux-x64 "$root/opt/smartmail"
mkdir -p "$root/usr/bin"
ln -s /opt/smartmail/smartmail "$root/usr/bin/smartmail"

# 2. Configuration, unit, monitoring files, documentation.
install -d -m 0750 "$root/etc/smartmail"
sed "s|@MODEL@|/opt/smartmail/$model|" "$here/appsettings.json" > "$root/etc/smartmail/appsettings.json"
chmod 0640 "$root/etc/smartmail/appsettings.json"
install -D -m 0644 "$repo/deploy/systemd/smartmail.service" "$root/lib/systemd/system/smartmail.service"
for f in "$repo"/deploy/monitoring/*; do install -D -m 0644 "$f" "$root/usr/share/smartmail/monitoring/$(basename "$f")"; done
install -D -m 0644 "$repo/docs/operations.md" "$root/usr/share/doc/smartmail/operations.md"
install -D -m 0644 "$repo/docs/samples/appsettings.full.json" "$root/usr/share/doc/smartmail/examples/appsettings.full.json"

# 3. Package metadata and maintainer scripts.
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" "$here/control" > "$root/DEBIAN/control"
install -m 0644 "$here/conffiles" "$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do install -m 0755 "$here/$script" "$root/DEBIAN/$script"; done

mkdir -p "$out"
deb="$out/smartmail_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zxz -z1 --build "$root" "$deb" >/dev/null
echo "$deb"
