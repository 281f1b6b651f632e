#!/usr/bin/env bash
# JMH micro-benchmarks (BENCHMARKS.md, "Micro-benchmarks (JMH)"): picks a JDK >= 21, builds
# target/benchmarks.jar with the jmh profile (in target/jmh-build; the default build is not
# touched), then runs it. Every argument goes to JMH, e.g.
#   bench/jmh.sh -l                                     list the benchmarks
#   bench/jmh.sh -f 1 -wi 2 -w 1s -i 3 -r 1s RaftStep   a short run of one benchmark (a regex)
#   bench/jmh.sh -p fsync=true WalAppend                one parameter value only
#   bench/jmh.sh -h                                     JMH's options
set -euo pipefail
cd "$(dirname "$0")/.."
. bin/find-java.sh
raftkv_find_java
./mvnw -q -B -Pjmh -DskipTests package
exec "$JAVA_HOME/bin/java" -jar target/benchmarks.jar "$@"
