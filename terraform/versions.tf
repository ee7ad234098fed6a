# Pinned so that `terraform init` fetches exactly the provider these files were written against
# (resource arguments checked in the oracle/oci 8.x documentation). Commit the
# .terraform.lock.hcl that the first `terraform init` writes; it could not be generated here
# because provider downloads are not possible on the machines this was written on.
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    oci = {
      source  = "oracle/oci"
      version = "= 8.23.0"
    }
  }
}

# Credentials come from ~/.oci/config (profile var.oci_profile, DEFAULT when null) or, in Resource
# Manager, from the service itself: nothing secret lives here.
provider "oci" {
  region              = var.region
  config_file_profile = var.oci_profile
}

# IAM writes (dynamic groups, policies) must go to the tenancy's home region.
provider "oci" {
  alias               = "home"
  region              = coalesce(var.home_region, var.region)
  config_file_profile = var.oci_profile
}
