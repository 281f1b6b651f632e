#!/usr/bin/env python3
# Writes/s through minority partitions as an outside client sees them (issue 15 §4): 8 clients,
# each put to a random node with a 2 s timeout, next to a running `raftkv chaos --faults partition`
# whose chaos.log gives the partition windows. Prints acknowledged writes/s and the answers by kind
# during partitions holding the leader, partitions without it, and without a fault.
#
# Usage (root, iptables): start chaos, then this on the same port and folder, e.g.
#   java -jar target/raftkv.jar chaos --nodes 5 --clients 2 --faults partition --duration 60s \
#        --port 9481 --client-timeout 2s --seed 22 --dir /tmp/rchaos &
#   bench/partition-load.py 9481 /tmp/rchaos 58
import json, random, sys, threading, time, urllib.request, urllib.error, os
port, chaos_dir, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
nodes = [f"127.0.0.{i}:{port}" for i in range(2, 7)]
log = os.path.join(chaos_dir, "chaos.log")
while not (os.path.exists(log) and "leader" in open(log).read()): time.sleep(0.05)
events, results, lock = [], [], threading.Lock()
stop = time.monotonic() + seconds
def tail():
    seen = 0
    while time.monotonic() < stop + 1:
        lines = open(log).read().splitlines()
        for l in lines[seen:]:
            if "] fault" in l or "] heal" in l: events.append((time.monotonic(), l))
        seen = len(lines); time.sleep(0.05)
def client(c):
    n = 0
    while time.monotonic() < stop:
        n += 1
        body = json.dumps({"key": f"r{c}", "value": str(n)}).encode()
        req = urllib.request.Request(f"http://{random.choice(nodes)}/put", data=body, headers={"Content-Type": "application/json"})
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=2) as r: kind = "ok"
        except urllib.error.HTTPError as e:
            b = e.read().decode(errors="replace"); kind = f"{e.code}" + (" noLeaderReachable" if "noLeaderReachable" in b else "")
        except Exception as e:
            kind = "timeout" if "timed out" in str(e) else "error"
        with lock: results.append((time.monotonic(), kind))
threads = [threading.Thread(target=tail)] + [threading.Thread(target=client, args=(c,)) for c in range(8)]
start = time.monotonic()
for t in threads: t.start()
for t in threads: t.join()
wins, cur = [], None
for t, l in events:
    if "] fault" in l: cur = (t, "holding the leader" if "leader is in the minority" in l else "without the leader")
    elif "] heal" in l and cur: wins.append((cur[0], t, cur[1])); cur = None
def summarize(name, spans):
    secs = sum(b - a for a, b in spans)
    rs = [k for t, k in results if any(a <= t < b for a, b in spans)]
    kinds = {}
    for k in rs: kinds[k] = kinds.get(k, 0) + 1
    print(f"  {name}: {secs:.1f} s, {kinds.get('ok', 0) / secs if secs else 0:.0f} acknowledged writes/s; {dict(sorted(kinds.items()))}")
for kind in ("holding the leader", "without the leader"):
    summarize(f"minority partition {kind} ({sum(1 for w in wins if w[2] == kind)}x)", [(a, b) for a, b, k in wins if k == kind])
normal, t = [], start
for a, b, k in sorted(wins):
    if a > t: normal.append((t, a))
    t = max(t, b)
if stop > t: normal.append((t, stop))
summarize("no fault", normal)
