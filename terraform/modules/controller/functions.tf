# The failover function (image built and pushed with `fn build` / `docker push`, see
# docs/deploy.md) in the caller's functions subnet, configured by modules/function_config.
# The same image is deployed twice (README, "Security"): `failover` (ROLE=events) is what the
# nodes and Notifications may invoke, and takes keepalived notices, alarms and status only;
# `operator` (ROLE=operator) also takes manual and forced moves, and only the operators' group
# may invoke it (iam.tf).

module "function_config" {
  source = "../function_config"

  vip_private_ip_ids = var.vip_private_ip_ids
  vip_ipv6_ids       = var.vip_ipv6_ids
  vip_groups         = var.vip_groups
  nodes = [
    for name in sort(keys(var.nodes)) : {
      name       = name
      vnic_id    = var.nodes[name].vnic_id
      health_url = var.nodes[name].health_url
      priority   = var.nodes[name].priority
    }
  ]
  failback_policy               = var.failback_policy
  cooldown_seconds              = var.cooldown_seconds
  probe_timeout_seconds         = var.probe_timeout_seconds
  probe_connect_timeout_seconds = var.probe_connect_timeout_seconds
  dry_run                       = var.dry_run
  retry_deadline_seconds        = var.retry_deadline_seconds
  alarm_ids                     = concat([for alarm in oci_monitoring_alarm.health : alarm.id], var.extra_alarm_ids)
  events_topic_id               = oci_ons_notification_topic.events.id
  compartment_id                = var.compartment_ocid
}

resource "oci_functions_application" "failover" {
  compartment_id             = var.compartment_ocid
  display_name               = "${var.name_prefix}-app"
  subnet_ids                 = var.function_subnet_ids
  network_security_group_ids = var.function_nsg_ids
}

locals {
  # OCI's smallest provisioned concurrency, which is also its step, by the function's memory
  # ("Reducing Initial Latency Using Provisioned Concurrency", OCI Functions documentation:
  # 128 MB: 40 PCUs, 256 MB: 20, 512 MB and more: 10). Each is 5 GB or more of memory kept ready.
  pcu_step = var.function_memory_mb <= 128 ? 40 : var.function_memory_mb <= 256 ? 20 : 10
  # As OCI models it, and the emulator's topology (functions[].provisionedConcurrencyConfig,
  # without a null count). NONE: no PCUs, none billed.
  provisioned_concurrency = (
    var.provisioned_concurrency > 0
    ? { strategy = "CONSTANT", count = var.provisioned_concurrency }
    : { strategy = "NONE", count = null }
  )
}

resource "oci_functions_function" "failover" {
  application_id     = oci_functions_application.failover.id
  display_name       = "vip-failover"
  image              = var.function_image
  memory_in_mbs      = var.function_memory_mb
  timeout_in_seconds = var.function_timeout_seconds
  config             = module.function_config.config

  # Only the events function, the one keepalived's notice reaches: kept warm it answers without a
  # cold start; the operators' function can wait for one.
  provisioned_concurrency_config {
    strategy = local.provisioned_concurrency.strategy
    count    = local.provisioned_concurrency.count
  }

  lifecycle {
    precondition {
      condition     = var.provisioned_concurrency % local.pcu_step == 0
      error_message = "provisioned_concurrency must be 0 or a multiple of ${local.pcu_step} PCUs (OCI's minimum and step for ${var.function_memory_mb} MB functions: 128 MB 40, 256 MB 20, 512 MB and more 10)."
    }

    precondition {
      condition     = var.retry_deadline_seconds < var.function_timeout_seconds
      error_message = "retry_deadline_seconds must be below function_timeout_seconds, or OCI kills the function in the middle of its retries."
    }

    precondition {
      condition = length(var.vip_groups) == 0 || (
        length(flatten(var.vip_groups)) == length(concat(var.vip_private_ip_ids, var.vip_ipv6_ids))
        && length(setsubtract(flatten(var.vip_groups), concat(var.vip_private_ip_ids, var.vip_ipv6_ids))) == 0
      )
      error_message = "vip_groups must hold every floating IP's OCID (vip_private_ip_ids and vip_ipv6_ids) exactly once."
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
