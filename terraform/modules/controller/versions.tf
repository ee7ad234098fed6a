# The controller alone: the function (events and operators'), its application, the alarms and
# their topic, the dynamic groups and the policies. IAM writes go to the home region: the caller
# passes both providers, e.g. `providers = { oci = oci, oci.home = oci.home }`.
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    oci = {
      source                = "oracle/oci"
      version               = "= 8.23.0"
      configuration_aliases = [oci.home]
    }
  }
}
