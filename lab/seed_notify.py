"""The seed's notify_master script, kept as the baseline the bench compares against: import the
oci SDK, build an instance-principal signer (a new one on every failover, as the seed does) and
move the floating private IP to this node's VNIC with one UpdatePrivateIp.

    OCI_METADATA_BASE_URL=... OCI_FEDERATION_ENDPOINT=... \\
        python -m lab.seed_notify ENDPOINT PRIVATE_IP_ID VNIC_ID

The seed calls `InstancePrincipalsSecurityTokenSigner()` with no arguments; here the metadata
service and the federation endpoint are the emulator's, from the node's environment. Without
them the script refuses to run rather than reach 169.254.169.254 or a region's auth service.
"""

from __future__ import annotations

import os
import sys

import oci

POINTERS = ("OCI_METADATA_BASE_URL", "OCI_FEDERATION_ENDPOINT")


def main(argv: list[str]) -> int:
    endpoint, private_ip_id, vnic_id = argv
    missing = [name for name in POINTERS if not os.environ.get(name)]
    if missing:
        print(f"seed_notify: {', '.join(missing)} not set; refusing to use OCI's own endpoints", file=sys.stderr)
        return 2
    signer = oci.auth.signers.InstancePrincipalsSecurityTokenSigner(
        federation_endpoint=os.environ["OCI_FEDERATION_ENDPOINT"]
    )
    client = oci.core.VirtualNetworkClient({"region": signer.region}, signer=signer, service_endpoint=endpoint)
    client.update_private_ip(private_ip_id, oci.core.models.UpdatePrivateIpDetails(vnic_id=vnic_id))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
