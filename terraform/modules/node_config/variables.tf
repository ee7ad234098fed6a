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
    ipv6       = optional(string)
  })
  description = "This node: name, primary private IP, VRRP priority, and its IPv6 address (needed with vips_ipv6)."
}

variable "peers" {
  type = list(object({
    name       = string
    private_ip = string
    ipv6       = optional(string)
  }))
  description = "Every other node of the group (unicast VRRP goes to each; the firewall admits each), with its IPv6 address when vips_ipv6 is set."

  validation {
    condition     = length(var.peers) >= 1
    error_message = "peers: at least one other node, or there is nowhere to fail over to."
  }
}

variable "vrrp" {
  type = object({
    interface           = string
    vips                = list(string)
    vip_prefix_len      = number
    vips_ipv6           = optional(list(string), [])
    vip_ipv6_prefix_len = optional(number, 64)
    virtual_router_id   = number
    advert_int          = number
  })
  description = "keepalived settings shared by every node: NIC, the IPv4 floating IPs (one VRRP instance, vip_ipv4) and their prefix length, the IPv6 floating IPs (a second instance, vip_ipv6; empty: none) and theirs, router id, advert interval."

  validation {
    condition     = length(var.vrrp.vips) >= 1
    error_message = "vrrp.vips: at least one IPv4 floating IP."
  }
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

variable "endpoint_port" {
  type        = number
  description = "Port of the node agent's /healthz (what the function probes); opened to functions_cidr."
}

variable "firewall" {
  type = object({
    service_ports    = list(number)
    client_cidr      = string
    function_cidr    = string
    client_ipv6_cidr = optional(string, "::/0")
    forwarding = optional(object({
      source_cidr      = string
      destination_cidr = string
    }))
    peer_endpoint = optional(bool, false)
  })
  description = "What the host firewall opens, the same as the nodes' NSG: service_ports from client_cidr (and client_ipv6_cidr with IPv6 floating IPs), health_port and VRRP from each peer, endpoint_port from function_cidr. Oracle's images REJECT everything else. forwarding (route-target mode, null: off): IP forwarding on, and forwarded traffic from source_cidr to destination_cidr (and its replies) accepted. peer_endpoint (fast_path_mode direct): endpoint_port from each peer too."
}

variable "pip_find_links" {
  type        = string
  default     = ""
  description = "A wheelhouse URL the node installs requirements-node.txt from (pip --no-index --find-links), e.g. for nodes in a private subnet; empty: PyPI."
}

variable "apt_proxy" {
  type        = string
  default     = ""
  description = "HTTP proxy for apt (e.g. an apt-cacher-ng the nodes can reach); empty: the image's mirrors directly."
}

variable "environment" {
  type        = map(string)
  default     = {}
  description = "Written to /etc/default/vip-failover, read by the node agent, keepalived's notify and the config fetch: e.g. OCI_METADATA_BASE_URL, OCI_FEDERATION_ENDPOINT and OCI_OBJECTSTORAGE_ENDPOINT to point the SDK elsewhere than the region's own endpoints. Empty on OCI."
}
