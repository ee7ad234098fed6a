"""IMDS v2 paths under /imds/<instance>/opc/v2, and the auth service's /v1/x509."""
from ocisim.identity import handlers as h
from ocisim.service import Route

IMDS = "/imds/{instance}/opc/v2"

ROUTES = [
    Route("GET", f"{IMDS}/instance/region", "ImdsGetRegion", h.get_region, auth="none"),
    Route("GET", f"{IMDS}/instance/", "ImdsGetInstance", h.get_instance, auth="none"),
    Route("GET", f"{IMDS}/identity/cert.pem", "ImdsGetCertificate", h.get_certificate, auth="none"),
    Route("GET", f"{IMDS}/identity/key.pem", "ImdsGetKey", h.get_key, auth="none"),
    Route("GET", f"{IMDS}/identity/intermediate.pem", "ImdsGetIntermediateCertificate", h.get_intermediate,
          auth="none"),
    Route("POST", h.FEDERATION_PATH, "X509Federation", h.x509_federation, auth="none"),
]
