//! Hand-written wire encoding of the cases, following the byte layouts of MQTT 3.1.1 section 3 and MQTT 5.0
//! section 3 literally (properties in ascending identifier order).

use crate::cases::*;

/// The complete frame (fixed header included) of `case` in `version`.
pub fn frame(case: Case, version: Version) -> Vec<u8> {
    let v5 = version == Version::V5;
    let mut body = Vec::new();
    let first_byte = match case {
        Case::Connect => {
            string(&mut body, "MQTT");
            body.push(if v5 { 5 } else { 4 });
            // username, password, clean session/start
            body.push(0b1100_0010);
            body.extend_from_slice(&KEEP_ALIVE.to_be_bytes());
            if v5 {
                let mut props = Vec::new();
                props.push(0x11);
                props.extend_from_slice(&CONNECT_SESSION_EXPIRY.to_be_bytes());
                props.push(0x21);
                props.extend_from_slice(&CONNECT_RECEIVE_MAX.to_be_bytes());
                props.push(0x22);
                props.extend_from_slice(&CONNECT_TOPIC_ALIAS_MAX.to_be_bytes());
                props.push(0x27);
                props.extend_from_slice(&CONNECT_MAX_PACKET_SIZE.to_be_bytes());
                properties(&mut body, &props);
            }
            string(&mut body, CLIENT_ID);
            string(&mut body, USERNAME);
            binary(&mut body, PASSWORD);
            0x10
        }
        Case::PublishQos1 | Case::PublishQos1Props | Case::Publish64k => {
            string(&mut body, TOPIC);
            body.extend_from_slice(&PACKET_ID.to_be_bytes());
            if v5 {
                let mut props = Vec::new();
                if case == Case::PublishQos1Props {
                    props.push(0x02);
                    props.extend_from_slice(&MESSAGE_EXPIRY.to_be_bytes());
                    props.push(0x03);
                    string(&mut props, CONTENT_TYPE);
                    props.push(0x08);
                    string(&mut props, RESPONSE_TOPIC);
                    props.push(0x09);
                    binary(&mut props, CORRELATION_DATA);
                    for (key, value) in USER_PROPERTIES {
                        props.push(0x26);
                        string(&mut props, key);
                        string(&mut props, value);
                    }
                }
                properties(&mut body, &props);
            }
            body.extend_from_slice(&payload(case));
            0x32
        }
        Case::Subscribe10 => {
            body.extend_from_slice(&SUBSCRIBE_PACKET_ID.to_be_bytes());
            if v5 {
                properties(&mut body, &[]);
            }
            for (i, filter) in FILTERS.iter().enumerate() {
                string(&mut body, filter);
                body.push(filter_qos(i));
            }
            0x82
        }
    };
    let mut out = vec![first_byte];
    variable_int(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

fn variable_int(out: &mut Vec<u8>, mut value: usize) {
    loop {
        // The low seven bits of `value`, so the cast cannot truncate.
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn binary(out: &mut Vec<u8>, data: &[u8]) {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
}

fn string(out: &mut Vec<u8>, s: &str) {
    binary(out, s.as_bytes());
}

fn properties(out: &mut Vec<u8>, props: &[u8]) {
    variable_int(out, props.len());
    out.extend_from_slice(props);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_v311_is_byte_exact() {
        let f = frame(Case::PublishQos1, Version::V311);
        assert_eq!(&f[..4], &[0x32, 84, 0, 16]);
        assert_eq!(&f[4..20], TOPIC.as_bytes());
        assert_eq!(&f[20..22], &PACKET_ID.to_be_bytes());
        assert_eq!(f.len(), 86);
    }

    #[test]
    fn large_publish_uses_three_length_bytes() {
        let f = frame(Case::Publish64k, Version::V5);
        // 2 + 16 + 2 + 1 + 65536 = 65557 = 0x10015 → 0x95 0x80 0x04
        assert_eq!(&f[..4], &[0x32, 0x95, 0x80, 0x04]);
        assert_eq!(f.len(), 1 + 3 + 65557);
    }

    #[test]
    fn connect_v5_carries_properties() {
        let f = frame(Case::Connect, Version::V5);
        assert_eq!(&f[2..9], b"\0\x04MQTT\x05");
        assert_eq!(f[9], 0b1100_0010);
        assert_eq!(f[12], 16, "property length: 5 + 3 + 3 + 5");
    }
}
