//! Conversions between the boundary types hpmq-abi defines once ([`QoS`]) and mqtt-codec's, for a broker
//! that holds mqtt-codec messages. They are functions because neither type is this crate's (a `From` impl
//! between them may live only in one of the two defining crates, and hpmq-abi must not depend on
//! mqtt-codec: guests compile it).

use crate::QoS;

/// The function boundary's QoS as mqtt-codec's.
pub fn qos_to_codec(qos: QoS) -> mqtt_codec::QoS {
    match qos {
        QoS::AtMostOnce => mqtt_codec::QoS::AtMostOnce,
        QoS::AtLeastOnce => mqtt_codec::QoS::AtLeastOnce,
        QoS::ExactlyOnce => mqtt_codec::QoS::ExactlyOnce,
    }
}

/// mqtt-codec's QoS as the function boundary's.
pub fn qos_from_codec(qos: mqtt_codec::QoS) -> QoS {
    match qos {
        mqtt_codec::QoS::AtMostOnce => QoS::AtMostOnce,
        mqtt_codec::QoS::AtLeastOnce => QoS::AtLeastOnce,
        mqtt_codec::QoS::ExactlyOnce => QoS::ExactlyOnce,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_converts_both_ways_keeping_the_level() {
        for level in 0..=2u8 {
            let ours = QoS::try_from(level).unwrap();
            let codec = mqtt_codec::QoS::try_from(level).unwrap();
            assert_eq!(qos_to_codec(ours), codec);
            assert_eq!(qos_from_codec(codec), ours);
            assert_eq!(qos_to_codec(ours).as_u8(), ours.as_u8());
        }
    }
}
