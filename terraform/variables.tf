# Inputs. Required ones have no default; terraform.tfvars.example shows a complete set.

# --- Where ------------------------------------------------------------------------------------

variable "tenancy_ocid" {
  type        = string
  description = "Tenancy OCID: dynamic groups live in the tenancy (root compartment)."
}

variable "compartment_ocid" {
  type        = string
  description = "Compartment for every resource and the scope of every policy statement. A compartment that holds only this stack keeps the function's network rights narrow."
}

variable "region" {
  type        = string
  description = "Region to deploy into, e.g. us-ashburn-1."
}

variable "home_region" {
  type        = string
  description = "Tenancy home region, where IAM writes must go; null means the same as region."
  default     = null
}

variable "oci_profile" {
  type        = string
  description = "Profile of ~/.oci/config that terraform authenticates with; null: the provider's default (the DEFAULT profile from a terraform CLI, the stack's own authentication in Resource Manager, which has no config file)."
  default     = null
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every display name, dynamic group and policy name (unique per tenancy for IAM)."
  default     = "vip-failover"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix: lower-case letters, digits and '-', starting with a letter, at most 31 characters."
  }
}

# --- Network ----------------------------------------------------------------------------------

variable "vcn_cidr" {
  type        = string
  description = "CIDR of the VCN."
  default     = "10.0.0.0/16"
}

variable "nodes_subnet_cidr" {
  type        = string
  description = "CIDR of the public regional subnet that holds the nodes and the floating IPs (a private IP moves only within one subnet)."
  default     = "10.0.0.0/24"
}

variable "functions_subnet_cidr" {
  type        = string
  description = "CIDR of the private subnet the function runs in (reaches OCI APIs through a service gateway)."
  default     = "10.0.1.0/24"
}

variable "admin_cidr" {
  type        = string
  description = "The only source allowed to SSH to the nodes, e.g. your office's /32."

  validation {
    condition     = can(cidrhost(var.admin_cidr, 0)) && var.admin_cidr != "0.0.0.0/0"
    error_message = "admin_cidr must be a CIDR narrower than 0.0.0.0/0."
  }
}

variable "http_ingress_cidr" {
  type        = string
  description = "Who may reach the service (ports 80 and 443) behind the floating IP."
  default     = "0.0.0.0/0"
}

# --- Nodes ------------------------------------------------------------------------------------

variable "nodes" {
  type = map(object({
    private_ip          = string
    priority            = number
    fault_domain        = optional(string)
    availability_domain = optional(string)
  }))
  description = "The nodes, two or more: name => primary private IP (inside nodes_subnet_cidr), VRRP/failback priority (higher is preferred, each different), and optionally its fault domain (default: FAULT-DOMAIN-1, -2, -3 in turn, by name) and availability domain (a name from `oci iam availability-domain list`; default: see spread_across_availability_domains)."
  default = {
    "node-a" = { private_ip = "10.0.0.2", priority = 100 }
    "node-b" = { private_ip = "10.0.0.3", priority = 90 }
  }

  validation {
    condition     = length(var.nodes) >= 2
    error_message = "At least two nodes, or there is nowhere to fail over to."
  }

  validation {
    condition     = length(distinct([for node in values(var.nodes) : node.priority])) == length(var.nodes) && alltrue([for node in values(var.nodes) : node.priority >= 1 && node.priority <= 254])
    error_message = "Each node's priority must be different (the highest one holds the floating IPs first) and between 1 and 254 (VRRP)."
  }

  validation {
    condition     = alltrue([for node in values(var.nodes) : node.fault_domain == null || contains(["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"], coalesce(node.fault_domain, "-"))])
    error_message = "A node's fault_domain must be FAULT-DOMAIN-1, FAULT-DOMAIN-2 or FAULT-DOMAIN-3."
  }
}

variable "floating_ip" {
  type        = string
  description = "The floating secondary private IP (inside nodes_subnet_cidr), named vip; created on the highest-priority node's VNIC with a reserved public IP."
  default     = "10.0.0.4"
}

variable "additional_floating_ips" {
  type        = map(string)
  description = "More IPv4 floating IPs that fail over with floating_ip: name => address inside nodes_subnet_cidr. Each is a secondary private IP with its own reserved public IP, and rides in the same VRRP instance (vip_ipv4)."
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.additional_floating_ips) : can(regex("^[a-z][a-z0-9-]{0,62}$", name)) && name != "vip"])
    error_message = "additional_floating_ips: names are host name labels (lower-case letters, digits, '-'), other than vip (floating_ip's)."
  }
}

variable "vip_groups" {
  type        = list(list(string))
  description = "How the floating IPs move (VIP_GROUPS): lists of their names (vip, additional_floating_ips' and floating_ipv6_hostnums' names), each moved as a unit, every floating IP in exactly one list; empty: all of them form one group."
  default     = []
}

variable "dual_stack" {
  type        = bool
  description = "IPv6 too: an Oracle-allocated /56 on the VCN, its first /64 on the nodes' subnet, each node an IPv6 address with its IPv4 host number (10.0.0.2 -> <prefix>::2), the IPv6 floating IPs of floating_ipv6_hostnums in their own VRRP instance (vip_ipv6), and IPv6 rules for the service."
  default     = false
}

variable "floating_ipv6_hostnums" {
  type        = map(number)
  description = "With dual_stack: the IPv6 floating IPs, name => host number in the nodes' subnet's /64 (4 -> <prefix>::4). They have no public IP object: the address is reachable as it is, where http_ingress_ipv6_cidr admits."
  default     = { "vip6" = 4 }

  validation {
    condition     = alltrue([for name, host in var.floating_ipv6_hostnums : can(regex("^[a-z][a-z0-9-]{0,62}$", name)) && host >= 4 && floor(host) == host])
    error_message = "floating_ipv6_hostnums: names are host name labels, host numbers whole and at least 4 (the subnet's first addresses are Oracle's)."
  }
}

variable "http_ingress_ipv6_cidr" {
  type        = string
  description = "With dual_stack: who may reach the service (ports 80 and 443) over IPv6."
  default     = "::/0"
}

variable "route_target_mode" {
  type        = bool
  description = "Network-appliance mode: a client subnet whose route to route_target_destination goes to a floating IP (route_target_vip), so the route follows it on failover; source/destination checks off on the nodes' VNICs, and IP forwarding on the nodes."
  default     = false
}

variable "route_target_vip" {
  type        = string
  description = "With route_target_mode: the name of the IPv4 floating IP the route rule targets (vip or a name of additional_floating_ips)."
  default     = "vip"
}

variable "route_target_destination" {
  type        = string
  description = "With route_target_mode: the CIDR the client subnet reaches through the nodes."
  default     = "172.16.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.route_target_destination))
    error_message = "route_target_destination must be an IPv4 CIDR block."
  }
}

variable "client_subnet_cidr" {
  type        = string
  description = "With route_target_mode: CIDR of the private client subnet whose route table sends route_target_destination to the floating IP."
  default     = "10.0.2.0/24"
}

variable "spread_across_availability_domains" {
  type        = bool
  description = "Put the nodes in different availability domains, in turn (regions with several ADs); a node's own availability_domain wins. They are always in different fault domains where there are at most three. The subnet is regional, so the floating IPs can move between them either way."
  default     = false
}

variable "instance_shape" {
  type        = string
  description = "Compute shape of every node."
  default     = "VM.Standard.E4.Flex"
}

variable "instance_ocpus" {
  type        = number
  description = "OCPUs per node (flexible shapes)."
  default     = 1
}

variable "instance_memory_gbs" {
  type        = number
  description = "Memory per node in GB (flexible shapes)."
  default     = 8
}

variable "image_ocid" {
  type        = string
  description = "Boot image of the nodes; null picks the newest Canonical Ubuntu 24.04 image for the shape (cloud-init installs with apt)."
  default     = null
}

variable "ssh_public_key" {
  type        = string
  description = "SSH public key authorised for the ubuntu user on every node."
}

variable "assign_node_public_ips" {
  type        = bool
  description = "Give each node an ephemeral public IP: needed for apt/pip during cloud-init and for SSH from admin_cidr, since the subnet's route is an internet gateway."
  default     = true
}

variable "nic_interface" {
  type        = string
  description = "Name of the nodes' primary NIC as the image names it (keepalived adds the floating IP alias there)."
  default     = "ens3"
}

variable "source_repository" {
  type        = string
  description = "Git URL the nodes clone this project from (health_probe runs from the checkout)."
}

variable "source_ref" {
  type        = string
  description = "Branch or tag of source_repository to deploy on the nodes."
  default     = "main"
}

variable "pip_find_links" {
  type        = string
  description = "Wheelhouse URL the nodes install requirements-node.txt from (pip --no-index --find-links), for nodes without a way to PyPI; empty: PyPI."
  default     = ""
}

variable "apt_proxy" {
  type        = string
  description = "HTTP proxy for the nodes' apt (e.g. an apt-cacher-ng in the VCN); empty: the image's mirrors directly."
  default     = ""
}

# --- VRRP and health --------------------------------------------------------------------------

variable "virtual_router_id" {
  type        = number
  description = "VRRP virtual router id shared by every node (unique within the subnet; the IPv4 and IPv6 instances both use it)."
  default     = 51

  validation {
    condition     = var.virtual_router_id >= 1 && var.virtual_router_id <= 255
    error_message = "virtual_router_id must be between 1 and 255."
  }
}

variable "advert_int" {
  type        = number
  description = "VRRP advert interval in seconds (VRRPv3; takeover after about 3 adverts)."
  default     = 1
}

variable "health_port" {
  type        = number
  description = "Port of haproxy's health endpoint (monitor-uri /healthz) on each node's primary IP: keepalived's check and the agents' metrics."
  default     = 8404
}

variable "node_health_port" {
  type        = number
  description = "Port of the node agent's /healthz on each node's primary IP (200 only while the node can serve the floating IP): what the function probes."
  default     = 8405

  validation {
    condition     = var.node_health_port != var.health_port
    error_message = "node_health_port must differ from health_port (haproxy listens there)."
  }
}

variable "probe_interval_seconds" {
  type        = number
  description = "Seconds between the node agent's probe rounds (metrics are evaluated per minute)."
  default     = 10
}

variable "notify_timeout_seconds" {
  type        = number
  description = "Upper bound of one keepalived notify (function invoke); keepalived never times it out itself."
  default     = 10
}

# --- The function -----------------------------------------------------------------------------

variable "function_image" {
  type        = string
  description = "OCIR image of the failover function, as pushed by `fn build`/`docker push`, e.g. iad.ocir.io/<namespace>/vip-failover/vip-failover:0.1.0 (func.yaml name and version)."
}

variable "operators_group_ocid" {
  type        = string
  description = "OCID of the IAM group whose members may cause manual and forced moves (invoke the operators' function, move the floating IP with `python -m failover`)."

  validation {
    condition     = can(regex("^ocid1\\.group\\.", var.operators_group_ocid))
    error_message = "operators_group_ocid must be an IAM group OCID (ocid1.group....)."
  }
}

variable "function_memory_mb" {
  type        = number
  description = "Function memory in MB (func.yaml's memory)."
  default     = 128
}

variable "function_timeout_seconds" {
  type        = number
  description = "Function timeout in seconds (func.yaml's timeout; OCI allows up to 300); RETRY_DEADLINE_SECONDS must stay below it."
  default     = 60
}

variable "provisioned_concurrency" {
  type        = number
  description = "Provisioned concurrency units (PCUs) kept warm for the events function, so keepalived's notice never waits for a cold start; 0 = off. OCI's minimum, and step, depends on function_memory_mb: 128 MB 40, 256 MB 20, 512 MB and more 10. Idle PCUs are billed (docs/deploy.md)."
  default     = 0

  validation {
    condition     = var.provisioned_concurrency >= 0 && floor(var.provisioned_concurrency) == var.provisioned_concurrency
    error_message = "provisioned_concurrency: a whole number of PCUs, 0 for off."
  }
}

variable "fast_path_mode" {
  type        = string
  description = "Who handles keepalived's MASTER notice. direct (default): the node agent runs the function's core itself: no cold start and no cost, but the nodes' instance principals may then move the floating IPs (the function's move grants, narrowed by the same request.permission conditions). function: the node agent invokes the events function, cold after a quiet spell unless provisioned_concurrency keeps it warm (billed PCUs). Alarms and manual commands go through the function either way (docs/deploy.md)."
  default     = "direct"

  validation {
    condition     = contains(["function", "direct"], var.fast_path_mode)
    error_message = "fast_path_mode must be \"function\" or \"direct\"."
  }
}

variable "failback_policy" {
  type        = string
  description = "FAILBACK_POLICY: never (stay where the IP is) or preferred (return to the highest-priority node once healthy)."
  default     = "never"

  validation {
    condition     = contains(["never", "preferred"], var.failback_policy)
    error_message = "failback_policy must be never or preferred."
  }
}

variable "cooldown_seconds" {
  type        = number
  description = "COOLDOWN_SECONDS: a second move within this time is refused unless the holder is down (anti-flapping)."
  default     = 60
}

variable "probe_timeout_seconds" {
  type        = number
  description = "PROBE_TIMEOUT_SECONDS: the function's HTTP health-check timeout per node."
  default     = 2
}

variable "probe_connect_timeout_seconds" {
  type        = number
  description = "PROBE_CONNECT_TIMEOUT_SECONDS: the function's health-check connect timeout per node; the nodes share the VCN, so a live node connects in milliseconds and a dead link costs this, not probe_timeout_seconds (a timeout is 'unknown', never 'down')."
  default     = 0.02

  validation {
    condition     = var.probe_connect_timeout_seconds >= 0.01 && var.probe_connect_timeout_seconds <= 30
    error_message = "probe_connect_timeout_seconds must be between 0.01 and 30 (the function caps it at probe_timeout_seconds)."
  }
}

variable "dry_run" {
  type        = bool
  description = "DRY_RUN: the function decides and logs but never moves the IP."
  default     = false
}

variable "retry_deadline_seconds" {
  type        = number
  description = "RETRY_DEADLINE_SECONDS: total time the function retries OCI calls; must be below function_timeout_seconds."
  default     = 20
}

# --- Alarms -----------------------------------------------------------------------------------

variable "alarm_pending_duration" {
  type        = string
  description = "Pending duration of every alarm (ISO 8601, PT1M..PT1H); null keeps each alarm's own from health_probe/metrics.json."
  default     = null

  validation {
    condition     = var.alarm_pending_duration == null || can(regex("^PT([1-9][0-9]?M|1H)$", var.alarm_pending_duration))
    error_message = "alarm_pending_duration must look like PT1M .. PT59M or PT1H."
  }
}

variable "alarm_repeat_notification_duration" {
  type        = string
  description = "How often a still-firing alarm notifies again (ISO 8601, PT1M..P30D), so the function re-checks and repairs; null keeps each alarm's own from health_probe/metrics.json."
  default     = null

  validation {
    condition     = var.alarm_repeat_notification_duration == null || can(regex("^P(T[0-9]+[MH]|[0-9]+D)$", var.alarm_repeat_notification_duration))
    error_message = "alarm_repeat_notification_duration must look like PT5M, PT2H or P1D."
  }
}

variable "alarm_email" {
  type        = string
  description = "Optional e-mail address that also receives the alarms (the subscription must be confirmed from the mail); null for none."
  default     = null
}

# --- Outside-in probe (OCI Health Checks) --------------------------------------------------------

variable "outside_in_monitor" {
  type        = bool
  description = "Watch the reserved public IP from outside with an OCI Health Checks HTTP monitor, and alarm to the node alarms' topic when clients cannot reach it (outside_in.tf)."
  default     = false
}

variable "outside_in_port" {
  type        = number
  description = "Service port the monitor probes on the reserved public IP: 80 (HTTP) or 443 (HTTPS)."
  default     = 80

  validation {
    condition     = contains([80, 443], var.outside_in_port)
    error_message = "outside_in_port must be a service port: 80 or 443."
  }
}

variable "outside_in_path" {
  type        = string
  description = "Path the monitor requests; any answer below 400 counts as reachable. The nodes' haproxy answers /healthz on the service port with 200 (every other path of the seed's service is its 503 page)."
  default     = "/healthz"

  validation {
    condition     = can(regex("^/[^ ]*$", var.outside_in_path))
    error_message = "outside_in_path must start with / and hold no spaces."
  }
}

variable "outside_in_host_header" {
  type        = string
  description = "Host header of the probes (required with port 443: the name on the service's certificate); null for none."
  default     = null
}

variable "outside_in_interval_seconds" {
  type        = number
  description = "How often each vantage point probes: 10 (OCI bills it as premium), 30 or 60 seconds."
  default     = 30

  validation {
    condition     = contains([10, 30, 60], var.outside_in_interval_seconds)
    error_message = "outside_in_interval_seconds must be 10, 30 or 60."
  }
}

variable "outside_in_vantage_points" {
  type        = list(string)
  description = "Health Checks vantage points (`oci health-checks vantage-point list`); Oracle recommends three or more across three providers (the name's prefix: aws, azr, goo)."
  default     = ["aws-iad", "azr-ord", "goo-chs"]

  validation {
    condition     = length(var.outside_in_vantage_points) <= 10 && length(distinct([for name in var.outside_in_vantage_points : split("-", name)[0]])) >= 3
    error_message = "outside_in_vantage_points must name at most ten vantage points from at least three providers (e.g. aws-iad, azr-ord, goo-chs)."
  }
}

variable "outside_in_source_cidrs" {
  type        = list(string)
  description = "Where the vantage points' probes come from (OCI lists their routing in ListHealthChecksVantagePoints); admitted on outside_in_port only, when http_ingress_cidr does not already admit them."
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.outside_in_source_cidrs) > 0 && alltrue([for cidr in var.outside_in_source_cidrs : can(cidrnetmask(cidr))])
    error_message = "outside_in_source_cidrs must be a non-empty list of IPv4 CIDR blocks."
  }
}

# --- Failover events (modules/controller/events.tf) ---------------------------------------------

variable "events_email" {
  type        = string
  description = "Optional e-mail address told of every move and refused move of the floating IP (the subscription must be confirmed from the mail); null for none."
  default     = null
}
