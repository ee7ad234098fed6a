"""Configuration: the template's shape is accepted, every problem is reported at start."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from health_probe.config import _TYPES, AgentConfig, ConfigError, load_config, parse_config
from tests.support.paths import REPO


def valid() -> dict:
    return {
        "node": "node-a",
        "compartment_id": "ocid1.compartment.oc1..c",
        "region": "us-ashburn-1",
        "auth": "instance_principal",
        "oci_config_file": "",
        "telemetry_endpoint": "",
        "federation_endpoint": "",
        "interval_seconds": 10,
        "targets": [
            {
                "name": "node-a",
                "role": "node",
                "url": "http://10.0.0.2:8404/healthz",
                "resource_id": "ocid1.instance.oc1.iad.a",
            },
            {
                "name": "node-b",
                "role": "node",
                "url": "http://10.0.0.3:8404/healthz",
                "resource_id": "ocid1.instance.oc1.iad.b",
            },
            {"name": "vip", "role": "vip", "url": "http://10.0.0.4/", "resource_id": "ocid1.privateip.oc1.iad.v"},
        ],
    }


def test_each_key_of_the_file_is_declared_once_and_is_a_setting_of_the_agent() -> None:
    assert set(_TYPES) == {field.name for field in fields(AgentConfig)}


def test_template_rendering_with_empty_optionals_is_accepted() -> None:
    config = parse_config(valid())
    assert config.telemetry_endpoint is None and config.oci_config_file is None
    assert [t.name for t in config.targets] == ["node-a", "node-b", "vip"]


def test_the_health_endpoint_keys_and_their_defaults() -> None:
    config = parse_config({**valid(), "endpoint_address": "10.0.0.2", "floating_ips": ["10.0.0.4"]})
    assert (config.endpoint_address, config.endpoint_port, config.floating_ips) == ("10.0.0.2", 8405, ("10.0.0.4",))
    assert config.haproxy_url == "http://127.0.0.1:8404/healthz"
    assert parse_config({**valid(), "endpoint_address": ""}).endpoint_address is None  # template's empty optional


def test_short_interval_scales_default_timeout_and_jitter() -> None:
    config = parse_config({**valid(), "interval_seconds": 1})
    assert config.timeout_seconds == 0.5 and config.jitter_seconds == 0.2


V4, V4B, V6 = "ocid1.privateip.oc1.iad.vip", "ocid1.privateip.oc1.iad.vip2", "ocid1.ipv6.oc1.iad.vip6"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"auth": "config_file"}, "auth 'config_file' needs 'oci_config_file'"),
        ({"interval_seconds": "10"}, "'interval_seconds' has the wrong type"),
        ({"colour": "blue"}, "unknown key 'colour'"),
        ({"timeout_seconds": 20}, "'timeout_seconds' must be shorter than 'interval_seconds'"),
        ({"compartment_id": "compartment"}, "'compartment_id' must be an OCID"),
        ({"targets": []}, "at least one target"),
        ({"endpoint_address": "10.0.0.2"}, "'endpoint_address' needs 'floating_ips'"),
        (
            {"endpoint_address": "node-a", "floating_ips": ["10.0.0.4"]},
            "'endpoint_address' must be this node's IP address",
        ),
        (
            {"endpoint_address": "10.0.0.2", "floating_ips": ["fd00::4::5"]},
            "'floating_ips' must be a list of IPv4 or IPv6 addresses",
        ),
        (
            {"endpoint_address": "10.0.0.2", "floating_ips": ["10.0.0.4"], "endpoint_port": 0},
            "'endpoint_port' must be between",
        ),
        (
            {"endpoint_address": "10.0.0.2", "floating_ips": ["10.0.0.4"], "haproxy_url": "127.0.0.1:8404"},
            "'haproxy_url' must be",
        ),
        ({"floating_ips": ["10.0.0.4"]}, "'floating_ips' needs 'endpoint_address'"),
        ({"vrrp_instances": {}}, "vrrp_instances: name at least one instance"),
        ({"vrrp_instances": {"vip_ipv4": []}}, "vrrp_instances.vip_ipv4: must be a non-empty list of VIP OCIDs"),
        ({"vrrp_instances": {"vip_ipv4": ["10.0.0.4"]}}, "vrrp_instances.vip_ipv4: must be a non-empty list"),
        ({"vrrp_instances": {"vip_ipv4": [V4], "vip_ipv6": [V4]}}, "a VIP is listed twice"),
        ({"vrrp_instances": [V4]}, "'vrrp_instances' has the wrong type"),
    ],
)
def test_each_mistake_is_named(change: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({**valid(), **change})
    assert message in str(caught.value)


def test_each_vrrp_instance_names_its_vips_and_an_unmapped_one_is_an_error() -> None:
    config = parse_config(
        {
            **valid(),
            "vrrp_instances": {"vip_ipv4": [V4, V4B], "vip_ipv6": [V6]},
            "endpoint_address": "10.0.0.2",
            "floating_ips": ["10.0.0.4", "fd00:10:0:1::4"],
        }
    )
    assert config.floating_ips == ("10.0.0.4", "fd00:10:0:1::4")
    assert (config.vips_of("vip_ipv4"), config.vips_of("vip_ipv6")) == ((V4, V4B), (V6,))
    assert config.vips_of(None) is None and parse_config(valid()).vips_of("vip_ipv4") is None
    with pytest.raises(ValueError, match="'vip_other' is not in vrrp_instances"):
        config.vips_of("vip_other")


def test_all_target_problems_are_reported_together() -> None:
    raw = valid()
    raw["targets"] = [{"name": "x", "role": "db", "url": "ftp://h/", "resource_id": "id"}, {"name": "y"}, "z"]
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    text = str(caught.value)
    for expected in (
        "targets[1]: missing or empty role, url, resource_id",
        "targets[2]: expected a mapping",
        "role must be one of node, vip",
        "url must be http(s)",
        "resource_id must be an OCID",
    ):
        assert expected in text


def test_unreadable_or_invalid_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("node: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_command_line_exits_2_with_the_reason_on_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("node: node-a\ntargets: []\n")
    done = subprocess.run(
        [sys.executable, "-m", "health_probe", "--config", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "missing required key 'compartment_id'" in done.stderr
