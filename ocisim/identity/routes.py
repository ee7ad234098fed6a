"""IMDS v2 paths under /imds/<instance>/opc/v2, and the auth service's /v1/x509."""

from ocisim.identity import handlers as h
from ocisim.service import Route

IMDS = "/imds/{instance}/opc/v2"
IMDS_V1 = "/imds/{instance}/opc/v1"
FEDERATION_OPERATION = "X509Federation"

ROUTES = [
    Route("GET", f"{IMDS}/instance/region", "ImdsGetRegion", h.get_region, auth="none"),
    Route("GET", f"{IMDS}/instance/", "ImdsGetInstance", h.get_instance, auth="none"),
    Route("GET", f"{IMDS}/instance/{{key}}", "ImdsGetInstanceKey", h.get_instance_key, auth="none"),
    Route("GET", f"{IMDS}/vnics/", "ImdsGetVnics", h.get_vnics, auth="none"),
    Route("GET", f"{IMDS}/identity/cert.pem", "ImdsGetCertificate", h.get_certificate, auth="none"),
    Route("GET", f"{IMDS}/identity/key.pem", "ImdsGetKey", h.get_key, auth="none"),
    Route(
        "GET", f"{IMDS}/identity/intermediate.pem", "ImdsGetIntermediateCertificate", h.get_intermediate, auth="none"
    ),
    Route("GET", f"{IMDS_V1}/{{path:.*}}", "ImdsV1", h.legacy_v1, auth="none"),
    Route("POST", h.FEDERATION_PATH, FEDERATION_OPERATION, h.x509_federation, auth="none"),
]

# The operations a token acquisition goes through (ocisim.identity.latency models their cost).
IMDS_OPERATIONS = tuple(r.operation for r in ROUTES if r.path.startswith(f"{IMDS}/"))
