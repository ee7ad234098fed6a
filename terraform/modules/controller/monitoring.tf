# The alarm path: the node agents' metrics -> Monitoring alarms -> Notifications topic -> the
# function. Namespace, metric and dimension names, and the alarm queries, come from
# health_probe/metrics.json: the one place the probe, the emulator and this file share.

locals {
  metric_names = jsondecode(file("${path.module}/../../../health_probe/metrics.json"))
}

resource "oci_ons_notification_topic" "alarms" {
  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-alarms"
  description    = "Node health alarms; delivered to the failover function"
}

resource "oci_ons_subscription" "function" {
  compartment_id = var.compartment_ocid
  topic_id       = oci_ons_notification_topic.alarms.id
  protocol       = "ORACLE_FUNCTIONS"
  endpoint       = oci_functions_function.failover.id
}

resource "oci_ons_subscription" "email" {
  count = var.alarm_email == null ? 0 : 1

  compartment_id = var.compartment_ocid
  topic_id       = oci_ons_notification_topic.alarms.id
  protocol       = "EMAIL"
  endpoint       = var.alarm_email
}

resource "oci_monitoring_alarm" "health" {
  for_each = local.metric_names.alarms

  compartment_id        = var.compartment_ocid
  metric_compartment_id = var.compartment_ocid
  namespace             = local.metric_names.namespace
  display_name          = each.value.display_name
  query                 = each.value.query
  resolution            = local.metric_names.resolution
  severity              = each.value.severity
  body                  = each.value.body
  is_enabled            = true
  destinations          = [oci_ons_notification_topic.alarms.id]
  # The function parses the raw JSON message, one message per node (metric stream).
  message_format                                = local.metric_names.message_format
  is_notifications_per_metric_dimension_enabled = local.metric_names.split_notifications
  pending_duration                              = coalesce(var.alarm_pending_duration, each.value.pending_duration)
  repeat_notification_duration                  = coalesce(var.alarm_repeat_notification_duration, each.value.repeat_notification_duration)
}
