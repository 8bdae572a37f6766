//! A tiny strict JSON reader for the one shape the rental requests use: a flat object whose values are
//! strings, e.g. `{ "phone_id": "BBB", "device_id": "AAA" }`.
//!
//! Why not `serde_json`: the requests have two string fields, and a 60-line reader keeps the module small
//! (no serde machinery in every guest instance) while still being strict: anything that is not a flat
//! object of strings (numbers, nesting, duplicate keys, trailing bytes, bad escapes) is refused rather than
//! guessed at.

use std::collections::BTreeMap;

/// Why a payload is not a flat object of strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub &'static str);

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for JsonError {}

/// Parses `{ "key": "value", ... }` (any JSON whitespace, standard escapes including `\uXXXX` pairs).
pub fn parse_flat_object(input: &[u8]) -> Result<BTreeMap<String, String>, JsonError> {
    let text = std::str::from_utf8(input).map_err(|_| JsonError("payload is not UTF-8"))?;
    let mut p = Parser {
        chars: text.char_indices().peekable(),
    };
    let mut out = BTreeMap::new();
    p.skip_ws();
    p.expect('{')?;
    p.skip_ws();
    if p.eat('}') {
        return p.end(out);
    }
    loop {
        p.skip_ws();
        let key = p.string()?;
        p.skip_ws();
        p.expect(':')?;
        p.skip_ws();
        let value = p.string().map_err(|e| match e.0 {
            "expected '\"'" => JsonError("values must be strings"),
            _ => e,
        })?;
        if out.insert(key, value).is_some() {
            return Err(JsonError("duplicate key"));
        }
        p.skip_ws();
        if p.eat('}') {
            return p.end(out);
        }
        p.expect(',')?;
    }
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self
            .chars
            .next_if(|(_, c)| matches!(c, ' ' | '\t' | '\n' | '\r'))
            .is_some()
        {}
    }

    fn eat(&mut self, want: char) -> bool {
        self.chars.next_if(|(_, c)| *c == want).is_some()
    }

    fn expect(&mut self, want: char) -> Result<(), JsonError> {
        if self.eat(want) {
            return Ok(());
        }
        Err(JsonError(match want {
            '{' => "expected '{'",
            ':' => "expected ':'",
            ',' => "expected ',' or '}'",
            _ => "expected '\"'",
        }))
    }

    fn end(mut self, out: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, JsonError> {
        self.skip_ws();
        match self.chars.next() {
            None => Ok(out),
            Some(_) => Err(JsonError("trailing bytes after the object")),
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.expect('"')?;
        let mut s = String::new();
        loop {
            let (_, c) = self.chars.next().ok_or(JsonError("unterminated string"))?;
            match c {
                '"' => return Ok(s),
                '\\' => {
                    let (_, e) = self.chars.next().ok_or(JsonError("unterminated escape"))?;
                    match e {
                        '"' => s.push('"'),
                        '\\' => s.push('\\'),
                        '/' => s.push('/'),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'n' => s.push('\n'),
                        'r' => s.push('\r'),
                        't' => s.push('\t'),
                        'u' => s.push(self.unicode_escape()?),
                        _ => return Err(JsonError("unknown escape")),
                    }
                }
                c if u32::from(c) < 0x20 => return Err(JsonError("control character in string")),
                c => s.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0;
        for _ in 0..4 {
            let (_, c) = self.chars.next().ok_or(JsonError("short \\u escape"))?;
            v = v * 16 + c.to_digit(16).ok_or(JsonError("bad \\u escape"))?;
        }
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !(self.eat('\\') && self.eat('u')) {
                return Err(JsonError("lone surrogate"));
            }
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(JsonError("lone surrogate"));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or(JsonError("lone surrogate"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<(String, String)> {
        parse_flat_object(s.as_bytes()).unwrap().into_iter().collect()
    }

    fn err(s: &str) -> &'static str {
        parse_flat_object(s.as_bytes()).unwrap_err().0
    }

    #[test]
    fn reads_the_bind_request() {
        assert_eq!(
            ok(r#"{ "phone_id": "BBB", "device_id": "AAA" }"#),
            [("device_id".into(), "AAA".into()), ("phone_id".into(), "BBB".into())]
        );
        assert_eq!(ok("\n{}\t"), []);
        assert_eq!(ok(r#"{"a":"x"}"#), [("a".into(), "x".into())]);
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(
            ok(r#"{"k":"a\"b\\c\/d\n\u00e9\ud83d\ude00"}"#),
            [("k".into(), "a\"b\\c/d\n\u{e9}\u{1F600}".into())]
        );
    }

    #[test]
    fn refuses_anything_else() {
        assert_eq!(err(""), "expected '{'");
        assert_eq!(err("[]"), "expected '{'");
        assert_eq!(err(r#"{"a":1}"#), "values must be strings");
        assert_eq!(err(r#"{"a":{"b":"c"}}"#), "values must be strings");
        assert_eq!(err(r#"{"a":"x","a":"y"}"#), "duplicate key");
        assert_eq!(err(r#"{"a":"x"} x"#), "trailing bytes after the object");
        assert_eq!(err(r#"{"a":"x",}"#), "expected '\"'");
        assert_eq!(err(r#"{"a" "x"}"#), "expected ':'");
        assert_eq!(err(r#"{"a":"x" "b":"y"}"#), "expected ',' or '}'");
        assert_eq!(err(r#"{"a":"x"#), "unterminated string");
        assert_eq!(err(r#"{"a":"\q"}"#), "unknown escape");
        assert_eq!(err(r#"{"a":"\ud800"}"#), "lone surrogate");
        assert_eq!(err(r#"{"a":"\u12"}"#), "bad \\u escape");
        assert_eq!(err("{\"a\":\"\u{1}\"}"), "control character in string");
        assert_eq!(
            parse_flat_object(&[b'{', 0xff, b'}']).unwrap_err().0,
            "payload is not UTF-8"
        );
    }
}
