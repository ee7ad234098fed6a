"""Instance principals: the instance metadata service and the X.509 federation endpoint, so
``oci.auth.signers.InstancePrincipalsSecurityTokenSigner`` works unmodified against the emulator:

    OCI_METADATA_BASE_URL=<endpoint>/imds/node-a/opc/v2
    signer = InstancePrincipalsSecurityTokenSigner(federation_endpoint=f"{endpoint}/v1/x509")

The tokens it issues are the emulator's own session tokens (ocisim.auth), so every service
accepts requests signed with them, as principal kind "instance" with the instance's OCID.
What a token costs to get is modeled by ocisim.identity.latency (default nothing).
"""

from ocisim.identity.latency import install
from ocisim.identity.models import IdentityState, seed
from ocisim.identity.routes import ROUTES
from ocisim.service import Service

SERVICE = Service(
    name="identity", routes=ROUTES, seed=seed, load=IdentityState.from_json, dump=IdentityState.to_json, start=install
)
