# Renders one node's node-agent.yaml (health_probe's config: the probe loop and keepalived's
# notify) from the shared template, once the instances and the function exist.

locals {
  agent_vars = {
    node_name              = var.node.name
    instance_id            = var.agent.instance_id
    peer_name              = var.peer.name
    peer_instance_id       = var.agent.peer_instance_id
    vip_private_ip_id      = var.agent.vip_private_ip_id
    compartment_id         = var.agent.compartment_id
    region                 = var.agent.region
    auth                   = "instance_principal"
    oci_config_file        = ""
    telemetry_endpoint     = var.endpoints.telemetry
    federation_endpoint    = var.endpoints.federation
    invoke_endpoint        = var.agent.invoke_endpoint
    function_id            = var.agent.function_id
    node_health_url        = "http://${var.node.private_ip}:${var.health_port}/healthz"
    peer_health_url        = "http://${var.peer.private_ip}:${var.health_port}/healthz"
    vip_url                = "http://${var.vip}:${var.health_port}/healthz" # :80 is the 503 "Hello" page by design
    probe_interval_seconds = var.agent.probe_interval_seconds
    notify_timeout_seconds = var.agent.notify_timeout_seconds
    node_ip                = var.node.private_ip
    endpoint_port          = var.endpoint_port
    haproxy_url            = "http://127.0.0.1:${var.health_port}/healthz"
    vip                    = var.vip
  }
}
