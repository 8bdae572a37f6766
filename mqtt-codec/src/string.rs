//! [`ByteStr`]: an MQTT UTF-8 string that is a view into the frame it was decoded from.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

use crate::Error;

/// Largest string the wire format can carry: a two-byte length prefix (spec 1.5.4).
pub const MAX_STRING_LEN: usize = u16::MAX as usize;

/// A UTF-8 string held in [`Bytes`], validated once against the MQTT rules and cheap to clone.
///
/// Decoded strings are slices of the packet's frame, so decoding a topic or a client id copies nothing.
/// The invariant, checked by every constructor: the bytes are well-formed UTF-8 (which already excludes the
/// surrogates U+D800..U+DFFF, [MQTT-1.5.4-1]), contain no U+0000 [MQTT-1.5.4-2], and are at most
/// [`MAX_STRING_LEN`] bytes long.
///
/// ```
/// use mqtt_codec::ByteStr;
/// let s = ByteStr::from_static("sensors/42/temp");
/// assert_eq!(&*s, "sensors/42/temp");
/// assert!(ByteStr::try_from(bytes::Bytes::from_static(b"nul\0")).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteStr(Bytes);

impl ByteStr {
    /// An empty string.
    pub const fn new() -> Self {
        ByteStr(Bytes::new())
    }

    /// Wraps a `'static` string after checking the MQTT rules; panics on a string no peer would accept, so it
    /// is meant for literals in code, never for input.
    ///
    /// # Panics
    /// If `s` contains U+0000 or is longer than 65,535 bytes.
    #[allow(clippy::panic)]
    pub fn from_static(s: &'static str) -> Self {
        match validate(s.as_bytes()) {
            Ok(()) => ByteStr(Bytes::from_static(s.as_bytes())),
            Err(e) => panic!("ByteStr::from_static({s:?}): {e}"),
        }
    }

    /// The string as `&str`.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor validated the bytes as UTF-8 and they are immutable since.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes, sharing the same allocation.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives up the wrapper and returns the bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A sub-string of `self` that shares its allocation. `sub` must be a slice of `self.as_str()`.
    ///
    /// Returns `None` when `sub` does not point into `self`.
    pub fn slice_ref(&self, sub: &str) -> Option<ByteStr> {
        let base = self.0.as_ptr() as usize;
        let start = (sub.as_ptr() as usize).checked_sub(base)?;
        let end = start.checked_add(sub.len())?;
        if end > self.0.len() {
            return None;
        }
        // A slice of a valid string that is itself a `&str` is valid UTF-8, has no NUL and is shorter.
        Some(ByteStr(self.0.slice(start..end)))
    }
}

/// Checks `bytes` against the MQTT UTF-8 string rules (spec 1.5.4).
#[inline]
pub fn validate(bytes: &[u8]) -> Result<(), Error> {
    if bytes.len() > MAX_STRING_LEN {
        return Err(Error::StringTooLong { len: bytes.len() });
    }
    // Topics and ids are nearly always ASCII: check that eight bytes at a time, and only fall back to full
    // UTF-8 validation when a byte is not plain ASCII or is NUL.
    if is_ascii_without_nul(bytes) {
        return Ok(());
    }
    validate_slow(bytes)
}

/// The bytes of every position set to `byte`.
pub(crate) const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// High bit set in each byte of `word` that is zero (and possibly in bytes above a zero byte, which does not
/// matter when only asking whether there is one).
#[inline]
pub(crate) const fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(splat(0x01)) & !word & splat(0x80)
}

/// True when every byte is in 0x01..=0x7F: ASCII without U+0000, which is valid as it stands.
#[inline]
fn is_ascii_without_nul(bytes: &[u8]) -> bool {
    is_ascii_without_nul_or(bytes, 0, 0)
}

/// True when every byte is in 0x01..=0x7F and is neither `a` nor `b` (pass 0 to forbid nothing more).
#[inline]
pub(crate) fn is_ascii_without_nul_or(bytes: &[u8], a: u8, b: u8) -> bool {
    let (words, tail) = bytes.as_chunks::<8>();
    let mut bad = 0;
    for word in words {
        let w = u64::from_ne_bytes(*word);
        bad |= (w & splat(0x80)) | zero_bytes(w) | zero_bytes(w ^ splat(a)) | zero_bytes(w ^ splat(b));
    }
    bad == 0 && tail.iter().all(|&c| c != 0 && c < 0x80 && c != a && c != b)
}

#[cold]
fn validate_slow(bytes: &[u8]) -> Result<(), Error> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(Error::InvalidUtf8);
    }
    if bytes.contains(&0) {
        return Err(Error::NullCharacter);
    }
    Ok(())
}

impl ByteStr {
    /// Wraps bytes the caller has already checked.
    ///
    /// # Safety
    /// `bytes` must be valid UTF-8 (the invariant [`ByteStr::as_str`] relies on) and should meet the other
    /// MQTT rules: no U+0000, at most [`MAX_STRING_LEN`] bytes.
    pub(crate) unsafe fn from_checked(bytes: Bytes) -> Self {
        ByteStr(bytes)
    }
}

impl TryFrom<Bytes> for ByteStr {
    type Error = Error;

    fn try_from(bytes: Bytes) -> Result<Self, Error> {
        validate(&bytes)?;
        Ok(ByteStr(bytes))
    }
}

impl TryFrom<&str> for ByteStr {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self, Error> {
        validate(s.as_bytes())?;
        Ok(ByteStr(Bytes::copy_from_slice(s.as_bytes())))
    }
}

impl TryFrom<String> for ByteStr {
    type Error = Error;

    fn try_from(s: String) -> Result<Self, Error> {
        validate(s.as_bytes())?;
        Ok(ByteStr(Bytes::from(s.into_bytes())))
    }
}

impl Deref for ByteStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ByteStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for ByteStr {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Borrow<str> for ByteStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

// Hash as `str` does, so that `Borrow<str>` is sound: a `HashMap<ByteStr, _>` must find a key by `&str`.
impl std::hash::Hash for ByteStr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for ByteStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ByteStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_the_spec_forbids() {
        // Surrogate U+D800 encoded as if it were a scalar value (CESU-style): not UTF-8.
        assert_eq!(
            ByteStr::try_from(Bytes::from_static(b"\xED\xA0\x80")),
            Err(Error::InvalidUtf8)
        );
        // Overlong encoding of '/'.
        assert_eq!(
            ByteStr::try_from(Bytes::from_static(b"\xC0\xAF")),
            Err(Error::InvalidUtf8)
        );
        assert_eq!(
            ByteStr::try_from(Bytes::from_static(b"a\0b")),
            Err(Error::NullCharacter)
        );
        let long = "x".repeat(MAX_STRING_LEN + 1);
        assert_eq!(
            ByteStr::try_from(long.as_str()),
            Err(Error::StringTooLong {
                len: MAX_STRING_LEN + 1
            })
        );
    }

    #[test]
    fn ascii_fast_path_agrees_with_the_full_check() {
        let mut cases: Vec<Vec<u8>> = vec![Vec::new(), b"a".to_vec(), b"abcdefgh".to_vec(), b"abcdefghi".to_vec()];
        for len in [1, 7, 8, 9, 15, 16, 17, 33] {
            for pos in 0..len {
                for byte in [0x00, 0x01, 0x7F, 0x80, 0xC3, 0xFF] {
                    let mut v = vec![b'x'; len];
                    v[pos] = byte;
                    cases.push(v);
                }
            }
        }
        for case in cases {
            let full = match std::str::from_utf8(&case) {
                Err(_) => Err(Error::InvalidUtf8),
                Ok(s) if s.contains('\0') => Err(Error::NullCharacter),
                Ok(_) => Ok(()),
            };
            assert_eq!(validate(&case), full, "{case:?}");
        }
    }

    #[test]
    fn accepts_the_spec_example() {
        // Spec 1.5.4.1 example: "A\u{2A6D4}" encodes as 41 F0 AA 9B 94.
        let s = ByteStr::try_from(Bytes::from_static(b"\x41\xF0\xAA\x9B\x94")).unwrap();
        assert_eq!(s, "A\u{2A6D4}");
        // U+FEFF is allowed and must not be stripped [MQTT-1.5.4-3].
        let bom = ByteStr::try_from("\u{FEFF}x").unwrap();
        assert_eq!(bom.len(), 4);
    }

    #[test]
    fn hash_map_finds_keys_by_str() {
        let mut map = std::collections::HashMap::new();
        map.insert(ByteStr::try_from("fleet/a").unwrap(), 1);
        assert_eq!(map.get("fleet/a"), Some(&1));
    }

    #[test]
    fn slice_ref_shares_the_allocation() {
        let s = ByteStr::try_from("a/b/c").unwrap();
        let mid = s.slice_ref(&s[2..3]).unwrap();
        assert_eq!(mid, "b");
        assert_eq!(mid.as_bytes().as_ptr(), s.as_bytes()[2..].as_ptr());
        assert!(s.slice_ref("elsewhere").is_none());
    }
}
