# The controller (modules/controller) on the nodes, floating IPs and network this stack creates.
# On nodes you already have, call the same module with their OCIDs instead (examples/).

module "controller" {
  source = "./modules/controller"
  providers = {
    oci      = oci
    oci.home = oci.home
  }

  tenancy_ocid     = var.tenancy_ocid
  compartment_ocid = var.compartment_ocid
  name_prefix      = var.name_prefix
  # health_url: the node agent's endpoint, 200 only while the node can serve the floating IP
  # (haproxy up and the alias held); haproxy's own :8404 cannot tell a node that dropped the alias.
  nodes = {
    for name in local.node_names : name => {
      instance_id = oci_core_instance.node[name].id
      vnic_id     = data.oci_core_vnic_attachments.node[name].vnic_attachments[0].vnic_id
      health_url  = "http://${var.nodes[name].private_ip}:${var.node_health_port}/healthz"
      priority    = var.nodes[name].priority
    }
  }
  vip_private_ip_ids  = [for name in keys(local.floating_ips) : oci_core_private_ip.floating[name].id]
  vip_ipv6_ids        = [for name in keys(local.floating_ipv6s) : oci_core_ipv6.floating[name].id]
  vip_groups          = [for group in var.vip_groups : [for name in group : local.vip_ids[name]]]
  function_subnet_ids = [oci_core_subnet.functions.id]
  function_nsg_ids    = [oci_core_network_security_group.functions.id]
  node_config_buckets = [oci_objectstorage_bucket.node_config.name]

  function_image                     = var.function_image
  function_memory_mb                 = var.function_memory_mb
  function_timeout_seconds           = var.function_timeout_seconds
  provisioned_concurrency            = var.provisioned_concurrency
  fast_path_mode                     = var.fast_path_mode
  operators_group_ocid               = var.operators_group_ocid
  failback_policy                    = var.failback_policy
  cooldown_seconds                   = var.cooldown_seconds
  probe_timeout_seconds              = var.probe_timeout_seconds
  probe_connect_timeout_seconds      = var.probe_connect_timeout_seconds
  dry_run                            = var.dry_run
  retry_deadline_seconds             = var.retry_deadline_seconds
  alarm_pending_duration             = var.alarm_pending_duration
  alarm_repeat_notification_duration = var.alarm_repeat_notification_duration
  alarm_email                        = var.alarm_email
  events_email                       = var.events_email
  extra_alarm_ids                    = oci_monitoring_alarm.outside_in[*].id
}

# These resources lived in the root module before the controller became a module: an existing
# deployment keeps them (terraform plans a move, not a destroy and re-create).
moved {
  from = module.function_config
  to   = module.controller.module.function_config
}

moved {
  from = oci_functions_application.failover
  to   = module.controller.oci_functions_application.failover
}

moved {
  from = oci_functions_function.failover
  to   = module.controller.oci_functions_function.failover
}

moved {
  from = oci_functions_function.operator
  to   = module.controller.oci_functions_function.operator
}

moved {
  from = oci_identity_dynamic_group.function
  to   = module.controller.oci_identity_dynamic_group.function
}

moved {
  from = oci_identity_dynamic_group.nodes
  to   = module.controller.oci_identity_dynamic_group.nodes
}

moved {
  from = oci_identity_policy.function
  to   = module.controller.oci_identity_policy.function
}

moved {
  from = oci_identity_policy.nodes
  to   = module.controller.oci_identity_policy.nodes
}

moved {
  from = oci_identity_policy.operators
  to   = module.controller.oci_identity_policy.operators
}

moved {
  from = oci_ons_notification_topic.alarms
  to   = module.controller.oci_ons_notification_topic.alarms
}

moved {
  from = oci_ons_subscription.function
  to   = module.controller.oci_ons_subscription.function
}

moved {
  from = oci_ons_subscription.email
  to   = module.controller.oci_ons_subscription.email
}

moved {
  from = oci_monitoring_alarm.health
  to   = module.controller.oci_monitoring_alarm.health
}

moved {
  from = oci_ons_notification_topic.events
  to   = module.controller.oci_ons_notification_topic.events
}

moved {
  from = oci_ons_subscription.events_email
  to   = module.controller.oci_ons_subscription.events_email
}

moved {
  from = oci_identity_policy.events
  to   = module.controller.oci_identity_policy.events
}
