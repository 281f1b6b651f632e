#!/usr/bin/env python3
"""Loads N keys into raftkv or etcd through their HTTP JSON APIs, 128 puts per transaction (etcd's
default --max-txn-ops, raftkv's limit), from several connections at once. Keys are
key-000000000000 .. (16 bytes), as bench/wrk/common.lua names them above 100,000 keys; values are
"v" * --value-bytes (up to 100,000 keys: key-00000 .., as common.lua names those). Used by bench/compare-etcd.sh for large data sets (--keys above 100,000).

  bench/load-keys.py --system raftkv --url http://127.0.0.1:18000 --url http://127.0.0.1:18001 ... --keys 10000000
  bench/load-keys.py --system etcd --url http://127.0.0.1:12379 --keys 10000000 [--cacert ca.pem]

Prints one JSON line: keys, seconds, keys per second, retries. Exits 1 on the first refused
transaction, or one still refused after 60 s of retries.
"""
import argparse
import base64
import http.client
import json
import ssl
import sys
import threading
import time
import urllib.parse

BATCH = 128


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--system", choices=["raftkv", "etcd"], required=True)
    ap.add_argument("--url", required=True, action="append",
                    help="a node's client URL (repeat for every node: after a 503 or a lost connection the next is tried)")
    ap.add_argument("--keys", type=int, required=True)
    ap.add_argument("--value-bytes", type=int, default=64)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--cacert", help="CA file for https")
    a = ap.parse_args()
    if a.keys < 1 or a.value_bytes < 1 or a.connections < 1:
        ap.error("--keys, --value-bytes and --connections must be >= 1")
    urls = [urllib.parse.urlparse(u) for u in a.url]
    value = "v" * a.value_bytes
    name = "key-%012d" if a.keys > 100000 else "key-%05d"  # as bench/wrk/common.lua names them
    batches = (a.keys + BATCH - 1) // BATCH
    next_batch = [0]
    lock = threading.Lock()
    failure = []
    retries = [0]

    def body(batch):
        keys = [name % i for i in range(batch * BATCH, min(a.keys, (batch + 1) * BATCH))]
        if a.system == "raftkv":
            return "/txn", json.dumps({"success": [{"op": "put", "key": k, "value": value} for k in keys]})
        v = base64.b64encode(value.encode()).decode()
        return "/v3/kv/txn", json.dumps({"success": [
            {"request_put": {"key": base64.b64encode(k.encode()).decode(), "value": v}} for k in keys]})

    def connect(n):
        url = urls[n % len(urls)]
        if url.scheme == "https":
            ctx = ssl.create_default_context(cafile=a.cacert)
            return http.client.HTTPSConnection(url.hostname, url.port, context=ctx, timeout=30)
        return http.client.HTTPConnection(url.hostname, url.port, timeout=30)

    def worker():
        node = 0
        conn = connect(node)
        while not failure:
            with lock:
                batch = next_batch[0]
                next_batch[0] += 1
            if batch >= batches:
                return
            path, data = body(batch)
            # A 503 (no leader, a limit) or a lost connection: the next node, for up to 60 s. A put
            # applied twice writes the same value: a resend is harmless here.
            deadline = time.time() + 60
            while True:
                try:
                    conn.request("POST", path, data, {"Content-Type": "application/json"})
                    r = conn.getresponse()
                    answer = r.read()
                    if r.status == 200:
                        break
                    if r.status != 503 or time.time() > deadline:
                        failure.append("batch %d: HTTP %d %s" % (batch, r.status, answer[:300]))
                        return
                    retries[0] += 1
                except (OSError, http.client.HTTPException) as e:
                    if time.time() > deadline:
                        failure.append("batch %d: %s" % (batch, e))
                        return
                    retries[0] += 1
                conn.close()
                node += 1
                conn = connect(node)
                time.sleep(0.2)

    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(a.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.time() - t0
    if failure:
        print("load-keys: " + failure[0], file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"keys": a.keys, "seconds": round(secs, 1), "keys_per_second": round(a.keys / secs),
                      "retries": retries[0]}))


if __name__ == "__main__":
    main()
