variable "tenancy_ocid" {
  type        = string
  description = "Tenancy OCID (dynamic groups live there)."
}

variable "compartment_ocid" {
  type        = string
  description = "Compartment of the nodes' VNICs and the floating IP; the controller is created there."
}

variable "region" {
  type        = string
  description = "Region of the nodes."
}

variable "home_region" {
  type        = string
  description = "Tenancy home region for IAM writes; null: the same as region."
  default     = null
}

variable "name_prefix" {
  type        = string
  description = "Prefix of the controller's names (unique per tenancy for IAM)."
  default     = "vip-failover"
}

variable "nodes" {
  type = map(object({
    instance_id = string
    vnic_id     = string
    private_ip  = string
    priority    = number
  }))
  description = "Your nodes, two or more: name (as keepalived and the agent call it) => instance OCID, the VNIC that carries the floating IP, its primary private IP, and the failback priority."
}

variable "floating_private_ip_id" {
  type        = string
  description = "OCID of the existing floating secondary private IP (oci network private-ip list --vnic-id ...)."
}

variable "floating_ip" {
  type        = string
  description = "Its address, e.g. 10.0.0.4."
}

variable "function_subnet_id" {
  type        = string
  description = "A private subnet for the function, with a service gateway to the OCI APIs and a route to the nodes' node_health_port."
}

variable "function_image" {
  type        = string
  description = "OCIR image of the failover function (`fn build` / `docker push`)."
}

variable "operators_group_ocid" {
  type        = string
  description = "IAM group whose members may cause manual and forced moves."
}

variable "health_port" {
  type        = number
  description = "Port of haproxy's monitor-uri /healthz on each node."
  default     = 8404
}

variable "node_health_port" {
  type        = number
  description = "Port of the node agent's /healthz (what the function probes)."
  default     = 8405
}
