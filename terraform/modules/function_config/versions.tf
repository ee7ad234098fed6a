# No provider: this module only builds the function's configuration map, so tests can evaluate
# it with the real terraform binary offline and feed it to failover/config.py.
terraform {
  required_version = ">= 1.5.0"
}
