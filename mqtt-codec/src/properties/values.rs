//! The value types of properties that are not plain integers, strings or binary data.

use crate::ByteStr;

/// One v5 user property: a name/value pair of strings. Names may repeat.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserProperty {
    /// The name.
    pub name: ByteStr,
    /// The value.
    pub value: ByteStr,
}

impl UserProperty {
    /// A pair from two validated strings.
    pub fn new(name: ByteStr, value: ByteStr) -> Self {
        UserProperty { name, value }
    }
}

/// The Payload Format Indicator (spec 3.3.2.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PayloadFormat {
    /// 0: unspecified bytes.
    #[default]
    Unspecified = 0,
    /// 1: UTF-8 encoded character data. The codec does not validate the payload; a receiver that wants to
    /// may check it and answer Payload format invalid (0x99).
    Utf8 = 1,
}
