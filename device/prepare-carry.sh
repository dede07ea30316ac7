#!/bin/bash
# Builds device/carry/bundle.tgz (git-ignored) for a run on the GPU machine, which has no Java and
# no package registry: a jlink'ed runtime of this machine's JDK >= 22 and the CRIU prefix that
# bin/bootstrap installed in $CRYO_HOME/criu (no second download; bootstrap runs first if needed).
# On the device:
#   tar xzf device/carry/bundle.tgz -C /opt   ->  /opt/cryo-carry/{jre, criu/criu, criu/lib, criu/root}
#   export CRYO_HOME=/opt/cryo-carry          (the same layout as $CRYO_HOME/criu here)
# A device run takes at most 64 MiB along (the working tree included): the bundle stays near 40 MB.
# Usage: device/prepare-carry.sh   (from any directory)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
say() { echo "prepare-carry: $*"; }
die() { echo "prepare-carry: $*" >&2; exit 1; }
. "$root/bin/env.sh"
cryo_find_jdk || die "no JDK 22 or newer (see above)"
[ -x "$JAVA_HOME/bin/jlink" ] || die "$JAVA_HOME has no jlink (a JRE?): set JAVA_HOME to a full JDK >= 22"

# --- the CRIU prefix: it must be self-contained (forky's criu run through its own loader), since
# the device has no CRIU of its own. bin/bootstrap makes one that uses the system's CRIU when that
# works: then a private one is made for the bundle in $CRYO_HOME/carry-home.
self_contained() { [ -f "$1/VERSION" ] && [ -x "$1/root/usr/sbin/criu" ] && grep -q ld-linux "$1/criu" 2>/dev/null; }
src=$CRYO_HOME/criu
if [ ! -f "$src/VERSION" ]; then
  say "no CRIU in $src yet: running bin/bootstrap (CRYO_SKIP_BUILD=1)"
  CRYO_SKIP_BUILD=1 bash "$root/bin/bootstrap"
fi
if ! self_contained "$src"; then
  say "$src runs the system's CRIU: making a private one for the bundle in $CRYO_HOME/carry-home"
  env -u CRYO_CRIU -u CRYO_CRIU_LIB CRYO_HOME="$CRYO_HOME/carry-home" CRYO_CRIU_PRIVATE=1 CRYO_SKIP_BUILD=1 \
    bash "$root/bin/bootstrap"
  src=$CRYO_HOME/carry-home/criu
fi
for f in criu root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 lib/libcriu.so.2 lib/libprotobuf-c.so.1; do
  [ -e "$src/$f" ] || die "$src/$f is missing: remove $src and run bin/bootstrap again"
done

# --- the runtime
modules=java.base,java.logging,java.management,jdk.unsupported,java.xml,jdk.management,java.naming,jdk.attach
have=$("$JAVA_HOME/bin/java" --list-modules | sed 's/@.*//')
missing=""
for m in ${modules//,/ }; do
  grep -qx "$m" <<<"$have" || missing="$missing $m"
done
[ -z "$missing" ] || die "$JAVA_HOME lacks the module(s):$missing"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
c=$work/cryo-carry
mkdir -p "$c/criu"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
  --compress=zip-9 --output "$c/jre" || die "jlink failed"

# --- CRIU: root/, lib/, VERSION and the wrapper, as bootstrap laid them out
cp -a "$src/root" "$src/lib" "$src/VERSION" "$src/criu" "$c/criu/"

# --- does what is packed run here?
"$c/jre/bin/java" -version >/dev/null 2>&1 || die "the jlink'ed runtime does not start"
"$c/criu/criu" --version >/dev/null 2>&1 || die "the packed criu does not start"

out=$root/device/carry
mkdir -p "$out"
tar cf - --owner=0 --group=0 --numeric-owner -C "$work" cryo-carry | gzip -9 > "$out/bundle.tgz.tmp"
mv "$out/bundle.tgz.tmp" "$out/bundle.tgz"
size=$(stat -c %s "$out/bundle.tgz")
say "$out/bundle.tgz: $((size / 1048576)) MiB ($size bytes); JDK $(cryo_java_version "$JAVA_HOME"), CRIU $(sed 's/^Version: //' "$src/VERSION")"
[ "$size" -le $((48 * 1048576)) ] || say "warning: the bundle is over 48 MiB; a device run takes at most 64 MiB along in all"
