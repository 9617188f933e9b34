"""SECURITY.md 24: killing the process at any point of an import leaves a vault that opens and verifies, and the
import is either complete or absent."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.fakes import write_fake

from safetrail.storage.vault import Vault

ROOT = Path(__file__).resolve().parents[2]
PASS = "kill test passphrase"
LINES = 40_000

IMPORTER = """
import sys
from pathlib import Path
from safetrail.storage.vault import Vault
from tests.fakes import fake_regs
with Vault.open(Path(sys.argv[1]), sys.argv[2]) as v:
    print("ready", flush=True)
    v.import_file(Path(sys.argv[3]), regs=fake_regs())
    print("done", flush=True)
"""


@pytest.mark.slow
def test_kill_during_import_leaves_complete_or_absent(tmp_path: Path) -> None:
    Vault.create(tmp_path / "v", PASS).close()
    src = write_fake(tmp_path / "big.fake", [f"2026-02-01T21:{i % 60:02d}:00+00:00|Liam|message {i} " + "x" * 80
                                            for i in range(LINES)])
    rng = random.Random(24)
    outcomes = set()
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", IMPORTER, str(tmp_path / "v"), PASS, str(src)],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": f"{ROOT}/src:{ROOT}"})
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with Vault.open(tmp_path / "v", PASS) as vault:
            assert vault.custody_problems() == []
            sources = vault.sources()
            if sources:
                assert [s.message_count for s in sources] == [LINES]
                assert vault.recheck_blob(sources[0].sha256)
                outcomes.add("complete")
                break
            assert list(vault.messages()) == []
            outcomes.add("absent")
    assert outcomes  # at least one kill happened and was checked
