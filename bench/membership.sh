#!/usr/bin/env bash
# Membership changes on real processes: a learner catching up with --keys keys, and leader removals under load.
#
# Starts 3 nodes on loopback (ports BASE..), loads --keys keys (transactions of 100 puts), starts
# node 3 with -join and times it until GET /members says it caught up and until it has applied
# everything; then, with one writer putting back to back, --rounds times adds a fresh node,
# promotes it and removes the leader, measuring the longest gap between two acknowledged puts in
# the 3 s after the removal.
#
# Usage: bench/membership.sh [--keys 100000] [--rounds 3] [--base-port 19300] [--dir DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
case "${1:-}" in -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
. "$root/bin/find-java.sh"
raftkv_find_java || exit 1
"$root/raftkv" --version >/dev/null   # builds target/raftkv.jar if needed
cd "$root"
exec "$JAVA_HOME/bin/java" -cp "$root/target/raftkv.jar" "$here/Membership.java" "$@"
