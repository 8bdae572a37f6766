//! [`QoS`]: the delivery guarantee of a message (spec 4.3).

use crate::Error;

/// Quality of service of a PUBLISH or a subscription. Ordered, so `max`/`min` pick the stronger/weaker one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum QoS {
    /// QoS 0: delivered at most once, no acknowledgement.
    #[default]
    AtMostOnce = 0,
    /// QoS 1: delivered at least once, acknowledged with PUBACK.
    AtLeastOnce = 1,
    /// QoS 2: delivered exactly once, with the PUBREC/PUBREL/PUBCOMP exchange.
    ExactlyOnce = 2,
}

impl QoS {
    /// Parses the two-bit wire value; 3 is malformed [MQTT-3.3.1-4].
    pub const fn from_u8(value: u8) -> Result<QoS, Error> {
        match value {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            2 => Ok(QoS::ExactlyOnce),
            _ => Err(Error::InvalidQoS),
        }
    }

    /// The wire value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for QoS {
    type Error = Error;
    fn try_from(value: u8) -> Result<QoS, Error> {
        QoS::from_u8(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values() {
        for q in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            assert_eq!(QoS::from_u8(q.as_u8()), Ok(q));
        }
        assert_eq!(QoS::from_u8(3), Err(Error::InvalidQoS));
        assert_eq!(QoS::AtLeastOnce.max(QoS::ExactlyOnce), QoS::ExactlyOnce);
    }
}
