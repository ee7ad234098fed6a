"""Every resource, data source, argument, block and reference of terraform/ exists in the
oracle/oci provider's schema at the pinned version (tests/terraform/fixtures, extracted from the
provider's source by extract_provider_schema.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import hcl2
import pytest

from tests.support.terraform import TERRAFORM_DIR
from tests.support.tf_schema import Schemas, check_argument_rules, check_source, check_tree, used_types

SCHEMAS = Schemas.load()

GOOD_VCN = """
resource "oci_core_vcn" "v" {
  compartment_id = var.compartment_ocid
  cidr_blocks    = ["198.18.0.0/16"]
}
"""


def problems(snippet: str) -> list[str]:
    return check_source(GOOD_VCN + snippet, SCHEMAS, "snippet.tf")


def test_fixture_is_the_pinned_provider() -> None:
    pin = re.search(r'version\s*=\s*"=\s*([0-9.]+)"', (TERRAFORM_DIR / "versions.tf").read_text())
    assert pin is not None
    assert SCHEMAS.provenance["version"] == pin.group(1)
    assert re.fullmatch(r"[0-9a-f]{40}", SCHEMAS.provenance["commit"])


def test_every_type_terraform_uses_has_its_schema() -> None:
    used = used_types(TERRAFORM_DIR)
    assert "oci_core_instance" in used["resource"] and "oci_core_images" in used["data"]
    missing = [(kind, t) for kind, types in used.items() for t in types if SCHEMAS.of(kind, t) is None]
    assert missing == [], "run tests/terraform/extract_provider_schema.py and commit the fixture"


def test_terraform_matches_the_provider_schema() -> None:
    assert check_tree(TERRAFORM_DIR, SCHEMAS) == []


def test_the_examples_use_only_what_the_provider_has() -> None:
    """examples/ are checked too: a user copies them."""
    assert check_tree(TERRAFORM_DIR.parent / "examples", SCHEMAS) == []
    assert set(used_types(TERRAFORM_DIR.parent / "examples")["data"]) <= set(used_types(TERRAFORM_DIR)["data"])


def test_the_check_reads_every_file_of_the_tree(tmp_path: Path) -> None:
    """Not vacuous: a wrong name in a real file, or in a module's file, is caught."""
    tree = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, tree, ignore=shutil.ignore_patterns(".terraform"))
    compute = tree / "compute.tf"
    compute.write_text(compute.read_text().replace("fault_domain        = local", "fault_domains       = local", 1))
    (tree / "modules" / "node_agent" / "extra.tf").write_text(
        'data "oci_objectstorage_namespace" "n" {\n  compartment = "c"\n}\n'
    )
    assert check_tree(tree, SCHEMAS) == [
        "terraform/compute.tf: oci_core_instance.node: unsupported argument 'fault_domains'",
        "terraform/modules/node_agent/extra.tf: data.oci_objectstorage_namespace.n: unsupported argument 'compartment'",
    ]


def test_a_wrong_argument_name_is_caught() -> None:
    assert problems("""
resource "oci_core_subnet" "s" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.v.id
  cidr_block     = "198.18.0.0/24"
  prohibit_public_ip = true
}
""") == ["snippet.tf: oci_core_subnet.s: unsupported argument 'prohibit_public_ip'"]


def test_a_missing_required_argument_is_caught() -> None:
    assert problems("""
resource "oci_core_subnet" "s" {
  compartment_id = var.compartment_ocid
  cidr_block     = "198.18.0.0/24"
}
""") == ["snippet.tf: oci_core_subnet.s: required argument 'vcn_id' is missing"]


def test_a_computed_only_attribute_set_is_caught() -> None:
    assert problems("""
resource "oci_core_private_ip" "p" {
  vnic_id    = "ocid1.vnic.oc1..x"
  ip_address = "198.18.0.4"
  is_primary = false
}
""") == ["snippet.tf: oci_core_private_ip.p: 'is_primary' is computed by the provider and cannot be set"]


def test_block_counts_and_kinds_are_checked() -> None:
    found = problems("""
resource "oci_core_instance" "i" {
  availability_domain = "AD-1"
  compartment_id      = var.compartment_ocid
  shape               = "VM.Standard.E4.Flex"
  create_vnic_details { subnet_id = "a" }
  create_vnic_details { subnet_id = "b" }
  metadata { user_data = "x" }
  source_details = [{ source_type = "image", source_id = "y" }]
}
""")
    assert found == [
        "snippet.tf: oci_core_instance.i: unsupported block 'metadata' (an argument: write `=`)",
        "snippet.tf: oci_core_instance.i: unsupported argument 'source_details' (a block: write it without `=`)",
        "snippet.tf: oci_core_instance.i: block 'create_vnic_details' allows at most 1, has 2",
    ]


def test_nested_blocks_and_dynamic_blocks_are_checked() -> None:
    found = problems("""
resource "oci_core_network_security_group_security_rule" "r" {
  network_security_group_id = "ocid1.networksecuritygroup.oc1..x"
  direction                 = "INGRESS"
  protocol                  = "6"
  tcp_options {
    destination_port_range {
      min = 80
      maxi = 80
    }
  }
}
resource "oci_core_security_list" "l" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.v.id
  dynamic "ingress_security_rule" {
    for_each = [1]
    content { source = "0.0.0.0/0" }
  }
  dynamic "egress_security_rules" {
    for_each = [1]
    content { destination = "0.0.0.0/0" }
  }
}
""")
    assert found == [
        "snippet.tf: oci_core_network_security_group_security_rule.r.tcp_options[0].destination_port_range[0]: "
        "unsupported argument 'maxi'",
        "snippet.tf: oci_core_network_security_group_security_rule.r.tcp_options[0].destination_port_range[0]: "
        "required argument 'max' is missing",
        "snippet.tf: oci_core_security_list.l: dynamic block 'ingress_security_rule' is no block of this type",
        "snippet.tf: oci_core_security_list.l.egress_security_rules: required argument 'protocol' is missing",
    ]


@pytest.mark.parametrize(
    ("expression", "missing"),
    [
        ("oci_core_vcn.v.idd", "idd"),
        ("oci_core_vcn.v.default_route_table_id", None),
        ('"${oci_core_vcn.v.cidr_block}s/${oci_core_vcn.v.vcn_domain_nam}"', "vcn_domain_nam"),
        ("data.oci_core_images.u.images[0].id", None),
        ("data.oci_core_images.u.images[0].ids", "ids"),
        ("data.oci_core_vnic_attachments.a.vnic_attachments[*].vnic_id", None),
        ("oci_core_vcn.v.byoipv6cidr_details", None),
    ],
)
def test_references_name_attributes_of_their_type(expression: str, missing: str | None) -> None:
    found = problems(f'output "o" {{\n  value = {expression}\n}}\n')
    assert [p.rsplit("'", 2)[1] for p in found] == ([] if missing is None else [missing]), found


def test_a_type_without_schema_is_reported() -> None:
    assert problems('resource "oci_core_vnc" "x" {\n  compartment_id = "c"\n}\n') == [
        "snippet.tf: oci_core_vnc.x: no schema for resource type 'oci_core_vnc' (extract it)"
    ]


def test_literal_values_must_fit_the_argument_type() -> None:
    """The real `terraform validate` (against the provider built from source, run once) refused
    exactly these four and accepted the rest: strings convert to bools and numbers only when they
    spell one, numbers to strings always."""
    found = problems("""
resource "oci_core_subnet" "s" {
  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.v.id
  cidr_block                 = "198.18.0.0/24"
  prohibit_public_ip_on_vnic = "yes"
  security_list_ids          = "sl"
  freeform_tags              = { a = "b", c = 1 }
}
resource "oci_core_subnet" "ok" {
  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.v.id
  cidr_block                 = "198.18.1.0/24"
  prohibit_public_ip_on_vnic = "true"
  dns_label                  = 5
}
resource "oci_core_network_security_group_security_rule" "r" {
  network_security_group_id = "ocid1.networksecuritygroup.oc1..x"
  direction                 = "INGRESS"
  protocol                  = "6"
  tcp_options {
    destination_port_range {
      min = "eighty"
      max = "80"
    }
  }
}
resource "oci_core_instance" "i" {
  availability_domain = "AD-1"
  compartment_id      = var.compartment_ocid
  shape               = "VM.Standard.E4.Flex"
  metadata            = ["a"]
}
""")
    assert found == [
        "snippet.tf: oci_core_subnet.s: 'prohibit_public_ip_on_vnic': a bool is required, not '\"yes\"'",
        "snippet.tf: oci_core_subnet.s: 'security_list_ids': a set is required, not '\"sl\"'",
        "snippet.tf: oci_core_network_security_group_security_rule.r.tcp_options[0].destination_port_range[0]: "
        "'min': a number is required, not '\"eighty\"'",
        "snippet.tf: oci_core_instance.i: 'metadata': a map is required, not ['\"a\"']",
    ]


def test_ignore_changes_names_attributes_of_the_type() -> None:
    found = problems("""
resource "oci_core_instance" "i" {
  availability_domain = "AD-1"
  compartment_id      = var.compartment_ocid
  shape               = "VM.Standard.E4.Flex"
  lifecycle {
    ignore_changes = [source_details[0].source_id, metadata, source_details[0].source_idz, metadatas]
  }
}
""")
    assert found == [
        "snippet.tf: oci_core_instance.i: ignore_changes names 'source_details[0].source_idz', "
        "but the type has no attribute 'source_idz'",
        "snippet.tf: oci_core_instance.i: ignore_changes names 'metadatas', but the type has no attribute 'metadatas'",
    ]


def test_conflicting_arguments_are_caught_once_known() -> None:
    """As the real terraform validate answered (run once): both written and known is refused,
    either of them unknown until plan is not."""
    found = problems("""
variable "body" {
  type = string
}
resource "oci_objectstorage_object" "both" {
  namespace = "n"
  bucket    = "b"
  object    = "o"
  content   = "x"
  source    = "/tmp/x"
}
resource "oci_objectstorage_object" "unknown" {
  namespace = "n"
  bucket    = "b"
  object    = "o2"
  content   = "x"
  source    = var.body
}
""")
    assert found == [
        "snippet.tf: oci_objectstorage_object.both: 'content' conflicts with 'source'",
        "snippet.tf: oci_objectstorage_object.both: 'source' conflicts with 'content'",
    ]


def body(text: str) -> dict:
    return hcl2.loads(f'resource "t" "n" {{\n{text}\n}}\n')["resource"][0]['"t"']['"n"']


RULES = {
    "a": {"exactly_one_of": ["a", "b"]},
    "c": {"required_with": ["d"], "at_least_one_of": ["c", "e"]},
    "blk.0.x": {"exactly_one_of": ["blk.0.x", "blk.0.y"]},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = 1\nc = 2\nd = 3\nblk {\n x = 1\n}", []),
        ("c = 2\nd = 3", ["one of a, b must be specified"]),
        ("a = 1\nb = 2\nc = 2\nd = 3", ["only one of a, b can be specified, not a, b"]),
        ("a = var.v\nb = 2\nc = 2\nd = 3", []),
        ("a = 1\nc = 2", ["'c': all of c, d must be specified"]),
        ("a = 1", ["one of c, e must be specified"]),
        ("a = 1\ne = 1\nblk {\n z = 1\n}", ["one of blk.0.x, blk.0.y must be specified"]),
    ],
)
def test_argument_rules_are_evaluated_as_the_sdk_does(text: str, expected: list[str]) -> None:
    """Rules of the SDK's schemaMap.validate (helper/schema): ExactlyOneOf and AtLeastOneOf count
    known values and wait for unknown ones; RequiredWith needs every key written; a rule inside a
    block applies only where the block is written."""
    assert [p.split(": ", 1)[1] for p in check_argument_rules(RULES, body(text), "x")] == expected
