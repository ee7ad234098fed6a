"""Object Storage: the tenancy's namespace, buckets and objects, served on OCI's
`/n/{namespaceName}/b/{bucketName}/o/{objectName}` paths so `oci.object_storage.ObjectStorageClient`
and `oci os ...` work unmodified. What the nodes need: their node-agent.yaml, fetched at boot with
instance principals (terraform/modules/node_config/fetch_config.py.tftpl)."""

from collections.abc import Mapping
from typing import Any

from ocisim.objectstorage.models import ObjectStorageState, seed
from ocisim.objectstorage.routes import ROUTES
from ocisim.service import Service


def _seed(topology: Mapping[str, Any], backend: Any) -> ObjectStorageState:
    return seed(topology, backend.user_id, backend.clock.now())


SERVICE = Service(
    name="objectstorage", routes=ROUTES, seed=_seed, load=ObjectStorageState.from_json, dump=ObjectStorageState.to_json
)
