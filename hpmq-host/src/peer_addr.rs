//! The peer address as the text guests receive, formatted per call without allocating.
//!
//! `core::fmt` costs about 1,400 instructions for an IPv4 socket address, 13 % of a whole typed call
//! (`BENCHMARKS.md`, hpmq-host); IPv4 is written digit by digit instead (a few dozen instructions), with
//! exactly `Display`'s output.
//! IPv6 (rarer, and with RFC 5952's zero compression) keeps `Display`.

use std::io::Write;
use std::net::SocketAddr;

/// Longest text of a socket address: `[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535` is 59.
pub(crate) const MAX_LEN: usize = 64;

/// Writes `addr` as `Display` does into `buf` and returns the text.
pub(crate) fn format<'b>(addr: &SocketAddr, buf: &'b mut [u8; MAX_LEN]) -> Option<&'b [u8]> {
    let len = match addr {
        SocketAddr::V4(a) => {
            let mut w = Writer { buf, len: 0 };
            for (i, octet) in a.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    w.push(b'.');
                }
                w.octet(octet);
            }
            w.push(b':');
            w.port(a.port());
            w.len
        }
        SocketAddr::V6(_) => {
            let mut cursor = std::io::Cursor::new(&mut buf[..]);
            write!(cursor, "{addr}").ok()?;
            usize::try_from(cursor.position()).ok()?
        }
    };
    buf.get(..len)
}

/// Appends into a buffer long enough for any IPv4 socket address (21 bytes).
struct Writer<'a> {
    buf: &'a mut [u8; MAX_LEN],
    len: usize,
}

impl Writer<'_> {
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// `n` in decimal, without leading zeros: at most three digits, no loop.
    fn octet(&mut self, n: u8) {
        if n >= 100 {
            self.push(b'0' + n / 100);
        }
        if n >= 10 {
            self.push(b'0' + n / 10 % 10);
        }
        self.push(b'0' + n % 10);
    }

    /// `n` in decimal, without leading zeros.
    fn port(&mut self, n: u16) {
        let mut started = false;
        for div in [10_000, 1_000, 100, 10] {
            // `n / div % 10 < 10`, so the cast is exact.
            let d = (n / div % 10) as u8;
            started |= d != 0;
            if started {
                self.push(b'0' + d);
            }
        }
        self.push(b'0' + (n % 10) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};

    fn formatted(addr: SocketAddr) -> String {
        let mut buf = [0; MAX_LEN];
        String::from_utf8(format(&addr, &mut buf).unwrap().to_vec()).unwrap()
    }

    #[test]
    fn extremes_match_display() {
        for addr in [
            SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::from(([255, 255, 255, 255], 65535)),
            SocketAddr::from(([10, 0, 100, 9], 1883)),
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from([0xffff; 8]), 65535, 0, u32::MAX)),
        ] {
            assert_eq!(formatted(addr), addr.to_string());
        }
    }

    proptest! {
        #[test]
        fn ipv4_matches_display(ip in any::<u32>(), port in any::<u16>()) {
            let addr = SocketAddr::from((Ipv4Addr::from(ip), port));
            prop_assert_eq!(formatted(addr), addr.to_string());
        }

        #[test]
        fn ipv6_matches_display(ip in any::<u128>(), port in any::<u16>(), scope in any::<u32>()) {
            let addr = SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), port, 0, scope));
            prop_assert_eq!(formatted(addr), addr.to_string());
        }
    }
}
