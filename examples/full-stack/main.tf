# The whole stack from an empty compartment: network, the nodes, the floating IP and the
# controller (terraform/, which composes modules/controller). Equivalent to running terraform in
# terraform/ with a terraform.tfvars; shown here as a module call.

terraform {
  required_version = ">= 1.5.0"
}

module "vip_failover" {
  source = "../../terraform"

  tenancy_ocid         = var.tenancy_ocid
  compartment_ocid     = var.compartment_ocid
  region               = var.region
  admin_cidr           = var.admin_cidr
  ssh_public_key       = var.ssh_public_key
  function_image       = var.function_image
  operators_group_ocid = var.operators_group_ocid
  source_repository    = var.source_repository
}

output "floating_public_ip" {
  description = "The reserved public IP clients use."
  value       = module.vip_failover.floating_public_ip
}
