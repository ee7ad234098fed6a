# Network: one VCN, a public regional subnet for the nodes and the floating IPs, a private
# subnet for the function (and, in route-target mode, one for the clients routed through the
# nodes). Traffic rules live in two NSGs (nodes, function) so that "only the nodes" and "only
# the function" can be said exactly: an NSG rule may name another NSG as its source, a security
# list cannot. An NSG source matches its VNICs' addresses of either family, so the VRRP and
# health rules hold for IPv6 too; the CIDR rules have an IPv6 twin with dual_stack.

locals {
  # OCI's IP protocol numbers as the API wants them (strings).
  protocol = {
    icmp   = "1"
    tcp    = "6"
    vrrp   = "112"
    icmpv6 = "58"
  }
  # Service ports opened to clients; OCI ingress rules filter by source only, so what reaches
  # the floating IP is what reaches the node that holds it.
  service_ports = { http = 80, https = 443 }

  # The clients' rules; with dual_stack their IPv6 twins ("http-ipv6", ...).
  service_rules = merge(
    { for name, port in local.service_ports : name => {
      port        = port
      source      = var.http_ingress_cidr
      description = "${upper(name)} to the service behind the floating IP"
    } },
    var.dual_stack ? { for name, port in local.service_ports : "${name}-ipv6" => {
      port        = port
      source      = var.http_ingress_ipv6_cidr
      description = "${upper(name)} over IPv6 to the service behind the IPv6 floating IPs"
    } } : {},
  )

  # dual_stack: the VCN's Oracle-allocated /56, and its first /64 for the nodes' subnet.
  nodes_ipv6_cidr = var.dual_stack ? cidrsubnet(oci_core_vcn.main.ipv6cidr_blocks[0], 8, 0) : null
}

resource "oci_core_vcn" "main" {
  compartment_id = var.compartment_ocid
  cidr_blocks    = [var.vcn_cidr]
  display_name   = "${var.name_prefix}-vcn"
  dns_label      = "vipfailover"
  # Oracle allocates a global /56 (ipv6cidr_blocks) when this is on.
  is_ipv6enabled = var.dual_stack
}

# The VCN's default security list allows SSH from anywhere; no subnet uses it, and it is kept
# empty so that attaching it by mistake opens nothing.
resource "oci_core_default_security_list" "locked" {
  manage_default_resource_id = oci_core_vcn.main.default_security_list_id
  display_name               = "${var.name_prefix}-default-unused"
}

resource "oci_core_internet_gateway" "main" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main.id
  display_name   = "${var.name_prefix}-igw"
  enabled        = true
}

data "oci_core_services" "all" {
  filter {
    name   = "name"
    values = ["All .* Services In Oracle Services Network"]
    regex  = true
  }
}

# The function has no public IP. It reaches the OCI APIs through the service gateway where that
# carries them, and through the NAT gateway below otherwise (docs/deploy.md: no source we could
# read lists the Core API behind "All Services in Oracle Services Network").
resource "oci_core_service_gateway" "main" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main.id
  display_name   = "${var.name_prefix}-sgw"

  services {
    service_id = data.oci_core_services.all.services[0].id
  }
}

# Outbound only: nothing can open a connection to the function through a NAT gateway.
resource "oci_core_nat_gateway" "functions" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main.id
  display_name   = "${var.name_prefix}-natgw"
}

resource "oci_core_route_table" "public" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main.id
  display_name   = "${var.name_prefix}-public-rt"

  route_rules {
    destination       = "0.0.0.0/0"
    destination_type  = "CIDR_BLOCK"
    network_entity_id = oci_core_internet_gateway.main.id
  }

  dynamic "route_rules" {
    for_each = var.dual_stack ? ["::/0"] : []
    content {
      destination       = route_rules.value
      destination_type  = "CIDR_BLOCK"
      network_entity_id = oci_core_internet_gateway.main.id
    }
  }
}

resource "oci_core_route_table" "functions" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main.id
  display_name   = "${var.name_prefix}-functions-rt"

  route_rules {
    destination       = data.oci_core_services.all.services[0].cidr_block
    destination_type  = "SERVICE_CIDR_BLOCK"
    network_entity_id = oci_core_service_gateway.main.id
  }

  # The VCN wizard's private-subnet layout: Oracle services through the service gateway, the
  # rest (the Core API endpoint, if it is not among them) through the NAT gateway.
  route_rules {
    destination       = "0.0.0.0/0"
    destination_type  = "CIDR_BLOCK"
    network_entity_id = oci_core_nat_gateway.functions.id
  }
}

# The subnets' own list carries only ICMP "fragmentation needed" (path MTU discovery); every
# service rule is in an NSG below.
resource "oci_core_security_list" "baseline" {
  # checkov:skip=CKV_OCI_19:False positive: the only rule is ICMP type 3 code 4, which has no ports; nothing reaches port 22 through this list.
  # checkov:skip=CKV_OCI_20:False positive: the only rule is ICMP type 3 code 4, which has no ports; nothing reaches port 3389 through this list.
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main.id
  display_name   = "${var.name_prefix}-baseline"

  ingress_security_rules {
    protocol    = local.protocol.icmp
    source      = "0.0.0.0/0"
    stateless   = true
    description = "Path MTU discovery"

    icmp_options {
      type = 3
      code = 4
    }
  }

  # Its IPv6 twin: ICMPv6 "packet too big".
  dynamic "ingress_security_rules" {
    for_each = var.dual_stack ? ["::/0"] : []
    content {
      protocol    = local.protocol.icmpv6
      source      = ingress_security_rules.value
      stateless   = true
      description = "Path MTU discovery (IPv6)"

      icmp_options {
        type = 2
        code = 0
      }
    }
  }
}

resource "oci_core_subnet" "nodes" {
  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.main.id
  cidr_block                 = var.nodes_subnet_cidr
  ipv6cidr_blocks            = var.dual_stack ? [local.nodes_ipv6_cidr] : null
  display_name               = "${var.name_prefix}-nodes"
  dns_label                  = "nodes"
  route_table_id             = oci_core_route_table.public.id
  security_list_ids          = [oci_core_security_list.baseline.id]
  prohibit_public_ip_on_vnic = false
}

resource "oci_core_subnet" "functions" {
  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.main.id
  cidr_block                 = var.functions_subnet_cidr
  display_name               = "${var.name_prefix}-functions"
  dns_label                  = "functions"
  route_table_id             = oci_core_route_table.functions.id
  security_list_ids          = [oci_core_security_list.baseline.id]
  prohibit_public_ip_on_vnic = true
}

resource "oci_core_network_security_group" "nodes" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main.id
  display_name   = "${var.name_prefix}-nodes"
}

resource "oci_core_network_security_group" "functions" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main.id
  display_name   = "${var.name_prefix}-functions"
}

# Ingress rules are stateless: replies leave through the stateful "all egress" rule below.

resource "oci_core_network_security_group_security_rule" "nodes_service" {
  for_each = local.service_rules

  network_security_group_id = oci_core_network_security_group.nodes.id
  direction                 = "INGRESS"
  protocol                  = local.protocol.tcp
  source                    = each.value.source
  source_type               = "CIDR_BLOCK"
  stateless                 = true
  description               = each.value.description

  tcp_options {
    destination_port_range {
      min = each.value.port
      max = each.value.port
    }
  }
}

resource "oci_core_network_security_group_security_rule" "nodes_ssh" {
  network_security_group_id = oci_core_network_security_group.nodes.id
  direction                 = "INGRESS"
  protocol                  = local.protocol.tcp
  source                    = var.admin_cidr
  source_type               = "CIDR_BLOCK"
  stateless                 = true
  description               = "SSH from the admin network only"

  tcp_options {
    destination_port_range {
      min = 22
      max = 22
    }
  }
}

# VRRP (IP protocol 112, both instances): source is the nodes' own NSG, so only the nodes can send it.
resource "oci_core_network_security_group_security_rule" "nodes_vrrp" {
  network_security_group_id = oci_core_network_security_group.nodes.id
  direction                 = "INGRESS"
  protocol                  = local.protocol.vrrp
  source                    = oci_core_network_security_group.nodes.id
  source_type               = "NETWORK_SECURITY_GROUP"
  stateless                 = true
  description               = "Unicast VRRP between the nodes only"
}

# Health ports. The function probes each node's agent endpoint (node_health_port: "can serve
# the floating IPs") before every move; each node's agent probes every node's haproxy
# (health_port) for the metrics, so a dead node is still reported by the others.
resource "oci_core_network_security_group_security_rule" "nodes_health" {
  for_each = {
    function = { source = oci_core_network_security_group.functions.id, port = var.node_health_port }
    peers    = { source = oci_core_network_security_group.nodes.id, port = var.health_port }
  }

  network_security_group_id = oci_core_network_security_group.nodes.id
  direction                 = "INGRESS"
  protocol                  = local.protocol.tcp
  source                    = each.value.source
  source_type               = "NETWORK_SECURITY_GROUP"
  stateless                 = true
  description               = "Health endpoint ${each.value.port} from the ${each.key}"

  tcp_options {
    destination_port_range {
      min = each.value.port
      max = each.value.port
    }
  }
}

# fast_path_mode = "direct" only: each node's agent probes its peers' agent endpoints (what the
# function probes) before it moves the floating IPs itself (health_probe/direct.py).
resource "oci_core_network_security_group_security_rule" "nodes_agent_from_peers" {
  count = var.fast_path_mode == "direct" ? 1 : 0

  network_security_group_id = oci_core_network_security_group.nodes.id
  direction                 = "INGRESS"
  protocol                  = local.protocol.tcp
  source                    = oci_core_network_security_group.nodes.id
  source_type               = "NETWORK_SECURITY_GROUP"
  stateless                 = true
  description               = "Health endpoint ${var.node_health_port} from the peers (direct fast path)"

  tcp_options {
    destination_port_range {
      min = var.node_health_port
      max = var.node_health_port
    }
  }
}

resource "oci_core_network_security_group_security_rule" "nodes_egress" {
  # checkov:skip=CKV2_OCI_2:False positive: this is an EGRESS rule (the check ignores direction); no ingress rule opens 3389.
  network_security_group_id = oci_core_network_security_group.nodes.id
  direction                 = "EGRESS"
  protocol                  = "all"
  destination               = "0.0.0.0/0"
  destination_type          = "CIDR_BLOCK"
  stateless                 = false
  description               = "Packages, OCI APIs, VRRP to the peers, and replies"
}

resource "oci_core_network_security_group_security_rule" "nodes_egress_ipv6" {
  # checkov:skip=CKV2_OCI_2:False positive: this is an EGRESS rule (the check ignores direction); no ingress rule opens 3389.
  count = var.dual_stack ? 1 : 0

  network_security_group_id = oci_core_network_security_group.nodes.id
  direction                 = "EGRESS"
  protocol                  = "all"
  destination               = "::/0"
  destination_type          = "CIDR_BLOCK"
  stateless                 = false
  description               = "Replies to IPv6 clients, VRRP (vip_ipv6) to the peers"
}

resource "oci_core_network_security_group_security_rule" "functions_to_oci" {
  network_security_group_id = oci_core_network_security_group.functions.id
  direction                 = "EGRESS"
  protocol                  = local.protocol.tcp
  destination               = "0.0.0.0/0"
  destination_type          = "CIDR_BLOCK"
  stateless                 = false
  description               = "OCI APIs (UpdatePrivateIp, ...) over HTTPS, through the service or NAT gateway"

  tcp_options {
    destination_port_range {
      min = 443
      max = 443
    }
  }
}

resource "oci_core_network_security_group_security_rule" "functions_to_health" {
  network_security_group_id = oci_core_network_security_group.functions.id
  direction                 = "EGRESS"
  protocol                  = local.protocol.tcp
  destination               = oci_core_network_security_group.nodes.id
  destination_type          = "NETWORK_SECURITY_GROUP"
  stateless                 = false
  description               = "Health checks of the nodes before a move"

  tcp_options {
    destination_port_range {
      min = var.node_health_port
      max = var.node_health_port
    }
  }
}

# --- Route-target mode -------------------------------------------------------------------------
# The network-appliance pattern: the clients' route to route_target_destination names a floating
# private IP as its next hop, so moving that IP (UpdatePrivateIp) moves the route with it. The
# nodes forward (source/destination check off on their VNICs, IP forwarding in the OS).

resource "oci_core_route_table" "via_appliance" {
  count = var.route_target_mode ? 1 : 0

  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main.id
  display_name   = "${var.name_prefix}-via-appliance"

  route_rules {
    destination       = var.route_target_destination
    destination_type  = "CIDR_BLOCK"
    network_entity_id = oci_core_private_ip.floating[var.route_target_vip].id
    description       = "Through whichever node holds the floating IP ${var.route_target_vip}"
  }
}

resource "oci_core_subnet" "clients" {
  count = var.route_target_mode ? 1 : 0

  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.main.id
  cidr_block                 = var.client_subnet_cidr
  display_name               = "${var.name_prefix}-clients"
  dns_label                  = "clients"
  route_table_id             = oci_core_route_table.via_appliance[0].id
  security_list_ids          = [oci_core_security_list.baseline.id]
  prohibit_public_ip_on_vnic = true
}

# What the clients send through the nodes reaches the nodes' VNICs: admit it, stateful so that
# the replies are admitted too.
resource "oci_core_network_security_group_security_rule" "nodes_forwarded" {
  # checkov:skip=CKV2_OCI_2:The source is the private client subnet, whose traffic of any protocol and port the nodes route on to route_target_destination (route-target mode); the nodes' host firewall admits none of it to the nodes themselves (INPUT), it only forwards it (FORWARD).
  count = var.route_target_mode ? 1 : 0

  network_security_group_id = oci_core_network_security_group.nodes.id
  direction                 = "INGRESS"
  protocol                  = "all"
  source                    = var.client_subnet_cidr
  source_type               = "CIDR_BLOCK"
  stateless                 = false
  description               = "Route-target mode: the client subnet's traffic the nodes forward to ${var.route_target_destination}"
}
