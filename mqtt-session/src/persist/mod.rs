//! [`SavedState`]: sessions and retained messages as bytes, so a broker can keep them across a restart.
//!
//! Sans-IO like the rest of the crate: [`SavedState::encode`] appends to a buffer and [`SavedState::decode`]
//! reads a byte slice; writing the file (atomically) is the broker's job. Times are the one thing that cannot be
//! stored as they are: an [`Instant`] means nothing to another process, so every deadline is written as wall-clock
//! milliseconds since the UNIX epoch and read back against the loading process's clock ([`WallClock`]). A
//! session's expiry and a message's expiry therefore keep counting while the broker is down.
//!
//! # Format, version 1
//!
//! Integers are big-endian; `time?` is `0u8` (none) or `1u8` followed by `u64` milliseconds since the UNIX epoch;
//! `frame` is a `u32` length and an MQTT 5.0 packet exactly as `mqtt-codec` encodes it, so messages, wills and
//! their properties have one format on the wire and on disk.
//!
//! ```text
//! file         = "HPMQSTAT" version:u16 saved_at:u64 sessions retained crc32:u32
//! sessions     = count:u32 session*
//! session      = frame(CONNECT: client id and will) session_expiry:u32 next_packet_id:u16
//!                time?(disconnected_at) time?(will_due)
//!                count:u32 subscription*  count:u32 inflight*  count:u32 message*  count:u32 inbound*
//! subscription = len:u16 filter options:u8 (v5 options byte) subscription_id:u32 (0: none)
//! inflight     = packet_id:u16 (1 message | 2 message | 3)   awaiting PUBACK | PUBREC | PUBCOMP
//! inbound      = packet_id:u16 (0 | 1 reason:u8)             delivered | PUBREC sent
//! retained     = count:u32 message*
//! message      = time?(expires_at) frame(PUBLISH: topic, payload, QoS, retain, properties)
//! ```
//!
//! A message's properties are those that travel with it, plus, for queued and in-flight messages, the
//! Subscription Identifiers of their delivery; a Topic Alias or Message Expiry Interval found in a frame belongs
//! to no message and is ignored (the expiry is the record's `time?`).
//!
//! The CRC-32 (IEEE) covers every byte before it and is checked before anything else is parsed; the parser still
//! treats the body as hostile (a file with a valid checksum can come from a buggy or different writer), so every
//! malformed input is an [`Error`], never a panic.

mod crc32;
mod reader;

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use mqtt_codec::{
    ByteStr, Connect, Packet, PacketFields, PacketId, PacketProperties, ProtocolVersion, ReasonCode, SubscriptionId,
    SubscriptionOptions, TopicFilter,
};

use self::reader::Reader;
use crate::{Error, InboundQos2, InflightPublish, Message, Outgoing, SessionSnapshot, Subscription};

const MAGIC: [u8; 8] = SavedState::MAGIC;
const FORMAT_VERSION: u16 = SavedState::FORMAT_VERSION;
/// Magic, version and `saved_at`.
const HEADER_LEN: usize = MAGIC.len() + 2 + 8;
const CRC_LEN: usize = 4;

// Smallest encodings, for refusing counts the rest of the file cannot hold.
const MIN_SESSION_LEN: usize = 4 + 4 + 2 + 1 + 1 + 4 * 4;
const MIN_SUBSCRIPTION_LEN: usize = 2 + 1 + 4;
const MIN_INFLIGHT_LEN: usize = 2 + 1;
const MIN_INBOUND_LEN: usize = 2 + 1;
const MIN_MESSAGE_LEN: usize = 1 + 4;

/// One moment read from both clocks: the monotonic one the session machine runs on and the wall clock a file can
/// keep. The caller reads them (back to back); this crate never reads a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    /// The monotonic time.
    pub now: Instant,
    /// The wall-clock time at the same moment.
    pub wall: SystemTime,
}

impl WallClock {
    /// Pairs a monotonic and a wall-clock reading of the same moment.
    pub fn new(now: Instant, wall: SystemTime) -> Self {
        WallClock { now, wall }
    }

    /// Milliseconds since the UNIX epoch at `at` (rounded down; 0 for times before 1970).
    fn unix_ms_at(self, at: Instant) -> u64 {
        let wall = if at >= self.now {
            self.wall.checked_add(at.duration_since(self.now))
        } else {
            self.wall.checked_sub(self.now.duration_since(at))
        };
        match wall.map(|w| w.duration_since(UNIX_EPOCH)) {
            Some(Ok(since)) => u64::try_from(since.as_millis()).unwrap_or(u64::MAX),
            Some(Err(_)) => 0,
            None if at >= self.now => u64::MAX,
            None => 0,
        }
    }

    /// The instant that is `ms` milliseconds after the UNIX epoch; `None` when this platform's clocks cannot
    /// represent it.
    fn instant_at_unix_ms(self, ms: u64) -> Option<Instant> {
        let wall = UNIX_EPOCH.checked_add(Duration::from_millis(ms))?;
        match wall.duration_since(self.wall) {
            Ok(ahead) => self.now.checked_add(ahead),
            Err(behind) => self.now.checked_sub(behind.duration()),
        }
    }
}

/// What a broker keeps across a restart: its sessions and its retained messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedState {
    /// When the state was taken (wall clock); informational, the times inside are absolute.
    pub saved_at: SystemTime,
    /// Sessions that outlive their connection, each with a distinct client id.
    pub sessions: Vec<SessionSnapshot>,
    /// Retained messages (each [`Message::retain`] set; the topic is the retained topic).
    pub retained: Vec<Message>,
}

impl SavedState {
    /// First bytes of every state file.
    pub const MAGIC: [u8; 8] = *b"HPMQSTAT";
    /// The format version this build writes and reads.
    pub const FORMAT_VERSION: u16 = 1;

    /// Appends the encoded state to `dst`. `clock` converts the snapshots' [`Instant`]s to wall-clock time.
    ///
    /// Fails only for values no broker produces: a message too large for one MQTT packet, a filter longer than
    /// 65,535 bytes, more than `u32::MAX` elements. On error `dst` may hold a partial encoding.
    pub fn encode(&self, clock: WallClock, dst: &mut BytesMut) -> Result<(), Error> {
        let start = dst.len();
        dst.put_slice(&MAGIC);
        dst.put_u16(FORMAT_VERSION);
        dst.put_u64(unix_ms(self.saved_at));
        put_count(dst, self.sessions.len())?;
        for session in &self.sessions {
            put_session(dst, session, clock)?;
        }
        put_count(dst, self.retained.len())?;
        for message in &self.retained {
            put_message(dst, message, clock)?;
        }
        let crc = crc32::crc32(dst.get(start..).unwrap_or_default());
        dst.put_u32(crc);
        Ok(())
    }

    /// Decodes a state file. `clock` is now, in the loading process: stored times become [`Instant`]s relative to
    /// it, so deadlines that passed while nothing was running are already in the past.
    ///
    /// Nothing is dropped here (expired sessions and messages included): deciding what to do with them is the
    /// caller's, with [`SessionSnapshot::expires_at`] and [`Message::is_expired`].
    pub fn decode(bytes: &[u8], clock: WallClock) -> Result<SavedState, Error> {
        let mut header = Reader::new(bytes, 0);
        match header.take(MAGIC.len()) {
            Ok(magic) if magic == MAGIC => {}
            // A prefix of the magic: a file cut short, not a foreign one.
            Err(truncated) if MAGIC.starts_with(bytes) => return Err(truncated),
            _ => return Err(Error::StateMagic),
        }
        let version = header.u16()?;
        if version != FORMAT_VERSION {
            return Err(Error::StateVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let Some(body_end) = bytes.len().checked_sub(CRC_LEN).filter(|&end| end >= HEADER_LEN) else {
            return Err(Error::StateTruncated {
                offset: bytes.len(),
                needed: HEADER_LEN + CRC_LEN - bytes.len(),
            });
        };
        let (covered, stored) = bytes.split_at(body_end);
        let stored = Reader::new(stored, body_end).u32()?;
        let computed = crc32::crc32(covered);
        if stored != computed {
            return Err(Error::StateChecksum { stored, computed });
        }
        let mut r = Reader::new(covered.get(MAGIC.len() + 2..).unwrap_or_default(), MAGIC.len() + 2);
        let saved_at = UNIX_EPOCH
            .checked_add(Duration::from_millis(r.u64()?))
            .ok_or(Reader::invalid(MAGIC.len() + 2, "saved_at out of range"))?;
        let n = r.count(MIN_SESSION_LEN)?;
        let mut sessions = Vec::with_capacity(n);
        let mut ids = HashSet::with_capacity(n);
        for _ in 0..n {
            let at = r.offset();
            let session = get_session(&mut r, clock)?;
            if !ids.insert(session.client_id.clone()) {
                return Err(Reader::invalid(at, "two sessions with the same client id"));
            }
            sessions.push(session);
        }
        let n = r.count(MIN_MESSAGE_LEN)?;
        let mut retained = Vec::with_capacity(n);
        for _ in 0..n {
            retained.push(get_message(&mut r, clock)?);
        }
        if r.remaining() != 0 {
            return Err(Reader::invalid(r.offset(), "bytes after the last record"));
        }
        Ok(SavedState {
            saved_at,
            sessions,
            retained,
        })
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn put_count(dst: &mut BytesMut, n: usize) -> Result<(), Error> {
    let n = u32::try_from(n).map_err(|_| Reader::invalid(dst.len(), "more than u32::MAX elements"))?;
    dst.put_u32(n);
    Ok(())
}

fn put_time(dst: &mut BytesMut, at: Option<Instant>, clock: WallClock) {
    match at {
        None => dst.put_u8(0),
        Some(at) => {
            dst.put_u8(1);
            dst.put_u64(clock.unix_ms_at(at));
        }
    }
}

fn get_time(r: &mut Reader<'_>, clock: WallClock) -> Result<Option<Instant>, Error> {
    let at = r.offset();
    match r.u8()? {
        0 => Ok(None),
        1 => {
            let ms = r.u64()?;
            clock
                .instant_at_unix_ms(ms)
                .map(Some)
                .ok_or(Reader::invalid(at, "time out of this platform's clock range"))
        }
        _ => Err(Reader::invalid(at, "time tag is neither 0 nor 1")),
    }
}

/// Writes `packet` as a `u32`-length-prefixed v5 frame.
fn put_frame(dst: &mut BytesMut, packet: &Packet) -> Result<(), Error> {
    let len = packet.encoded_len(ProtocolVersion::V5);
    let len32 = u32::try_from(len).map_err(|_| Reader::invalid(dst.len(), "packet longer than u32::MAX"))?;
    dst.reserve(4 + len);
    dst.put_u32(len32);
    packet
        .encode(ProtocolVersion::V5, dst)
        .map_err(|source| Error::StateRecord {
            offset: dst.len(),
            source,
        })
}

fn get_frame(r: &mut Reader<'_>) -> Result<Packet, Error> {
    let offset = r.offset();
    // Copied out of the file buffer, so a message that lives on (a retained one) does not keep the whole file.
    let frame = Bytes::copy_from_slice(r.frame()?);
    Packet::decode_frame(ProtocolVersion::V5, frame).map_err(|source| Error::StateRecord { offset, source })
}

fn put_message(dst: &mut BytesMut, m: &Message, clock: WallClock) -> Result<(), Error> {
    put_outgoing(dst, m, &[], clock)
}

/// A message with the subscription identifiers of its delivery, which the frame carries as its properties do.
fn put_outgoing(dst: &mut BytesMut, m: &Message, ids: &[SubscriptionId], clock: WallClock) -> Result<(), Error> {
    put_time(dst, m.expires_at, clock);
    // The id belongs to one transmission; any valid one keeps the QoS 1/2 layout. The expiry is the record's
    // time, not a property.
    let publish = m.to_publish_with(PacketFields {
        packet_id: Some(PacketId::MIN),
        dup: false,
        properties: PacketProperties {
            subscription_identifiers: ids.to_vec(),
            ..PacketProperties::default()
        },
    });
    put_frame(dst, &Packet::Publish(publish))
}

/// Reads a message record; a Topic Alias or Message Expiry Interval in the frame (which this writer never puts
/// there) is ignored, the Subscription Identifiers are returned with the message.
fn get_outgoing(r: &mut Reader<'_>, clock: WallClock) -> Result<Outgoing, Error> {
    let expires_at = get_time(r, clock)?;
    let at = r.offset();
    let Packet::Publish(mut p) = get_frame(r)? else {
        return Err(Reader::invalid(at, "message record is not a PUBLISH"));
    };
    if p.topic.as_str().is_empty() {
        return Err(Reader::invalid(at, "message without a topic name"));
    }
    let ids = std::mem::take(&mut p.properties.subscription_identifiers);
    p.properties.message_expiry_interval = None;
    let mut message = Message::from_publish(p, clock.now);
    message.expires_at = expires_at;
    Ok(Outgoing::new(message, ids))
}

fn get_message(r: &mut Reader<'_>, clock: WallClock) -> Result<Message, Error> {
    get_outgoing(r, clock).map(|o| o.message)
}

fn put_session(dst: &mut BytesMut, s: &SessionSnapshot, clock: WallClock) -> Result<(), Error> {
    let client_id = ByteStr::try_from(s.client_id.as_str()).map_err(|source| Error::StateRecord {
        offset: dst.len(),
        source,
    })?;
    let mut connect = Connect::new(client_id).version(ProtocolVersion::V5).clean_start(false);
    connect.will = s.will.clone();
    put_frame(dst, &Packet::Connect(Box::new(connect)))?;
    dst.put_u32(s.session_expiry_interval);
    dst.put_u16(s.next_packet_id);
    put_time(dst, s.disconnected_at, clock);
    put_time(dst, s.will_due, clock);

    put_count(dst, s.subscriptions.len())?;
    for sub in &s.subscriptions {
        let filter = sub.filter.as_str().as_bytes();
        let len = u16::try_from(filter.len()).map_err(|_| Reader::invalid(dst.len(), "filter longer than 65535"))?;
        dst.put_u16(len);
        dst.put_slice(filter);
        dst.put_u8(sub.options.to_v5_byte());
        dst.put_u32(sub.id.map_or(0, SubscriptionId::get));
    }
    put_count(dst, s.inflight.len())?;
    for (id, state) in &s.inflight {
        dst.put_u16(id.get());
        match state {
            InflightPublish::AwaitingPubAck(m) => {
                dst.put_u8(1);
                put_outgoing(dst, &m.message, &m.subscription_ids, clock)?;
            }
            InflightPublish::AwaitingPubRec(m) => {
                dst.put_u8(2);
                put_outgoing(dst, &m.message, &m.subscription_ids, clock)?;
            }
            InflightPublish::AwaitingPubComp => dst.put_u8(3),
        }
    }
    put_count(dst, s.queued.len())?;
    for m in &s.queued {
        put_outgoing(dst, &m.message, &m.subscription_ids, clock)?;
    }
    put_count(dst, s.inbound_qos2.len())?;
    for (id, state) in &s.inbound_qos2 {
        dst.put_u16(id.get());
        match state {
            InboundQos2::Delivered => dst.put_u8(0),
            InboundQos2::Received(reason) => {
                dst.put_u8(1);
                dst.put_u8(reason.as_u8());
            }
        }
    }
    Ok(())
}

fn get_packet_id(r: &mut Reader<'_>) -> Result<PacketId, Error> {
    let at = r.offset();
    PacketId::new(r.u16()?).ok_or(Reader::invalid(at, "packet identifier 0"))
}

fn get_session(r: &mut Reader<'_>, clock: WallClock) -> Result<SessionSnapshot, Error> {
    let at = r.offset();
    let Packet::Connect(connect) = get_frame(r)? else {
        return Err(Reader::invalid(at, "session record does not start with a CONNECT"));
    };
    let Connect { client_id, will, .. } = *connect;
    let session_expiry_interval = r.u32()?;
    let next_packet_id = r.u16()?;
    let disconnected_at = get_time(r, clock)?;
    let will_due = get_time(r, clock)?;

    let n = r.count(MIN_SUBSCRIPTION_LEN)?;
    let mut subscriptions = Vec::with_capacity(n);
    for _ in 0..n {
        let at = r.offset();
        let filter = Bytes::copy_from_slice(r.short()?);
        let filter = TopicFilter::try_from(filter).map_err(|source| Error::StateRecord { offset: at, source })?;
        let at = r.offset();
        let options =
            SubscriptionOptions::from_v5_byte(r.u8()?).map_err(|source| Error::StateRecord { offset: at, source })?;
        let id = SubscriptionId::new(r.u32()?);
        subscriptions.push(Subscription { filter, options, id });
    }

    let n = r.count(MIN_INFLIGHT_LEN)?;
    let mut inflight = Vec::with_capacity(n);
    let mut seen = HashSet::with_capacity(n);
    for _ in 0..n {
        let at = r.offset();
        let id = get_packet_id(r)?;
        let state = match r.u8()? {
            1 => InflightPublish::AwaitingPubAck(get_outgoing(r, clock)?),
            2 => InflightPublish::AwaitingPubRec(get_outgoing(r, clock)?),
            3 => InflightPublish::AwaitingPubComp,
            _ => return Err(Reader::invalid(at + 2, "unknown in-flight state")),
        };
        if !seen.insert(id) {
            return Err(Reader::invalid(at, "packet identifier in flight twice"));
        }
        inflight.push((id, state));
    }

    let n = r.count(MIN_MESSAGE_LEN)?;
    let mut queued = Vec::with_capacity(n);
    for _ in 0..n {
        queued.push(get_outgoing(r, clock)?);
    }

    let n = r.count(MIN_INBOUND_LEN)?;
    let mut inbound_qos2 = Vec::with_capacity(n);
    let mut seen = HashSet::with_capacity(n);
    for _ in 0..n {
        let at = r.offset();
        let id = get_packet_id(r)?;
        let state = match r.u8()? {
            0 => InboundQos2::Delivered,
            1 => {
                let at = r.offset();
                let reason = ReasonCode::from_u8(r.u8()?).ok_or(Reader::invalid(at, "unknown reason code"))?;
                InboundQos2::Received(reason)
            }
            _ => return Err(Reader::invalid(at + 2, "unknown inbound QoS 2 state")),
        };
        if !seen.insert(id) {
            return Err(Reader::invalid(at, "inbound packet identifier twice"));
        }
        inbound_qos2.push((id, state));
    }

    Ok(SessionSnapshot {
        client_id: client_id.as_str().to_owned(),
        subscriptions,
        inflight,
        queued,
        inbound_qos2,
        next_packet_id,
        session_expiry_interval,
        disconnected_at,
        will,
        will_due,
    })
}

#[cfg(test)]
mod tests;
