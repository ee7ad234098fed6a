"""The outside-in option (terraform/outside_in.tf): off by default, and when on, a Health Checks
monitor on the reserved public IP, its alarm to the node alarms' topic, vantage points admitted on
the monitored port only, nothing new for the nodes or the function; checkov clean either way."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import test_tf_graph
from test_tf_lint import CHECKOV
from tf_helpers import TERRAFORM, TERRAFORM_DIR, Module

from ocisim.monitoring.mql import parse

ROOT = Module.load(TERRAFORM_DIR)
RESOURCES = ROOT.resources()
stand_in_root = test_tf_graph.stand_in_root  # the root module stood in and initialised, once per module
MONITOR = "terraform_data.oci_health_checks_http_monitor__outside_in[0]"
ALARM = "terraform_data.oci_monitoring_alarm__outside_in[0]"
RULE = "terraform_data.oci_core_network_security_group_security_rule__nodes_outside_in"
needs_terraform = pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed")


def plan(workdir: Path, *overrides: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    return test_tf_graph.terraform(
        workdir, "plan", "-input=false", "-var-file=example.tfvars", *(f"-var={o}" for o in overrides), ok=ok
    )


@needs_terraform
def test_off_by_default_nothing_outside_in_is_planned(stand_in_root: Path) -> None:
    out = plan(stand_in_root).stdout
    assert "oci_health_checks_http_monitor" not in out and "__outside_in" not in out


@needs_terraform
def test_on_the_monitor_and_its_alarm_are_planned_and_no_extra_rule_when_clients_are_everyone(
    stand_in_root: Path,
) -> None:
    out = plan(stand_in_root, "outside_in_monitor=true").stdout
    assert f"{MONITOR} will be created" in out and f"{ALARM} will be created" in out
    assert RULE not in out  # http_ingress_cidr 0.0.0.0/0 already admits the vantage points


@needs_terraform
def test_narrowed_clients_get_one_rule_for_the_vantage_points(stand_in_root: Path) -> None:
    out = plan(stand_in_root, "outside_in_monitor=true", "http_ingress_cidr=192.0.2.0/24").stdout
    assert f'{RULE}["0.0.0.0/0"] will be created' in out


@needs_terraform
@pytest.mark.parametrize(
    "overrides, message",
    [
        (("outside_in_port=8080",), "outside_in_port must be a service port: 80 or 443"),
        (("outside_in_interval_seconds=15",), "outside_in_interval_seconds must be 10, 30 or 60"),
        (('outside_in_vantage_points=["aws-iad","aws-sfo","goo-chs"]',), "from at least three providers"),
        (
            ("outside_in_monitor=true", "outside_in_port=443"),
            "outside_in_host_header is required with outside_in_port 443",
        ),
    ],
)
def test_unsafe_outside_in_variables_are_refused(stand_in_root: Path, overrides: tuple[str, ...], message: str) -> None:
    run = plan(stand_in_root, *overrides, ok=False)
    assert run.returncode != 0
    assert message in " ".join(run.stderr.split()), run.stderr


def test_the_monitor_probes_the_reserved_public_ip_from_three_providers() -> None:
    monitor = RESOURCES[("oci_health_checks_http_monitor", "outside_in")]
    assert monitor["targets"] == ['${oci_core_public_ip.floating["vip"].ip_address}']
    assert monitor["port"] == "${var.outside_in_port}" and monitor["path"] == "${var.outside_in_path}"
    defaults = ROOT.labelled("variable")["outside_in_vantage_points"]["default"]
    assert len({name.split("-")[0] for name in defaults}) >= 3


def test_the_alarm_reads_this_monitor_and_goes_to_the_node_alarms_topic() -> None:
    alarm = RESOURCES[("oci_monitoring_alarm", "outside_in")]
    controller = Module.load(TERRAFORM_DIR / "modules" / "controller")
    node_alarm = controller.resources()[("oci_monitoring_alarm", "health")]
    assert node_alarm["destinations"] == ["${oci_ons_notification_topic.alarms.id}"]
    assert controller.labelled("output")["alarms_topic_id"]["value"] == "${oci_ons_notification_topic.alarms.id}"
    assert alarm["destinations"] == ["${module.controller.alarms_topic_id}"]
    assert alarm["query"] == "${format(local.outside_in.query_format, oci_health_checks_http_monitor.outside_in[0].id)}"
    assert alarm["namespace"] == "${local.outside_in.namespace}"
    assert ROOT.locals()["outside_in"]["namespace"] == "oci_healthchecks"
    assert alarm["message_format"] == "RAW" and alarm["is_notifications_per_metric_dimension_enabled"] is True


def test_the_function_takes_the_outside_in_alarm_as_its_own() -> None:
    """The function reads an alarm's streams only when its OCID is in ALARM_IDS (failover/config.py)."""
    assert ROOT.labelled("module")["controller"]["extra_alarm_ids"] == "${oci_monitoring_alarm.outside_in[*].id}"
    controller = Module.load(TERRAFORM_DIR / "modules" / "controller")
    alarm_ids = controller.labelled("module")["function_config"]["alarm_ids"]
    assert "var.extra_alarm_ids" in alarm_ids and "oci_monitoring_alarm.health" in alarm_ids


def test_the_alarm_query_is_mql_the_emulator_evaluates() -> None:
    query_format = ROOT.locals()["outside_in"]["query_format"].replace('\\"', '"')
    query = parse(query_format % "ocid1.httpmonitor.oc1..example")
    assert query.metric == "HTTP.isHealthy" and query.group_by == ("resourceId",)
    assert query.condition(0.0) and not query.condition(1.0)


def test_vantage_points_are_admitted_on_the_monitored_port_only() -> None:
    rule = RESOURCES[("oci_core_network_security_group_security_rule", "nodes_outside_in")]
    assert rule["direction"] == "INGRESS" and rule["protocol"] == "${local.protocol.tcp}"
    assert rule["network_security_group_id"] == "${oci_core_network_security_group.nodes.id}"
    assert rule["tcp_options"][0]["destination_port_range"][0] == {
        "min": "${var.outside_in_port}",
        "max": "${var.outside_in_port}",
    }


def test_nothing_new_is_granted_to_the_nodes_or_the_function() -> None:
    text = (TERRAFORM_DIR / "outside_in.tf").read_text()
    assert "oci_identity_" not in text
    assert "health-check" not in (TERRAFORM_DIR / "modules" / "controller" / "iam.tf").read_text()


def test_checkov_finds_no_failed_check_with_the_option_on(tmp_path: Path) -> None:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: run `make .venv-checkov/.installed` (make test does)")
    var_file = tmp_path / "on.tfvars"
    var_file.write_text('outside_in_monitor = true\nhttp_ingress_cidr = "192.0.2.0/24"\n')
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
            "--var-file",
            str(var_file),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode in (0, 1), run.stderr
    report = json.loads(run.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0
    assert "oci_core_network_security_group_security_rule.nodes_outside_in" in {
        check["resource"] for check in report["results"]["passed_checks"]
    }
    assert not report["results"]["failed_checks"], [c["check_id"] for c in report["results"]["failed_checks"]]
