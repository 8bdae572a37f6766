//! Per-subscription options of SUBSCRIBE (spec 3.8.3.1) and the v5 subscription identifier.

use std::num::NonZeroU32;

use crate::{Error, QoS};

/// A v5 subscription identifier: 1 to 268,435,455 (a variable byte integer that must not be 0, [MQTT-3.8.2-2]).
pub type SubscriptionId = NonZeroU32;

/// Largest value a variable byte integer (and so a subscription identifier) can hold.
pub const MAX_VARIABLE_INT: u32 = 268_435_455;

/// When the server sends retained messages for a new subscription (v5 "Retain Handling").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// 1: send them only if the subscription did not exist before.
    SendIfNew = 1,
    /// 2: do not send retained messages.
    DoNotSend = 2,
}

/// The options byte of one SUBSCRIBE entry. In MQTT 3.1.1 only `qos` exists; the other fields keep their
/// defaults, which give 3.1.1 behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// Maximum QoS the server may use when delivering to this subscription.
    pub qos: QoS,
    /// v5: do not deliver messages back to the client that published them [MQTT-3.8.3-3].
    pub no_local: bool,
    /// v5: keep the RETAIN flag as published instead of clearing it on delivery.
    pub retain_as_published: bool,
    /// v5: when to send retained messages.
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// Options with the given maximum QoS and every other field at its default.
    pub const fn new(qos: QoS) -> Self {
        SubscriptionOptions {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
        }
    }

    /// Parses the v5 options byte: bits 6-7 reserved [MQTT-3.8.3-5], retain handling 3 is malformed.
    pub fn from_v5_byte(byte: u8) -> Result<Self, Error> {
        if byte & 0b1100_0000 != 0 {
            return Err(Error::ReservedSubscriptionOptionBits);
        }
        let retain_handling = match (byte >> 4) & 0b11 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(Error::InvalidRetainHandling),
        };
        Ok(SubscriptionOptions {
            qos: QoS::from_u8(byte & 0b11)?,
            no_local: byte & 0b0100 != 0,
            retain_as_published: byte & 0b1000 != 0,
            retain_handling,
        })
    }

    /// Parses the 3.1.1 requested-QoS byte: bits 2-7 reserved (MQTT 3.1.1 section 3.8.3.1).
    pub fn from_v311_byte(byte: u8) -> Result<Self, Error> {
        if byte & 0b1111_1100 != 0 {
            return Err(Error::ReservedSubscriptionOptionBits);
        }
        Ok(SubscriptionOptions::new(QoS::from_u8(byte)?))
    }

    /// The v5 options byte.
    pub const fn to_v5_byte(self) -> u8 {
        self.qos.as_u8()
            | (self.no_local as u8) << 2
            | (self.retain_as_published as u8) << 3
            | (self.retain_handling as u8) << 4
    }

    /// The 3.1.1 requested-QoS byte (the v5-only fields are not representable and are dropped).
    pub const fn to_v311_byte(self) -> u8 {
        self.qos.as_u8()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_valid_v5_byte_round_trips_and_the_rest_fail() {
        let mut valid = 0;
        for byte in 0..=u8::MAX {
            match SubscriptionOptions::from_v5_byte(byte) {
                Ok(o) => {
                    valid += 1;
                    assert_eq!(o.to_v5_byte(), byte);
                }
                Err(e) => assert!(matches!(
                    e,
                    Error::ReservedSubscriptionOptionBits | Error::InvalidRetainHandling | Error::InvalidQoS
                )),
            }
        }
        // 3 QoS values x 2 no-local x 2 retain-as-published x 3 retain-handling.
        assert_eq!(valid, 36);
    }

    #[test]
    fn v311_byte() {
        assert_eq!(SubscriptionOptions::from_v311_byte(1).unwrap().qos, QoS::AtLeastOnce);
        assert_eq!(
            SubscriptionOptions::from_v311_byte(4),
            Err(Error::ReservedSubscriptionOptionBits)
        );
        assert_eq!(SubscriptionOptions::from_v311_byte(3), Err(Error::InvalidQoS));
    }
}
