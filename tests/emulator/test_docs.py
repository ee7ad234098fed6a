"""The five lines of docs/emulator.md move the floating IP, as the README promises."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from ocisim import Emulator
from tests.emulator.conftest import Topology

DOC = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"


def test_the_five_documented_lines_move_the_floating_ip(emulator: Emulator, tmp_path: Path,
                                                        topo: Topology) -> None:
    [snippet] = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(snippet.strip().splitlines()) == 5
    (tmp_path / "ready.json").write_text(json.dumps(emulator.ready_line) + "\n")

    done = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == topo.vnic_b
    assert [e["after"]["vnicId"] for e in emulator.audit()] == [topo.vnic_b]
