# Inputs. The full stack (terraform/) passes what it creates; on nodes you already have, pass
# their instance and VNIC OCIDs and the existing floating private IP (examples/existing-nodes).

variable "tenancy_ocid" {
  type        = string
  description = "Tenancy OCID: dynamic groups live in the tenancy (root compartment)."
}

variable "compartment_ocid" {
  type        = string
  description = "Compartment of the controller's resources and the scope of every policy statement: the one that holds the nodes' VNICs and the floating IP."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every display name, dynamic group and policy name (unique per tenancy for IAM)."
}

variable "nodes" {
  type = map(object({
    instance_id = string
    vnic_id     = string
    health_url  = string
    priority    = number
  }))
  description = "The nodes: name => instance OCID (its instance principal posts metrics and invokes the function), the VNIC the floating IP may move to, the node agent's /healthz URL the function probes, and the failback priority (higher is preferred)."

  validation {
    condition     = length(var.nodes) >= 2
    error_message = "nodes: at least two, or there is nowhere to fail over to."
  }
}

variable "vip_private_ip_ids" {
  type        = list(string)
  description = "OCIDs of the IPv4 floating secondary private IPs (existing ones when adopting); they move together unless vip_groups says otherwise."

  validation {
    condition     = length(var.vip_private_ip_ids) > 0 && alltrue([for id in var.vip_private_ip_ids : can(regex("^ocid1\\.privateip\\.", id))])
    error_message = "vip_private_ip_ids must be private IP OCIDs (ocid1.privateip....)."
  }
}

variable "vip_ipv6_ids" {
  type        = list(string)
  default     = []
  description = "OCIDs of the IPv6 floating IPs that fail over with them (UpdateIpv6); empty: none."

  validation {
    condition     = alltrue([for id in var.vip_ipv6_ids : can(regex("^ocid1\\.ipv6\\.", id))])
    error_message = "vip_ipv6_ids must be IPv6 OCIDs (ocid1.ipv6....)."
  }
}

variable "vip_groups" {
  type        = list(list(string))
  default     = []
  description = "The floating IPs' OCIDs (of vip_private_ip_ids and vip_ipv6_ids) in the groups the function moves as a unit, each in exactly one; empty: all of them form one group."

  validation {
    condition     = alltrue([for group in var.vip_groups : length(group) > 0])
    error_message = "vip_groups: no empty group."
  }
}

variable "function_subnet_ids" {
  type        = list(string)
  description = "Subnet(s) the function runs in; it must reach the OCI APIs (service gateway) and the nodes' health URLs."
}

variable "function_nsg_ids" {
  type        = list(string)
  description = "Network security groups of the function's application; empty for none."
  default     = []
}

variable "function_image" {
  type        = string
  description = "OCIR image of the failover function, as pushed by `fn build`/`docker push`."
}

variable "function_memory_mb" {
  type        = number
  description = "Function memory in MB (func.yaml's memory)."
  default     = 128
}

variable "function_timeout_seconds" {
  type        = number
  description = "Function timeout in seconds (OCI allows up to 300); retry_deadline_seconds must stay below it."
  default     = 60
}

variable "provisioned_concurrency" {
  type        = number
  description = "Provisioned concurrency units (PCUs) of the events function, kept warm so that keepalived's notice never waits for a cold start; 0 = off. OCI's minimum and step depend on function_memory_mb (128 MB: 40, 256 MB: 20, 512 MB and more: 10), and idle PCUs are billed (docs/deploy.md)."
  default     = 0

  validation {
    condition     = var.provisioned_concurrency >= 0 && floor(var.provisioned_concurrency) == var.provisioned_concurrency
    error_message = "provisioned_concurrency: a whole number of PCUs, 0 for off."
  }
}

variable "fast_path_mode" {
  type        = string
  description = "Who handles keepalived's MASTER notice: \"direct\" (the default: the node agent runs the function's core itself, no cold start; the nodes are then granted the function's move permissions, with its request.permission conditions, iam.tf) or \"function\" (the node agent invokes the events function)."
  default     = "direct"

  validation {
    condition     = contains(["function", "direct"], var.fast_path_mode)
    error_message = "fast_path_mode: \"function\" or \"direct\"."
  }
}

variable "operators_group_ocid" {
  type        = string
  description = "OCID of the IAM group whose members may cause manual and forced moves."
}

variable "failback_policy" {
  type        = string
  description = "never (stay where the IP is) or preferred (return to the highest-priority node once healthy)."
  default     = "never"
}

variable "cooldown_seconds" {
  type        = number
  description = "A second move within this time is refused unless the holder is down (anti-flapping)."
  default     = 60
}

variable "probe_timeout_seconds" {
  type        = number
  description = "The function's HTTP health-check timeout per node."
  default     = 2
}

variable "probe_connect_timeout_seconds" {
  type        = number
  description = "The function's health-check connect timeout per node (a timeout is 'unknown', never 'down')."
  default     = 0.02
}

variable "dry_run" {
  type        = bool
  description = "The function decides and logs but never moves the IP."
  default     = false
}

variable "retry_deadline_seconds" {
  type        = number
  description = "Total time the function retries OCI calls; must be below function_timeout_seconds."
  default     = 20
}

variable "alarm_pending_duration" {
  type        = string
  description = "Pending duration of every alarm (ISO 8601); null keeps each alarm's own from health_probe/metrics.json."
  default     = null
}

variable "alarm_repeat_notification_duration" {
  type        = string
  description = "How often a still-firing alarm notifies again (ISO 8601); null keeps each alarm's own from health_probe/metrics.json."
  default     = null
}

variable "alarm_email" {
  type        = string
  description = "Optional e-mail address that also receives the alarms; null for none."
  default     = null
}

variable "node_config_buckets" {
  type        = list(string)
  description = "Buckets the nodes may read their node-agent.yaml from (the full stack's cloud-init); empty when the configuration is installed on the nodes by hand."
  default     = []
}

variable "events_email" {
  type        = string
  description = "Optional e-mail address told of every move and refused move of the floating IP (the subscription must be confirmed from the mail); null for none."
  default     = null
}

variable "extra_alarm_ids" {
  type        = list(string)
  description = "OCIDs of the caller's own alarms on this topic whose messages the function takes as evidence (the outside-in alarm); the node alarms are always in."
  default     = []
}
