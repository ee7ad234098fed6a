# The failover function (image built and pushed with `fn build` / `docker push`, see
# docs/deploy.md) in the private functions subnet, configured by modules/function_config.
# The same image is deployed twice (README, "Security"): `failover` (ROLE=events) is what the
# nodes and Notifications may invoke, and takes keepalived notices, alarms and status only;
# `operator` (ROLE=operator) also takes manual and forced moves, and only the operators' group
# may invoke it (iam.tf).

module "function_config" {
  source = "./modules/function_config"

  vip_private_ip_ids = [oci_core_private_ip.floating.id]
  # health_url: the node agent's endpoint, 200 only while the node can serve the floating IP
  # (haproxy up and the alias held); haproxy's own :8404 cannot tell a node that dropped the alias.
  nodes = [
    for name in local.node_names : {
      name       = name
      vnic_id    = data.oci_core_vnic_attachments.node[name].vnic_attachments[0].vnic_id
      health_url = "http://${var.nodes[name].private_ip}:${var.node_health_port}/healthz"
      priority   = var.nodes[name].priority
    }
  ]
  failback_policy               = var.failback_policy
  cooldown_seconds              = var.cooldown_seconds
  probe_timeout_seconds         = var.probe_timeout_seconds
  probe_connect_timeout_seconds = var.probe_connect_timeout_seconds
  dry_run                       = var.dry_run
  retry_deadline_seconds        = var.retry_deadline_seconds
  alarm_ids                     = concat([for alarm in oci_monitoring_alarm.health : alarm.id], oci_monitoring_alarm.outside_in[*].id)
}

resource "oci_functions_application" "failover" {
  compartment_id             = var.compartment_ocid
  display_name               = "${var.name_prefix}-app"
  subnet_ids                 = [oci_core_subnet.functions.id]
  network_security_group_ids = [oci_core_network_security_group.functions.id]
}

resource "oci_functions_function" "failover" {
  application_id     = oci_functions_application.failover.id
  display_name       = "vip-failover"
  image              = var.function_image
  memory_in_mbs      = var.function_memory_mb
  timeout_in_seconds = var.function_timeout_seconds
  config             = module.function_config.config

  lifecycle {
    precondition {
      condition     = var.retry_deadline_seconds < var.function_timeout_seconds
      error_message = "retry_deadline_seconds must be below function_timeout_seconds, or OCI kills the function in the middle of its retries."
    }
  }
}

resource "oci_functions_function" "operator" {
  application_id     = oci_functions_application.failover.id
  display_name       = "vip-failover-operator"
  image              = var.function_image
  memory_in_mbs      = var.function_memory_mb
  timeout_in_seconds = var.function_timeout_seconds
  config             = merge(module.function_config.config, { ROLE = "operator" })
}
