"""WhatsApp importer throughput against chat-miner on one generated 1,000,000-message Android (en-GB) export.

The chat is generated deterministically into a temporary folder: two people, conversations in bursts (seconds
apart) separated by hours, a realistic mix of one-line and multi-line messages, media placeholders, deleted and
edited messages and system lines, with emoji. Each parser then runs in its own child process on that same file,
so peak memory (``ru_maxrss``) belongs to that parser alone: ours through the public ``parse_file`` (hashing,
format detection, both passes, every ``Message`` built), chat-miner through ``WhatsAppParser.parse_file()``.

Goals: at least 200,000 messages/s, at least 5x chat-miner, and memory that does not grow with the chat.
Run: ``python -m bench.bench_whatsapp`` (or ``make bench``). Set ``BENCH_WHATSAPP_MESSAGES`` for a smaller run.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 1_000_000
NAME = "WhatsApp Chat with Liam Carter.txt"
_WORDS = (
    "the", "a", "to", "you", "I", "it", "and", "was", "on", "at", "for", "me", "we", "is", "that", "with", "be",
    "have", "this", "what", "just", "so", "not", "are", "my", "tonight", "tomorrow", "later", "library", "lecture",
    "train", "bus", "tea", "home", "pub", "mum", "flat", "uni", "essay", "deadline", "seminar", "lovely",
    "brilliant", "cheers", "mate", "honestly", "fine", "okay", "sorry", "thanks", "weekend", "Saturday", "coffee",
    "chips", "rain", "😂", "❤️", "👍", "🙈", "x",
)
_PEOPLE = ("Priya Shah", "Liam Carter")


def generate(path: Path, messages: int = MESSAGES, seed: int = 2026) -> None:
    """Write a deterministic chat of ``messages`` records to ``path`` (same seed, same bytes)."""
    rnd = random.Random(seed)
    sentences = [" ".join(rnd.choices(_WORDS, k=rnd.randint(2, 16))) for _ in range(5000)]
    zone = ZoneInfo("Europe/London")  # clocks are read as the phone showed them, so never in a DST gap
    now = datetime(2019, 1, 3, 8, 0, tzinfo=UTC)
    stamps: dict[tuple[int, int, int, int, int], str] = {}
    left = 0
    out: list[str] = []
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("03/01/2019, 08:00 - Messages and calls are end-to-end encrypted. No one outside of this chat, "
                 "not even WhatsApp, can read or listen to them. Tap to learn more.\n")
        for i in range(messages - 1):
            if left == 0:  # a new conversation, hours after the last one
                left = int(rnd.expovariate(1 / 40)) + 1
                now += timedelta(seconds=int(rnd.expovariate(1 / 7200)))
            else:
                now += timedelta(seconds=int(rnd.expovariate(1 / 25)))
            left -= 1
            local = now.astimezone(zone)
            key = (local.year, local.month, local.day, local.hour, local.minute)
            stamp = stamps.get(key)
            if stamp is None:
                if len(stamps) > 512:
                    stamps.clear()
                stamp = stamps[key] = f"{key[2]:02d}/{key[1]:02d}/{key[0]}, {key[3]:02d}:{key[4]:02d}"
            r = rnd.random()
            who = _PEOPLE[r < 0.5]
            if r < 0.004:
                out.append(f"{stamp} - Your security code with Liam Carter changed. Tap to learn more.\n")
            elif r < 0.03:
                out.append(f"{stamp} - {who}: <Media omitted>\n")
            elif r < 0.035:
                out.append(f"{stamp} - {who}: This message was deleted\n")
            elif r < 0.04:
                out.append(f"{stamp} - {who}: {sentences[i % 5000]} <This message was edited>\n")
            elif r < 0.09:
                more = "\n".join(sentences[(i + k) % 5000] for k in range(1, rnd.randint(2, 4)))
                out.append(f"{stamp} - {who}: {sentences[i % 5000]}\n{more}\n")
            else:
                out.append(f"{stamp} - {who}: {sentences[(i * 7 + int(r * 1000)) % 5000]}\n")
            if len(out) >= 20000:
                fh.write("".join(out))
                out.clear()
        fh.write("".join(out))


def _measure_ours(path: str) -> dict[str, Any]:
    from safetrail.importers.registry import parse_file

    warnings: list[object] = []
    wall, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for _ in parse_file(path, tz="Europe/London", on_warning=warnings.append))
    return {"messages": count, "warnings": len(warnings), "seconds": time.perf_counter() - wall,
            "cpu_seconds": time.process_time() - cpu}


def _measure_chatminer(path: str) -> dict[str, Any]:
    import logging

    os.environ["TQDM_DISABLE"] = "1"
    from chatminer.chatparsers import WhatsAppParser  # it configures logging at import: silence it after

    logging.disable(logging.CRITICAL)
    wall, cpu = time.perf_counter(), time.process_time()
    parser = WhatsAppParser(path)
    parser.parse_file()
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    return {"messages": len(parser.parsed_messages._parsed_messages), "seconds": seconds, "cpu_seconds": cpu_seconds}


def _child(which: str, path: str) -> None:
    import resource

    result = _measure_ours(path) if which == "ours" else _measure_chatminer(path)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    sys.stdout.write(json.dumps(result) + "\n")


def _run_child(which: str, path: Path) -> dict[str, Any]:
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "bench.bench_whatsapp", "--child", which, str(path)], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> dict[str, Any]:
    messages = int(os.environ.get("BENCH_WHATSAPP_MESSAGES", MESSAGES))
    with tempfile.TemporaryDirectory(prefix="bench-whatsapp-") as tmp:
        path = Path(tmp) / NAME
        started = time.perf_counter()
        generate(path, messages)
        generated = time.perf_counter() - started
        ours = _run_child("ours", path)
        theirs = _run_child("chatminer", path)
        size = path.stat().st_size
    ours_rate = ours["messages"] / ours["seconds"]
    theirs_rate = theirs["messages"] / theirs["seconds"]
    return {
        "messages_generated": messages,
        "file_mb": round(size / 2**20, 1),
        "generate_seconds": round(generated, 1),
        "safetrail": {**ours, "messages_per_second": round(ours_rate),
                      "messages_per_cpu_second": round(ours["messages"] / ours["cpu_seconds"])},
        "chat_miner": {**theirs, "messages_per_second": round(theirs_rate),
                       "messages_per_cpu_second": round(theirs["messages"] / theirs["cpu_seconds"])},
        "speedup_vs_chat_miner": round(ours_rate / theirs_rate, 1),
        "goal_200k_per_second": ours_rate >= 200_000,
        "goal_5x_chat_miner": ours_rate >= 5 * theirs_rate,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        print(json.dumps(main(), indent=2))
