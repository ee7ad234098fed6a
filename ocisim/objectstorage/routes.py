"""Object Storage paths, as `oci.object_storage.ObjectStorageClient` sends them.

OCI's reference writes `GET /n/` and `POST /n/{namespaceName}/b/`; the SDK sends them without
the trailing slash: both are served.

An object name may hold slashes (sent as they are or as %2F): the last segment matches the rest
of the path. PutObject's body is not signed by the SDK (`enforce_content_headers=False`: only
date, (request-target) and host), so its route does not demand the body headers; if a client
signs them anyway they are still checked against the body.
"""

from ocisim.objectstorage import handlers as h
from ocisim.service import Route

BUCKET = "/n/{namespaceName}/b/{bucketName}"
OBJECT = BUCKET + "/o/{objectName:.+}"

ROUTES = [
    Route("GET", "/n{slash:/?}", "GetNamespace", h.get_namespace),
    Route("POST", "/n/{namespaceName}/b{slash:/?}", "CreateBucket", h.create_bucket),
    Route("GET", BUCKET, "GetBucket", h.get_bucket),
    Route("GET", f"{BUCKET}/o", "ListObjects", h.list_objects),
    Route("PUT", OBJECT, "PutObject", h.put_object, sign_body=False),
    Route("GET", OBJECT, "GetObject", h.get_object),
    Route("HEAD", OBJECT, "HeadObject", h.head_object),
    Route("DELETE", OBJECT, "DeleteObject", h.delete_object),
]
