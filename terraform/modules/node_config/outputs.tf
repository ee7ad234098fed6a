output "cloud_init" {
  description = "The node's #cloud-config (plain text; the instance gets it gzip+base64)."
  value       = local.cloud_init

  precondition {
    condition     = length(var.vrrp.vips_ipv6) == 0 || alltrue([for ip in values(local.ipv6_of) : ip != ""])
    error_message = "With IPv6 floating IPs (vrrp.vips_ipv6) this node and every peer need an ipv6 address: vip_ipv6's unicast VRRP runs between them."
  }
}

output "haproxy_cfg" {
  description = "Rendered /etc/haproxy/haproxy.cfg."
  value       = local.haproxy_cfg
}

output "keepalived_conf" {
  description = "Rendered /etc/keepalived/keepalived.conf."
  value       = local.keepalived_conf
}

output "template_vars" {
  description = "Variables passed to haproxy.cfg.tftpl and keepalived.conf.tftpl (the lab must pass the same names)."
  value       = local.node_vars
}
