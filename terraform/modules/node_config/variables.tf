variable "templates_dir" {
  type        = string
  description = "Directory of the shared templates (the repository's templates/), also used by the lab."
}

variable "probe_unit_file" {
  type        = string
  description = "Path of health_probe's systemd unit, installed on the node as it is."
}

variable "node" {
  type = object({
    name       = string
    private_ip = string
    priority   = number
  })
  description = "This node: name, primary private IP, VRRP priority."
}

variable "peer" {
  type = object({
    name       = string
    private_ip = string
  })
  description = "The other node of the pair."
}

variable "vrrp" {
  type = object({
    interface         = string
    vip               = string
    vip_prefix_len    = number
    virtual_router_id = number
    advert_int        = number
  })
  description = "keepalived settings shared by both nodes: NIC, floating IP and its prefix length, router id, advert interval."
}

variable "health_port" {
  type        = number
  description = "Port of haproxy's /healthz endpoint."
}

variable "http_port" {
  type        = number
  description = "Port of the service haproxy answers behind the floating IP."
}

variable "source_repository" {
  type        = string
  description = "Git URL the node clones the project from."
}

variable "source_ref" {
  type        = string
  description = "Branch or tag to clone."
}

variable "config_object" {
  type = object({
    namespace = string
    bucket    = string
    name      = string
  })
  description = "Object Storage object the node downloads its node-agent.yaml from at boot."
}
