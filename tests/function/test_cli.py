"""The operator CLI against the emulator with an API key from the emulator's OCI config file."""

import json

from tests.support.function_emulator import nodes_config, run_cli
from tests.support.topology import VIP_ID


def test_status_move_dry_run_and_move(emulator, nodes, tmp_path):
    env_file = tmp_path / "fn-config.json"
    env_file.write_text(
        json.dumps(
            {"VIP_PRIVATE_IP_IDS": VIP_ID, "NODES": json.loads(nodes_config(nodes)), "PROBE_TIMEOUT_SECONDS": "0.3"}
        )
    )
    code, status = run_cli(emulator, env_file, "status")
    assert code == 0 and status["from"] == "node-a" and status["public_ip"] == "203.0.113.10"
    code, dry = run_cli(emulator, env_file, "move", "--to", "node-b", "--dry-run")
    assert code == 0 and dry["decision"] == "would_move" and emulator.audit() == []
    code, moved = run_cli(emulator, env_file, "move", "--to", "node-b")
    assert code == 0 and moved["decision"] == "moved"
    [write] = emulator.audit()
    assert write["principal"]["kind"] == "user" and write["opc_request_id"] in moved["opc_request_ids"]
    nodes["node-a"].state = "down"
    code, refused = run_cli(emulator, env_file, "failback")
    assert code == 1 and refused["decision"] == "refused"


def test_move_to_an_empty_node_name_is_refused_and_moves_nothing(emulator, nodes, tmp_path):
    """`move --to "$NODE"` with NODE unset must not become "the best healthy other node"."""
    env_file = tmp_path / "fn-config.json"
    env_file.write_text(
        json.dumps(
            {"VIP_PRIVATE_IP_IDS": VIP_ID, "NODES": json.loads(nodes_config(nodes)), "PROBE_TIMEOUT_SECONDS": "0.3"}
        )
    )
    code, answer = run_cli(emulator, env_file, "move", "--to", "")
    assert code == 1 and answer["error"] == "bad_request" and '"to" must be a node name' in answer["reason"]
    assert emulator.audit() == []
