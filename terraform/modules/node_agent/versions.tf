# No provider: this module only renders text (templatefile), so tests can run it
# with the real terraform binary offline.
terraform {
  required_version = ">= 1.5.0"
}
