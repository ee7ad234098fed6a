# Least privilege, scoped to the compartment, narrowed by conditions where OCI supports them.
# Every statement says which API calls need it; tests/terraform/test_policies.py holds the
# allow-list and fails on anything broader. Compare the seed: `manage virtual-network-family`
# for every node (docs/deploy.md).

locals {
  node_names        = sort(keys(var.nodes))
  compartment_scope = "in compartment id ${var.compartment_ocid}"

  function_statements = [
    # GetPrivateIp, and the private-IP half of UpdatePrivateIp (PRIVATE_IP_UPDATE); not create,
    # delete or public-IP assignment, which `use private-ips` would otherwise include.
    "Allow dynamic-group id ${oci_identity_dynamic_group.function.id} to use private-ips ${local.compartment_scope} where any {request.permission = 'PRIVATE_IP_READ', request.permission = 'PRIVATE_IP_UPDATE'}",
    # The VNIC half of UpdatePrivateIp: unassign from the old VNIC, assign to the new one; and
    # GetVnic, the doctor's check that every node's VNIC is in the VIP's subnet.
    "Allow dynamic-group id ${oci_identity_dynamic_group.function.id} to use vnics ${local.compartment_scope} where any {request.permission = 'VNIC_ASSIGN', request.permission = 'VNIC_UNASSIGN', request.permission = 'VNIC_READ'}",
    # GetPublicIpByPrivateIpId for the reserved public IP, reported in the function's answer.
    "Allow dynamic-group id ${oci_identity_dynamic_group.function.id} to read public-ips ${local.compartment_scope}",
    # The doctor ({"action": "doctor"}, operators' function): GetAlarm, ListSubscriptions and
    # SummarizeMetricsData of the agents' namespace. Reads only.
    "Allow dynamic-group id ${oci_identity_dynamic_group.function.id} to read alarms ${local.compartment_scope}",
    "Allow dynamic-group id ${oci_identity_dynamic_group.function.id} to inspect ons-subscriptions ${local.compartment_scope}",
    "Allow dynamic-group id ${oci_identity_dynamic_group.function.id} to read metrics ${local.compartment_scope} where target.metrics.namespace = '${local.metric_names.namespace}'",
  ]

  # With IPv6 floating IPs: GetIpv6 and the IPv6 half of UpdateIpv6 (its VNIC half is the
  # `use vnics` above); not create or delete, which `use ipv6s` would otherwise include.
  function_ipv6_statements = length(var.vip_ipv6_ids) == 0 ? [] : [
    "Allow dynamic-group id ${oci_identity_dynamic_group.function.id} to use ipv6s ${local.compartment_scope} where any {request.permission = 'IPV6_READ', request.permission = 'IPV6_UPDATE'}",
  ]

  node_statements = [
    # PostMetricData, only into the probe's namespace.
    "Allow dynamic-group id ${oci_identity_dynamic_group.nodes.id} to use metrics ${local.compartment_scope} where target.metrics.namespace = '${local.metric_names.namespace}'",
    # InvokeFunction, only the events function (keepalived's notify: the fast path). Never the
    # operators' function: nothing a node can invoke causes a manual or forced move.
    "Allow dynamic-group id ${oci_identity_dynamic_group.nodes.id} to use fn-invocation ${local.compartment_scope} where target.function.id = '${oci_functions_function.failover.id}'",
  ]

  # fast_path_mode = "direct" only: the node agent handles keepalived's MASTER notice itself with
  # the function's core (health_probe/direct.py), so the nodes get exactly the function's grants
  # for moving the floating IPs, with the same narrowing (above), and nothing else of the
  # function's: no doctor reads, no events topic. In "function" mode they keep only the invoke.
  node_direct_statements = var.fast_path_mode != "direct" ? [] : [
    "Allow dynamic-group id ${oci_identity_dynamic_group.nodes.id} to use private-ips ${local.compartment_scope} where any {request.permission = 'PRIVATE_IP_READ', request.permission = 'PRIVATE_IP_UPDATE'}",
    "Allow dynamic-group id ${oci_identity_dynamic_group.nodes.id} to use vnics ${local.compartment_scope} where any {request.permission = 'VNIC_ASSIGN', request.permission = 'VNIC_UNASSIGN', request.permission = 'VNIC_READ'}",
    "Allow dynamic-group id ${oci_identity_dynamic_group.nodes.id} to read public-ips ${local.compartment_scope}",
  ]
  node_direct_ipv6_statements = var.fast_path_mode != "direct" ? [] : length(var.vip_ipv6_ids) == 0 ? [] : [
    "Allow dynamic-group id ${oci_identity_dynamic_group.nodes.id} to use ipv6s ${local.compartment_scope} where any {request.permission = 'IPV6_READ', request.permission = 'IPV6_UPDATE'}",
  ]

  # GetObject of the nodes' own configuration, only in the buckets that hold it (the full stack's
  # cloud-init fetches it; adopted nodes are given theirs by `health_probe install` and need none).
  node_config_statements = [
    for bucket in var.node_config_buckets :
    "Allow dynamic-group id ${oci_identity_dynamic_group.nodes.id} to read objects ${local.compartment_scope} where target.bucket.name = '${bucket}'"
  ]
}

# Resource principals of the two deployments of the function (events and operators').
resource "oci_identity_dynamic_group" "function" {
  provider = oci.home

  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-function"
  description    = "The failover functions (resource principals)"
  matching_rule  = "ANY {resource.id = '${oci_functions_function.failover.id}', resource.id = '${oci_functions_function.operator.id}'}"
}

# Instance principals of the nodes, by instance OCID (created by the stack or adopted).
resource "oci_identity_dynamic_group" "nodes" {
  provider = oci.home

  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-nodes"
  description    = "The haproxy/keepalived nodes (instance principals)"
  matching_rule  = "ANY {${join(", ", [for name in local.node_names : "instance.id = '${var.nodes[name].instance_id}'"])}}"
}

locals {
  operator_statements = [
    # InvokeFunction of the operators' function only: manual and forced moves.
    "Allow group id ${var.operators_group_ocid} to use fn-invocation ${local.compartment_scope} where target.function.id = '${oci_functions_function.operator.id}'",
    # `python -m failover` with the operator's own API key: what the function itself may do.
    "Allow group id ${var.operators_group_ocid} to use private-ips ${local.compartment_scope} where any {request.permission = 'PRIVATE_IP_READ', request.permission = 'PRIVATE_IP_UPDATE'}",
    "Allow group id ${var.operators_group_ocid} to use vnics ${local.compartment_scope} where any {request.permission = 'VNIC_ASSIGN', request.permission = 'VNIC_UNASSIGN', request.permission = 'VNIC_READ'}",
    "Allow group id ${var.operators_group_ocid} to read public-ips ${local.compartment_scope}",
    # `python -m failover doctor`: the same reads as the function's doctor.
    "Allow group id ${var.operators_group_ocid} to read alarms ${local.compartment_scope}",
    "Allow group id ${var.operators_group_ocid} to inspect ons-subscriptions ${local.compartment_scope}",
    "Allow group id ${var.operators_group_ocid} to read metrics ${local.compartment_scope} where target.metrics.namespace = '${local.metric_names.namespace}'",
  ]

  # `python -m failover` moving the IPv6 floating IPs: the function's own IPv6 grant.
  operator_ipv6_statements = length(var.vip_ipv6_ids) == 0 ? [] : [
    "Allow group id ${var.operators_group_ocid} to use ipv6s ${local.compartment_scope} where any {request.permission = 'IPV6_READ', request.permission = 'IPV6_UPDATE'}",
  ]
}

resource "oci_identity_policy" "operators" {
  provider = oci.home

  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-operators"
  description    = "The operators' group may cause manual and forced moves of the floating IPs"
  statements     = concat(local.operator_statements, local.operator_ipv6_statements)
}

resource "oci_identity_policy" "function" {
  provider = oci.home

  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-function"
  description    = "The failover function moves the floating IPs between the nodes' VNICs"
  statements     = concat(local.function_statements, local.function_ipv6_statements)
}

resource "oci_identity_policy" "nodes" {
  provider = oci.home

  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-nodes"
  description    = "The nodes post health metrics, invoke the failover function and read their config"
  statements     = concat(local.node_statements, local.node_config_statements, local.node_direct_statements, local.node_direct_ipv6_statements)
}
