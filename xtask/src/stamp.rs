//! The worker stamp: `bin/vrrpd.sha256` in the charm, the SHA-256 of `bin/vrrpd` (hex), so
//! that hooks compare 64 bytes instead of reading the binary (src/charm/workerbin.rs).

/// Path of the stamp inside the charm.
pub const WORKER_STAMP: &str = "bin/vrrpd.sha256";

/// The stamp file's content for a worker binary.
pub fn worker_stamp(binary: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, binary);
    let mut hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    hex.push('\n');
    hex
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_hex() {
        assert_eq!(
            super::worker_stamp(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
        );
    }
}
