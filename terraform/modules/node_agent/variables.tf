variable "templates_dir" {
  type        = string
  description = "Directory of the shared templates (the repository's templates/), also used by the lab."
}

variable "node" {
  type = object({
    name       = string
    private_ip = string
  })
  description = "This node: name and primary private IP."
}

variable "peers" {
  type = list(object({
    name        = string
    private_ip  = string
    instance_id = string
  }))
  description = "Every other node of the group: each agent probes every node, so a dead node is still reported by the others."
}

variable "vips" {
  type = list(object({
    name    = string
    address = string
    id      = string
  }))
  description = "The IPv4 floating IPs (keepalived's vip_ipv4 instance): name, address and private IP OCID. This node must hold them all to serve; the agent also probes the service through each."
}

variable "vips_ipv6" {
  type = list(object({
    name    = string
    address = string
    id      = string
  }))
  default     = []
  description = "The IPv6 floating IPs (keepalived's vip_ipv6 instance): name, address and IPv6 OCID; this node must hold them too to serve that family. Empty: none, and one VRRP instance."
}

variable "health_port" {
  type        = number
  description = "Port of haproxy's /healthz endpoint on each node."
}

variable "endpoint_port" {
  type        = number
  description = "Port of this node's own health endpoint (the agent's /healthz, what the function probes)."
}

variable "agent" {
  type = object({
    instance_id            = string
    compartment_id         = string
    region                 = string
    invoke_endpoint        = string
    function_id            = string
    probe_interval_seconds = number
    notify_timeout_seconds = number
  })
  description = "OCIDs and endpoints known once the instances and the function exist, and the agent's timing."
}

variable "endpoints" {
  type = object({
    telemetry  = optional(string, "")
    federation = optional(string, "")
  })
  default     = {}
  description = "Monitoring ingestion and instance-principal federation endpoints; empty: the region's own (the lab points them at its emulator)."
}

variable "fast_path_direct" {
  type        = map(string)
  default     = {}
  description = "fast_path_mode \"direct\": the events function's configuration (failover/config.py's keys), rendered as node-agent.yaml's fast_path_direct so the agent handles keepalived's notice itself; empty: the function handles it."
}
