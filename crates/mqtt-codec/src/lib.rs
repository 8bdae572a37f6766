//! Zero-copy, strict MQTT 3.1.1 and 5.0 packets on [`bytes`].
//!
//! Strings, topics and filters are validated once and then carried as cheap views of the frame they came from.
//!
//! ```
//! use mqtt_codec::{ReasonCode, TopicFilter, TopicName};
//!
//! let filter = TopicFilter::try_from("fleet/+/status").unwrap();
//! let topic = TopicName::try_from("fleet/dev-7/status").unwrap();
//! assert!(filter.matches(&topic));
//!
//! let err = TopicName::try_from("fleet/#").unwrap_err();
//! assert_eq!(err.reason_code(), ReasonCode::TopicNameInvalid);
//! assert_eq!(err.spec_ref(), Some("MQTT-3.3.2-2"));
//! ```

mod error;
mod qos;
mod reason;
mod string;
mod subscription;
mod topic;

pub use error::Error;
pub use qos::QoS;
pub use reason::ReasonCode;
pub use string::{ByteStr, MAX_STRING_LEN, validate as validate_str};
pub use subscription::{MAX_VARIABLE_INT, RetainHandling, SubscriptionId, SubscriptionOptions};
pub use topic::{SHARED_PREFIX, TopicFilter, TopicName, validate_filter_levels, validate_topic_name};

/// A packet identifier: never 0 where one is required [MQTT-2.2.1-3], so 0 is not representable.
pub type PacketId = std::num::NonZeroU16;
