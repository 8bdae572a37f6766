//! The state file format: exact round trips, downtime accounting, and hostile input (truncation, corruption,
//! corruption behind a valid checksum) that must give an error, never a panic.

use std::num::NonZeroU32;

use mqtt_codec::properties::PublishProperties;
use mqtt_codec::testing::{
    arb_byte_str, arb_bytes, arb_connect, arb_packet_id, arb_publish_properties, arb_topic_filter, arb_topic_name,
};
use mqtt_codec::{QoS, RetainHandling, TopicName};
use proptest::collection::{hash_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

use super::*;

/// One clock for the whole test run (generated times are relative to it): its wall time is a whole number of
/// milliseconds and its instant leaves room for times up to two hours in the past.
fn clock() -> WallClock {
    static CLOCK: std::sync::OnceLock<WallClock> = std::sync::OnceLock::new();
    *CLOCK.get_or_init(|| {
        WallClock::new(
            Instant::now() + Duration::from_secs(7200),
            UNIX_EPOCH + Duration::from_millis(1_763_770_000_123),
        )
    })
}

fn at(clock: WallClock, offset_ms: i64) -> Instant {
    let d = Duration::from_millis(offset_ms.unsigned_abs());
    if offset_ms >= 0 { clock.now + d } else { clock.now - d }
}

fn arb_qos() -> impl Strategy<Value = QoS> {
    select(vec![QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

/// Some time within an hour of the clock, in whole milliseconds (so the round trip is exact).
fn arb_time(clock: WallClock) -> impl Strategy<Value = Option<Instant>> {
    option::of((-3_600_000i64..3_600_000).prop_map(move |ms| at(clock, ms)))
}

fn arb_message(clock: WallClock) -> impl Strategy<Value = Message> {
    (
        arb_topic_name(),
        arb_bytes(24),
        arb_qos(),
        any::<bool>(),
        arb_time(clock),
        arb_publish_properties(),
    )
        .prop_map(|(topic, payload, qos, retain, expires_at, properties)| Message {
            topic,
            payload,
            qos,
            retain,
            expires_at,
            properties: properties.into(),
        })
}

/// A message with the subscription identifiers of its delivery (valid ones: 1 to 268,435,455).
fn arb_outgoing(clock: WallClock) -> impl Strategy<Value = Outgoing> {
    (arb_message(clock), vec(1..=268_435_455u32, 0..3))
        .prop_map(|(message, ids)| Outgoing::new(message, ids.into_iter().filter_map(SubscriptionId::new).collect()))
}

fn arb_subscription() -> impl Strategy<Value = Subscription> {
    (
        arb_topic_filter(),
        arb_qos(),
        any::<(bool, bool)>(),
        select(vec![
            RetainHandling::SendAtSubscribe,
            RetainHandling::SendIfNew,
            RetainHandling::DoNotSend,
        ]),
        option::of(1..=u32::MAX),
    )
        .prop_map(|(filter, qos, (no_local, rap), retain_handling, id)| Subscription {
            filter,
            options: SubscriptionOptions {
                qos,
                no_local,
                retain_as_published: rap,
                retain_handling,
            },
            id: id.and_then(NonZeroU32::new),
        })
}

fn arb_inflight(clock: WallClock) -> impl Strategy<Value = InflightPublish> {
    prop_oneof![
        arb_outgoing(clock).prop_map(InflightPublish::AwaitingPubAck),
        arb_outgoing(clock).prop_map(InflightPublish::AwaitingPubRec),
        Just(InflightPublish::AwaitingPubComp),
    ]
}

fn arb_inbound() -> impl Strategy<Value = InboundQos2> {
    prop_oneof![
        Just(InboundQos2::Delivered),
        (0..=255u8)
            .prop_filter_map("a reason code", ReasonCode::from_u8)
            .prop_map(InboundQos2::Received),
    ]
}

fn arb_session(clock: WallClock, client_id: String) -> impl Strategy<Value = SessionSnapshot> {
    (
        vec(arb_subscription(), 0..4),
        hash_map(arb_packet_id(), arb_inflight(clock), 0..4),
        vec(arb_outgoing(clock), 0..4),
        hash_map(arb_packet_id(), arb_inbound(), 0..4),
        any::<(u16, u32)>(),
        (arb_time(clock), arb_time(clock)),
        arb_connect(ProtocolVersion::V5).prop_map(|c| c.will),
    )
        .prop_map(
            move |(
                subscriptions,
                inflight,
                queued,
                inbound,
                (next_packet_id, expiry),
                (disconnected_at, will_due),
                will,
            )| {
                SessionSnapshot {
                    client_id: client_id.clone(),
                    subscriptions,
                    inflight: inflight.into_iter().collect(),
                    queued,
                    inbound_qos2: inbound.into_iter().collect(),
                    next_packet_id,
                    session_expiry_interval: expiry,
                    disconnected_at,
                    will,
                    will_due,
                }
            },
        )
}

fn arb_state(clock: WallClock) -> impl Strategy<Value = SavedState> {
    (
        proptest::collection::hash_set(arb_byte_str(), 0..4),
        vec(arb_message(clock), 0..4),
        0..u64::from(u32::MAX),
    )
        .prop_flat_map(move |(ids, retained, saved_ms)| {
            let sessions: Vec<_> = ids
                .into_iter()
                .map(|id| arb_session(clock, id.as_str().to_owned()))
                .collect();
            (sessions, Just(retained), Just(saved_ms))
        })
        .prop_map(|(sessions, retained, saved_ms)| SavedState {
            saved_at: UNIX_EPOCH + Duration::from_millis(saved_ms),
            sessions,
            retained,
        })
}

fn encode(state: &SavedState, clock: WallClock) -> Vec<u8> {
    let mut buf = BytesMut::new();
    state.encode(clock, &mut buf).unwrap();
    buf.to_vec()
}

/// Replaces the trailing checksum with the right one for the (modified) contents.
fn fix_crc(bytes: &mut [u8]) {
    if bytes.len() >= CRC_LEN {
        let end = bytes.len() - CRC_LEN;
        let crc = crc32::crc32(&bytes[..end]);
        bytes[end..].copy_from_slice(&crc.to_be_bytes());
    }
}

fn empty() -> SavedState {
    SavedState {
        saved_at: UNIX_EPOCH,
        sessions: Vec::new(),
        retained: Vec::new(),
    }
}

fn message(topic: &'static str, payload: &'static str) -> Message {
    Message::new(TopicName::from_static(topic), payload, QoS::AtLeastOnce)
}

fn session(id: &str) -> SessionSnapshot {
    SessionSnapshot {
        client_id: id.to_owned(),
        subscriptions: Vec::new(),
        inflight: Vec::new(),
        queued: Vec::new(),
        inbound_qos2: Vec::new(),
        next_packet_id: 1,
        session_expiry_interval: 60,
        disconnected_at: None,
        will: None,
        will_due: None,
    }
}

#[test]
fn an_empty_state_is_header_counts_and_checksum() {
    let bytes = encode(&empty(), clock());
    assert_eq!(bytes.len(), HEADER_LEN + 4 + 4 + CRC_LEN);
    assert_eq!(&bytes[..8], b"HPMQSTAT");
    assert_eq!(&bytes[8..10], &[0, 1]);
    assert_eq!(SavedState::decode(&bytes, clock()).unwrap(), empty());
}

#[test]
fn per_packet_properties_in_a_message_frame_are_ignored() {
    // A frame holding a Topic Alias and a Message Expiry Interval (this writer never puts them there, a foreign
    // or older one might) still reads: they belong to no message, the record's time is the expiry.
    let mut publish = mqtt_codec::Publish::new(TopicName::from_static("r"), "kept").retain(true);
    publish.properties = PublishProperties {
        topic_alias: std::num::NonZeroU16::new(3),
        message_expiry_interval: Some(7),
        subscription_identifiers: SubscriptionId::new(9).into_iter().collect(),
        content_type: Some(ByteStr::from_static("text/plain")),
        ..PublishProperties::default()
    };
    let mut bytes = BytesMut::new();
    bytes.put_slice(&SavedState::MAGIC);
    bytes.put_u16(SavedState::FORMAT_VERSION);
    bytes.put_u64(0);
    bytes.put_u32(0); // sessions
    bytes.put_u32(1); // retained
    bytes.put_u8(0); // no expiry
    put_frame(&mut bytes, &Packet::Publish(publish)).unwrap();
    bytes.put_u32(0);
    let mut bytes = bytes.to_vec();
    fix_crc(&mut bytes);
    let loaded = SavedState::decode(&bytes, clock()).unwrap();
    let mut expected = message("r", "kept").with_retain(true);
    expected.qos = QoS::AtMostOnce;
    expected.properties.content_type = Some(ByteStr::from_static("text/plain"));
    assert_eq!(loaded.retained, [expected]);
}

#[test]
fn subscription_identifiers_of_queued_and_inflight_messages_survive() {
    // [MQTT-3.3.4-3] on a re-send after a restart: the identifiers are part of the delivery.
    let ids: Vec<SubscriptionId> = [5, 268_435_455].into_iter().filter_map(SubscriptionId::new).collect();
    let mut s = session("dev-1");
    s.queued.push(Outgoing::new(message("a", "q"), ids.clone()));
    s.inflight.push((
        PacketId::MIN,
        InflightPublish::AwaitingPubAck(Outgoing::new(message("b", "i"), ids.clone())),
    ));
    let state = SavedState {
        saved_at: clock().wall,
        sessions: vec![s],
        retained: Vec::new(),
    };
    let loaded = SavedState::decode(&encode(&state, clock()), clock()).unwrap();
    assert_eq!(loaded, state);
    assert_eq!(loaded.sessions[0].queued[0].subscription_ids, ids);
}

#[test]
fn downtime_counts_against_message_and_session_expiry() {
    let before = clock();
    let mut s = session("dev-1");
    s.disconnected_at = Some(before.now - Duration::from_secs(10));
    s.session_expiry_interval = 100;
    let mut queued = message("a", "x");
    queued.expires_at = Some(before.now + Duration::from_secs(30));
    s.queued.push(queued.into());
    let state = SavedState {
        saved_at: before.wall,
        sessions: vec![s],
        retained: vec![message("r", "kept").with_retain(true)],
    };
    let bytes = encode(&state, before);
    // The broker is down for 25 s: a new process, another monotonic origin, the wall clock 25 s later.
    let after = WallClock::new(Instant::now(), before.wall + Duration::from_secs(25));
    let loaded = SavedState::decode(&bytes, after).unwrap();
    let s = &loaded.sessions[0];
    assert_eq!(s.disconnected_at, Some(after.now - Duration::from_secs(35)));
    assert_eq!(s.expires_at(), Some(after.now + Duration::from_secs(65)));
    assert_eq!(s.queued[0].message.remaining_expiry_interval(after.now), Some(5));
    assert_eq!(loaded.retained, state.retained);
    assert_eq!(loaded.saved_at, before.wall);
}

#[test]
fn errors_say_what_is_wrong() {
    let bytes = encode(&empty(), clock());
    assert_eq!(
        SavedState::decode(b"", clock()).unwrap_err(),
        Error::StateTruncated { offset: 0, needed: 8 }
    );
    assert_eq!(
        SavedState::decode(b"{\"json\": 1}", clock()).unwrap_err(),
        Error::StateMagic
    );
    let mut v2 = bytes.clone();
    v2[9] = 2;
    assert_eq!(
        SavedState::decode(&v2, clock()).unwrap_err(),
        Error::StateVersion { found: 2, supported: 1 }
    );
    let mut flipped = bytes.clone();
    flipped[12] ^= 1;
    assert!(matches!(
        SavedState::decode(&flipped, clock()),
        Err(Error::StateChecksum { .. })
    ));
    let mut trailing = bytes[..bytes.len() - CRC_LEN].to_vec();
    trailing.push(0);
    trailing.extend_from_slice(&[0; CRC_LEN]);
    fix_crc(&mut trailing);
    assert!(matches!(
        SavedState::decode(&trailing, clock()),
        Err(Error::StateInvalid {
            what: "bytes after the last record",
            ..
        })
    ));
    for e in [Error::StateMagic, Error::StateChecksum { stored: 1, computed: 2 }] {
        assert_eq!(e.reason_code(), ReasonCode::ImplementationSpecificError);
        assert!(e.to_string().contains("state file"), "{e}");
    }
}

#[test]
fn duplicate_client_ids_and_packet_ids_are_refused() {
    let state = SavedState {
        sessions: vec![session("same"), session("same")],
        ..empty()
    };
    let err = SavedState::decode(&encode(&state, clock()), clock()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::StateInvalid {
                what: "two sessions with the same client id",
                ..
            }
        ),
        "{err}"
    );

    let mut s = session("dup");
    s.inflight = vec![
        (PacketId::MIN, InflightPublish::AwaitingPubComp),
        (PacketId::MIN, InflightPublish::AwaitingPubComp),
    ];
    let state = SavedState {
        sessions: vec![s],
        ..empty()
    };
    let err = SavedState::decode(&encode(&state, clock()), clock()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::StateInvalid {
                what: "packet identifier in flight twice",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_huge_count_is_refused_without_allocating_for_it() {
    let mut bytes = encode(&empty(), clock());
    bytes[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    fix_crc(&mut bytes);
    let err = SavedState::decode(&bytes, clock()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::StateInvalid {
                what: "element count exceeds the rest of the file",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_session_snapshot_expires_after_its_interval_unless_connected_or_never() {
    let t0 = clock().now;
    let mut s = session("x");
    assert_eq!(s.expires_at(), None, "connected");
    s.disconnected_at = Some(t0);
    assert_eq!(s.expires_at(), Some(t0 + Duration::from_secs(60)));
    s.session_expiry_interval = u32::MAX;
    assert_eq!(s.expires_at(), None, "never");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trip(state in arb_state(clock())) {
        // One clock for both sides, as when the broker restarts within the same instant.
        let c = clock();
        let bytes = encode(&state, c);
        prop_assert_eq!(SavedState::decode(&bytes, c).unwrap(), state);
    }

    #[test]
    fn every_prefix_is_an_error(state in arb_state(clock())) {
        let c = clock();
        let bytes = encode(&state, c);
        for len in 0..bytes.len() {
            prop_assert!(SavedState::decode(&bytes[..len], c).is_err(), "prefix of {} bytes decoded", len);
        }
    }

    #[test]
    fn any_byte_flip_is_caught_by_the_checksum(
        state in arb_state(clock()),
        flips in vec((any::<prop::sample::Index>(), 1..=255u8), 1..4),
    ) {
        let c = clock();
        let mut bytes = encode(&state, c);
        let (index, xor) = flips[0];
        let i = index.index(bytes.len());
        bytes[i] ^= xor;
        // A single damaged byte is always detected (CRC-32 catches every burst up to 32 bits).
        prop_assert!(SavedState::decode(&bytes, c).is_err());
        for (index, xor) in &flips[1..] {
            let i = index.index(bytes.len());
            bytes[i] ^= xor;
        }
        let _ = SavedState::decode(&bytes, c);
    }

    #[test]
    fn corruption_behind_a_valid_checksum_never_panics(
        state in arb_state(clock()),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let c = clock();
        let mut bytes = encode(&state, c);
        let body = HEADER_LEN..bytes.len() - CRC_LEN;
        for (index, value) in flips {
            let i = body.start + index.index(body.len());
            bytes[i] = value;
        }
        fix_crc(&mut bytes);
        if let Ok(decoded) = SavedState::decode(&bytes, c) {
            // Whatever decodes is a usable value: it encodes again and round-trips.
            let again = encode(&decoded, c);
            prop_assert_eq!(SavedState::decode(&again, c).unwrap(), decoded);
        }
    }

    #[test]
    fn random_bodies_behind_a_valid_header_never_panic(body in vec(any::<u8>(), 0..256)) {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&SavedState::MAGIC);
        bytes.extend_from_slice(&SavedState::FORMAT_VERSION.to_be_bytes());
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&[0; CRC_LEN]);
        fix_crc(&mut bytes);
        let _ = SavedState::decode(&bytes, clock());
    }
}
