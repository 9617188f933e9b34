"""SMS Backup & Restore import at scale: a ~1 GB backup must import in under 500 MB RSS at 50 MB/s or better.

Writes a realistic backup (mostly texts with emoji written as surrogate-pair references, one picture message in
forty with a ~50 KB base64 image, so media is most of the bytes, as in real backups) into a temporary folder,
parses it with the importer in a child process (so the child's peak RSS is the importer's alone), and times SHA-256
of the same file as the peer every import already pays for. A second, text-only file shows the worst case for
throughput. Generated files are deleted afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_BYTES = int(os.environ.get("SAFETRAIL_BENCH_SMS_BYTES", str(1 << 30)))
TEXT_ONLY_BYTES = TARGET_BYTES // 8
MMS_EVERY = 40
IMAGE_BYTES = 50 * 1024
RSS_GOAL_MB = 500
THROUGHPUT_GOAL_MB_S = 50

_WORDS = ("are you awake", "call me", "where are you", "ok", "see you at 9", "running late", "haha",
          "did you get my message", "answer me", "can we talk", "love you", "I'm outside", "night", "thanks!",
          "café at 8?", "naïve question", "Zoë says hi", "no", "why not", "please")
_EMOJI = ("&#55357;&#56832;", "&#55357;&#56911;&#55356;&#57341;", "&#10084;&#65039;", "&#55357;&#56865;",
          "&#55357;&#56397;", "&#55358;&#56596;")
_NAMES = ("Zoë Müller", "José Ñúñez", "Sam Okafor", "(Unknown)", "Aoife Ní Bhriain", "Łukasz Kowalski")

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from zoneinfo import ZoneInfo
from safetrail.importers.base import ParseContext
from safetrail.importers.sms_xml import SmsXmlImporter
from safetrail.model import Message, Source
path = Path(sys.argv[1])
ctx = ParseContext(source=Source(sha256="0" * 64, size=path.stat().st_size, name=path.name), tz=ZoneInfo("UTC"))
wall, cpu = time.perf_counter(), time.process_time()
messages = warnings = attachments = attachment_bytes = 0
with path.open("rb") as fh:
    for record in SmsXmlImporter().parse(fh, ctx):
        if isinstance(record, Message):
            messages += 1
            attachments += len(record.attachments)
            attachment_bytes += sum(a.size or 0 for a in record.attachments)
        else:
            warnings += 1
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "messages": messages,
                  "warnings": warnings, "attachments": attachments, "attachment_bytes": attachment_bytes,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _sms(rng: random.Random, n: int, date: int) -> str:
    body = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 6)))
    if rng.random() < 0.7:
        body += " " + rng.choice(_EMOJI)
    if rng.random() < 0.2:
        body += "&#10;" + rng.choice(_WORDS)
    kind = "1" if rng.random() < 0.6 else "2"
    return (f'  <sms protocol="0" address="+4477009{n % 5000:05d}" date="{date}" type="{kind}" subject="null" '
            f'body="{body}" toa="null" sc_toa="null" service_center="+447958879879" read="1" status="-1" locked="0" '
            f'date_sent="{date - 2000}" sub_id="1" readable_date="6 Apr 2024 02:14:05" '
            f'contact_name="{_NAMES[n % len(_NAMES)]}" />\n')


def _mms(n: int, date: int, image: str) -> str:
    return (f'  <mms date="{date}" rr="null" sub="null" ct_t="application/vnd.wap.multipart.related" '
            f'read_status="null" seen="1" msg_box="1" address="+4477009{n % 5000:05d}" m_type="132" read="1" '
            f'readable_date="6 Apr 2024 02:14:05" contact_name="{_NAMES[n % len(_NAMES)]}">\n    <parts>\n'
            '      <part seq="-1" ct="application/smil" name="null" chset="null" cd="null" fn="null" '
            'cid="&lt;smil&gt;" cl="smil.xml" ctt_s="null" ctt_t="null" text="&lt;smil&gt;&lt;body&gt;&lt;par '
            'dur=&quot;5000ms&quot;&gt;&lt;img src=&quot;IMG.jpg&quot;/&gt;&lt;/par&gt;&lt;/body&gt;&lt;/smil&gt;" />\n'
            f'      <part seq="0" ct="image/jpeg" name="IMG_{n}.jpg" chset="null" cd="null" fn="null" '
            f'cid="&lt;IMG_{n}&gt;" cl="IMG_{n}.jpg" ctt_s="null" ctt_t="null" data="{image}" />\n'
            '      <part seq="1" ct="text/plain" name="null" chset="106" cd="null" fn="null" cid="&lt;text_0&gt;" '
            'cl="text_0.txt" ctt_s="null" ctt_t="null" text="look &#55357;&#56832;" />\n    </parts>\n    <addrs>\n'
            f'      <addr address="+4477009{n % 5000:05d}" type="137" charset="106" />\n'
            '      <addr address="+447700900461" type="151" charset="106" />\n    </addrs>\n  </mms>\n')


def generate(path: Path, target: int, *, media: bool) -> int:
    """Stream a deterministic backup of about ``target`` bytes to ``path``; return the number of records."""
    import base64

    rng = random.Random(20240406)
    images = [base64.b64encode(rng.randbytes(IMAGE_BYTES)).decode() for _ in range(8)]
    head = ("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n"
            "<!--File Created By SMS Backup & Restore v10.20.002 on 06/04/2024 09:30:12-->\n"
            '<?xml-stylesheet type="text/xsl" href="sms.xsl"?>\n')
    records = 0
    date = 1_600_000_000_000
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        # The count is unknown until the end; a fixed-width placeholder is rewritten in place afterwards.
        out.write(head + '<smses count="0000000000" backup_set="bench" backup_date="1712395812000" type="full">\n')
        while written < target:
            batch = []
            for _ in range(1000):
                records += 1
                date += rng.randint(1000, 600_000)
                if media and records % MMS_EVERY == 0:
                    batch.append(_mms(records, date, images[records % len(images)]))
                else:
                    batch.append(_sms(rng, records, date))
            text = "".join(batch)
            written += len(text.encode("utf-8"))
            out.write(text)
        out.write("</smses>\n")
    with path.open("r+b") as fh:
        at = fh.read(512).index(b'count="') + len('count="')
        fh.seek(at)
        fh.write(f"{records:010d}".encode())
    return records


def _parse_in_child(path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _sha256(path: Path) -> float:
    start = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return time.perf_counter() - start


def main() -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="safetrail-bench-sms-"))
    try:
        mixed = folder / "sms-mixed.xml"
        texts = folder / "sms-text-only.xml"
        started = time.perf_counter()
        records = generate(mixed, TARGET_BYTES, media=True)
        text_records = generate(texts, TEXT_ONLY_BYTES, media=False)
        generation = time.perf_counter() - started
        size, text_size = mixed.stat().st_size, texts.stat().st_size
        parsed = _parse_in_child(mixed)
        parsed_texts = _parse_in_child(texts)
        sha_seconds = _sha256(mixed)
        mb = size / 1e6
        result: dict[str, object] = {
            "file_mb": round(mb, 1),
            "records": records,
            "messages": parsed["messages"],
            "attachments": parsed["attachments"],
            "attachment_mb": round(parsed["attachment_bytes"] / 1e6, 1),
            "warnings": parsed["warnings"],
            "parse_seconds": round(parsed["wall"], 2),
            "parse_cpu_seconds": round(parsed["cpu"], 2),
            "throughput_mb_s": round(mb / parsed["wall"], 1),
            "throughput_cpu_mb_s": round(mb / parsed["cpu"], 1),
            "peak_rss_mb": round(parsed["peak_rss_mb"], 1),
            "text_only_file_mb": round(text_size / 1e6, 1),
            "text_only_records": text_records,
            "text_only_throughput_mb_s": round(text_size / 1e6 / parsed_texts["wall"], 1),
            "text_only_records_per_s": round(parsed_texts["messages"] / parsed_texts["wall"]),
            "text_only_peak_rss_mb": round(parsed_texts["peak_rss_mb"], 1),
            "peer_sha256_seconds": round(sha_seconds, 2),
            "peer_sha256_mb_s": round(mb / sha_seconds, 1),
            "generation_seconds": round(generation, 1),
            "load_average": round(os.getloadavg()[0], 2),
            "goal_rss_met": parsed["peak_rss_mb"] < RSS_GOAL_MB,
            "goal_throughput_met": mb / parsed["wall"] >= THROUGHPUT_GOAL_MB_S,
        }
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
