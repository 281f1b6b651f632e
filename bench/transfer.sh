#!/usr/bin/env bash
# Leadership transfer vs leader kill, as a client sees it, on a 3-node cluster of real processes.
#
# Starts 3 nodes on loopback (ports BASE..BASE+2) and one writer (puts back to back, with a session),
# then --rounds times: asks for a transfer to the next node (POST /transfer-leader through a
# follower), and kill -9s the leader (restarting it after). Each event's unavailability is the
# longest gap between two acknowledged puts in the 3 s after it. Prints each event and the
# median / max per kind. Node flags after -- go to every node.
#
# Usage: bench/transfer.sh [--rounds 10] [--base-port 19100] [--dir DIR] [-- node flags]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
case "${1:-}" in -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
. "$root/bin/find-java.sh"
raftkv_find_java || exit 1
"$root/raftkv" --version >/dev/null   # builds target/raftkv.jar if needed
cd "$root"
exec "$JAVA_HOME/bin/java" -cp "$root/target/raftkv.jar" "$here/Transfer.java" "$@"
