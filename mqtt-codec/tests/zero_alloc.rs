//! Allocation counts of decoding and encoding PUBLISH, measured with a counting global allocator.
//!
//! What is counted: every call to `alloc`, `alloc_zeroed` and `realloc` made *by the current thread* while a
//! closure runs (a thread-local counter, so tests running in parallel do not see each other's allocations).
//! Deallocations are not counted. Building inputs and dropping decoded packets happen outside the measured
//! closures unless a test says otherwise.
//!
//! What the numbers mean:
//! - `bytes` stores a freshly allocated `BytesMut` (or a `Bytes` made from a `Vec`) in plain `Vec` form. The
//!   first time a piece of it is split off or sliced, `bytes` moves it to reference-counted shared storage: one
//!   allocation for the whole *buffer*, not for each packet. The stream tests decode many frames from one such
//!   buffer and assert exactly that one allocation in total.
//! - After that, decoding a PUBLISH without properties (QoS 0 or 1, MQTT 3.1.1 or 5.0) allocates nothing, with
//!   [`Packet::decode`], [`Packet::decode_frame`] and the tokio-util [`MqttCodec`] alike.
//! - A v5 PUBLISH with properties allocates only the `Vec` of its user properties (one allocation when there
//!   are any); its strings and binary properties are views of the frame like the topic and payload.
//! - Encoding a PUBLISH into a `BytesMut` that already has room allocates nothing, with or without properties.

// The helpers below are test code too; clippy only recognises `#[test]` functions as such.
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::{Bytes, BytesMut};
#[cfg(feature = "tokio-codec")]
use mqtt_codec::MqttCodec;
use mqtt_codec::properties::{PublishProperties, UserProperty};
use mqtt_codec::{ByteStr, DEFAULT_MAX_PACKET_SIZE, Packet, PacketId, ProtocolVersion, Publish, QoS, TopicName};
#[cfg(feature = "tokio-codec")]
use tokio_util::codec::Decoder;

struct CountingAllocator;

thread_local! {
    // `const`-initialised and without a destructor, so the allocator may touch it at any time.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with` fails only while the thread is being torn down; such allocations are not ours to count.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every method forwards to the system allocator unchanged; counting has no effect on the memory.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f` and returns its result with the number of allocations this thread made meanwhile.
fn count<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    let after = ALLOCATIONS.with(Cell::get);
    (value, after - before)
}

const FRAMES: usize = 1000;
const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::V311, ProtocolVersion::V5];

/// QoS 0 and QoS 1 PUBLISH packets without properties: 16-byte topic, 64-byte payload.
fn plain_publishes() -> [Publish; 2] {
    let publish = Publish::new(TopicName::from_static("sensors/dev-0042"), vec![0x5A; 64]);
    [
        publish.clone(),
        publish.qos(QoS::AtLeastOnce, PacketId::new(4242).unwrap()),
    ]
}

fn encoded(publish: &Publish, version: ProtocolVersion) -> Vec<u8> {
    let mut wire = BytesMut::new();
    Packet::from(publish.clone()).encode(version, &mut wire).unwrap();
    wire.to_vec()
}

/// `FRAMES` copies of `frame` in one freshly allocated (so `Vec`-backed) `BytesMut`.
fn stream_of(frame: &[u8]) -> BytesMut {
    let mut stream = BytesMut::with_capacity(frame.len() * FRAMES);
    for _ in 0..FRAMES {
        stream.extend_from_slice(frame);
    }
    stream
}

#[test]
fn decoding_a_stream_of_publishes_allocates_once_per_buffer() {
    for version in VERSIONS {
        for publish in plain_publishes() {
            let mut stream = stream_of(&encoded(&publish, version));
            let mut packets = Vec::with_capacity(FRAMES);
            let ((), allocations) = count(|| {
                while let Some(packet) = Packet::decode(version, &mut stream, DEFAULT_MAX_PACKET_SIZE).unwrap() {
                    packets.push(packet);
                }
            });
            assert_eq!(packets.len(), FRAMES);
            assert!(packets.iter().all(|p| *p == Packet::Publish(publish.clone())));
            // The one allocation is `bytes` promoting the buffer to shared storage on the first split.
            assert_eq!(allocations, 1, "{version:?} QoS {:?}: {FRAMES} frames", publish.qos);
        }
    }
}

#[test]
fn decoding_a_publish_from_a_shared_buffer_allocates_nothing() {
    for version in VERSIONS {
        for publish in plain_publishes() {
            let mut stream = stream_of(&encoded(&publish, version));
            // Promote the buffer to shared storage first, as any buffer is after its first frame.
            drop(stream.split_to(0));
            for _ in 0..FRAMES {
                let (packet, allocations) = count(|| {
                    Packet::decode(version, &mut stream, DEFAULT_MAX_PACKET_SIZE)
                        .unwrap()
                        .unwrap()
                });
                assert_eq!(allocations, 0, "{version:?} QoS {:?}", publish.qos);
                assert_eq!(packet, Packet::Publish(publish.clone()));
            }
            assert!(stream.is_empty());
        }
    }
}

#[test]
fn decode_frame_of_a_publish_allocates_nothing() {
    for version in VERSIONS {
        for publish in plain_publishes() {
            let frame = encoded(&publish, version);
            // Frames as a reader holding frozen input sees them: slices of one shared `Bytes`. The slicing
            // (including the one promotion of the `Vec`) happens here, outside the count.
            let all = stream_of(&frame).freeze();
            let frames: Vec<Bytes> = (0..FRAMES)
                .map(|i| all.slice(i * frame.len()..(i + 1) * frame.len()))
                .collect();
            for f in frames {
                let (packet, allocations) = count(|| Packet::decode_frame(version, f).unwrap());
                assert_eq!(allocations, 0, "{version:?} QoS {:?}", publish.qos);
                assert_eq!(packet, Packet::Publish(publish.clone()));
            }
            // A `'static` frame needs no promotion at all.
            let fixed: &'static [u8] = frame.leak();
            let (packet, allocations) = count(|| Packet::decode_frame(version, Bytes::from_static(fixed)).unwrap());
            assert_eq!(allocations, 0);
            assert_eq!(packet, Packet::Publish(publish.clone()));
        }
    }
}

#[cfg(feature = "tokio-codec")]
#[test]
fn the_tokio_codec_decodes_a_stream_of_publishes_with_one_allocation() {
    for version in VERSIONS {
        for publish in plain_publishes() {
            let mut stream = stream_of(&encoded(&publish, version));
            let mut codec = MqttCodec::client(version);
            let mut packets = Vec::with_capacity(FRAMES);
            let ((), allocations) = count(|| {
                while let Some(packet) = codec.decode(&mut stream).unwrap() {
                    packets.push(packet);
                }
            });
            assert_eq!(packets.len(), FRAMES);
            assert_eq!(
                allocations, 1,
                "{version:?} QoS {:?}: the shared-storage promotion only",
                publish.qos
            );
        }
    }
}

#[test]
fn encoding_a_publish_into_a_reserved_buffer_allocates_nothing() {
    let with_properties = plain_publishes()[1].clone().properties(PublishProperties {
        message_expiry_interval: Some(3600),
        content_type: Some(ByteStr::from_static("application/json")),
        response_topic: Some(TopicName::from_static("replies/dev-0042")),
        correlation_data: Some(Bytes::from_static(b"\x01\x02\x03\x04")),
        user_properties: vec![UserProperty::new(
            ByteStr::from_static("trace"),
            ByteStr::from_static("4bf92f35"),
        )],
        ..PublishProperties::default()
    });
    let [qos0, qos1] = plain_publishes();
    for version in VERSIONS {
        for publish in [&qos0, &qos1, &with_properties] {
            let packet = Packet::from(publish.clone());
            let len = packet.encoded_len(version);
            let mut out = BytesMut::with_capacity(len * FRAMES);
            let ((), allocations) = count(|| {
                for _ in 0..FRAMES {
                    packet.encode(version, &mut out).unwrap();
                }
            });
            assert_eq!(allocations, 0, "{version:?}: {publish:?}");
            assert_eq!(out.len(), len * FRAMES);
            assert_eq!(&out[..len], &encoded(publish, version)[..]);
        }
    }
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the guard: a test that counted nothing would pass every assertion above.
    let (v, allocations) = count(|| std::hint::black_box(vec![1u8; 10]));
    assert_eq!(v.len(), 10);
    assert_eq!(allocations, 1);
}

#[test]
fn decoding_v5_publish_properties_allocates_only_for_user_properties() {
    let base = plain_publishes()[1].clone();
    let scalar_properties = PublishProperties {
        message_expiry_interval: Some(3600),
        content_type: Some(ByteStr::from_static("application/json")),
        response_topic: Some(TopicName::from_static("replies/dev-0042")),
        correlation_data: Some(Bytes::from_static(b"\x01\x02\x03\x04")),
        ..PublishProperties::default()
    };
    let user_properties = vec![
        UserProperty::new(
            ByteStr::from_static("trace-id"),
            ByteStr::from_static("4bf92f3577b34da6"),
        ),
        UserProperty::new(ByteStr::from_static("region"), ByteStr::from_static("eu-west-1")),
    ];
    let with_user_properties = PublishProperties {
        user_properties,
        ..scalar_properties.clone()
    };
    // Strings and binary properties are views of the frame; only the user-property list needs a `Vec`.
    for (properties, expected) in [(scalar_properties, 0), (with_user_properties, 1)] {
        let publish = base.clone().properties(properties);
        let mut stream = stream_of(&encoded(&publish, ProtocolVersion::V5));
        drop(stream.split_to(0));
        for _ in 0..FRAMES {
            let (packet, allocations) = count(|| {
                Packet::decode(ProtocolVersion::V5, &mut stream, DEFAULT_MAX_PACKET_SIZE)
                    .unwrap()
                    .unwrap()
            });
            assert_eq!(allocations, expected, "{publish:?}");
            assert_eq!(packet, Packet::Publish(publish.clone()));
        }
    }
}
