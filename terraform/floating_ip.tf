# The floating IP: a secondary private IP that starts on the preferred node's VNIC, and a
# reserved public IP riding on it. Moving the private IP (UpdatePrivateIp) moves the public IP
# with it; the public IP's own assignment never changes.

resource "oci_core_private_ip" "floating" {
  vnic_id        = data.oci_core_vnic_attachments.node[local.preferred_node].vnic_attachments[0].vnic_id
  ip_address     = var.floating_ip
  display_name   = "${var.name_prefix}-floating"
  hostname_label = "vip"

  lifecycle {
    # After a failover the IP sits on the other node's VNIC, and the function records its last
    # move in the freeform tags: a later `terraform apply` must never move it back or erase that.
    ignore_changes = [vnic_id, freeform_tags]

    precondition {
      condition     = !contains([for node in values(var.nodes) : node.private_ip], var.floating_ip)
      error_message = "floating_ip must differ from both nodes' primary IPs."
    }
  }
}

resource "oci_core_public_ip" "floating" {
  compartment_id = var.compartment_ocid
  lifetime       = "RESERVED"
  display_name   = "${var.name_prefix}-floating"
  private_ip_id  = oci_core_private_ip.floating.id
}
