"""A real two-node lab: haproxy and keepalived in network namespaces, with a routed fabric that
delivers the floating IP where the emulator says it is, as OCI's virtual network does."""
