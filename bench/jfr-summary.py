#!/usr/bin/env python3
"""Summarises `jfr print --json --events jdk.ExecutionSample` (on stdin) for bench/profile.sh.

Per thread: its share of the samples. Then, for the busiest threads: the top frames (where the
CPU was) and the code areas on the stack (inclusive: a sample counts once for every area any of
its frames belongs to), each as a share of that thread's samples.
"""
import collections
import json
import sys

AREAS = [  # (label, prefix of "package.Class"), the first match per frame
    ("raft core", "io.raftkv.raft."),
    ("storage (WAL, snapshots)", "io.raftkv.storage."),
    ("state machine", "io.raftkv.kv."),
    ("peer codec / transport", "io.raftkv.transport."),
    ("server: runtime, requests", "io.raftkv.server."),
    ("Netty HTTP codec", "io.netty.handler.codec.http."),
    ("Netty channel / buffers", "io.netty.channel."),
    ("Netty buffers", "io.netty.buffer."),
    ("Netty event loop / timers", "io.netty.util.concurrent."),
    ("Jackson", "com.fasterxml.jackson."),
    ("JDK NIO (sockets, epoll, files)", "sun.nio."),
    ("JDK CompletableFuture", "java.util.concurrent.CompletableFuture"),
    ("JDK collections", "java.util."),
    ("metrics", "io.micrometer."),
]


def frame_name(f):
    m = f.get("method", {})
    t = m.get("type", {}).get("name", "?")
    return t.replace("/", ".") + "." + m.get("name", "?")


def main():
    events = json.load(sys.stdin)["recording"]["events"]
    per_thread = collections.Counter()
    top = collections.defaultdict(collections.Counter)
    areas = collections.defaultdict(collections.Counter)
    for e in events:
        v = e["values"]
        thread = (v.get("sampledThread") or {}).get("javaName") or (v.get("sampledThread") or {}).get("osName") or "?"
        frames = (v.get("stackTrace") or {}).get("frames") or []
        per_thread[thread] += 1
        if frames:
            top[thread][frame_name(frames[0])] += 1
        seen = set()
        for f in frames:
            n = frame_name(f)
            for label, prefix in AREAS:
                if n.startswith(prefix):
                    seen.add(label)
                    break
        for label in seen:
            areas[thread][label] += 1
    total = sum(per_thread.values())
    print(f"JFR execution samples (Java code running; time blocked in epoll or fsync is not sampled): {total}")
    for thread, n in per_thread.most_common(6):
        print(f"  {thread}: {n} ({100 * n / max(total, 1):.0f}%)")
    for thread, n in per_thread.most_common(3):
        print(f"\n{thread}, top frames (share of its {n} samples):")
        for name, c in top[thread].most_common(12):
            print(f"  {100 * c / n:5.1f}%  {name}")
        print(f"{thread}, code areas on the stack (inclusive):")
        for label, c in areas[thread].most_common():
            print(f"  {100 * c / n:5.1f}%  {label}")


if __name__ == "__main__":
    main()
