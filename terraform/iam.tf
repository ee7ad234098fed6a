# Least privilege, scoped to the compartment, narrowed by conditions where OCI supports them.
# Every statement says which API calls need it; tests/terraform/test_policies.py holds the
# allow-list and fails on anything broader. Compare the seed: `manage virtual-network-family`
# for every node (docs/deploy.md).

locals {
  compartment_scope = "in compartment id ${var.compartment_ocid}"

  function_statements = [
    # GetPrivateIp, and the private-IP half of UpdatePrivateIp (PRIVATE_IP_UPDATE); not create,
    # delete or public-IP assignment, which `use private-ips` would otherwise include.
    "Allow dynamic-group id ${oci_identity_dynamic_group.function.id} to use private-ips ${local.compartment_scope} where any {request.permission = 'PRIVATE_IP_READ', request.permission = 'PRIVATE_IP_UPDATE'}",
    # The VNIC half of UpdatePrivateIp: unassign from the old VNIC, assign to the new one.
    "Allow dynamic-group id ${oci_identity_dynamic_group.function.id} to use vnics ${local.compartment_scope} where any {request.permission = 'VNIC_ASSIGN', request.permission = 'VNIC_UNASSIGN'}",
    # GetPublicIpByPrivateIpId for the reserved public IP, reported in the function's answer.
    "Allow dynamic-group id ${oci_identity_dynamic_group.function.id} to read public-ips ${local.compartment_scope}",
  ]

  node_statements = [
    # PostMetricData, only into the probe's namespace.
    "Allow dynamic-group id ${oci_identity_dynamic_group.nodes.id} to use metrics ${local.compartment_scope} where target.metrics.namespace = '${local.metric_names.namespace}'",
    # InvokeFunction, only this function (keepalived's notify: the fast path).
    "Allow dynamic-group id ${oci_identity_dynamic_group.nodes.id} to use fn-invocation ${local.compartment_scope} where target.function.id = '${oci_functions_function.failover.id}'",
    # GetObject of the node's own configuration, only in the config bucket.
    "Allow dynamic-group id ${oci_identity_dynamic_group.nodes.id} to read objects ${local.compartment_scope} where target.bucket.name = '${oci_objectstorage_bucket.node_config.name}'",
  ]
}

# Resource principal of this one function.
resource "oci_identity_dynamic_group" "function" {
  provider = oci.home

  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-function"
  description    = "The failover function (resource principal)"
  matching_rule  = "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.failover.id}'}"
}

# Instance principals of the two nodes, by instance OCID.
resource "oci_identity_dynamic_group" "nodes" {
  provider = oci.home

  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-nodes"
  description    = "The two haproxy/keepalived nodes (instance principals)"
  matching_rule  = "ANY {${join(", ", [for name in local.node_names : "instance.id = '${oci_core_instance.node[name].id}'"])}}"
}

resource "oci_identity_policy" "function" {
  provider = oci.home

  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-function"
  description    = "The failover function moves the floating private IP between the nodes' VNICs"
  statements     = local.function_statements
}

resource "oci_identity_policy" "nodes" {
  provider = oci.home

  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-nodes"
  description    = "The nodes post health metrics, invoke the failover function and read their config"
  statements     = local.node_statements
}
