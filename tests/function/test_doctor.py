"""The doctor against the emulator: a healthy deployment passes every link; each link broken
in the emulator (by the real OCI operation where the SDK has one) is the first failing check."""

from __future__ import annotations

import json

import oci
import pytest

from failover.doctor import AGENT_NAMESPACE, State, checks, report
from failover.tags import with_pause
from health_probe.names import NAMES
from tests.support.doctor import agents_post, doctor
from tests.support.function_emulator import nodes_config, run_cli
from tests.support.topology import FUNCTION, VIP_ID, two_node

TOPOLOGY = two_node()
NODE_DOWN_ALARM = TOPOLOGY["alarms"][0]["id"]
SUBSCRIPTION = TOPOLOGY["subscriptions"][0]["id"]
COMPARTMENT = FUNCTION["config"]["COMPARTMENT_ID"]


def env_file(tmp_path, nodes, **extra):
    path = tmp_path / "fn-config.json"
    config = {**FUNCTION["config"], "NODES": json.loads(nodes_config(nodes)), "PROBE_TIMEOUT_SECONDS": "0.3", **extra}
    path.write_text(json.dumps(config))
    return path


def test_a_healthy_deployment_passes_every_link_and_nothing_is_written(emulator, nodes, tmp_path):
    agents_post(emulator)
    code, out = doctor(emulator, env_file(tmp_path, nodes), "--json")
    answer = json.loads(out)
    assert code == 0 and answer["ok"] is True and answer["broken"] is None, out
    names = [c["name"] for c in answer["checks"]]
    assert names[0] == "configuration" and "vip 10.0.0.4: public IP" in names
    assert "alarm vip-failover-node-down: delivery" in names and "node node-b: metrics" in names
    assert answer["unverified"] == ["credentials: may move"]
    assert all(set(c) >= {"name", "ok", "detail"} for c in answer["checks"])
    assert emulator.audit() == []  # the doctor only reads
    code, table = doctor(emulator, env_file(tmp_path, nodes))
    assert code == 0 and table.splitlines()[-1].startswith("chain holds")


def _detach_public_ip(emu, nodes, tmp_path):
    client = oci.core.VirtualNetworkClient(emu.oci_config(), service_endpoint=emu.endpoint)
    client.update_public_ip(TOPOLOGY["publicIps"][0]["id"], oci.core.models.UpdatePublicIpDetails(private_ip_id=""))


def _disable_alarm(emu, nodes, tmp_path):
    client = oci.monitoring.MonitoringClient(emu.oci_config(), service_endpoint=emu.endpoint)
    client.update_alarm(NODE_DOWN_ALARM, oci.monitoring.models.UpdateAlarmDetails(is_enabled=False))


def _delete_subscription(emu, nodes, tmp_path):
    client = oci.ons.NotificationDataPlaneClient(emu.oci_config(), service_endpoint=emu.endpoint)
    client.delete_subscription(SUBSCRIPTION)


def _node_down(emu, nodes, tmp_path):
    nodes["node-b"].state = "down"


def _split_brain(emu, nodes, tmp_path):
    nodes["node-b"].alias = True


def _garbled_tag(emu, nodes, tmp_path):
    client = oci.core.VirtualNetworkClient(emu.oci_config(), service_endpoint=emu.endpoint)
    details = oci.core.models.UpdatePrivateIpDetails(freeform_tags={"failover-last-move-at": "soon"})
    client.update_private_ip(VIP_ID, details)


def _paused(emu, nodes, tmp_path):
    code, _ = run_cli(emu, env_file(tmp_path, nodes), "pause", "--for", "1h", "--reason", "patching")
    assert code == 0


@pytest.mark.parametrize(
    "brk, broken, detail",
    [
        (_detach_public_ip, "vip 10.0.0.4: public IP", "no public IP is attached"),
        (_disable_alarm, "alarm vip-failover-node-down", "disabled"),
        (_delete_subscription, "alarm vip-failover-node-absent: delivery", "DELETED"),
        (_node_down, "node node-b: health endpoint", "down"),
        (_split_brain, "node node-b: keepalived", "keepalived holds 10.0.0.4 here"),
        (_garbled_tag, "vip 10.0.0.4: tags", "not a number"),
        (_paused, "vip 10.0.0.4: tags", "patching"),
    ],
    ids=lambda x: getattr(x, "__name__", None) if callable(x) else None,
)
def test_each_broken_link_is_the_first_failing_check(emulator, nodes, tmp_path, brk, broken, detail):
    agents_post(emulator)
    brk(emulator, nodes, tmp_path)
    code, out = doctor(emulator, env_file(tmp_path, nodes), "--json")
    answer = json.loads(out)
    assert code == 1 and answer["ok"] is False and answer["broken"] == broken, out
    first = next(c for c in answer["checks"] if not c["ok"])
    assert first["name"] == broken and detail in first["detail"]


def test_silent_agents_and_a_bad_configuration(emulator, nodes, tmp_path):
    agents_post(emulator, names=("node-a",))
    code, out = doctor(emulator, env_file(tmp_path, nodes), "--json")
    answer = json.loads(out)
    assert code == 1 and answer["broken"] == "node node-b: metrics", out
    code, out = doctor(emulator, env_file(tmp_path, nodes, NODES="[]"), "--json")
    answer = json.loads(out)
    assert code == 1 and answer["broken"] == "configuration" and "NODES" in answer["checks"][0]["detail"]


def test_the_doctor_through_the_operators_function_only(start_function, nodes):
    fn = start_function(ALARM_IDS=FUNCTION["config"]["ALARM_IDS"])  # the topology's alarms only
    agents_post(fn.emu)
    answer = fn.operate({"action": "doctor"})  # as the operators' function's resource principal
    assert answer["action"] == "doctor" and answer["ok"] is True, answer
    assert not [c for c in answer["checks"] if "NotAuthorizedOrNotFound" in c["detail"]]
    refused = fn.invoke({"action": "doctor"})
    assert refused["decision"] == "refused" and "operators' function" in refused["reason"]
    assert fn.writes() == []


def test_the_doctor_reads_the_namespace_the_agents_post_to():
    assert NAMES.namespace == AGENT_NAMESPACE


def test_unverified_links_do_not_fail_but_are_listed():
    from failover.config import Config
    from failover.decide import Health
    from failover.doctor import Facts, NodeFacts, VipFacts
    from failover.probe import ProbeResult

    node_list = FUNCTION["config"]["NODES"].replace("${emulator_endpoint}", "http://127.0.0.1:9")
    config = Config.from_env({"VIP_PRIVATE_IP_IDS": VIP_ID, "NODES": node_list})
    fine = ProbeResult(Health.HEALTHY, "HTTP 200", {"node": "x"})
    facts = Facts(
        now=1000.0,
        vips=(
            VipFacts(
                VIP_ID,
                ip_address="10.0.0.4",
                vnic_id=config.nodes[0].vnic_id,
                subnet_id="s",
                public_ip="203.0.113.10",
                tags=with_pause({}, None),
            ),
        ),
        nodes=tuple(NodeFacts(n.name, fine, subnet_id="s", metrics_at=990.0) for n in config.nodes),
        alarms=(),
    )
    found = checks(config, facts)
    summary = report(found)
    assert summary["broken"] == "alarms"  # no ALARM_IDS: nothing would call the function
    states = {c.name: c.state for c in found}
    assert states["node node-a: keepalived"] is State.UNVERIFIED and states["credentials: may move"] is State.UNVERIFIED
