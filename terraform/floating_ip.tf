# The floating IPs: secondary private IPs that start on the preferred node's VNIC, each with a
# reserved public IP riding on it. Moving a private IP (UpdatePrivateIp) moves its public IP with
# it; the public IP's own assignment never changes. With dual_stack, IPv6 floating IPs too
# (UpdateIpv6 moves them; IPv6 has no public IP object).

locals {
  floating_ips   = merge({ vip = var.floating_ip }, var.additional_floating_ips)
  floating_ipv6s = var.dual_stack ? { for name, host in var.floating_ipv6_hostnums : name => cidrhost(local.nodes_ipv6_cidr, host) } : {}
  preferred_vnic = data.oci_core_vnic_attachments.node[local.preferred_node].vnic_attachments[0].vnic_id

  # The function's VIP_GROUPS, by OCID; empty: one group of every floating IP (the default).
  vip_ids = merge(
    { for name in keys(local.floating_ips) : name => oci_core_private_ip.floating[name].id },
    { for name in keys(local.floating_ipv6s) : name => oci_core_ipv6.floating[name].id },
  )
  vip_names = concat(keys(local.floating_ips), keys(local.floating_ipv6s))
}

resource "oci_core_private_ip" "floating" {
  for_each = local.floating_ips

  vnic_id        = local.preferred_vnic
  ip_address     = each.value
  display_name   = each.key == "vip" ? "${var.name_prefix}-floating" : "${var.name_prefix}-floating-${each.key}"
  hostname_label = each.key

  lifecycle {
    # After a failover the IP sits on another node's VNIC, and the function records its last
    # move in the freeform tags: a later `terraform apply` must never move it back or erase that.
    ignore_changes = [vnic_id, freeform_tags]

    precondition {
      condition     = !contains([for node in values(var.nodes) : node.private_ip], each.value) && length(distinct(values(local.floating_ips))) == length(local.floating_ips)
      error_message = "Each floating IP must differ from the others and from every node's primary IP."
    }

    precondition {
      condition = (
        length(var.vip_groups) == 0 || (
          length(flatten(var.vip_groups)) == length(local.vip_names)
          && length(setsubtract(flatten(var.vip_groups), local.vip_names)) == 0
          && alltrue([for group in var.vip_groups : length(group) > 0])
        )
      )
      error_message = "vip_groups must hold every floating IP's name (vip, additional_floating_ips', and with dual_stack floating_ipv6_hostnums') exactly once, in non-empty groups."
    }

    precondition {
      condition     = !var.route_target_mode || contains(keys(local.floating_ips), var.route_target_vip)
      error_message = "route_target_vip must name an IPv4 floating IP: vip or a name of additional_floating_ips."
    }
  }
}

# Before several floating IPs, the one floating IP had no key: keep it (and its public IP) as
# "vip", never destroy and re-create it.
moved {
  from = oci_core_private_ip.floating
  to   = oci_core_private_ip.floating["vip"]
}

moved {
  from = oci_core_public_ip.floating
  to   = oci_core_public_ip.floating["vip"]
}

resource "oci_core_public_ip" "floating" {
  for_each = local.floating_ips

  compartment_id = var.compartment_ocid
  lifetime       = "RESERVED"
  display_name   = oci_core_private_ip.floating[each.key].display_name
  private_ip_id  = oci_core_private_ip.floating[each.key].id
}

resource "oci_core_ipv6" "floating" {
  for_each = local.floating_ipv6s

  vnic_id      = local.preferred_vnic
  ip_address   = each.value
  display_name = "${var.name_prefix}-floating-${each.key}"

  lifecycle {
    # As the IPv4 floating IPs: wherever the function moved it, it stays.
    ignore_changes = [vnic_id, freeform_tags]
  }
}
