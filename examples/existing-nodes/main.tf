# The controller on the nodes you already have (two or more): their instances, VNICs and the floating private
# IP exist; this creates the function, its application, the alarms and their topic, the dynamic
# groups and the policies, and renders each node's node-agent.yaml for
# `python -m health_probe install --config node-agent.yaml` on that node (docs/deploy.md).

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    oci = {
      source  = "oracle/oci"
      version = "= 8.23.0"
    }
  }
}

provider "oci" {
  region = var.region
}

# IAM writes go to the tenancy's home region.
provider "oci" {
  alias  = "home"
  region = coalesce(var.home_region, var.region)
}

locals {
  names    = sort(keys(var.nodes))
  peers_of = { for name in local.names : name => [for other in local.names : other if other != name] }
}

module "controller" {
  source = "../../terraform/modules/controller"
  providers = {
    oci      = oci
    oci.home = oci.home
  }

  tenancy_ocid     = var.tenancy_ocid
  compartment_ocid = var.compartment_ocid
  name_prefix      = var.name_prefix
  nodes = {
    for name, node in var.nodes : name => {
      instance_id = node.instance_id
      vnic_id     = node.vnic_id
      health_url  = "http://${node.private_ip}:${var.node_health_port}/healthz"
      priority    = node.priority
    }
  }
  vip_private_ip_ids   = [var.floating_private_ip_id]
  function_subnet_ids  = [var.function_subnet_id]
  function_image       = var.function_image
  operators_group_ocid = var.operators_group_ocid
}

# Each node's agent configuration, from the same template the full stack's nodes get.
module "node_agent" {
  source   = "../../terraform/modules/node_agent"
  for_each = var.nodes

  templates_dir = "${path.module}/../../templates"
  node          = { name = each.key, private_ip = each.value.private_ip }
  peers         = [for peer in local.peers_of[each.key] : { name = peer, private_ip = var.nodes[peer].private_ip, instance_id = var.nodes[peer].instance_id }]
  vips          = [{ name = "vip", address = var.floating_ip, id = var.floating_private_ip_id }]
  health_port   = var.health_port
  endpoint_port = var.node_health_port
  agent = {
    instance_id            = each.value.instance_id
    compartment_id         = var.compartment_ocid
    region                 = var.region
    invoke_endpoint        = module.controller.function_invoke_endpoint
    function_id            = module.controller.function_id
    probe_interval_seconds = 10
    notify_timeout_seconds = 10
  }
}

output "node_agent_yaml" {
  description = "Each node's node-agent.yaml: `terraform output -json node_agent_yaml | jq -r '.\"node-a\"' > node-agent.yaml`."
  value       = { for name, agent in module.node_agent : name => agent.node_agent_yaml }
}

output "function_id" {
  description = "OCID of the events function."
  value       = module.controller.function_id
}
