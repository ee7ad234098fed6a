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

variable "peer" {
  type = object({
    name       = string
    private_ip = string
  })
  description = "The other node of the pair (every agent probes both nodes)."
}

variable "vip" {
  type        = string
  description = "The floating private IP (the agent also probes the service through it)."
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
    peer_instance_id       = string
    vip_private_ip_id      = string
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
