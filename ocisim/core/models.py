"""Core Services state and every invariant of it (never in handlers).

Resources are kept in the wire shape of the Core API 20160918 (camelCase dicts), so a handler
returns them as they are, and the state file reads like API output. Invariants enforced here:
- a private IP belongs to exactly one VNIC (the `vnicId` field is the only link);
- a secondary private IP moves only to a VNIC in its own subnet; a primary private IP is never
  updated through UpdatePrivateIp (OCI: use UpdateVnic);
- an IP address appears at most once per subnet;
- a reserved public IP is linked to a private IP, not to a VNIC, so it follows every move; when
  its private IP is deleted it is unassigned (AVAILABLE), never deleted;
- a new private IP takes a free address of its VNIC's subnet (not the network address, the
  virtual router's or the broadcast address) and a VNIC holds at most 32 secondary IPs;
- a resource named in a request body that does not exist is 400
  RelatedResourceNotAuthorizedOrNotFound, one named in the path 404 NotAuthorizedOrNotFound;
- every change gets a fresh etag; `if-match` with a stale one is refused (412).
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ocisim.errors import (
    Conflict,
    InvalidParameter,
    LimitExceeded,
    MissingParameter,
    check_etag,
    not_found,
    related_not_found,
)

Resource = dict[str, Any]
MAX_PRIVATE_IPS_PER_VNIC = 33  # the primary plus 32 secondaries, as in OCI
MAX_RELEASED = 256  # freed addresses remembered per subnet (kept out of automatic assignment)
UPDATABLE_PRIVATE_IP_FIELDS = ("displayName", "hostnameLabel", "freeformTags", "definedTags", "vnicId")
CREATE_PRIVATE_IP_FIELDS = (
    "definedTags",
    "displayName",
    "freeformTags",
    "hostnameLabel",
    "ipAddress",
    "cidrPrefixLength",
    "vnicId",
    "vlanId",
    "subnetId",
    "ipv4SubnetCidrAtCreation",
    "lifetime",
    "routeTableId",
)


def new_etag() -> str:
    return uuid.uuid4().hex


@dataclass
class CoreState:
    vcns: dict[str, Resource] = field(default_factory=dict)
    subnets: dict[str, Resource] = field(default_factory=dict)
    instances: dict[str, Resource] = field(default_factory=dict)
    vnics: dict[str, Resource] = field(default_factory=dict)
    vnic_attachments: dict[str, Resource] = field(default_factory=dict)
    private_ips: dict[str, Resource] = field(default_factory=dict)
    public_ips: dict[str, Resource] = field(default_factory=dict)
    ipv6s: dict[str, Resource] = field(default_factory=dict)  # ocisim.core.ipv6
    route_tables: dict[str, Resource] = field(default_factory=dict)  # ocisim.core.routing
    etags: dict[str, str] = field(default_factory=dict)
    released: dict[str, list[str]] = field(default_factory=dict)  # subnet -> addresses freed, oldest first

    # --- persistence -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return copy.deepcopy(self.__dict__)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CoreState:
        return cls(**copy.deepcopy(dict(data)))

    # --- lookups -------------------------------------------------------------------------------
    def _get(self, table: dict[str, Resource], kind: str, resource_id: str) -> Resource:
        try:
            return table[resource_id]
        except KeyError:
            raise not_found(kind, resource_id) from None

    def private_ip(self, private_ip_id: str) -> Resource:
        return self._get(self.private_ips, "PrivateIp", private_ip_id)

    def public_ip(self, public_ip_id: str) -> Resource:
        return self._get(self.public_ips, "PublicIp", public_ip_id)

    def instance(self, instance_id: str) -> Resource:
        return self._get(self.instances, "Instance", instance_id)

    def vnic_attachment(self, attachment_id: str) -> Resource:
        return self._get(self.vnic_attachments, "VnicAttachment", attachment_id)

    def vnic(self, vnic_id: str) -> Resource:
        """The Vnic as the API returns it: primary IP and its public IP are derived live."""
        vnic = dict(self._get(self.vnics, "Vnic", vnic_id))
        primary = next((p for p in self.private_ips.values() if p["vnicId"] == vnic_id and p["isPrimary"]), None)
        vnic["privateIp"] = primary["ipAddress"] if primary else None
        public = self.public_ip_of(primary["id"]) if primary else None
        vnic["publicIp"] = public["ipAddress"] if public else None
        vnic["ipv6Addresses"] = sorted(
            (p["ipAddress"] for p in self.ipv6s.values() if p["vnicId"] == vnic_id), key=ipaddress.IPv6Address
        )
        return vnic

    def public_ip_of(self, private_ip_id: str) -> Resource | None:
        return next((p for p in self.public_ips.values() if p.get("privateIpId") == private_ip_id), None)

    def public_ip_by_private_ip_id(self, private_ip_id: str) -> Resource:
        public = self.public_ip_of(private_ip_id)
        if public is None:
            raise not_found("PublicIp for PrivateIp", private_ip_id)
        return public

    def public_ip_by_address(self, ip_address: str) -> Resource:
        public = next((p for p in self.public_ips.values() if p["ipAddress"] == ip_address), None)
        if public is None:
            raise not_found("PublicIp with address", ip_address)
        return public

    def etag(self, resource_id: str) -> str:
        return self.etags[resource_id]

    # --- lists ---------------------------------------------------------------------------------
    def list_private_ips(
        self,
        *,
        vnic_id: str | None,
        subnet_id: str | None,
        ip_address: str | None,
        ip_state: str | None = None,
        lifetime: str | None = None,
        vlan_id: str | None = None,
    ) -> list[Resource]:
        if not (vnic_id or subnet_id or vlan_id):
            raise InvalidParameter("One of vnicId, subnetId or vlanId must be given")
        self.check_list_scope(vnic_id, subnet_id)
        found = matching(
            self.private_ips.values(),
            {
                "vnicId": vnic_id,
                "subnetId": subnet_id,
                "ipAddress": ip_address,
                "ipState": ip_state,
                "lifetime": lifetime,
                "vlanId": vlan_id,
            },
        )
        return sorted(found, key=lambda p: ipaddress.ip_address(p["ipAddress"]))

    def check_list_scope(self, vnic_id: str | None, subnet_id: str | None) -> None:
        """A list scoped by a VNIC or subnet that does not exist is 404, as a path would be."""
        if vnic_id is not None and vnic_id not in self.vnics:
            raise not_found("Vnic", vnic_id)
        if subnet_id is not None and subnet_id not in self.subnets:
            raise not_found("Subnet", subnet_id)

    def list_vnic_attachments(
        self, *, compartment_id: str, instance_id: str | None, vnic_id: str | None, availability_domain: str | None
    ) -> list[Resource]:
        return [
            a
            for a in self.vnic_attachments.values()
            if a["compartmentId"] == compartment_id
            and (instance_id is None or a["instanceId"] == instance_id)
            and (vnic_id is None or a["vnicId"] == vnic_id)
            and (availability_domain is None or a["availabilityDomain"] == availability_domain)
        ]

    # --- the one mutation the controller makes -------------------------------------------------
    def update_private_ip(
        self, private_ip_id: str, details: Mapping[str, Any], if_match: str | None
    ) -> tuple[Resource, Resource]:
        """Apply UpdatePrivateIpDetails; returns (before, after). Validates before changing."""
        current = self.private_ip(private_ip_id)
        check_etag(if_match, self.etags[private_ip_id])
        unknown = set(details) - set(UPDATABLE_PRIVATE_IP_FIELDS) - {"lifetime", "routeTableId"}
        if unknown:
            raise InvalidParameter(f"Unknown fields in UpdatePrivateIpDetails: {sorted(unknown)}")
        if current["isPrimary"]:
            raise InvalidParameter("This operation cannot be used with primary private IPs; use UpdateVnic")
        _check_types(details)
        target = details.get("vnicId")
        if target is not None and target != current["vnicId"]:
            self._check_move(current, target)
        return self.apply(current, details, UPDATABLE_PRIVATE_IP_FIELDS)

    def apply(self, current: Resource, details: Mapping[str, Any], fields: Iterable[str]) -> tuple[Resource, Resource]:
        """Set each of `fields` that `details` gives (validated before); a change gets a new etag.
        Returns (before, after)."""
        before = copy.deepcopy(current)
        for name in fields:
            if details.get(name) is not None:
                current[name] = copy.deepcopy(details[name])
        if current != before:
            self.etags[current["id"]] = new_etag()
        return before, copy.deepcopy(current)

    def _check_move(self, private_ip: Resource, vnic_id: str) -> None:
        vnic = self.related_vnic(vnic_id)
        if vnic["subnetId"] != private_ip["subnetId"]:
            raise InvalidParameter(
                f"The private IP {private_ip['ipAddress']} is in subnet {private_ip['subnetId']} "
                f"and cannot be moved to VNIC {vnic_id} in subnet {vnic['subnetId']}"
            )
        if vnic["lifecycleState"] != "AVAILABLE":
            raise InvalidParameter(f"VNIC {vnic_id} is {vnic['lifecycleState']}")
        self._check_room(vnic_id)

    def related_vnic(self, vnic_id: str) -> Resource:
        """A VNIC named in a request body: unknown is 400, as OCI's error table says."""
        vnic = self.vnics.get(vnic_id)
        if vnic is None:
            raise related_not_found("Vnic", vnic_id)
        return vnic

    def _check_room(self, vnic_id: str) -> None:
        on_target = sum(1 for p in self.private_ips.values() if p["vnicId"] == vnic_id)
        if on_target >= MAX_PRIVATE_IPS_PER_VNIC:
            raise LimitExceeded(
                f"VNIC {vnic_id} already has {on_target - 1} secondary private IPs "
                f"(at most {MAX_PRIVATE_IPS_PER_VNIC - 1})"
            )

    # --- assigning and unassigning secondary IPs -------------------------------------------------
    def create_private_ip(self, details: Mapping[str, Any], created: str) -> Resource:
        """CreatePrivateIp on a VNIC: a given address must be in the subnet and free, else the
        lowest free one is taken. Validates everything before changing anything."""
        unknown = set(details) - set(CREATE_PRIVATE_IP_FIELDS)
        if unknown:
            raise InvalidParameter(f"Unknown fields in CreatePrivateIpDetails: {sorted(unknown)}")
        _check_types(details)
        if details.get("vlanId") is not None:
            raise InvalidParameter("vlanId: VLANs are not emulated; give vnicId")
        if not details.get("vnicId"):
            raise MissingParameter("vnicId is required")
        if details.get("lifetime") not in (None, "EPHEMERAL"):
            raise InvalidParameter("lifetime: only EPHEMERAL private IPs are emulated")
        vnic = self.related_vnic(details["vnicId"])
        if vnic["lifecycleState"] != "AVAILABLE":
            raise InvalidParameter(f"VNIC {vnic['id']} is {vnic['lifecycleState']}")
        subnet = self.subnets[vnic["subnetId"]]
        if details.get("subnetId") not in (None, subnet["id"]):
            raise InvalidParameter(f"subnetId {details['subnetId']} is not the subnet of VNIC {vnic['id']}")
        self._check_room(vnic["id"])
        address = self._free_address(subnet, details.get("ipAddress"))
        private_ip_id = f"ocid1.privateip.oc1.{region_key(vnic['id'])}.{random_suffix()}"
        fields = {
            k: copy.deepcopy(details[k])
            for k in ("displayName", "hostnameLabel", "freeformTags", "definedTags")
            if details.get(k) is not None
        }
        _add_private_ip(
            self,
            vnic,
            {"id": private_ip_id, "ipAddress": address, "isPrimary": False, "displayName": address, **fields},
            created,
        )
        self.etags[private_ip_id] = new_etag()
        return copy.deepcopy(self.private_ips[private_ip_id])

    def _free_address(self, subnet: Resource, wanted: Any) -> str:
        network = ipaddress.ip_network(subnet["cidrBlock"])
        taken = {p["ipAddress"] for p in self.private_ips.values() if p["subnetId"] == subnet["id"]}
        reserved = {
            str(network.network_address),
            str(network.broadcast_address),
            subnet.get("virtualRouterIp") or str(network.network_address + 1),
        }
        if wanted is not None:
            try:
                address = ipaddress.ip_address(wanted)
            except ValueError as exc:
                raise InvalidParameter(f"ipAddress {wanted!r} is not an IP address") from exc
            if address not in network or str(address) in reserved:
                raise InvalidParameter(
                    f"ipAddress {address} is not an assignable address of subnet {subnet['id']} ({network})"
                )
            if str(address) in taken:
                raise Conflict(f"ipAddress {address} is already assigned in subnet {subnet['id']}")
            return str(address)
        # OCI does not hand a just-freed address to the next CreatePrivateIp without one (a
        # recorded session got the next address instead): freed ones come last, oldest first.
        freed = self.released.get(subnet["id"], [])
        unavailable = taken | reserved | set(freed)
        for host in network.hosts():
            if str(host) not in unavailable:
                return str(host)
        for released in freed:
            if released not in taken:
                return released
        raise LimitExceeded(f"Subnet {subnet['id']} has no free address")

    def update_public_ip(
        self, public_ip_id: str, details: Mapping[str, Any], if_match: str | None
    ) -> tuple[Resource, Resource]:
        """UpdatePublicIp: rename, or (reserved only) reassign: ``privateIpId`` "" unassigns it,
        an OCID assigns it to that private IP, which must not carry another public IP."""
        current = self.public_ip(public_ip_id)
        check_etag(if_match, self.etags[public_ip_id])
        unknown = set(details) - {"displayName", "privateIpId", "freeformTags", "definedTags"}
        if unknown:
            raise InvalidParameter(f"Unknown or not updatable field(s): {', '.join(sorted(unknown))}")
        before = copy.deepcopy(current)
        if "privateIpId" in details:
            target = details["privateIpId"]
            if current.get("lifetime") != "RESERVED":
                raise InvalidParameter("Only a reserved public IP can be assigned or unassigned")
            if target in ("", None):
                current.update(
                    privateIpId=None, assignedEntityId=None, assignedEntityType=None, lifecycleState="AVAILABLE"
                )
            else:
                self.private_ip(str(target))
                other = self.public_ip_of(str(target))
                if other is not None and other["id"] != public_ip_id:
                    raise Conflict(f"Private IP {target} already has public IP {other['id']}")
                current.update(
                    privateIpId=target,
                    assignedEntityId=target,
                    assignedEntityType="PRIVATE_IP",
                    lifecycleState="ASSIGNED",
                )
        for key in ("displayName", "freeformTags", "definedTags"):
            if key in details:
                current[key] = details[key]
        self.etags[public_ip_id] = new_etag()
        return before, copy.deepcopy(current)

    def delete_private_ip(self, private_ip_id: str, if_match: str | None) -> Resource:
        """DeletePrivateIp: a secondary IP only; its reserved public IP stays, unassigned."""
        current = self.private_ip(private_ip_id)
        check_etag(if_match, self.etags[private_ip_id])
        if current["isPrimary"]:
            raise InvalidParameter("A primary private IP cannot be deleted; terminate its VNIC instead")
        routes = sorted(
            t["id"]
            for t in self.route_tables.values()
            if any(r.get("networkEntityId") == private_ip_id for r in t["routeRules"])
        )
        if routes:
            raise Conflict(f"Private IP {private_ip_id} is the target of route rules in {', '.join(routes)}")
        public = self.public_ip_of(private_ip_id)
        if public is not None:
            if public.get("lifetime") == "RESERVED":
                public.update(
                    privateIpId=None, assignedEntityId=None, assignedEntityType=None, lifecycleState="AVAILABLE"
                )
                self.etags[public["id"]] = new_etag()
            else:  # an ephemeral public IP lives and dies with its private IP
                del self.public_ips[public["id"]]
                del self.etags[public["id"]]
        del self.private_ips[private_ip_id]
        del self.etags[private_ip_id]
        freed = self.released.setdefault(current["subnetId"], [])
        freed[:] = [a for a in freed if a != current["ipAddress"]][-(MAX_RELEASED - 1) :] + [current["ipAddress"]]
        return current


def matching(resources: Iterable[Resource], filters: Mapping[str, Any]) -> list[Resource]:
    """The resources whose fields equal every filter that is given (None: not filtered)."""
    return [r for r in resources if all(value is None or r.get(name) == value for name, value in filters.items())]


def _check_types(details: Mapping[str, Any]) -> None:
    """UpdatePrivateIpDetails field types, as OCI's request validation refuses them (400)."""
    for name in ("displayName", "hostnameLabel", "vnicId", "lifetime", "routeTableId"):
        if details.get(name) is not None and not isinstance(details[name], str):
            raise InvalidParameter(f"{name} must be a string")
    for name in ("freeformTags", "definedTags"):
        if details.get(name) is not None and not isinstance(details[name], dict):
            raise InvalidParameter(f"{name} must be an object")


# --- seeding from a topology -----------------------------------------------------------------


def seed(topology: Mapping[str, Any], created: str) -> CoreState:
    """Build the state from the topology file's sections (see ocisim/topologies/two-node.json)."""
    state = CoreState()
    region = topology["region"]
    ad_default = f"Uocm:{region.upper()}-AD-1"
    for vcn in topology.get("vcns", []):
        state.vcns[vcn["id"]] = {"lifecycleState": "AVAILABLE", "timeCreated": created, **vcn}
    for subnet in topology.get("subnets", []):
        ipaddress.ip_network(subnet["cidrBlock"])  # refuse a malformed topology early
        state.subnets[subnet["id"]] = {"lifecycleState": "AVAILABLE", "timeCreated": created, **subnet}
    for instance in topology.get("instances", []):
        body = {k: v for k, v in instance.items() if k != "vnics"}
        body.setdefault("availabilityDomain", ad_default)
        body.setdefault("lifecycleState", "RUNNING")
        body.setdefault("timeCreated", created)
        body.setdefault("region", region)
        body = {**_instance_defaults(body), **body}
        state.instances[instance["id"]] = body
        for index, vnic in enumerate(instance.get("vnics", [])):
            _seed_vnic(state, body, vnic, index, created)
    for private_ip in topology.get("privateIps", []):
        vnic = state.vnics[private_ip["vnicId"]]
        _add_private_ip(state, vnic, {**private_ip, "isPrimary": False}, created)
    for public_ip in topology.get("publicIps", []):
        private_ip = state.private_ips[public_ip["privateIpId"]]
        state.public_ips[public_ip["id"]] = {
            "assignedEntityId": private_ip["id"],
            "assignedEntityType": "PRIVATE_IP",
            "availabilityDomain": None,
            "compartmentId": private_ip["compartmentId"],
            "definedTags": {},
            "freeformTags": {},
            "lifecycleState": "ASSIGNED",
            "lifetime": "RESERVED",
            "scope": "REGION",
            "timeCreated": created,
            "publicIpPoolId": None,
            **public_ip,
        }
    for resource_id in _all_ids(state):
        state.etags[resource_id] = new_etag()
    return state


def _instance_defaults(instance: Mapping[str, Any]) -> Resource:
    """What GetInstance returns beyond the topology's fields, shaped like a Flex VM from an image.

    The image OCID is made up (no image is emulated); the topology may override any field.
    """
    image_id = f"ocid1.image.oc1.{region_key(instance['id'])}.aaaaaaaaocisimdebian12imagenotarealimage"
    return {
        "freeformTags": {},
        "definedTags": {},
        "systemTags": {},
        "securityAttributes": {},
        "securityAttributesState": "STABLE",
        "extendedMetadata": {},
        "metadata": {},
        "imageId": image_id,
        "launchMode": "PARAVIRTUALIZED",
        "ipxeScript": None,
        "capacityReservationId": None,
        "dedicatedVmHostId": None,
        "clusterPlacementGroupId": None,
        "instanceConfigurationId": None,
        "timeMaintenanceRebootDue": None,
        "isCrossNumaNode": False,
        "isAIEnterpriseEnabled": False,
        "placementConstraintDetails": None,
        "preemptibleInstanceConfig": None,
        "platformConfig": None,
        "licensingConfigs": [],
        "launchOptions": {
            "bootVolumeType": "PARAVIRTUALIZED",
            "firmware": "UEFI_64",
            "networkType": "PARAVIRTUALIZED",
            "remoteDataVolumeType": "PARAVIRTUALIZED",
            "isPvEncryptionInTransitEnabled": False,
            "isConsistentVolumeNamingEnabled": True,
        },
        "instanceOptions": {"areLegacyImdsEndpointsDisabled": True},
        "availabilityConfig": {"isLiveMigrationPreferred": None, "recoveryAction": "RESTORE_INSTANCE"},
        "agentConfig": {
            "isMonitoringDisabled": False,
            "isManagementDisabled": False,
            "areAllPluginsDisabled": False,
            "pluginsConfig": None,
        },
        "shapeConfig": {
            "ocpus": 1.0,
            "memoryInGBs": 16.0,
            "baselineOcpuUtilization": None,
            "processorDescription": "2.55 GHz AMD EPYC 7J13 (Milan)",
            "networkingBandwidthInGbps": 1.0,
            "maxVnicAttachments": 2,
            "gpus": 0,
            "gpuDescription": None,
            "localDisks": 0,
            "localDisksTotalSizeInGBs": None,
            "localDiskDescription": None,
            "vcpus": 2,
            "resourceManagement": None,
        },
        "sourceDetails": {
            "sourceType": "image",
            "imageId": image_id,
            "bootVolumeSizeInGBs": None,
            "bootVolumeVpusPerGB": None,
            "kmsKeyId": None,
            "instanceSourceImageFilterDetails": None,
        },
    }


def _seed_vnic(state: CoreState, instance: Resource, vnic: Mapping[str, Any], index: int, created: str) -> None:
    subnet = state.subnets[vnic["subnetId"]]
    common = {
        "availabilityDomain": instance["availabilityDomain"],
        "compartmentId": instance["compartmentId"],
        "timeCreated": created,
    }
    state.vnics[vnic["id"]] = {
        **common,
        "id": vnic["id"],
        "displayName": vnic.get("displayName", instance["displayName"]),
        "hostnameLabel": vnic.get("hostnameLabel"),
        "isPrimary": vnic.get("isPrimary", index == 0),
        "lifecycleState": "AVAILABLE",
        "macAddress": vnic["macAddress"],
        "nsgIds": [],
        "vlanId": None,
        "skipSourceDestCheck": vnic.get("skipSourceDestCheck", False),
        "subnetId": subnet["id"],
        "definedTags": {},
        "freeformTags": {},
        "systemTags": {},
        "ipv6Addresses": [],
        "routeTableId": None,
        "securityAttributes": {},
    }
    state.vnic_attachments[vnic["attachmentId"]] = {
        **common,
        "id": vnic["attachmentId"],
        "displayName": vnic.get("attachmentDisplayName"),
        "instanceId": instance["id"],
        "lifecycleState": "ATTACHED",
        "nicIndex": 0,
        "subnetId": subnet["id"],
        "vlanId": None,
        "vlanTag": 0,
        "vnicId": vnic["id"],
    }
    primary = vnic["privateIp"]
    _add_private_ip(
        state,
        state.vnics[vnic["id"]],
        {"hostnameLabel": vnic.get("hostnameLabel"), "displayName": primary["ipAddress"], **primary, "isPrimary": True},
        created,
    )


def _add_private_ip(state: CoreState, vnic: Resource, private_ip: Mapping[str, Any], created: str) -> None:
    subnet = state.subnets[vnic["subnetId"]]
    address = ipaddress.ip_address(private_ip["ipAddress"])
    if address not in ipaddress.ip_network(subnet["cidrBlock"]):
        raise ValueError(f"{address} is outside subnet {subnet['cidrBlock']}")
    if any(p["ipAddress"] == str(address) and p["subnetId"] == subnet["id"] for p in state.private_ips.values()):
        raise ValueError(f"{address} appears twice in subnet {subnet['id']}")
    state.private_ips[private_ip["id"]] = {
        "availabilityDomain": vnic["availabilityDomain"],
        "compartmentId": vnic["compartmentId"],
        "definedTags": {},
        "freeformTags": {},
        "displayName": None,
        "hostnameLabel": None,
        "cidrPrefixLength": None,
        "vlanId": None,
        "subnetId": subnet["id"],
        "timeCreated": created,
        "vnicId": vnic["id"],
        "ipState": "ASSIGNED",
        "lifetime": "EPHEMERAL",
        "routeTableId": None,
        "ipv4SubnetCidrAtCreation": None,
        **private_ip,
    }


def region_key(ocid: str) -> str:
    """The region part of a regional OCID (ocid1.<type>.oc1.<region>.<unique>)."""
    parts = ocid.split(".")
    return parts[3] if len(parts) > 4 else ""


def random_suffix() -> str:
    """An OCID's unique part: 'aaaaaaaa' and 52 base32 characters, like OCI's."""
    return "aaaaaaaa" + base64.b32encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode().lower()[:52]


def _all_ids(state: CoreState) -> Iterable[str]:
    for table in (
        state.vcns,
        state.subnets,
        state.instances,
        state.vnics,
        state.vnic_attachments,
        state.private_ips,
        state.public_ips,
    ):
        yield from table
