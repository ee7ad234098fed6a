output "function_id" {
  description = "OCID of the events function (keepalived's fast path, the alarms, status)."
  value       = oci_functions_function.failover.id
}

output "function_invoke_endpoint" {
  description = "Invoke endpoint of the events function (the node agents' invoke_endpoint)."
  value       = oci_functions_function.failover.invoke_endpoint
}

output "direct_fast_path_config" {
  description = "With fast_path_mode \"direct\": the events function's configuration for the node agents' fast_path_direct, without the events topic and metrics' compartment (the nodes are not granted them); empty otherwise."
  value = var.fast_path_mode != "direct" ? {} : {
    for key, value in module.function_config.config : key => value if !contains(["EVENTS_TOPIC_ID", "COMPARTMENT_ID"], key)
  }
}

output "operator_function_id" {
  description = "OCID of the operators' function (manual and forced moves)."
  value       = oci_functions_function.operator.id
}

output "application_name" {
  description = "Display name of the functions application (`fn invoke APP FUNCTION`)."
  value       = oci_functions_application.failover.display_name
}

output "function_name" {
  description = "Display name of the events function."
  value       = oci_functions_function.failover.display_name
}

output "alarm_ids" {
  description = "The node health alarms, by metrics.json key."
  value       = { for key, alarm in oci_monitoring_alarm.health : key => alarm.id }
}

output "alarms_topic_id" {
  description = "The topic the alarms deliver to (and through which they reach the function)."
  value       = oci_ons_notification_topic.alarms.id
}

output "nodes_dynamic_group_id" {
  description = "The nodes' dynamic group (instance principals)."
  value       = oci_identity_dynamic_group.nodes.id
}
