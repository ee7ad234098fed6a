# The nodes: spread over fault domains (and, optionally, availability domains), each with
# haproxy, keepalived and the node agent installed by cloud-init from the shared templates.

locals {
  node_names = sort(keys(var.nodes))
  # The floating IPs start on the highest-priority node; failback "preferred" returns there.
  preferred_node = [for name in local.node_names : name if var.nodes[name].priority == max([for n in values(var.nodes) : n.priority]...)][0]
  peers_of       = { for name in local.node_names : name => [for other in local.node_names : other if other != name] }

  availability_domains = data.oci_identity_availability_domains.all.availability_domains[*].name
  placement = {
    for index, name in local.node_names : name => {
      fault_domain        = coalesce(var.nodes[name].fault_domain, "FAULT-DOMAIN-${index % 3 + 1}")
      availability_domain = coalesce(var.nodes[name].availability_domain, local.availability_domains[var.spread_across_availability_domains ? index % length(local.availability_domains) : 0])
    }
  }
  image_id = coalesce(var.image_ocid, try(data.oci_core_images.ubuntu.images[0].id, null))

  # With dual_stack each node's IPv6 address has its IPv4 host number in the nodes' /64
  # (10.0.0.2 -> <prefix>::2); the subnet's prefix is Oracle's, known once the VCN exists.
  ipv4_as_number = { for name, node in var.nodes : name => sum([for i, octet in split(".", node.private_ip) : tonumber(octet) * pow(256, 3 - i)]) }
  subnet_number  = sum([for i, octet in split(".", cidrhost(var.nodes_subnet_cidr, 0)) : tonumber(octet) * pow(256, 3 - i)])
  node_ipv6      = { for name in local.node_names : name => var.dual_stack ? cidrhost(local.nodes_ipv6_cidr, local.ipv4_as_number[name] - local.subnet_number) : null }
}

data "oci_identity_availability_domains" "all" {
  compartment_id = var.tenancy_ocid
}

data "oci_core_images" "ubuntu" {
  compartment_id           = var.compartment_ocid
  operating_system         = "Canonical Ubuntu"
  operating_system_version = "24.04"
  shape                    = var.instance_shape
  sort_by                  = "TIMECREATED"
  sort_order               = "DESC"
}

# Where each node fetches its node-agent.yaml at boot (see modules/node_config).
data "oci_objectstorage_namespace" "this" {
  compartment_id = var.compartment_ocid
}

resource "oci_objectstorage_bucket" "node_config" {
  # checkov:skip=CKV_OCI_8:Versioning would keep deleted objects, so `terraform destroy` could not delete the bucket; the content is rendered by terraform and reproducible at any time.
  # checkov:skip=CKV_OCI_9:The objects hold OCIDs and URLs, no secret; Oracle-managed keys encrypt them at rest. A customer-managed key would need a Vault the stack does not otherwise use.
  compartment_id        = var.compartment_ocid
  namespace             = data.oci_objectstorage_namespace.this.namespace
  name                  = "${var.name_prefix}-node-config"
  access_type           = "NoPublicAccess"
  object_events_enabled = true
}

module "node_config" {
  source   = "./modules/node_config"
  for_each = var.nodes

  templates_dir   = "${path.module}/../templates"
  probe_unit_file = "${path.module}/../health_probe/vip-failover-probe.service"
  node            = { name = each.key, private_ip = each.value.private_ip, priority = each.value.priority, ipv6 = local.node_ipv6[each.key] }
  peers           = [for peer in local.peers_of[each.key] : { name = peer, private_ip = var.nodes[peer].private_ip, ipv6 = local.node_ipv6[peer] }]
  vrrp = {
    interface         = var.nic_interface
    vips              = values(local.floating_ips)
    vip_prefix_len    = tonumber(split("/", var.nodes_subnet_cidr)[1])
    vips_ipv6         = values(local.floating_ipv6s)
    virtual_router_id = var.virtual_router_id
    advert_int        = var.advert_int
  }
  health_port   = var.health_port
  endpoint_port = var.node_health_port
  http_port     = local.service_ports.http
  # The host firewall opens what oci_core_network_security_group.nodes opens (network.tf).
  firewall = {
    service_ports    = values(local.service_ports)
    client_cidr      = var.http_ingress_cidr
    function_cidr    = var.functions_subnet_cidr
    client_ipv6_cidr = var.http_ingress_ipv6_cidr
    forwarding       = var.route_target_mode ? { source_cidr = var.client_subnet_cidr, destination_cidr = var.route_target_destination } : null
    # Direct fast path: each node's agent probes its peers' agents before it moves the IP.
    peer_endpoint = var.fast_path_mode == "direct"
  }
  source_repository = var.source_repository
  source_ref        = var.source_ref
  pip_find_links    = var.pip_find_links
  apt_proxy         = var.apt_proxy
  config_object = {
    namespace = data.oci_objectstorage_namespace.this.namespace
    bucket    = oci_objectstorage_bucket.node_config.name
    name      = "node-agent/${each.key}.yaml"
  }
}

resource "oci_core_instance" "node" {
  # checkov:skip=CKV_OCI_4:In-transit encryption is on (top-level is_pv_encryption_in_transit_enabled below); checkov reads launch_options.is_pv_encryption_in_transit_enabled, which the provider documents as deprecated at create.
  for_each = var.nodes

  compartment_id      = var.compartment_ocid
  display_name        = "${var.name_prefix}-${each.key}"
  availability_domain = local.placement[each.key].availability_domain
  fault_domain        = local.placement[each.key].fault_domain
  shape               = var.instance_shape

  shape_config {
    ocpus         = var.instance_ocpus
    memory_in_gbs = var.instance_memory_gbs
  }

  source_details {
    source_type = "image"
    source_id   = local.image_id
  }

  create_vnic_details {
    subnet_id        = oci_core_subnet.nodes.id
    private_ip       = each.value.private_ip
    assign_public_ip = var.assign_node_public_ips
    hostname_label   = each.key
    nsg_ids          = [oci_core_network_security_group.nodes.id]
    # Route-target mode: the node forwards packets addressed to neither of its own IPs.
    skip_source_dest_check = var.route_target_mode
  }

  metadata = {
    ssh_authorized_keys = var.ssh_public_key
    user_data           = base64gzip(module.node_config[each.key].cloud_init)
  }

  # In-transit encryption of the boot volume, set where the provider documents it for create.
  is_pv_encryption_in_transit_enabled = true

  instance_options {
    are_legacy_imds_endpoints_disabled = true
  }

  agent_config {
    is_monitoring_disabled = false
    is_management_disabled = false
  }

  lifecycle {
    # A newer Ubuntu image, or an edited cloud-init, must not replace a running node (and take
    # the floating IP with it) on a later apply: replace nodes deliberately, one at a time.
    ignore_changes = [source_details[0].source_id, metadata]
  }
}

# The primary VNIC of each node: the function's NODES config names VNICs, not instances.
data "oci_core_vnic_attachments" "node" {
  for_each = var.nodes

  compartment_id = var.compartment_ocid
  instance_id    = oci_core_instance.node[each.key].id
}

# With dual_stack, each node's own IPv6 address on its VNIC (vip_ipv6's VRRP runs between them).
# A resource of its own rather than create_vnic_details' IPv6 block, which would replace a
# running node when dual_stack is turned on later.
resource "oci_core_ipv6" "node" {
  for_each = var.dual_stack ? var.nodes : {}

  vnic_id      = data.oci_core_vnic_attachments.node[each.key].vnic_attachments[0].vnic_id
  ip_address   = local.node_ipv6[each.key]
  display_name = "${var.name_prefix}-${each.key}"
}

module "node_agent" {
  source   = "./modules/node_agent"
  for_each = var.nodes

  templates_dir = "${path.module}/../templates"
  node          = { name = each.key, private_ip = each.value.private_ip }
  peers         = [for peer in local.peers_of[each.key] : { name = peer, private_ip = var.nodes[peer].private_ip, instance_id = oci_core_instance.node[peer].id }]
  vips          = [for name, address in local.floating_ips : { name = name, address = address, id = oci_core_private_ip.floating[name].id }]
  vips_ipv6     = [for name, address in local.floating_ipv6s : { name = name, address = address, id = oci_core_ipv6.floating[name].id }]
  health_port   = var.health_port
  endpoint_port = var.node_health_port
  agent = {
    instance_id            = oci_core_instance.node[each.key].id
    compartment_id         = var.compartment_ocid
    region                 = var.region
    invoke_endpoint        = module.controller.function_invoke_endpoint
    function_id            = module.controller.function_id
    probe_interval_seconds = var.probe_interval_seconds
    notify_timeout_seconds = var.notify_timeout_seconds
  }
  # fast_path_mode = "direct": the agent handles keepalived's notice with the function's own
  # configuration (empty in "function" mode).
  fast_path_direct = module.controller.direct_fast_path_config
}

resource "oci_objectstorage_object" "node_agent" {
  for_each = var.nodes

  namespace    = data.oci_objectstorage_namespace.this.namespace
  bucket       = oci_objectstorage_bucket.node_config.name
  object       = "node-agent/${each.key}.yaml"
  content      = module.node_agent[each.key].node_agent_yaml
  content_type = "application/yaml"
}
