"""The bench's notify swap on booted nodes (pure): what each baseline method changes in the
keepalived.conf that terraform's cloud-init deployed, and the scripts it writes into a node."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lab import methods
from lab.floor_route import sender_node
from lab.plan import Plan, keepalived_vars
from lab.userdata import templatefile

PLAN = Plan(Path("/nonexistent"))
DEPLOYED_MASTER = "/usr/bin/env /opt/oci-vip-failover/.venv/bin/python -m health_probe.notify --config x --state MASTER"
DEPLOYED_RELEASE = "/usr/bin/env /opt/oci-vip-failover/.venv/bin/python -m health_probe.notify --config x"
FACTS = {
    "control_ip": "198.18.2.2",
    "endpoint": "http://198.18.2.2:4567",
    "vip_private_ip_id": "ocid1.privateip.vip",
    "vnic_id": "ocid1.vnic.b",
    "cloud_vip": "10.0.0.4",
    "seed_script": "import oci\n",
}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> str:
    """templates/keepalived.conf.tftpl as terraform renders it, with the deployed notify commands."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed")
    variables = keepalived_vars(PLAN, PLAN.nodes[1], DEPLOYED_MASTER, DEPLOYED_RELEASE)
    return templatefile(tmp_path_factory.mktemp("tf"), {"k": ("keepalived.conf.tftpl", variables)})["k"]


def notify_lines(conf: str) -> list[str]:
    return [line.strip() for line in conf.splitlines() if line.strip().startswith("notify")]


def test_the_fast_path_keeps_the_deployed_file_and_writes_nothing(deployed: str) -> None:
    change = methods.node_change("fast_path", deployed, **FACTS)
    assert change == methods.NodeChange((), deployed)


@pytest.mark.parametrize("method", ["floor", "seed_script", "oci_cli"])
def test_a_baseline_runs_its_script_on_master_and_has_no_release_notice(deployed: str, method: str) -> None:
    change = methods.node_change(method, deployed, **FACTS)
    assert notify_lines(change.keepalived_conf) == [
        f'notify_master "{methods.BENCH_NOTIFY}"',
        f'notify_master_rx_lower_pri "{methods.BENCH_NOTIFY}"',
    ]
    # Everything but the notify lines is the deployed file, byte for byte.
    keep = [line for line in deployed.splitlines() if not line.strip().startswith("notify")]
    assert [line for line in change.keepalived_conf.splitlines() if not line.strip().startswith("notify")] == keep
    script = next(f for f in change.files if f.path == methods.BENCH_NOTIFY)
    assert script.mode == 0o755 and script.content.startswith("#!/bin/bash\n")


def test_the_alarm_path_notifies_nothing(deployed: str) -> None:
    change = methods.node_change("alarm_path", deployed, **FACTS)
    assert change.files == ()
    assert notify_lines(change.keepalived_conf) == [
        'notify_master "/bin/true"',
        'notify_master_rx_lower_pri "/bin/true"',
    ]


def test_oci_cli_runs_ocivips_command_with_instance_principals_bounded_in_time(deployed: str) -> None:
    (script,) = methods.node_change("oci_cli", deployed, **FACTS).files
    *head, command = script.content.splitlines()
    assert head[-3:] == ["set -a", f". {methods.NODE_ENVIRONMENT}", "set +a"]  # the node's pointers at the emulator
    assert command == (
        f"exec /usr/bin/timeout {methods.NOTIFY_TIMEOUT_SECONDS} /opt/oci-cli/bin/oci --auth instance_principal "
        '--federation-endpoint "$OCI_FEDERATION_ENDPOINT" --endpoint http://198.18.2.2:4567 network vnic '
        "assign-private-ip --vnic-id ocid1.vnic.b --ip-address 10.0.0.4 --unassign-if-already-assigned"
    )


def test_the_seed_script_is_written_as_given_and_run_by_the_nodes_venv(deployed: str) -> None:
    seed, notify = methods.node_change("seed_script", deployed, **FACTS).files
    assert (seed.path, seed.content) == (methods.SEED_SCRIPT, "import oci\n")
    *head, command = notify.content.splitlines()
    assert head[-3:] == ["set -a", f". {methods.NODE_ENVIRONMENT}", "set +a"]
    assert command.endswith(
        f"{methods.NODE_PYTHON} {methods.SEED_SCRIPT} http://198.18.2.2:4567 ocid1.privateip.vip ocid1.vnic.b"
    )


def test_the_floor_sends_one_datagram_to_the_control_address(deployed: str) -> None:
    (script,) = methods.node_change("floor", deployed, **FACTS).files
    assert script.content.splitlines()[-1] == f"echo master > /dev/udp/198.18.2.2/{methods.FLOOR_PORT}"


def test_a_file_without_the_deployed_notify_lines_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks the deployed notify_master"):
        methods.node_change("seed_script", "vrrp_instance VI_1 {\n}\n", **FACTS)


def test_a_command_with_a_quote_is_refused(deployed: str) -> None:
    with pytest.raises(ValueError, match="double quote"):
        methods.swap_notify(deployed, '/bin/echo "x"')


def test_an_unknown_method_is_refused(deployed: str) -> None:
    with pytest.raises(ValueError, match="unknown method"):
        methods.node_change("carrier_pigeon", deployed, **FACTS)


def test_the_floor_relay_moves_the_route_only_to_the_sender() -> None:
    assert sender_node(PLAN, "198.18.0.3") == PLAN.nodes[1]
    assert sender_node(PLAN, "198.18.1.2") is None  # the client, or anyone else
