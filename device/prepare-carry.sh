#!/bin/bash
# Builds device/carry/bundle.tgz for a GPU-machine run (no Java there): a jlink'ed JDK runtime and
# the CRIU prefix bin/bootstrap installed. On the device: tar xzf device/carry/bundle.tgz -C /opt
# gives /opt/cryo-carry/{jre,criu/criu,criu/lib,criu/root}; CRYO_HOME=/opt/cryo-carry finds CRIU.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$root/bin/env.sh"
cryo_find_jdk
[ -f "$CRYO_HOME/criu/VERSION" ] || CRYO_SKIP_BUILD=1 bash "$root/bin/bootstrap"
out=$root/device/carry
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/cryo-carry" "$out"
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,jdk.unsupported,java.xml,java.naming \
  --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output "$work/cryo-carry/jre"
cp -a "$CRYO_HOME/criu" "$work/cryo-carry/criu"
tar czf "$out/bundle.tgz" -C "$work" cryo-carry
ls -la "$out/bundle.tgz"
