# Sourced by Cryo's scripts: picks a JDK >= 22 and finds the CRIU that bin/bootstrap installs.
# Prints nothing unless something is missing.

cryo_java_feature() { # JAVA_HOME -> feature version (17, 25, ...) or nothing
  local rel="$1/release" v
  [ -f "$rel" ] || return 1
  v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel")
  [ "$v" = 1 ] && v=8
  [ -n "$v" ] && echo "$v"
}

cryo_find_jdk() {
  local seen="" home v best="" bestv=0
  if [ -n "${JAVA_HOME:-}" ] && v=$(cryo_java_feature "$JAVA_HOME") && [ "$v" -ge 22 ]; then
    best=$JAVA_HOME
  else
    [ -n "${JAVA_HOME:-}" ] && seen="$seen $JAVA_HOME(${v:-?})"
    if command -v java >/dev/null 2>&1; then
      home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
      if v=$(cryo_java_feature "$home") && [ "$v" -ge 22 ]; then best=$home; else seen="$seen $home(${v:-?})"; fi
    fi
    if [ -z "$best" ]; then
      for home in /usr/lib/jvm/*/ /opt/java/*/ /opt/cryo-carry/jre/; do
        home=${home%/}
        [ -x "$home/bin/java" ] || continue
        v=$(cryo_java_feature "$home") || continue
        if [ "$v" -ge 22 ] && [ "$v" -gt "$bestv" ]; then best=$home; bestv=$v; else seen="$seen $home($v)"; fi
      done
    fi
  fi
  if [ -z "$best" ]; then
    echo "Cryo needs a JDK 22 or newer (the Foreign Function & Memory API is final from 22); found:${seen:- none}." >&2
    echo "Install one (Debian/Ubuntu: apt-get install openjdk-25-jdk, or Temurin 25) or set JAVA_HOME." >&2
    return 1
  fi
  export JAVA_HOME=$best
  export PATH="$JAVA_HOME/bin:$PATH"
}

export CRYO_HOME=${CRYO_HOME:-$HOME/.cryo}
if [ -x "$CRYO_HOME/criu/criu" ]; then
  export CRYO_CRIU=${CRYO_CRIU:-$CRYO_HOME/criu/criu}
  export CRYO_CRIU_LIB=${CRYO_CRIU_LIB:-$CRYO_HOME/criu/lib/libcriu.so.2}
fi

# Maven's own guava warns on JDK >= 24 about sun.misc.Unsafe; the warnings are noise in our logs.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
