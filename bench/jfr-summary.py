#!/usr/bin/env python3
"""Summarises a JFR recording for bench/profile.sh, from
`jfr print --json --events jdk.ExecutionSample,jdk.NativeMethodSample,jdk.GCPhasePause` on stdin.

JFR's "profile" settings sample each thread running Java code every 10 ms (ExecutionSample) and
each thread inside a native method every 20 ms (NativeMethodSample: a system call, or blocked
waiting in one such as epoll_wait). So a Java sample stands for about 10 ms of the thread's
time and a native one for about 20 ms; the summary gives each thread's estimated seconds in Java
and in native methods (by method: epoll waits are idle time, reads/writes are system calls), then
for the busiest threads the Java time by top frame and by code area on the stack (inclusive: a
sample counts once for every area any of its frames belongs to), and the GC pauses.
"""
import collections
import json
import sys

JAVA_MS, NATIVE_MS = 10, 20

AREAS = [  # (label, prefix of "package.Class"), the first match per frame
    ("raft core", "io.raftkv.raft."),
    ("storage (WAL, snapshots)", "io.raftkv.storage."),
    ("state machine", "io.raftkv.kv."),
    ("node runtime", "io.raftkv.node."),
    ("peer codec / transport", "io.raftkv.transport."),
    ("server: requests, handoff", "io.raftkv.server."),
    ("Netty HTTP codec", "io.netty.handler.codec.http."),
    ("Netty channel pipeline / socket I/O", "io.netty.channel."),
    ("Netty buffers", "io.netty.buffer."),
    ("Netty tasks / timers", "io.netty.util.concurrent."),
    ("Jackson", "com.fasterxml.jackson."),
    ("JDK NIO (sockets, selector, files)", "sun.nio."),
    ("JDK CompletableFuture", "java.util.concurrent.CompletableFuture"),
    ("metrics", "io.micrometer."),
]


def frame_name(f):
    m = f.get("method", {})
    t = m.get("type", {}).get("name", "?")
    return t.replace("/", ".") + "." + m.get("name", "?")


def short(name):
    parts = name.split(".")
    return ".".join(parts[-2:])


def duration_ms(d):
    """A JFR duration as printed in JSON ("PT0.0123S", or a number of nanoseconds) in ms."""
    if isinstance(d, (int, float)):
        return d / 1e6
    if isinstance(d, str) and d.startswith("PT") and d.endswith("S"):
        return float(d[2:-1]) * 1000
    return 0.0


def main():
    events = json.load(sys.stdin)["recording"]["events"]
    java = collections.Counter()
    native = collections.defaultdict(collections.Counter)
    top = collections.defaultdict(collections.Counter)
    areas = collections.defaultdict(collections.Counter)
    pauses = []
    for e in events:
        v = e["values"]
        kind = e.get("type")
        if kind == "jdk.GCPhasePause":
            pauses.append(duration_ms(v.get("duration")))
            continue
        t = v.get("sampledThread") or {}
        thread = t.get("javaName") or t.get("osName") or "?"
        frames = (v.get("stackTrace") or {}).get("frames") or []
        if kind == "jdk.NativeMethodSample":
            native[thread][short(frame_name(frames[0])) if frames else "?"] += 1
            continue
        java[thread] += 1
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
    if pauses:
        pauses.sort()
        print(f"GC pauses: {len(pauses)}, {sum(pauses):.0f} ms in all, median {pauses[len(pauses) // 2]:.1f} ms,"
              f" longest {pauses[-1]:.1f} ms")
    print(f"JFR samples per thread, as estimated seconds (a Java sample ~{JAVA_MS} ms, a native one ~{NATIVE_MS} ms):")
    threads = sorted(set(java) | set(native), key=lambda th: -(java[th] * JAVA_MS + sum(native[th].values()) * NATIVE_MS))
    for th in threads[:6]:
        nat = native[th]
        waits = sum(c for m, c in nat.items() if m.endswith(".wait") or "epoll" in m.lower())
        calls = sum(nat.values()) - waits
        detail = ", ".join(f"{m} {c * NATIVE_MS / 1000:.2f}" for m, c in nat.most_common(4))
        print(f"  {th}: Java {java[th] * JAVA_MS / 1000:.2f} s; native calls {calls * NATIVE_MS / 1000:.2f} s;"
              f" waiting in epoll {waits * NATIVE_MS / 1000:.2f} s ({detail})")
    for th in sorted(java, key=lambda x: -java[x])[:2]:
        n = java[th]
        print(f"\n{th}: its Java time by top frame (share of {n} samples):")
        for name, c in top[th].most_common(10):
            print(f"  {100 * c / n:5.1f}%  {name}")
        print(f"{th}: by code area on the stack (inclusive):")
        for label, c in areas[th].most_common():
            print(f"  {100 * c / n:5.1f}%  {label}")


if __name__ == "__main__":
    main()
