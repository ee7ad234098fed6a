output "node_agent_yaml" {
  description = "Rendered node-agent.yaml, delivered to the node through Object Storage."
  value       = templatefile("${var.templates_dir}/node-agent.yaml.tftpl", local.agent_vars)
}

output "agent_vars" {
  description = "Variables passed to node-agent.yaml.tftpl (the lab must pass the same names)."
  value       = local.agent_vars
}
