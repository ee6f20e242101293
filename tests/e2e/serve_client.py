#!/usr/bin/env python3
"""HTTP checks of `flanvk serve` (driven by tests/e2e/serve.sh): a real client (http.client from the
standard library). Mode "main": concurrency and equality with `flanvk generate`, streaming, usage,
bad requests, metrics. Mode "queue": a server with one slot and a queue of one answers 503 with
Retry-After when flooded, and still serves afterwards."""
import http.client
import json
import socket
import subprocess
import sys
import threading
import time

mode, port, flanvk, work = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
KEY = {"Authorization": "Bearer sekret"}
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def request(method, path, body=None, headers=KEY, raw=None, timeout=120):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    h = dict(headers or {})
    if data is not None:
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read().decode("utf-8", "replace")
    c.close()
    try:
        js = json.loads(text)
    except ValueError:
        js = None
    return r.status, js, text, r


def stream(body):
    """POST a streamed completion; returns (status, list of event JSONs, saw [DONE] last)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/v1/completions", body=json.dumps(body).encode(),
              headers=dict(KEY, **{"Content-Type": "application/json"}))
    r = c.getresponse()
    events, done_last = [], False
    for block in r.read().decode().split("\n\n"):
        if not block.strip():
            continue
        check(block.startswith("data: "), "SSE event starts with 'data: '") if not block.startswith("data: ") else None
        payload = block[len("data: "):]
        if payload == "[DONE]":
            done_last = True
            continue
        done_last = False
        events.append(json.loads(payload))
    c.close()
    return r.status, events, done_last


def generate_cli(prompts, args):
    """`flanvk generate --input` over prompts with --batch-size 1 (each prompt alone; prompt i of a
    sampled run draws from seed + i): the texts."""
    inp, out = f"{work}/gen_in.jsonl", f"{work}/gen_out.jsonl"
    with open(inp, "w") as f:
        for p in prompts:
            f.write(json.dumps({"prompt": p}) + "\n")
    subprocess.run([flanvk, "generate", "--model", f"{work}/m", "--input", inp, "--output", out, "--batch-size", "1"] + args,
                   check=True, stderr=subprocess.DEVNULL)
    with open(out) as f:
        return [json.loads(l) for l in f]


WORDS = "the quick brown fox jumps over a lazy dog while seven wise owls answer questions about rivers".split()


def prompt(i):
    n = 2 + (i * 7) % 13
    return "question %d: " % i + " ".join(WORDS[(i + k) % len(WORDS)] for k in range(n))


def main_checks():
    st, js, _, _ = request("GET", "/health", headers={})
    check(st == 200 and js == {"status": "ok"}, "GET /health without a key: 200 ok")
    st, js, _, _ = request("GET", "/v1/models")
    check(st == 200 and js["data"][0]["id"] == "tiny", "GET /v1/models names the model")

    # 32 concurrent completions: 24 greedy, 8 sampled with their own seeds, all at once
    greedy = [prompt(i) for i in range(24)]
    sampled = [prompt(100 + i) for i in range(8)]
    results = {}

    def one(k, body):
        results[k] = request("POST", "/v1/completions", body)

    threads = []
    for i, p in enumerate(greedy):
        threads.append(threading.Thread(target=one, args=(("g", i), {"model": "tiny", "prompt": p, "max_tokens": 12, "temperature": 0})))
    for i, p in enumerate(sampled):
        body = {"prompt": p, "max_tokens": 12, "temperature": 0.7, "top_p": 0.9, "top_k": 40, "seed": 100 + i}
        threads.append(threading.Thread(target=one, args=(("s", i), body)))
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.time() - t0
    check(len(results) == 32 and all(r[0] == 200 for r in results.values()),
          "32 concurrent completions all answered 200 (%.2f s)" % dt)
    ref_g = generate_cli(greedy, ["--max-new-tokens", "12"])
    ref_s = generate_cli(sampled, ["--max-new-tokens", "12", "--sample", "--temperature", "0.7", "--top-p", "0.9",
                                   "--top-k", "40", "--seed", "100"])
    same_g = sum(results[("g", i)][1]["choices"][0]["text"] == ref_g[i]["output"] for i in range(24))
    same_s = sum(results[("s", i)][1]["choices"][0]["text"] == ref_s[i]["output"] for i in range(8))
    check(same_g == 24, "greedy: %d of 24 served texts equal `flanvk generate` on the same prompt" % same_g)
    check(same_s == 8, "sampled (seed s): %d of 8 served texts equal `flanvk generate --sample --seed s`" % same_s)
    for i in range(24):
        if results[("g", i)][1]["choices"][0]["text"] != ref_g[i]["output"]:
            print("  prompt %r: served %r, generate %r" % (greedy[i], results[("g", i)][1]["choices"][0]["text"], ref_g[i]["output"]))
    # /generate gives the ids; usage counts them
    st, js, _, _ = request("POST", "/generate", {"prompt": greedy[3], "max_new_tokens": 12})
    check(st == 200 and js["output_ids"] == ref_g[3]["output_ids"], "/generate output_ids equal generate's")
    st, tk, _, _ = request("POST", "/tokenize", {"text": greedy[3]})
    u = results[("g", 3)][1]["usage"]
    check(u["prompt_tokens"] == tk["count"] and u["completion_tokens"] == len(ref_g[3]["output_ids"]) and
          u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"],
          "usage: prompt_tokens %d = /tokenize count, completion_tokens %d = generated ids" % (u["prompt_tokens"], u["completion_tokens"]))
    st, js, _, _ = request("POST", "/v1/completions", {"prompt": [tk["ids"], tk["ids"]], "max_tokens": 12, "temperature": 0})
    check(st == 200 and [c["text"] for c in js["choices"]] == [ref_g[3]["output"]] * 2,
          "prompt as token ids (two arrays) gives the text prompt's answer")
    st, js, _, _ = request("POST", "/tokenize", {"text": "text then </s>", "add_eos": False})
    check(st == 200 and js["ids"] == [1499, 258, 1], "/tokenize: '</s>' written in text is its id (%s)" % js["ids"])
    st, js, _, _ = request("POST", "/detokenize", {"ids": ref_g[3]["output_ids"]})
    check(st == 200 and js["text"] == ref_g[3]["output"], "/detokenize of the ids gives the text")
    # beams: through generate's own beam search
    st, js, _, _ = request("POST", "/generate", {"prompt": greedy[5], "max_new_tokens": 8, "num_beams": 3})
    ref_b = generate_cli([greedy[5]], ["--max-new-tokens", "8", "--num-beams", "3"])
    check(st == 200 and js["output_ids"] == ref_b[0]["output_ids"], "/generate num_beams 3 equals generate --num-beams 3")
    # score: one input, several candidate targets
    st, js, _, _ = request("POST", "/score", {"input": greedy[0], "targets": ["yes", "no", "maybe"]})
    check(st == 200 and len(js["logprobs"]) == 3 and all(x < 0 for x in js["logprobs"]) and
          js["best"] == max(range(3), key=lambda k: js["logprobs"][k]), "/score: 3 log-probabilities and the best")
    with open(f"{work}/pairs.jsonl", "w") as f:
        for t in ["yes", "no", "maybe"]:
            f.write(json.dumps({"inputs": greedy[0], "targets": t}) + "\n")
    subprocess.run([flanvk, "score", "--model", f"{work}/m", "--input", f"{work}/pairs.jsonl", "--output",
                    f"{work}/scores.jsonl"], check=True, stderr=subprocess.DEVNULL)
    with open(f"{work}/scores.jsonl") as f:
        ref = [json.loads(l)["logprob"] for l in f]
    st2, js2, _, _ = request("POST", "/score", {"inputs": [greedy[0]] * 3, "targets": ["yes", "no", "maybe"]})
    err = max(abs(a - b) for a, b in zip(js["logprobs"], ref))
    check(st2 == 200 and js2["logprobs"] == ref and err < 1e-4,
          "/score pairs == `flanvk score`; one input x 3 targets within %.1e of it" % err)

    # streaming: the concatenated deltas equal the non-streamed text; usage at the end; [DONE] last
    for body in ({"prompt": greedy[7], "max_tokens": 16, "temperature": 0},
                 {"prompt": sampled[2], "max_tokens": 16, "temperature": 0.9, "seed": 5, "n": 2},
                 {"prompt": greedy[9], "max_tokens": 16, "temperature": 0, "stop": [" the", "."]}):
        st, full, _, _ = request("POST", "/v1/completions", body)
        st2, events, done_last = stream(dict(body, stream=True))
        n = body.get("n", 1)
        texts = ["".join(e["choices"][0]["text"] for e in events if e["choices"] and e["choices"][0]["index"] == k) for k in range(n)]
        want = [full["choices"][k]["text"] for k in range(n)]
        fins = [e["choices"][0]["finish_reason"] for e in events if e["choices"] and e["choices"][0]["finish_reason"]]
        check(st == 200 and st2 == 200 and texts == want and done_last and len(fins) == n,
              "stream %s: SSE text == non-streamed text %r, a finish_reason per choice, [DONE] last" % (
                  "n=2" if n > 1 else ("stop" if "stop" in body else "greedy"), want[0][:40]))
        check(events[-1].get("usage") == full["usage"], "stream usage %s == non-streamed usage" % events[-1].get("usage"))
        if "stop" in body:
            check(all(s not in want[0] for s in body["stop"]), "stop strings cut the text")

    # bad requests, each with its status and an OpenAI-style error body
    big_prompt = " ".join(["word%d" % i for i in range(700)])
    bad = [
        ("malformed JSON", "POST", "/v1/completions", None, b"{\"prompt\": ", KEY, 400),
        ("not an object", "POST", "/v1/completions", [1, 2], None, KEY, 400),
        ("prompt of a wrong type", "POST", "/v1/completions", {"prompt": 5}, None, KEY, 400),
        ("max_tokens a string", "POST", "/v1/completions", {"prompt": "x", "max_tokens": "9"}, None, KEY, 400),
        ("max_tokens over the limit", "POST", "/v1/completions", {"prompt": "x", "max_tokens": 33}, None, KEY, 400),
        ("n over the limit", "POST", "/v1/completions", {"prompt": "x", "n": 9}, None, KEY, 400),
        ("temperature negative", "POST", "/v1/completions", {"prompt": "x", "temperature": -1}, None, KEY, 400),
        ("missing prompt", "POST", "/v1/completions", {"max_tokens": 3}, None, KEY, 400),
        ("over-long prompt", "POST", "/v1/completions", {"prompt": big_prompt}, None, KEY, 400),
        ("prompt_ids out of the vocabulary", "POST", "/generate", {"prompt_ids": [1, 99999999]}, None, KEY, 400),
        ("beams with sampling", "POST", "/generate", {"prompt": "x", "num_beams": 2, "do_sample": True}, None, KEY, 400),
        ("score with no targets", "POST", "/score", {"inputs": "x"}, None, KEY, 400),
        ("huge body", "POST", "/v1/completions", None, b"{\"prompt\": \"" + b"a" * (2 << 20) + b"\"}", KEY, 413),
        ("unknown endpoint", "POST", "/v1/chat/completions", {"prompt": "x"}, None, KEY, 404),
        ("wrong method", "GET", "/v1/completions", None, None, KEY, 405),
        ("no API key", "POST", "/v1/completions", {"prompt": "x"}, None, {}, 401),
        ("wrong API key", "GET", "/v1/models", None, None, {"Authorization": "Bearer nope"}, 401),
    ]
    for what, method, path, body, raw, headers, want in bad:
        try:
            st, js, _, _ = request(method, path, body, headers=headers, raw=raw)
        except (ConnectionError, http.client.HTTPException) as e:
            st, js = "error %s" % e, None
        ok = st == want and isinstance(js, dict) and "message" in js.get("error", {}) and "type" in js["error"]
        check(ok, "%s: %s (want %d) %s" % (what, st, want, (js or {}).get("error", {}).get("message", "")[:60]))
    # a client that leaves mid-stream: its sequence is cancelled, the server goes on
    s = socket.create_connection(("127.0.0.1", port))
    body = json.dumps({"prompt": greedy[1], "max_tokens": 32, "temperature": 0, "stream": True}).encode()
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sekret\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    s.recv(64)
    s.close()
    # and one that sends half a body and leaves
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"pro")
    s.close()
    time.sleep(0.3)
    st, js, _, _ = request("POST", "/v1/completions", {"prompt": greedy[0], "max_tokens": 12, "temperature": 0})
    check(st == 200 and js["choices"][0]["text"] == ref_g[0]["output"], "after the bad requests a good one is answered right")
    st, _, text, _ = request("GET", "/metrics")
    names = ["flanvk_requests_total", "flanvk_prompt_tokens_total", "flanvk_generated_tokens_total", "flanvk_queue_depth",
             "flanvk_batch_occupancy", "flanvk_time_to_first_token_seconds_bucket", "flanvk_request_duration_seconds_count"]
    check(st == 200 and all(n in text for n in names), "/metrics has " + ", ".join(names))
    line = [l for l in text.splitlines() if l.startswith('flanvk_requests_total{endpoint="/v1/completions",status="400"}')]
    check(line and int(line[0].split()[-1]) >= 8, "metrics count the 400s: " + (line[0] if line else "none"))
    occ = [l for l in text.splitlines() if l.startswith("flanvk_batch_occupancy_mean")]
    print("     " + (occ[0] if occ else ""))


def queue_checks():
    results = []

    def one():
        try:
            st, js, _, r = request("POST", "/v1/completions", {"prompt": prompt(3), "max_tokens": 32, "temperature": 0})
            results.append((st, r.getheader("Retry-After"), js))
        except Exception as e:  # noqa: BLE001
            results.append(("error %s" % e, None, None))

    threads = [threading.Thread(target=one) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r[0] == 200]
    busy = [r for r in results if r[0] == 503]
    check(len(ok) + len(busy) == 12 and len(ok) >= 2 and len(busy) >= 1 and all(r[1] == "1" for r in busy) and
          all(r[2]["error"]["type"] for r in busy),
          "one slot, queue of one, 12 at once: %d answered 200, %d got 503 with Retry-After: 1" % (len(ok), len(busy)))
    st, js, _, _ = request("POST", "/v1/completions", {"prompt": prompt(3), "max_tokens": 4, "temperature": 0})
    check(st == 200, "after the flood a request is answered")
    # a client that leaves while queued: a beam search (16 beams, run whole, ~1 s) holds the
    # scheduler; a streamed request queues behind it and its client leaves; it is dropped (499)
    beam = []
    t = threading.Thread(target=lambda: beam.append(request("POST", "/generate", {"prompt": prompt(4), "max_new_tokens": 32,
                                                                                "num_beams": 16})[0]))
    t.start()
    time.sleep(0.1)
    s = socket.create_connection(("127.0.0.1", port))
    body = json.dumps({"prompt": prompt(5), "max_tokens": 32, "temperature": 0, "stream": True}).encode()
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sekret\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    time.sleep(0.1)
    s.close()
    t.join()
    time.sleep(0.2)
    st, _, text, _ = request("GET", "/metrics")
    line = [l for l in text.splitlines() if l.startswith('flanvk_requests_total{endpoint="/v1/completions",status="499"}')]
    check(beam == [200] and line and int(line[0].split()[-1]) >= 1,
          "a queued client that left is dropped: beams %s, %s" % (beam, line[0] if line else "no 499 counted"))
    st, js, _, _ = request("POST", "/v1/completions", {"prompt": prompt(3), "max_tokens": 4, "temperature": 0})
    check(st == 200, "and the next request is answered")


(main_checks if mode == "main" else queue_checks)()
print("%d checks failed" % len(failures))
sys.exit(1 if failures else 0)
