"""Configuration: every key validated at start, errors name the key."""

import json
import re

import pytest

from failover.config import ENV_KEYS, Config, ConfigError
from tests.support.function_env import VIP, VNIC_A, VNIC_B, config, env
from tests.support.paths import REPO


def test_defaults_and_priority_order():
    cfg = Config.from_env(
        env(
            NODES=json.dumps(
                [
                    {"name": "low", "vnic_id": VNIC_A, "health_url": "http://127.0.0.1:1/", "priority": 1},
                    {"name": "high", "vnic_id": VNIC_B, "health_url": "https://127.0.0.1:2/h", "priority": 9},
                ]
            )
        )
    )
    assert cfg.vip_private_ip_ids == (VIP,)
    assert [n.name for n in cfg.nodes] == ["high", "low"]
    assert cfg.preferred.name == "high"
    assert (cfg.failback_policy, cfg.cooldown_seconds, cfg.probe_timeout_seconds) == ("never", 60.0, 2.0)
    assert (cfg.dry_run, cfg.retry_deadline_seconds, cfg.service_endpoint) == (False, 20.0, None)
    assert cfg.node_by_vnic(VNIC_B).name == "high" and cfg.node("nope") is None


def test_all_keys_set():
    cfg = config(
        VIP_PRIVATE_IP_IDS=f"{VIP}, ocid1.privateip.oc1.iad.second",
        FAILBACK_POLICY="Preferred",
        COOLDOWN_SECONDS="5",
        PROBE_TIMEOUT_SECONDS="0.5",
        DRY_RUN="true",
        RETRY_DEADLINE_SECONDS="10",
        OCI_SERVICE_ENDPOINT="http://127.0.0.1:9000/",
    )
    assert cfg.vip_private_ip_ids == (VIP, "ocid1.privateip.oc1.iad.second")
    assert (cfg.failback_policy, cfg.cooldown_seconds, cfg.probe_timeout_seconds) == ("preferred", 5.0, 0.5)
    assert cfg.dry_run and cfg.retry_deadline_seconds == 10.0
    assert cfg.service_endpoint == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"VIP_PRIVATE_IP_IDS": None}, "VIP_PRIVATE_IP_IDS"),
        ({"VIP_PRIVATE_IP_IDS": "10.0.0.4"}, "VIP_PRIVATE_IP_IDS"),
        ({"VIP_PRIVATE_IP_IDS": VNIC_A}, "VIP_PRIVATE_IP_IDS"),
        ({"VIP_PRIVATE_IP_IDS": f"{VIP},{VIP}"}, "VIP_PRIVATE_IP_IDS"),
        ({"NODES": None}, "NODES"),
        ({"NODES": "[{"}, "NODES"),
        ({"NODES": "{}"}, "NODES"),
        ({"NODES": json.dumps([{"name": "a", "vnic_id": VNIC_A, "health_url": "http://x/"}])}, "NODES"),
        ({"NODES": json.dumps([{"name": "a", "vnic_id": VNIC_A, "health_url": "http://x/"}, "b"])}, "NODES[1]"),
        (
            {
                "NODES": json.dumps(
                    [
                        {"name": "a", "vnic_id": VNIC_A, "health_url": "http://x/"},
                        {"name": "a", "vnic_id": VNIC_B, "health_url": "http://y/"},
                    ]
                )
            },
            "NODES",
        ),
        (
            {
                "NODES": json.dumps(
                    [
                        {"name": "a b", "vnic_id": VNIC_A, "health_url": "http://x/"},
                        {"name": "b", "vnic_id": VNIC_B, "health_url": "http://y/"},
                    ]
                )
            },
            "NODES[0].name",
        ),
        (
            {
                "NODES": json.dumps(
                    [
                        {"name": "a", "vnic_id": "vnic-1", "health_url": "http://x/"},
                        {"name": "b", "vnic_id": VNIC_B, "health_url": "http://y/"},
                    ]
                )
            },
            "NODES[0].vnic_id",
        ),
        (
            {
                "NODES": json.dumps(
                    [
                        {"name": "a", "vnic_id": VNIC_A, "health_url": "ftp://x/"},
                        {"name": "b", "vnic_id": VNIC_B, "health_url": "http://y/"},
                    ]
                )
            },
            "NODES[0].health_url",
        ),
        (
            {
                "NODES": json.dumps(
                    [
                        {"name": "a", "vnic_id": VNIC_A, "health_url": "http://x/", "priority": "high"},
                        {"name": "b", "vnic_id": VNIC_B, "health_url": "http://y/"},
                    ]
                )
            },
            "NODES[0].priority",
        ),
        (
            {
                "NODES": json.dumps(
                    [
                        {"name": "a", "vnic_id": VNIC_A, "health_url": "http://x/", "prio": 1},
                        {"name": "b", "vnic_id": VNIC_B, "health_url": "http://y/"},
                    ]
                )
            },
            "NODES[0]",
        ),
        ({"FAILBACK_POLICY": "always"}, "FAILBACK_POLICY"),
        ({"COOLDOWN_SECONDS": "soon"}, "COOLDOWN_SECONDS"),
        ({"COOLDOWN_SECONDS": "-1"}, "COOLDOWN_SECONDS"),
        ({"PROBE_TIMEOUT_SECONDS": "60"}, "PROBE_TIMEOUT_SECONDS"),
        ({"DRY_RUN": "maybe"}, "DRY_RUN"),
        ({"RETRY_DEADLINE_SECONDS": "600"}, "RETRY_DEADLINE_SECONDS"),
        ({"OCI_SERVICE_ENDPOINT": "127.0.0.1:9000"}, "OCI_SERVICE_ENDPOINT"),
    ],
)
def test_bad_values_name_the_key(overrides, key):
    with pytest.raises(ConfigError) as err:
        Config.from_env(env(**overrides))
    assert err.value.key == key
    assert str(err.value).startswith(f"{key}: ")


def test_the_documented_keys_are_the_keys_the_function_reads() -> None:
    """docs/function.md's configuration table names exactly ENV_KEYS: an operator reading it
    can set every key, and none that the function ignores."""
    doc = (REPO / "docs" / "function.md").read_text()
    table = doc.split("## Configuration", 1)[1].split("\n\n", 2)[1]
    assert set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", table, re.M)) == set(ENV_KEYS)


IPV6 = "ocid1.ipv6.oc1.iad.abuwcljrvip6"
VIP2 = "ocid1.privateip.oc1.iad.second"


def test_ipv6_vips_and_groups():
    cfg = config(VIP_PRIVATE_IP_IDS=f"{VIP},{VIP2}", VIP_IPV6_IDS=f" {IPV6} ")
    assert cfg.vip_ipv6_ids == (IPV6,) and cfg.vip_ids == (VIP, VIP2, IPV6)
    assert cfg.vip_groups == ((VIP, VIP2, IPV6),), "unset: every VIP is one group"
    grouped = config(
        VIP_PRIVATE_IP_IDS=f"{VIP},{VIP2}", VIP_IPV6_IDS=IPV6, VIP_GROUPS=json.dumps([[VIP, VIP2], [IPV6]])
    )
    assert grouped.vip_groups == ((VIP, VIP2), (IPV6,))


@pytest.mark.parametrize(
    "overrides, says",
    [
        ({"VIP_IPV6_IDS": VIP}, "not an IPv6 OCID"),
        ({"VIP_IPV6_IDS": f"{IPV6},{IPV6}"}, "same IPv6 twice"),
        ({"VIP_GROUPS": "[[", "VIP_IPV6_IDS": IPV6}, "not valid JSON"),
        ({"VIP_GROUPS": "[]"}, "JSON list of non-empty lists"),
        ({"VIP_GROUPS": json.dumps([VIP])}, "group 0 is not a non-empty list"),
        ({"VIP_GROUPS": json.dumps([[VIP], []])}, "group 1 is not a non-empty list"),
        ({"VIP_GROUPS": json.dumps([[VIP, IPV6]])}, f"'{IPV6}' is not in VIP_PRIVATE_IP_IDS or VIP_IPV6_IDS"),
        ({"VIP_GROUPS": json.dumps([[VIP], [VIP, IPV6]]), "VIP_IPV6_IDS": IPV6}, "in more than one group"),
        ({"VIP_GROUPS": json.dumps([[VIP]]), "VIP_IPV6_IDS": IPV6}, f"'{IPV6}' is in no group"),
    ],
)
def test_bad_ipv6_or_group_settings_name_the_key(overrides, says):
    with pytest.raises(ConfigError) as err:
        config(**overrides)
    assert err.value.key == ("VIP_IPV6_IDS" if "VIP_GROUPS" not in overrides else "VIP_GROUPS")
    assert says in str(err.value)
