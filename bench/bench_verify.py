"""`verify` on a 1 GB pack, side by side with `sha256sum -c` over the same files in the same run.

Goal: verify within 1.2× of sha256sum. The pack is built with the real pack writer's layout (BagIt bag, manifests,
manifest.json, custody log); both tools read from a warm page cache, best of three runs each.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from safetrail.reports import bag
from safetrail.reports.pack import _jsonl, _Writer
from safetrail.reports.verify import verify_pack
from safetrail.storage.custody import make_entry, merkle_root

SIZE = int(os.environ.get("SAFETRAIL_BENCH_PACK_BYTES", str(1 << 30)))
FILES = 4


def _build(path: Path) -> None:
    when = datetime(2026, 4, 20, tzinfo=UTC)
    entry = make_entry(None, at="2026-04-20T00:00:00Z", actor="owner", action="vault-created", object="vault")
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        w = _Writer(zf, "bench-pack", when)
        block = os.urandom(1 << 20)
        for i in range(FILES):
            w.add(f"data/originals/ST-{i + 1}_export.bin", (block for _ in range(SIZE // FILES // len(block))))
        manifest = {"files": {rel: {"sha256": d, "size": w.sizes[rel]} for rel, d in w.payload.items()},
                    "custody": {"merkle_root": merkle_root([entry])}}
        w.add_bytes(bag.PAYLOAD_MANIFEST, bag.format_manifest(w.payload).encode(), tag=True)
        w.add_bytes("bagit.txt", bag.BAGIT_TXT.encode(), tag=True)
        w.add_bytes(bag.MANIFEST_JSON, json.dumps(manifest).encode(), tag=True)
        w.add(bag.CUSTODY_NAME, _jsonl([entry.to_dict()]), compress=True, tag=True)
        w.add_bytes(bag.TAG_MANIFEST, bag.format_manifest(w.tags).encode())


def _best(fn: Any, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="safetrail-bench-"))
    try:
        pack = work / "bench-pack.zip"
        _build(pack)
        shutil.unpack_archive(pack, work / "x")
        bag_dir = work / "x" / "bench-pack"

        def ours() -> None:
            assert verify_pack(pack).ok

        def peer() -> None:
            subprocess.run(["sha256sum", "--quiet", "-c", bag.PAYLOAD_MANIFEST], cwd=bag_dir, check=True)
            subprocess.run(["sha256sum", "--quiet", "-c", bag.TAG_MANIFEST], cwd=bag_dir, check=True)

        ours(), peer()  # warm the page cache for both
        t_ours, t_peer = _best(ours), _best(peer)
        size = pack.stat().st_size
        return {"pack_bytes": size, "verify_seconds": round(t_ours, 3), "sha256sum_seconds": round(t_peer, 3),
                "ratio": round(t_ours / t_peer, 3), "verify_MB_s": round(size / t_ours / 1e6, 1),
                "goal": "ratio <= 1.2"}
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
