"""terraform fmt and checkov on terraform/: formatted, no failed check, every skip justified.

checkov pins many packages, so it lives in its own venv (.venv-checkov, from
requirements-checkov.txt); `make test` builds it. Both run offline.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.terraform import CHECKOV, TERRAFORM, TERRAFORM_DIR, terraform_env

# A justification says why, not just "skip": a sentence, not a word.
MIN_JUSTIFICATION = 40


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed: `terraform fmt -check` not run")
def test_terraform_files_are_formatted(tmp_path) -> None:
    run = subprocess.run(
        [TERRAFORM, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)],
        env=terraform_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, f"run `terraform fmt -recursive terraform/`:\n{run.stdout}"


@pytest.fixture(scope="module")
def checkov_report() -> dict:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: run `make .venv-checkov/.installed` (make test does)")
    run = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(TERRAFORM_DIR),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode in (0, 1), run.stderr
    report = json.loads(run.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_finds_no_failed_check(checkov_report: dict) -> None:
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for check in checkov_report["results"]["failed_checks"]
    ]
    assert checkov_report["summary"]["parsing_errors"] == 0
    assert checkov_report["summary"]["passed"] > 0
    assert not failed, "\n".join(failed)


def test_every_checkov_skip_is_justified(checkov_report: dict) -> None:
    for check in checkov_report["results"]["skipped_checks"]:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) >= MIN_JUSTIFICATION, f"{check['check_id']} on {check['resource']}: say why it is skipped"
