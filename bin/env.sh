# Sourced (not run) by Cryo's scripts: bin/bootstrap, bin/cryo, bin/test, bin/demo,
# device/prepare-carry.sh. It
#  - defines cryo_find_jdk, which picks a JDK >= 22 (FFM is final from 22), exports JAVA_HOME and
#    puts $JAVA_HOME/bin first in PATH, and runs it once, quietly (call it again to get the error
#    message and status when there is no such JDK);
#  - exports CRYO_HOME (default ~/.cryo) and, once bin/bootstrap has installed CRIU into
#    $CRYO_HOME/criu, CRYO_CRIU and CRYO_CRIU_LIB (a value the user set is kept).
# It sets no shell options and prints nothing, except cryo_find_jdk's message when it finds no JDK.

# cryo_java_version HOME: prints the version of the JDK in HOME (25.0.3, 17.0.15, 1.8.0_412), read
# from HOME/release, else from `HOME/bin/java -version`; returns 1 when there is none.
cryo_java_version() {
  cryo_read_java_version "$1" || return 1
  echo "$cryo_java_version_read"
}

# cryo_java_feature HOME: prints the feature version of the JDK in HOME (25, 17; 8 for 1.8.0).
cryo_java_feature() {
  cryo_read_java_feature "$1" || return 1
  echo "$cryo_java_feature_read"
}

# cryo_read_java_version HOME, cryo_read_java_feature HOME: as cryo_java_version and
# cryo_java_feature, into the variables cryo_java_version_read and cryo_java_feature_read. They
# start no process when HOME/release says (bin/cryo runs them on every restore's path, where each
# process started costs milliseconds).
cryo_read_java_version() {
  local line v=""
  cryo_java_version_read=""
  if [ -f "$1/release" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      case $line in JAVA_VERSION=\"*) v=${line#JAVA_VERSION=\"}; v=${v%%\"*}; break ;; esac
    done < "$1/release" 2>/dev/null
  fi
  if [ -z "$v" ] && [ -x "$1/bin/java" ]; then
    v=$("$1/bin/java" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | sed -n 1p)
  fi
  [ -n "$v" ] || return 1
  cryo_java_version_read=$v
}

cryo_read_java_feature() {
  local v
  cryo_java_feature_read=""
  cryo_read_java_version "$1" || return 1
  v=$cryo_java_version_read
  case $v in 1.*) v=${v#1.} ;; esac
  v=${v%%[!0-9]*}
  [ -n "$v" ] || return 1
  cryo_java_feature_read=$v
}

# cryo_real_path PATH: PATH made absolute, without . and .. and with its symbolic links resolved,
# into the variable cryo_real_path_read (readlink -f's answer). Starts readlink only when a
# component of PATH is a symbolic link.
cryo_real_path() {
  local p=$1 part out="" rest
  case $p in /*) ;; *) p=$PWD/$p ;; esac
  rest=$p/
  while [ -n "$rest" ]; do
    part=${rest%%/*}; rest=${rest#*/}
    case $part in
      ''|.) ;;
      ..) out=${out%/*} ;;
      *) out=$out/$part
         if [ -L "$out" ]; then
           cryo_real_path_read=$(readlink -f "$1") || cryo_real_path_read=$1
           return 0
         fi ;;
    esac
  done
  cryo_real_path_read=${out:-/}
}

# cryo_find_jdk: the first of $JAVA_HOME, the `java` on PATH, and the newest JDK under
# /usr/lib/jvm (then /opt/java, /opt/cryo-carry/jre: the device bundle) that is >= 22.
cryo_find_jdk() {
  local home full v best="" bestfull="" seen="" visited=" "
  # Found before in this shell, and JAVA_HOME still names it: bin/cryo asks again after env.sh did.
  if [ -n "${JAVA_HOME:-}" ] && [ "$JAVA_HOME" = "${cryo_jdk_found:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    return 0
  fi
  if [ -n "${JAVA_HOME:-}" ] && [ -x "${JAVA_HOME%/}/bin/java" ]; then
    cryo_real_path "${JAVA_HOME%/}"; home=$cryo_real_path_read
    visited="$visited$home "
    cryo_read_java_feature "$home" && v=$cryo_java_feature_read || v=""
    if [ -n "$v" ] && [ "$v" -ge 22 ]; then
      best=$home
    else
      seen="$seen${seen:+, }$(cryo_java_version "$home" || echo '?') in $home (JAVA_HOME)"
    fi
  elif [ -n "${JAVA_HOME:-}" ]; then
    seen="no java in JAVA_HOME=$JAVA_HOME"
  fi
  if [ -z "$best" ] && hash java 2>/dev/null; then
    cryo_real_path "${BASH_CMDS[java]}"; home=${cryo_real_path_read%/bin/java} # where `hash` found it
    case $visited in *" $home "*) ;; *)
      visited="$visited$home "
      cryo_read_java_feature "$home" && v=$cryo_java_feature_read || v=""
      if [ -n "$v" ] && [ "$v" -ge 22 ]; then
        best=$home
      else
        seen="$seen${seen:+, }$(cryo_java_version "$home" || echo '?') in $home (java on PATH)"
      fi ;;
    esac
  fi
  if [ -z "$best" ]; then
    for home in /usr/lib/jvm/* /opt/java/* /opt/cryo-carry/jre; do
      [ -x "$home/bin/java" ] || continue
      home=$(readlink -f "$home")
      case $visited in *" $home "*) continue ;; esac
      visited="$visited$home "
      full=$(cryo_java_version "$home") || continue
      v=$(cryo_java_feature "$home") || continue
      if [ "$v" -ge 22 ]; then
        if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$bestfull" "$full" | sort -V | sed -n 2p)" = "$full" ] \
             && [ "$full" != "$bestfull" ]; then
          best=$home bestfull=$full
        fi
      else
        seen="$seen${seen:+, }$full in $home"
      fi
    done
  fi
  if [ -z "$best" ]; then
    echo "Cryo needs a JDK 22 or newer (the Foreign Function & Memory API is final from 22); found: ${seen:-no JDK at all}." >&2
    echo "Install one (e.g. apt-get install openjdk-25-jdk, or Temurin 25 from adoptium.net) or set JAVA_HOME." >&2
    return 1
  fi
  export JAVA_HOME=$best
  case ":$PATH:" in
    ":$JAVA_HOME/bin:"*) ;;
    *) export PATH="$JAVA_HOME/bin:$PATH" ;;
  esac
  # Maven's own guava warns about sun.misc.Unsafe on JDK >= 24: noise in our logs. (The option
  # exists from JDK 23 only: never pass it to an older one, which would refuse to start.)
  cryo_read_java_feature "$JAVA_HOME" && v=$cryo_java_feature_read || v=0
  if [ "$v" -ge 24 ]; then
    case " ${MAVEN_OPTS:-} " in
      *" --sun-misc-unsafe-memory-access="*) ;;
      *) export MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }--sun-misc-unsafe-memory-access=allow" ;;
    esac
  fi
  cryo_jdk_found=$JAVA_HOME
  return 0
}

# cryo_launcher_java ROOT: sets the array CRYO_LAUNCHER_JAVA to the java command line that starts
# the launcher (bin/cryo). It is on every restore's path, so it starts lean (client compiler, serial
# GC, no perf file) and, on JDK 25+, from the AOT cache bin/bootstrap trained (classes loaded and
# linked ahead of time), when that cache is newer than the launcher's jar. CRYO_LAUNCHER_AOT is
# where that cache lives; CRYO_NO_AOT=1 leaves it out. (No -XX:+AutoCreateSharedArchive: JDK 25 records no
# --enable-native-access in it and then rejects it with errors on every later start.)
# ROOT is a built clone (lib-core/target) or an unpacked distribution (lib/cryo-core.jar).
cryo_launcher_java() {
  local jar=$1/lib-core/target/cryo-core.jar cp="$1/lib-core/target/cryo-core.jar:$1/lib-core/target/lib/*" v
  if [ -f "$1/lib/cryo-core.jar" ]; then jar=$1/lib/cryo-core.jar cp="$1/lib/*"; fi
  cryo_read_java_version "$JAVA_HOME" 2>/dev/null && v=$cryo_java_version_read || v=unknown
  CRYO_LAUNCHER_AOT="$CRYO_HOME/aot/launcher-$v.aot"
  CRYO_LAUNCHER_JAVA=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1
    -XX:+UseSerialGC -XX:-UsePerfData -Xss512k)
  if [ "${CRYO_NO_AOT:-0}" != 1 ] && [ -f "$CRYO_LAUNCHER_AOT" ] && [ "$CRYO_LAUNCHER_AOT" -nt "$jar" ]; then
    CRYO_LAUNCHER_JAVA+=("-XX:AOTCache=$CRYO_LAUNCHER_AOT")
  fi
  CRYO_LAUNCHER_JAVA+=(-cp "$cp" dev.cryo.internal.launch.Launcher)
}

export CRYO_HOME="${CRYO_HOME:-${HOME:-$(cd ~ 2>/dev/null && pwd || echo /root)}/.cryo}"
if [ -x "$CRYO_HOME/criu/criu" ]; then
  export CRYO_CRIU="${CRYO_CRIU:-$CRYO_HOME/criu/criu}"
  export CRYO_CRIU_LIB="${CRYO_CRIU_LIB:-$CRYO_HOME/criu/lib/libcriu.so.2}"
fi

cryo_find_jdk 2>/dev/null || :
