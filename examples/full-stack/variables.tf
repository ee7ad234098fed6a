variable "tenancy_ocid" {
  type        = string
  description = "Tenancy OCID."
}

variable "compartment_ocid" {
  type        = string
  description = "An empty compartment for the whole stack."
}

variable "region" {
  type        = string
  description = "Region to deploy into."
}

variable "admin_cidr" {
  type        = string
  description = "The only source allowed to SSH to the nodes."
}

variable "ssh_public_key" {
  type        = string
  description = "SSH public key for the nodes' ubuntu user."
}

variable "function_image" {
  type        = string
  description = "OCIR image of the failover function."
}

variable "operators_group_ocid" {
  type        = string
  description = "IAM group whose members may cause manual and forced moves."
}

variable "source_repository" {
  type        = string
  description = "Git URL the nodes clone the node agent from."
}
