#!/usr/bin/env python3
"""Load generator for `flanvk serve` (scripts/bench_serve.sh starts the server): for each
concurrency C, C client threads each send completions back to back (greedy, fixed length with
ignore_eos) until `requests` have been answered; prints generated tokens/s over the wall time and
the p50 / p99 request latency, one line per C (and JSON lines with --json)."""
import argparse
import http.client
import json
import threading
import time

WORDS = ("translate to german summarize the following article about rivers owls foxes and the "
         "weather in a city near the sea answer the question briefly").split()


def prompt(i, n):
    return " ".join(WORDS[(i + k) % len(WORDS)] for k in range(n))


def run(port, conc, requests, max_tokens, prompt_words):
    lat, toks, lock = [], [0], threading.Lock()
    left = [requests]

    def client(cid):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while True:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
                i = left[0]
            body = json.dumps({"prompt": prompt(i, prompt_words), "max_tokens": max_tokens, "temperature": 0,
                               "ignore_eos": True}).encode()
            t0 = time.time()
            c.request("POST", "/v1/completions", body=body, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            js = json.loads(r.read())
            dt = time.time() - t0
            if r.status != 200:
                raise SystemExit("HTTP %d: %s" % (r.status, js))
            with lock:
                lat.append(dt)
                toks[0] += js["usage"]["completion_tokens"]
        c.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(conc)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]

    return {"concurrency": conc, "requests": len(lat), "generated_tokens": toks[0], "wall_s": round(wall, 3),
            "tokens_per_s": round(toks[0] / wall, 2), "p50_s": round(pct(50), 3), "p99_s": round(pct(99), 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--concurrency", default="1,4,16")
    ap.add_argument("--requests-per-client", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--prompt-words", type=int, default=16)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    run(a.port, 1, 1, 4, a.prompt_words)  # warm the server's first shapes
    base = None
    for c in [int(x) for x in a.concurrency.split(",")]:
        r = run(a.port, c, max(2, c * a.requests_per_client), a.max_tokens, a.prompt_words)
        base = base or r["tokens_per_s"]
        r["vs_concurrency_1"] = round(r["tokens_per_s"] / base, 2)
        if a.json:
            print(json.dumps(r), flush=True)
        else:
            print("concurrency %3d: %3d requests, %5d tokens in %6.2f s: %7.1f generated tokens/s (%.2fx), latency p50 %.2f s, p99 %.2f s"
                  % (c, r["requests"], r["generated_tokens"], r["wall_s"], r["tokens_per_s"], r["vs_concurrency_1"],
                     r["p50_s"], r["p99_s"]), flush=True)
    server_split(a.port)


def server_split(port):
    """Where the server's time went, from /metrics."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    v = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            k, x = line.split()
            v[k] = float(x)
    print("server: %d decode steps in %.2f s (%.1f ms each, %.2f busy slots on average), %d prefills of %d prompts in %.2f s"
          % (v["flanvk_decode_steps_total"], v["flanvk_decode_step_seconds_total"],
             1e3 * v["flanvk_decode_step_seconds_total"] / max(1, v["flanvk_decode_steps_total"]),
             v["flanvk_batch_occupancy_mean"], v["flanvk_prefills_total"], v["flanvk_prefill_prompts_total"],
             v["flanvk_prefill_seconds_total"]))


main()
