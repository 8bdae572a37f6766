//! PINGREQ and PINGRESP (spec 3.12, 3.13): keep-alive probes with no variable header and no payload.
//!
//! They are unit variants of [`crate::Packet`]; this module reads and writes their two bytes.

use bytes::BytesMut;

use crate::field::Reader;
use crate::{Error, PacketType, header};

/// Checks that a ping has no body.
pub(crate) fn decode(r: Reader) -> Result<(), Error> {
    r.finish()
}

/// Size of a ping on the wire.
pub(crate) const LEN: usize = 2;

/// Writes a ping of `packet_type` (PINGREQ or PINGRESP).
pub(crate) fn encode(packet_type: PacketType, dst: &mut BytesMut) -> Result<(), Error> {
    header::atomic(dst, |dst| header::begin(dst, packet_type, 0, 0))
}

#[cfg(test)]
mod tests {
    use crate::Packet;
    use crate::ProtocolVersion::{V5, V311};
    use crate::packet::vectors::assert_wire;

    #[test]
    fn vectors() {
        for v in [V311, V5] {
            assert_wire(v, Packet::PingReq, b"\xC0\x00");
            assert_wire(v, Packet::PingResp, b"\xD0\x00");
        }
    }
}
