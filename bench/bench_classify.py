"""Benchmark: score a realistic 100,000-message chat with the shipped classifier (``main() -> dict``).

The chat is generated deterministically from the project's own example texts (``MIX``: 40% short replies such as
"ok", "lol" and emoji, 35% everyday messages, 15% harmless look-alikes, 10% harmful messages) with the repetition
and small variations chats have, so deduplication and the cascade work as they would on a real export. Load time,
scoring throughput (wall clock and per CPU-second, since the machine may be shared) and peak RSS are measured in a
fresh child process so nothing else inflates them. Goals: >= 1,000 messages/s, load < 2 s, RSS < 500 MB, 2 threads.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N_MESSAGES = 100_000
SEED = 7

SHORT = ["ok", "lol", "haha", "yeah", "yes", "no", "k", "okay", "omg", "what", "thanks", "thank you", "ty", "np",
         "👍", "😂", "😂😂", "❤️", "😭", "🙏", "x", "xx", "night x", "morning", "see you soon", "on my way", "same",
         "true", "hahaha", "lmao", "wait what", "nice", "cool", "sure", "yep", "nope", "idk", "brb", "omw", "ikr",
         "love you", "miss you", "where are you", "5 mins", "here", "coming", "done", "sorry", "no worries",
         "good night", "call me", "ok x", "yeah same", "🤣", "👀", "🥰", "fair", "mad", "why", "how", "?", "??"]
PREFIX = ["", "", "", "omg ", "haha ", "ok ", "wait ", "also ", "btw ", "lol ", "so ", "yeah "]
SUFFIX = ["", "", "", " x", " xx", " lol", " 😂", " !!", " haha", " ❤️", "?", " tbh", " rn", " 🙄", " 👀"]


# Share of messages by kind. A chat that reaches safetrail is one where harm happens, so harmful messages are
# far more common than in chat at large (10%), yet most of it is still ordinary talk.
MIX = {"short": 0.40, "everyday": 0.35, "lookalike": 0.15, "positive": 0.10}


def build_chat(n: int = N_MESSAGES, seed: int = SEED) -> list[str]:
    rng = random.Random(seed)
    pools: dict[str, list[str]] = {"everyday": [], "lookalike": [], "positive": []}
    for path in sorted((ROOT / "training" / "examples").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                text = record.get("text", "")
                kind = record.get("kind", "neutral")
                if text:
                    pools["positive" if kind == "positive" else "lookalike" if kind == "lookalike" else "everyday"
                          ].append(text)
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(SHORT))]  # Zipf-like: a few short replies dominate
    kinds, shares = list(MIX), list(MIX.values())
    chat = []
    for _ in range(n):
        kind = rng.choices(kinds, shares)[0]
        if kind == "short":
            chat.append(rng.choices(SHORT, weights)[0])
            continue
        text = rng.choice(pools[kind])
        if rng.random() < 0.5:
            text = rng.choice(PREFIX) + text + rng.choice(SUFFIX)
        chat.append(text)
    return chat


_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from safetrail.analysis.classifier import load
clf = load(threads=2)
load_s = time.perf_counter() - t0
texts = json.load(open(sys.argv[1], encoding="utf-8"))
w0, c0 = time.perf_counter(), time.process_time()
flags = 0
for start in range(0, len(texts), 10000):  # as the vault feeds it: one batch of messages at a time
    scores = clf.score(texts[start:start + 10000])
    flags += int((scores >= [clf.thresholds[c] for c in clf.categories]).any(axis=1).sum())
wall, cpu = time.perf_counter() - w0, time.process_time() - c0
print(json.dumps({"load_seconds": load_s, "wall_seconds": wall, "cpu_seconds": cpu, "messages_flagged": flags,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "model_version": clf.version, "cascade": clf.cascade}))
"""


def main() -> dict[str, object]:
    from safetrail.analysis.normalise import normalise

    chat = build_chat()
    distinct_raw = len(set(chat))
    distinct_norm = len({normalise(t) for t in chat})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chat.json"
        path.write_text(json.dumps(chat, ensure_ascii=False), encoding="utf-8")
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True,
                              env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2"})
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    wall = float(child["wall_seconds"])
    cpu = float(child["cpu_seconds"])
    result: dict[str, object] = {
        "messages": len(chat), "distinct_texts": distinct_raw, "distinct_normalised": distinct_norm,
        "threads": 2, "model_version": child["model_version"], "cascade": child["cascade"],
        "load_seconds": round(float(child["load_seconds"]), 3),
        "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
        "messages_per_second": round(len(chat) / wall, 1),
        "messages_per_cpu_second": round(len(chat) / cpu, 1),
        "peak_rss_mb": round(float(child["peak_rss_mb"]), 1),
        "messages_flagged": child["messages_flagged"],
        "goals": {"messages_per_second": 1000, "load_seconds": 2.0, "peak_rss_mb": 500},
    }
    result["goals_met"] = {
        "messages_per_second": len(chat) / wall >= 1000,
        "load_seconds": float(child["load_seconds"]) < 2.0,
        "peak_rss_mb": float(child["peak_rss_mb"]) < 500,
    }
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
