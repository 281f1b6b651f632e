#!/usr/bin/env bash
# Failover time: kill -9 the leader of a 3-node cluster of real processes, again and again.
#
# Starts 3 nodes on loopback (ports BASE..BASE+2), then --kills times: waits until all three follow
# one leader and are caught up, kill -9s the leader, sends a put every --interval-ms through the
# two survivors in turn (each attempt independent of the previous ones) until one is acknowledged,
# and restarts the killed node. Prints each kill (time to the first acknowledged put, what the
# attempts before it got, the survivors' role changes from their logs) and the median / min / max.
# Node flags after -- go to every node (e.g. -- --election-min-ms 300 --election-max-ms 500).
#
# Usage: bench/failover.sh [--kills 20] [--interval-ms 20] [--base-port 19000] [--dir DIR] [-- node flags]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
case "${1:-}" in -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
. "$root/bin/find-java.sh"
raftkv_find_java || exit 1
"$root/raftkv" --version >/dev/null   # builds target/raftkv.jar if needed
cd "$root"
exec "$JAVA_HOME/bin/java" -cp "$root/target/raftkv.jar" "$here/Failover.java" "$@"
