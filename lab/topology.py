"""The emulator topology a lab runs: one of ocisim/topologies/, with more nodes if asked for.

`lab up --nodes N` on a topology with fewer nodes derives the missing ones from its last node,
as a deployment with a larger `nodes` map would have them: an instance and its VNIC in the same
subnet (the next free address, the next fault domain), an entry in every function's NODES (the
next lower priority) and in the IAM bindings terraform's policies are evaluated with. Pure.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from pathlib import Path
from typing import Any

from lab.plan import REPO

TOPOLOGIES = ("two-node", "multi")
MAX_NODES = 9  # node-a .. node-i: a lab of 2 CPU cores boots them one after the other
PRIORITY_STEP = 10


def topology_file(name: str) -> Path:
    if name not in TOPOLOGIES:
        raise ValueError(f"unknown topology {name!r}; one of: {', '.join(TOPOLOGIES)}")
    return REPO / "ocisim" / "topologies" / f"{name}.json"


def _derived_id(template: str, name: str) -> str:
    """An OCID of the template's kind and realm, unique for the derived node (pure)."""
    prefix = template.rsplit(".", 1)[0]
    return f"{prefix}.aaaaaaaalab{name.replace('-', '')}".ljust(len(template), "0")


def _free_addresses(topology: dict[str, Any]) -> list[str]:
    """Host addresses of the first subnet that no VNIC, private IP or router uses, lowest first."""
    subnet = topology["subnets"][0]
    used = {subnet.get("virtualRouterIp")}
    used |= {p["ipAddress"] for p in topology.get("privateIps", [])}
    used |= {v["privateIp"]["ipAddress"] for i in topology["instances"] for v in i["vnics"]}
    return [str(a) for a in ipaddress.ip_network(subnet["cidrBlock"]).hosts() if str(a) not in used]


def with_nodes(topology: dict[str, Any], count: int | None) -> dict[str, Any]:
    """`topology` with `count` nodes (None: as it is); refuses fewer than it has (pure)."""
    out = copy.deepcopy(topology)
    have = len(out["instances"])
    if count is None or count == have:
        return out
    if not have < count <= MAX_NODES:
        raise ValueError(f"--nodes {count}: the topology has {have} nodes; the lab adds nodes up to {MAX_NODES}")
    free = _free_addresses(out)
    for index in range(have, count):
        name = f"node-{chr(ord('a') + index)}"
        last = out["instances"][-1]
        instance = copy.deepcopy(last)
        instance.update(id=_derived_id(last["id"], name), displayName=name, faultDomain=f"FAULT-DOMAIN-{index % 3 + 1}")
        (vnic,) = instance["vnics"][:1]
        vnic.update(
            id=_derived_id(vnic["id"], name),
            attachmentId=_derived_id(vnic["attachmentId"], name),
            displayName=name,
            hostnameLabel=name,
            macAddress=f"02:00:17:00:01:{index:02x}",
        )
        vnic["privateIp"] = {"id": _derived_id(vnic["privateIp"]["id"], name), "ipAddress": free.pop(0)}
        instance["vnics"] = [vnic]
        out["instances"].append(instance)
        for function in out.get("functions", []):
            nodes = json.loads(function["config"]["NODES"])
            entry = {
                **nodes[-1],
                "name": name,
                "vnic_id": vnic["id"],
                "priority": nodes[-1]["priority"] - PRIORITY_STEP,
            }
            entry["health_url"] = entry["health_url"].replace(nodes[-1]["name"], name)
            function["config"]["NODES"] = json.dumps([*nodes, entry])
        bindings = out.get("iam", {}).get("bindings", {})
        if "local.node_names" in bindings:
            bindings["local.node_names"] = [*bindings["local.node_names"], name]
            bindings[f'var.nodes["{name}"].instance_id'] = instance["id"]
    return out
