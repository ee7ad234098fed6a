# Failover events (failover/announce.py): every move, failed move and refused move is posted as a
# metric (failover_moves / failover_refused in local.events_namespace) and published to this
# topic, whose optional e-mail subscription tells a person. Kept apart from the alarms' topic:
# that one's subscriber is the function itself, and an event must never reach it as an alarm.

locals {
  # failover/announce.py EVENTS_NAMESPACE; not the agents' namespace, so the function cannot
  # forge a node's health metric.
  events_namespace = "vip_failover_events"

  events_statements = [
    # PublishMessage to the events topic. Notifications supports only the general variables in
    # conditions (no target topic id), so the grant is narrowed to the publish permission in this
    # compartment: the function may not read, subscribe to or change any topic.
    "Allow dynamic-group id ${oci_identity_dynamic_group.function.id} to use ons-topics ${local.compartment_scope} where any {request.permission = 'ONS_TOPIC_PUBLISH'}",
    # PostMetricData of the events metrics, only into their own namespace.
    "Allow dynamic-group id ${oci_identity_dynamic_group.function.id} to use metrics ${local.compartment_scope} where target.metrics.namespace = '${local.events_namespace}'",
  ]
}

resource "oci_ons_notification_topic" "events" {
  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-events"
  description    = "vip-failover: every move and refused move of the floating IP, for the people who run it"
}

resource "oci_ons_subscription" "events_email" {
  count = var.events_email == null ? 0 : 1

  compartment_id = var.compartment_ocid
  topic_id       = oci_ons_notification_topic.events.id
  protocol       = "EMAIL"
  endpoint       = var.events_email
}

resource "oci_identity_policy" "events" {
  provider = oci.home

  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-events"
  description    = "The failover function tells its moves and refusals: the events topic and metrics"
  statements     = local.events_statements
}
