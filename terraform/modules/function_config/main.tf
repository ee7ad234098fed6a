# The function's environment: exactly the keys failover/config.py reads (see the conventions).
# OCI_SERVICE_ENDPOINT is left unset so that the SDK talks to the region's own endpoints.
output "config" {
  description = "The oci_functions_function config map."
  # VIP_IPV6_IDS and VIP_GROUPS only when set: a deployment with neither is configured as before.
  value = merge({
    VIP_PRIVATE_IP_IDS            = join(",", var.vip_private_ip_ids)
    NODES                         = jsonencode(var.nodes)
    FAILBACK_POLICY               = var.failback_policy
    COOLDOWN_SECONDS              = tostring(var.cooldown_seconds)
    PROBE_TIMEOUT_SECONDS         = tostring(var.probe_timeout_seconds)
    PROBE_CONNECT_TIMEOUT_SECONDS = tostring(var.probe_connect_timeout_seconds)
    DRY_RUN                       = tostring(var.dry_run)
    RETRY_DEADLINE_SECONDS        = tostring(var.retry_deadline_seconds)
    # The events function; the operators' function is the same map with ROLE = "operator".
    ROLE      = "events"
    ALARM_IDS = join(",", var.alarm_ids)
    # Failover events (failover/announce.py): the events topic and the metrics' compartment.
    EVENTS_TOPIC_ID = var.events_topic_id
    COMPARTMENT_ID  = var.compartment_id
    },
    length(var.vip_ipv6_ids) == 0 ? {} : { VIP_IPV6_IDS = join(",", var.vip_ipv6_ids) },
    length(var.vip_groups) == 0 ? {} : { VIP_GROUPS = jsonencode(var.vip_groups) },
  )
}
