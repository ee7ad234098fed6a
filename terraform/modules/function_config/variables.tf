variable "vip_private_ip_ids" {
  type        = list(string)
  description = "OCIDs of the floating private IPs that move together."
}

variable "vip_ipv6_ids" {
  type        = list(string)
  default     = []
  description = "OCIDs of the IPv6 floating IPs (ocid1.ipv6....); empty: none."
}

variable "vip_groups" {
  type        = list(list(string))
  default     = []
  description = "The floating IPs' OCIDs in the groups that move as a unit; empty: all of them form one group."
}

variable "nodes" {
  type = list(object({
    name       = string
    vnic_id    = string
    health_url = string
    priority   = number
  }))
  description = "The nodes the function may move the floating IP to."
}

variable "failback_policy" {
  type        = string
  description = "never | preferred."
}

variable "cooldown_seconds" {
  type        = number
  description = "Minimum seconds between two moves unless the holder is down."
}

variable "probe_timeout_seconds" {
  type        = number
  description = "The function's health-check timeout per node."
}

variable "probe_connect_timeout_seconds" {
  type        = number
  description = "The function's health-check connect timeout per node (at most probe_timeout_seconds)."
}

variable "dry_run" {
  type        = bool
  description = "Decide and log, never move."
}

variable "retry_deadline_seconds" {
  type        = number
  description = "Total time the function retries OCI calls."
}

variable "alarm_ids" {
  type        = list(string)
  description = "OCIDs of the deployment's own alarms: only their messages count as evidence about a node."
}

variable "events_topic_id" {
  type        = string
  description = "OCID of the topic told of every move and refused move (failover events)."
}

variable "compartment_id" {
  type        = string
  description = "Compartment of the failover_moves / failover_refused metrics."
}
