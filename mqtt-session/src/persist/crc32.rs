//! CRC-32 (IEEE 802.3, the zlib/PNG/gzip polynomial), table-driven. Twenty lines are cheaper to own than a
//! dependency; the check value below pins it to the standard.

/// The reflected polynomial 0x04C11DB7.
const POLY: u32 = 0xEDB8_8320;

// Evaluated at compile time: an index out of range would fail the build, not panic at run time.
#[allow(clippy::indexing_slicing)]
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { POLY ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 of `bytes`.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        // The index is a u8, so it is always within the 256-entry table.
        #[allow(clippy::indexing_slicing)]
        let entry = TABLE[usize::from((crc as u8) ^ b)];
        crc = entry ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn matches_the_standard_check_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
    }
}
