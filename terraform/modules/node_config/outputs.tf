output "cloud_init" {
  description = "The node's #cloud-config (plain text; the instance gets it gzip+base64)."
  value       = local.cloud_init
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
