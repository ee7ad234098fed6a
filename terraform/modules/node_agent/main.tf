# Renders one node's node-agent.yaml (health_probe's config: the probe loop and keepalived's
# notify) from the shared template, once the instances and the function exist.

locals {
  agent_vars = {
    node_name              = var.node.name
    compartment_id         = var.agent.compartment_id
    region                 = var.agent.region
    auth                   = "instance_principal"
    oci_config_file        = ""
    telemetry_endpoint     = var.endpoints.telemetry
    federation_endpoint    = var.endpoints.federation
    invoke_endpoint        = var.agent.invoke_endpoint
    function_id            = var.agent.function_id
    probe_interval_seconds = var.agent.probe_interval_seconds
    notify_timeout_seconds = var.agent.notify_timeout_seconds
    node_ip                = var.node.private_ip
    endpoint_port          = var.endpoint_port
    haproxy_url            = "http://127.0.0.1:${var.health_port}/healthz"
    floating_ips           = [for vip in concat(var.vips, var.vips_ipv6) : vip.address]
    # This node first, then every other one; then the service through each floating IP (:80 is
    # the 503 "Hello" page by design, so haproxy's health port).
    targets = concat(
      [for node in concat([merge(var.node, { instance_id = var.agent.instance_id })], var.peers) : {
        name        = node.name
        role        = "node"
        url         = "http://${node.private_ip}:${var.health_port}/healthz"
        resource_id = node.instance_id
      }],
      [for vip in var.vips : {
        name        = vip.name
        role        = "vip"
        url         = "http://${vip.address}:${var.health_port}/healthz"
        resource_id = vip.id
      }],
    )
    # With two VRRP instances (templates/keepalived.conf.tftpl) a notice names its instance: which
    # floating IPs each carries. With one, the key is left out and a notice covers every IP.
    vrrp_instances = length(var.vips_ipv6) == 0 ? {} : {
      vip_ipv4 = [for vip in var.vips : vip.id]
      vip_ipv6 = [for vip in var.vips_ipv6 : vip.id]
    }
    fast_path_direct = var.fast_path_direct
  }
}
