//! MQTT's delivery guarantee, as guest, encoding and host all name it.

use crate::DecodeError;

/// MQTT delivery guarantee of a message (or the highest one a subscription asks for).
///
/// The one QoS type of the function boundary: hpmq-sdk and hpmq-host re-export it, and hpmq-host converts
/// it to and from mqtt-codec's `QoS` (`hpmq_host::qos_to_codec` / `qos_from_codec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum QoS {
    /// QoS 0: at most once.
    #[default]
    AtMostOnce = 0,
    /// QoS 1: at least once.
    AtLeastOnce = 1,
    /// QoS 2: exactly once.
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS level as its number (0, 1 or 2), which is also its encoding.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Parses 0, 1 or 2; anything else is `None`.
    pub const fn from_u8(level: u8) -> Option<Self> {
        match level {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}

impl TryFrom<u8> for QoS {
    type Error = DecodeError;

    /// Parses an encoded QoS; 3 and above are [`DecodeError::BadQos`].
    fn try_from(level: u8) -> Result<Self, DecodeError> {
        QoS::from_u8(level).ok_or(DecodeError::BadQos(level))
    }
}

impl From<QoS> for u8 {
    fn from(qos: QoS) -> u8 {
        qos.as_u8()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip_and_three_is_refused() {
        for level in 0..=2u8 {
            let qos = QoS::try_from(level).unwrap();
            assert_eq!(qos.as_u8(), level);
            assert_eq!(u8::from(qos), level);
            assert_eq!(QoS::from_u8(level), Some(qos));
        }
        assert_eq!(QoS::try_from(3), Err(DecodeError::BadQos(3)));
        assert_eq!(QoS::from_u8(0xff), None);
        assert!(QoS::AtMostOnce < QoS::AtLeastOnce && QoS::AtLeastOnce < QoS::ExactlyOnce);
        assert_eq!(QoS::default(), QoS::AtMostOnce);
    }
}
