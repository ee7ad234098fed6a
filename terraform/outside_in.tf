# The outside-in probe (off unless outside_in_monitor = true): OCI Health Checks watches the
# reserved public IP from vantage points on other clouds, as a client sees it. The node agents
# see the nodes from inside the VCN; this sees what they cannot: a move the API accepted but the
# network did not carry out, an NSG or security list that blocks the service from outside, a
# public IP detached by hand, both nodes healthy to each other while neither is reachable.
# It cannot probe a private IP, so it never says which node is bad: its alarm goes to the same
# topic, and the function re-checks everything itself; this evidence alone never moves the IP.
# Nothing here is granted to the nodes or the function.

locals {
  outside_in = {
    protocol = var.outside_in_port == local.service_ports.https ? "HTTPS" : "HTTP"
    # The shortest timeout OCI allows, within every allowed interval.
    timeout_in_seconds = 10
    # The alarm: fewer than half of the minute's probes (all vantage points) succeeded, for two
    # minutes running, so one vantage point's own trouble or a failover's few seconds stay quiet.
    namespace        = "oci_healthchecks"
    query_format     = "HTTP.isHealthy[1m]{resourceId = \"%s\"}.groupBy(resourceId).mean() < 0.5"
    pending_duration = "PT2M"
    severity         = "CRITICAL"
    body             = "Clients cannot reach the service on the reserved public IP (OCI Health Checks, outside in): the failover function re-checks the holder, its probes and the public IP's attachment, repairs what its own checks find wrong, and never moves the IP on this alarm alone."
  }
  # Vantage points reach the nodes through the internet gateway; they need a rule of their own
  # only where the clients' rule does not already admit them on the monitored port.
  outside_in_sources = var.outside_in_monitor ? toset([
    for cidr in var.outside_in_source_cidrs : cidr if cidr != var.http_ingress_cidr
  ]) : toset([])
}

resource "oci_health_checks_http_monitor" "outside_in" {
  count = var.outside_in_monitor ? 1 : 0

  compartment_id      = var.compartment_ocid
  display_name        = "${var.name_prefix}-outside-in"
  targets             = [oci_core_public_ip.floating["vip"].ip_address]
  protocol            = local.outside_in.protocol
  port                = var.outside_in_port
  path                = var.outside_in_path
  method              = "GET"
  interval_in_seconds = var.outside_in_interval_seconds
  timeout_in_seconds  = local.outside_in.timeout_in_seconds
  vantage_point_names = var.outside_in_vantage_points
  # An HTTPS probe of an IP address needs the certificate's name as Host, or TLS never completes.
  headers    = var.outside_in_host_header == null ? {} : { Host = var.outside_in_host_header }
  is_enabled = true

  lifecycle {
    precondition {
      condition     = local.outside_in.protocol == "HTTP" || var.outside_in_host_header != null
      error_message = "outside_in_host_header is required with outside_in_port 443: an HTTPS probe of an IP address needs the certificate's host name."
    }
  }
}

resource "oci_monitoring_alarm" "outside_in" {
  count = var.outside_in_monitor ? 1 : 0

  compartment_id        = var.compartment_ocid
  metric_compartment_id = var.compartment_ocid
  namespace             = local.outside_in.namespace
  display_name          = "${var.name_prefix}-outside-in"
  query                 = format(local.outside_in.query_format, oci_health_checks_http_monitor.outside_in[0].id)
  resolution            = "1m"
  severity              = local.outside_in.severity
  body                  = local.outside_in.body
  is_enabled            = true
  destinations          = [module.controller.alarms_topic_id]
  # Raw JSON, one message per stream, as the node alarms: the function parses one format.
  message_format                                = "RAW"
  is_notifications_per_metric_dimension_enabled = true
  pending_duration                              = local.outside_in.pending_duration
  repeat_notification_duration                  = coalesce(var.alarm_repeat_notification_duration, "PT5M")
}

# Stateless like the clients' rule; replies leave through the nodes' stateful egress rule.
resource "oci_core_network_security_group_security_rule" "nodes_outside_in" {
  for_each = local.outside_in_sources

  network_security_group_id = oci_core_network_security_group.nodes.id
  direction                 = "INGRESS"
  protocol                  = local.protocol.tcp
  source                    = each.value
  source_type               = "CIDR_BLOCK"
  stateless                 = true
  description               = "Health Checks vantage points to the monitored service port"

  tcp_options {
    destination_port_range {
      min = var.outside_in_port
      max = var.outside_in_port
    }
  }
}

output "outside_in" {
  description = "The outside-in monitor and its alarm (null while outside_in_monitor is false)."
  value = var.outside_in_monitor ? {
    monitor_id  = oci_health_checks_http_monitor.outside_in[0].id
    results_url = oci_health_checks_http_monitor.outside_in[0].results_url
    alarm_id    = oci_monitoring_alarm.outside_in[0].id
  } : null
}
