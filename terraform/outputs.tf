output "floating_public_ip" {
  description = "The reserved public IP clients use; it follows the floating private IP vip."
  value       = oci_core_public_ip.floating["vip"].ip_address
}

output "floating_private_ip" {
  description = "The floating secondary private IP vip and its OCID (the first of the function's VIP_PRIVATE_IP_IDS)."
  value = {
    address = oci_core_private_ip.floating["vip"].ip_address
    id      = oci_core_private_ip.floating["vip"].id
  }
}

output "floating_ips" {
  description = "Every floating IP by name: address, OCID, and the reserved public IP (IPv4 only; IPv6 floating IPs have none)."
  value = merge(
    { for name, ip in oci_core_private_ip.floating : name => { address = ip.ip_address, id = ip.id, public_ip = oci_core_public_ip.floating[name].ip_address } },
    { for name, ip in oci_core_ipv6.floating : name => { address = ip.ip_address, id = ip.id, public_ip = null } },
  )
}

output "function_id" {
  description = "OCID of the failover function."
  value       = module.controller.function_id
}

output "fn_invoke_command" {
  description = "Ask the function where the floating IP is, by hand (Fn CLI with an OCI context)."
  value       = "echo -n '{\"action\": \"status\"}' | fn invoke ${module.controller.application_name} ${module.controller.function_name}"
}

output "oci_invoke_command" {
  description = "The same with the OCI CLI, no Fn context needed."
  value       = "oci fn function invoke --function-id ${module.controller.function_id} --file - --body '{\"action\": \"status\"}'"
}

output "alarm_console_urls" {
  description = "The alarms in the OCI console."
  value       = { for key, id in module.controller.alarm_ids : key => "https://cloud.oracle.com/monitoring/alarms/${id}?region=${var.region}" }
}

output "nodes" {
  description = "Each node's primary private IP and public IP (if assigned): ssh ubuntu@<public_ip>."
  value = {
    for name, node in oci_core_instance.node : name => {
      private_ip = node.private_ip
      public_ip  = node.public_ip
    }
  }
}
