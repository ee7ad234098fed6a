"""What a running lab is: its plan, method and emulator, saved so that every later command
(`fault`, `heal`, `down`, the fabric follower) acts on the lab that `up` built."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lab.cloud import Facts
from lab.plan import Plan
from lab.shell import LabError

METHODS = ("fast_path", "alarm_path", "seed_script", "oci_cli", "floor")


@dataclass(frozen=True)
class LabState:
    plan: Plan
    method: str
    agents: bool
    emulator: dict[str, Any]
    facts: Facts
    booted: bool = False  # nodes are machines booted from terraform's cloud-init (lab.machines)
    fast_path_mode: str = "function"  # terraform's fast_path_mode the lab is deployed with

    @staticmethod
    def file(plan: Plan) -> Path:
        return plan.path(None, "state.json")

    def save(self) -> None:
        data = {
            "run_dir": str(self.plan.run_dir),
            "method": self.method,
            "agents": self.agents,
            "emulator": self.emulator,
            "facts": asdict(self.facts),
            "booted": self.booted,
            "fast_path_mode": self.fast_path_mode,
        }
        self.file(self.plan).write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, plan: Plan) -> LabState:
        try:
            data = json.loads(cls.file(plan).read_text())
        except FileNotFoundError:
            raise LabError("no lab is running (start one with: python -m lab up)") from None
        return cls(
            plan=plan,
            method=data["method"],
            agents=data["agents"],
            emulator=data["emulator"],
            facts=Facts(**data["facts"]),
            booted=data.get("booted", False),
            fast_path_mode=data.get("fast_path_mode", "function"),
        )
