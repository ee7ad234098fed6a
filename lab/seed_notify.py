"""The seed's notify_master script, kept as the baseline the bench compares against: import the
oci SDK and move the floating private IP to this node's VNIC with one UpdatePrivateIp.

    python -m lab.seed_notify OCI_CONFIG_FILE ENDPOINT PRIVATE_IP_ID VNIC_ID
"""

from __future__ import annotations

import sys

import oci


def main(argv: list[str]) -> int:
    config_file, endpoint, private_ip_id, vnic_id = argv
    client = oci.core.VirtualNetworkClient(oci.config.from_file(config_file), service_endpoint=endpoint)
    client.update_private_ip(private_ip_id, oci.core.models.UpdatePrivateIpDetails(vnic_id=vnic_id))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
