//! The generators behind the two property tables: [`property_ids!`] turns the rows of `ids.rs` into
//! [`PropertyId`](crate::PropertyId) and its lookups, [`property_sets!`] turns the rows of `sets.rs` into one
//! struct per property set with its decoder, its exact length and its encoder.
//!
//! The generated code is what was written by hand per set before: a `match` over the identifiers the set allows,
//! one typed read per arm, and one typed write per field in the set's order, so decoding and encoding cost the
//! same as before (BENCHMARKS.md, mqtt-codec).

/// Expands the property table (`ids.rs`): one row per property,
///
/// ```text
/// /// Name and meaning.
/// 0x23 TopicAlias: NonZeroU16 as TwoByteInteger, invalid => Error::TopicAliasZero;
/// ```
///
/// giving its identifier, its [`PropertyId`](crate::PropertyId) variant, the Rust type packets hold it as (a name
/// in `ids::types`), its data type on the wire (spec 1.5: a variant of [`DataType`](crate::properties::DataType)
/// and the codec of the same name in `wire.rs`) and, where it is not
/// [`Error::InvalidPropertyValue`](crate::Error::InvalidPropertyValue), the error a decoded value of the right
/// data type but outside the property's range is reported as.
///
/// Besides the enum it defines `property!`, which looks a row up by its variant name for `property_sets!`:
/// `property!(type X)` is the Rust type and `property!(wire X)` the data type's codec.
macro_rules! property_ids {
    ($(
        $(#[doc = $doc:literal])*
        $id:literal $name:ident: $ty:ident as $data_type:ident $(, invalid => $invalid:expr)?;
    )*) => {
        /// The identifier of a v5 property (spec 2.2.2.2, Table 2-4).
        ///
        /// Which packets may carry a property is the `ALLOWED` list of each property set, such as
        /// [`PublishProperties::ALLOWED`](crate::properties::PublishProperties::ALLOWED).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum PropertyId {
            $(
                $(#[doc = $doc])*
                #[doc = ""]
                #[doc = concat!(
                    "Identifier ", stringify!($id), ", data type [`", stringify!($data_type), "`](DataType::",
                    stringify!($data_type), ")."
                )]
                $name = $id,
            )*
        }

        impl PropertyId {
            /// The identifier for a wire value, `None` if MQTT 5.0 defines no such property.
            pub const fn from_u32(id: u32) -> Option<PropertyId> {
                match id {
                    $($id => Some(PropertyId::$name),)*
                    _ => None,
                }
            }

            /// The data type of the property's value on the wire (spec 2.2.2.2, Table 2-4).
            pub const fn data_type(self) -> DataType {
                match self {
                    $(PropertyId::$name => DataType::$data_type,)*
                }
            }

            /// The error for a decoded value of the right data type that the property does not allow (0 where it
            /// must not be 0, a byte other than 0 or 1 for a boolean, ...).
            pub(crate) fn invalid_value(self) -> Error {
                match self {
                    $($(PropertyId::$name => $invalid,)?)*
                    _ => Error::InvalidPropertyValue { property: self },
                }
            }
        }

        // Every identifier MQTT 5.0 defines is below 0x80, so it is one byte on the wire: decoding maps it through
        // a 128-entry table, and lengths count it as one byte.
        const _: () = { $(assert!($id < 0x80);)* };

        macro_rules! property {
            $(
                (type $name) => { $crate::properties::ids::types::$ty };
                (wire $name) => { $crate::properties::wire::$data_type };
            )*
        }
        pub(crate) use property;
    };
}
pub(crate) use property_ids;

/// Expands the table of property sets (`sets.rs`): per set its doc comment, its name and its fields in wire
/// order,
///
/// ```text
/// /// Doc of the field.
/// topic_alias: once TopicAlias @ "3.3.2.3.4",
/// ```
///
/// each with its name, its duplicate rule (`once`: an `Option`, a second occurrence is
/// [`Error::DuplicateProperty`](crate::Error::DuplicateProperty); `many`: a `Vec` in wire order), the property
/// (a [`PropertyId`](crate::PropertyId) variant; its type and data type come from `ids.rs`) and optionally the
/// section of the specification that defines it in this packet, which is added to the field's documentation.
///
/// Each set gets `ALLOWED`, `is_empty`, `decode` (length prefix and properties), `len` (without the prefix),
/// `encode_body` (without the prefix) and `encode` (with it).
macro_rules! property_sets {
    ($(
        $(#[doc = $doc:literal])*
        $set:ident {
            $(
                $(#[doc = $field_doc:literal])*
                $field:ident: $rule:ident $property:ident $(@ $section:literal)?,
            )*
        }
    )*) => {$(
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $set {
            $(
                $(#[doc = $field_doc])*
                $(#[doc = concat!(" Spec ", $section, ".")])?
                pub $field: $crate::properties::macros::slot!($rule $property),
            )*
        }

        impl $set {
            /// The properties this set may carry, in the order it encodes them.
            pub const ALLOWED: &'static [$crate::PropertyId] = &[$($crate::PropertyId::$property),*];

            /// True when no property is set: the block is then the single byte 0.
            #[inline]
            pub fn is_empty(&self) -> bool {
                use $crate::properties::wire::Slot as _;
                true $(&& self.$field.is_unset())*
            }

            /// Reads a property block (its length, then the properties), refusing a property the set does not
            /// allow, a second occurrence of one that may appear once and a value out of its property's range.
            pub(crate) fn decode(r: &mut $crate::field::Reader) -> Result<Self, $crate::Error> {
                use $crate::properties::wire::{Slot as _, Wire};
                let mut block = $crate::properties::wire::Block::read(r)?;
                let mut set = Self::default();
                while let Some(id) = block.next()? {
                    match id {
                        $($crate::PropertyId::$property => {
                            let value = <$crate::properties::ids::property!(wire $property) as Wire<
                                $crate::properties::ids::property!(type $property),
                            >>::read(block.reader(), id)?;
                            set.$field.store(id, value)?
                        })*
                        other => return Err(block.not_allowed(other)),
                    }
                }
                Ok(set)
            }

            /// Length of the properties on the wire, without the block's length prefix.
            pub(crate) fn len(&self) -> usize {
                use $crate::properties::wire::Slot as _;
                0 $(+ self.$field.wire_len::<$crate::properties::ids::property!(wire $property)>())*
            }

            /// Writes the properties without the block's length prefix (PUBLISH writes the prefix together with
            /// its packet identifier).
            pub(crate) fn encode_body(&self, dst: &mut bytes::BytesMut) -> Result<(), $crate::Error> {
                use $crate::properties::wire::Slot as _;
                $(
                    self.$field
                        .put::<$crate::properties::ids::property!(wire $property)>(dst, $crate::PropertyId::$property)?;
                )*
                Ok(())
            }

            /// Writes the block: its length prefix, then the properties.
            #[allow(dead_code)] // every set but PUBLISH's, which writes its prefix itself
            pub(crate) fn encode(&self, dst: &mut bytes::BytesMut) -> Result<(), $crate::Error> {
                $crate::properties::wire::put_block_len(dst, self.len())?;
                self.encode_body(dst)
            }
        }
    )*};
}
pub(crate) use property_sets;

/// The field type of a property in a set: `Option` for a property that may appear once, `Vec` for one that may
/// repeat.
macro_rules! slot {
    (once $property:ident) => { Option<$crate::properties::ids::property!(type $property)> };
    (many $property:ident) => { Vec<$crate::properties::ids::property!(type $property)> };
}
pub(crate) use slot;
