//! The keepalived charm: everything Juju sees. See ARCHITECTURE.md.
