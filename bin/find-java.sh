# Sourced by ./raftkv and .ci/run: sets JAVA_HOME to a JDK >= 21, or fails with a clear message.
# Order: $JAVA_HOME, `java` on PATH, then every JDK under the folders of $RAFTKV_JVM_DIRS
# (colon-separated, newest first; default /usr/lib/jvm; set it empty to look at no such folder).
raftkv_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}
raftkv_find_java() {
  local candidates=() rejected=() dirs=() c d major where="java on PATH"
  local jvm_dirs="${RAFTKV_JVM_DIRS-/usr/lib/jvm}"
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  IFS=: read -r -a dirs <<<"$jvm_dirs"
  for d in "${dirs[@]}"; do
    [ -n "$d" ] || continue
    where="$where, $d/*"
    for c in $(ls -d "$d"/*/ 2>/dev/null | sort -rV); do candidates+=("${c%/}"); done
  done
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    major=$(raftkv_java_major "$c")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then
      export JAVA_HOME="$c"
      return 0
    fi
    rejected+=("$c (Java ${major:-of unknown version})")
  done
  echo "raftkv: no JDK 21 or newer found (looked at \$JAVA_HOME${JAVA_HOME:+ ($JAVA_HOME)}, $where)." >&2
  if [ ${#rejected[@]} -gt 0 ]; then
    echo "raftkv: not usable: ${rejected[*]}" >&2
  fi
  echo "raftkv: install one (e.g. 'apt-get install openjdk-21-jdk' or a Temurin 21+) or set JAVA_HOME to it." >&2
  return 1
}
