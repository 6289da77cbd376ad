//! Test support: an emulator of the Juju unit agent's hook environment and hook tools
