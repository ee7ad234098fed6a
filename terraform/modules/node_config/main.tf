# Renders one node's boot configuration: haproxy.cfg and keepalived.conf from the shared
# templates (the same files the lab renders) and the cloud-init that installs everything.
#
# node-agent.yaml needs the instances' and the function's OCIDs, and the function's NODES needs
# the instances' VNICs: inside user_data that would be a dependency cycle. So it is rendered by
# modules/node_agent once they exist, stored in Object Storage, and cloud-init only knows where to
# fetch it and waits for it, bounded. (Two modules, because a module's outputs all wait for all
# of its inputs.)

locals {
  app_dir      = "/opt/oci-vip-failover"
  config_dir   = "/etc/oci-vip-failover"
  python       = "${local.app_dir}/.venv/bin/python"
  agent_config = "${local.config_dir}/node-agent.yaml"
  # The agent's relay: node-agent.yaml's relay_address:relay_port, which the template leaves at
  # health_probe/config.py's defaults. On notify's command line its relay path reads no YAML
  # (tests/terraform holds this to health_probe.install's, which takes config.py's defaults).
  relay = "127.0.0.1:8406"

  # "" where a node has no IPv6 address, so that rendering reaches the output's precondition,
  # which says what is missing.
  ipv6_of = { for node in concat([var.node], var.peers) : node.name => node.ipv6 == null ? "" : node.ipv6 }

  # One VRRP instance per address family (templates/keepalived.conf.tftpl): every IPv4 floating IP
  # in vip_ipv4, every IPv6 one in vip_ipv6, each with unicast to every peer of its family.
  vrrp_instances = concat(
    [{
      name      = "vip_ipv4"
      src_ip    = var.node.private_ip
      peer_ips  = [for peer in var.peers : peer.private_ip]
      addresses = [for ip in var.vrrp.vips : "${ip}/${var.vrrp.vip_prefix_len}"]
    }],
    length(var.vrrp.vips_ipv6) == 0 ? [] : [{
      name      = "vip_ipv6"
      src_ip    = local.ipv6_of[var.node.name]
      peer_ips  = [for peer in var.peers : local.ipv6_of[peer.name]]
      addresses = [for ip in var.vrrp.vips_ipv6 : "${ip}/${var.vrrp.vip_ipv6_prefix_len}"]
    }],
  )

  # Variables of templates/haproxy.cfg.tftpl and templates/keepalived.conf.tftpl: static, so
  # the instance's user_data never depends on resources created after it.
  node_vars = {
    node_name         = var.node.name
    vrrp_instances    = local.vrrp_instances
    priority          = var.node.priority
    interface         = var.vrrp.interface
    virtual_router_id = var.vrrp.virtual_router_id
    advert_int        = var.vrrp.advert_int
    bind_ipv6         = length(var.vrrp.vips_ipv6) > 0
    http_port         = var.http_port
    health_port       = var.health_port
    health_url        = "http://127.0.0.1:${var.health_port}/healthz"
    pid_file          = "/run/haproxy.pid"
    # Absolute path first (keepalived's script security); notify bounds its own run time.
    # Through /usr/bin/env: with script security keepalived runs the first word's real path, and
    # the venv's bin/python is a symlink to /usr/bin/python3.11, which outside the venv finds
    # neither health_probe nor its packages, so every notify failed silently (found by booting
    # the lab's nodes from this cloud-init).
    notify_master_command = "/usr/bin/env ${local.python} -m health_probe.notify --config ${local.agent_config} --relay ${local.relay} --state MASTER"
    # keepalived appends " --state BACKUP|FAULT|STOP": the holder leaving MASTER asks for a repair.
    notify_release_command = "/usr/bin/env ${local.python} -m health_probe.notify --config ${local.agent_config} --relay ${local.relay}"
  }

  haproxy_cfg     = templatefile("${var.templates_dir}/haproxy.cfg.tftpl", local.node_vars)
  keepalived_conf = templatefile("${var.templates_dir}/keepalived.conf.tftpl", local.node_vars)

  bootstrap = templatefile("${path.module}/bootstrap.sh.tftpl", {
    app_dir           = local.app_dir
    config_dir        = local.config_dir
    agent_config      = local.agent_config
    source_repository = var.source_repository
    source_ref        = var.source_ref
    pip_find_links    = var.pip_find_links
    # pip refuses a plain-http wheelhouse unless its host is trusted (a private subnet's mirror).
    pip_trusted_host = startswith(var.pip_find_links, "http://") ? split("/", var.pip_find_links)[2] : ""
  })

  firewall = templatefile("${path.module}/firewall.sh.tftpl", {
    service_ports    = var.firewall.service_ports
    client_cidr      = var.firewall.client_cidr
    function_cidr    = var.firewall.function_cidr
    peer_ips         = [for peer in var.peers : peer.private_ip]
    health_port      = var.health_port
    endpoint_port    = var.endpoint_port
    client_ipv6_cidr = length(var.vrrp.vips_ipv6) > 0 ? var.firewall.client_ipv6_cidr : ""
    peer_ipv6s       = length(var.vrrp.vips_ipv6) > 0 ? [for peer in var.peers : local.ipv6_of[peer.name]] : []
    forwarding       = var.firewall.forwarding
    peer_endpoint    = var.firewall.peer_endpoint
  })

  # KEY=value lines for systemd's EnvironmentFile= and for `.` in the bootstrap: values are
  # URLs and paths, quoted for both.
  environment = join("", [for key, value in var.environment : "${key}=\"${value}\"\n"])

  fetch_config = templatefile("${path.module}/fetch_config.py.tftpl", {
    namespace = var.config_object.namespace
    bucket    = var.config_object.bucket
    object    = var.config_object.name
  })

  # apt's proxy only when one is given: the key's absence leaves the image's apt as it is.
  apt = var.apt_proxy == "" ? {} : { apt = { proxy = var.apt_proxy } }

  cloud_init = join("\n", ["#cloud-config", yamlencode(merge(local.apt, {
    package_update = true
    packages       = ["haproxy", "keepalived", "curl", "git", "python3-venv"]
    # defer: written after the packages are installed, so that installing keepalived does not
    # start it (and let it become MASTER) before notify has its configuration.
    write_files = [
      { path = "/etc/haproxy/haproxy.cfg", permissions = "0644", content = local.haproxy_cfg, defer = true },
      { path = "/etc/keepalived/keepalived.conf", permissions = "0644", content = local.keepalived_conf, defer = true },
      { path = "/etc/systemd/system/vip-failover-probe.service", permissions = "0644", content = file(var.probe_unit_file) },
      { path = "/etc/default/vip-failover", permissions = "0644", content = local.environment },
      # keepalived's notify (the fallback direct invoke) needs the same endpoints as the agent.
      { path = "/etc/systemd/system/keepalived.service.d/vip-failover.conf", permissions = "0644", content = "[Service]\nEnvironmentFile=-/etc/default/vip-failover\n" },
      { path = "/usr/local/sbin/vip-failover-firewall", permissions = "0755", content = local.firewall },
      { path = "/usr/local/sbin/vip-failover-fetch-config", permissions = "0755", content = local.fetch_config },
      { path = "/usr/local/sbin/vip-failover-bootstrap", permissions = "0755", content = local.bootstrap },
    ]
    runcmd = [["/usr/local/sbin/vip-failover-bootstrap"]]
  }))])
}
