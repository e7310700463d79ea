//! An owned RESP2/RESP3 value with an encoder and a full decoder (the codec's metadata path
//! does not build values; this is for tools, tests and local replies).

use bytes::{BufMut, BytesMut};

use super::wire::{RespType, expect_crlf, int_line, line_end, malformed, parse_double};
use crate::{CodecError, Limits};

/// One RESP value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `+text` (must not contain CR or LF).
    SimpleString(Vec<u8>),
    /// `-ERR text` (must not contain CR or LF).
    Error(Vec<u8>),
    /// `:123`
    Integer(i64),
    /// `$n` payload.
    BulkString(Vec<u8>),
    /// RESP2 null bulk string `$-1`.
    NullBulkString,
    /// `*n` elements.
    Array(Vec<Value>),
    /// RESP2 null array `*-1`.
    NullArray,
    /// RESP3 null `_`.
    Null,
    /// `%n` key/value pairs.
    Map(Vec<(Value, Value)>),
    /// `~n` elements.
    Set(Vec<Value>),
    /// `,1.5` (`inf`, `-inf`, `nan` included).
    Double(f64),
    /// `#t` / `#f`.
    Boolean(bool),
    /// `=n` with a three-byte format (`txt`, `mkd`) and the text.
    VerbatimString { format: [u8; 3], text: Vec<u8> },
    /// `(123…` decimal digits with an optional sign.
    BigNumber(Vec<u8>),
    /// `>n` out-of-band push.
    Push(Vec<Value>),
    /// `|n` attribute pairs annotating the value that follows.
    Attribute {
        attributes: Vec<(Value, Value)>,
        value: Box<Value>,
    },
    /// `!n` error with a binary-safe message.
    BlobError(Vec<u8>),
}

impl Value {
    /// The RESP type name (see [`RespType::as_str`]); null bulk/array count as `null`.
    pub fn resp_type(&self) -> RespType {
        match self {
            Value::SimpleString(_) => RespType::SimpleString,
            Value::Error(_) => RespType::Error,
            Value::Integer(_) => RespType::Integer,
            Value::BulkString(_) => RespType::BulkString,
            Value::NullBulkString | Value::NullArray | Value::Null => RespType::Null,
            Value::Array(_) => RespType::Array,
            Value::Map(_) => RespType::Map,
            Value::Set(_) => RespType::Set,
            Value::Double(_) => RespType::Double,
            Value::Boolean(_) => RespType::Boolean,
            Value::VerbatimString { .. } => RespType::VerbatimString,
            Value::BigNumber(_) => RespType::BigNumber,
            Value::Push(_) => RespType::Push,
            Value::Attribute { .. } => RespType::Attribute,
            Value::BlobError(_) => RespType::BlobError,
        }
    }

    /// Appends the wire form to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        fn head(out: &mut BytesMut, t: u8, n: usize) {
            out.put_u8(t);
            out.extend_from_slice(itoa(n as i64).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        fn line(out: &mut BytesMut, t: u8, s: &[u8]) {
            out.put_u8(t);
            out.extend_from_slice(s);
            out.extend_from_slice(b"\r\n");
        }
        fn blob(out: &mut BytesMut, t: u8, s: &[u8]) {
            head(out, t, s.len());
            out.extend_from_slice(s);
            out.extend_from_slice(b"\r\n");
        }
        match self {
            Value::SimpleString(s) => line(out, b'+', s),
            Value::Error(s) => line(out, b'-', s),
            Value::Integer(i) => line(out, b':', itoa(*i).as_bytes()),
            Value::BulkString(s) => blob(out, b'$', s),
            Value::NullBulkString => out.extend_from_slice(b"$-1\r\n"),
            Value::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Value::Null => out.extend_from_slice(b"_\r\n"),
            Value::Array(v) | Value::Set(v) | Value::Push(v) => {
                let t = match self {
                    Value::Array(_) => b'*',
                    Value::Set(_) => b'~',
                    _ => b'>',
                };
                head(out, t, v.len());
                for e in v {
                    e.encode(out);
                }
            }
            Value::Map(pairs) => {
                head(out, b'%', pairs.len());
                for (k, v) in pairs {
                    k.encode(out);
                    v.encode(out);
                }
            }
            Value::Attribute { attributes, value } => {
                head(out, b'|', attributes.len());
                for (k, v) in attributes {
                    k.encode(out);
                    v.encode(out);
                }
                value.encode(out);
            }
            Value::Double(d) => {
                let s = if d.is_nan() {
                    "nan".to_string()
                } else if d.is_infinite() {
                    if *d > 0.0 { "inf" } else { "-inf" }.to_string()
                } else {
                    format!("{d:?}")
                };
                line(out, b',', s.as_bytes());
            }
            Value::Boolean(b) => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Value::VerbatimString { format, text } => {
                head(out, b'=', text.len() + 4);
                out.extend_from_slice(format);
                out.put_u8(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Value::BigNumber(s) => line(out, b'(', s),
            Value::BlobError(s) => blob(out, b'!', s),
        }
    }

    /// Decodes one value from the front of `input`: `Ok(None)` when the input holds only a
    /// prefix, else the value and its length. Allocation is bounded by the input size, never
    /// by a declared length.
    pub fn decode(input: &[u8], limits: &Limits) -> Result<Option<(Value, usize)>, CodecError> {
        let mut pos = 0;
        match parse(input, &mut pos, 0, limits)? {
            Some(v) => Ok(Some((v, pos))),
            None => Ok(None),
        }
    }
}

fn itoa(i: i64) -> String {
    i.to_string()
}

fn parse(
    buf: &[u8],
    pos: &mut usize,
    depth: usize,
    limits: &Limits,
) -> Result<Option<Value>, CodecError> {
    let hdr = *pos;
    let Some(&t) = buf.get(hdr) else {
        return Ok(None);
    };
    let p = hdr + 1;
    let line_of = |pos: &mut usize| -> Result<Option<&[u8]>, CodecError> {
        let Some(cr) = line_end(buf, p, hdr, limits)? else {
            return Ok(None);
        };
        *pos = cr + 2;
        Ok(Some(&buf[p..cr]))
    };
    Ok(Some(match t {
        b'+' | b'-' | b'(' | b',' => {
            let Some(l) = line_of(pos)? else {
                return Ok(None);
            };
            match t {
                b'+' => Value::SimpleString(l.to_vec()),
                b'-' => Value::Error(l.to_vec()),
                b'(' => {
                    let digits = l.strip_prefix(b"-").or(l.strip_prefix(b"+")).unwrap_or(l);
                    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                        return Err(malformed(p, "invalid big number"));
                    }
                    Value::BigNumber(l.to_vec())
                }
                _ => Value::Double(parse_double(l).ok_or_else(|| malformed(p, "invalid double"))?),
            }
        }
        b':' => {
            let Some((v, next)) = int_line(buf, p)? else {
                return Ok(None);
            };
            *pos = next;
            Value::Integer(v)
        }
        b'#' => {
            let v = match buf.get(p) {
                None => return Ok(None),
                Some(b't') => true,
                Some(b'f') => false,
                Some(_) => return Err(malformed(p, "invalid boolean")),
            };
            let Some(next) = expect_crlf(buf, p + 1)? else {
                return Ok(None);
            };
            *pos = next;
            Value::Boolean(v)
        }
        b'_' => {
            let Some(next) = expect_crlf(buf, p)? else {
                return Ok(None);
            };
            *pos = next;
            Value::Null
        }
        b'$' | b'!' | b'=' => {
            let Some((len, next)) = int_line(buf, p)? else {
                return Ok(None);
            };
            if len == -1 && t == b'$' {
                *pos = next;
                return Ok(Some(Value::NullBulkString));
            }
            if len < 0 {
                return Err(malformed(p, "invalid blob length"));
            }
            if next as u64 + len as u64 + 2 > limits.max_frame_size as u64 {
                return Err(CodecError::FrameTooLarge {
                    offset: hdr,
                    size: next as u64 + len as u64 + 2,
                    limit: limits.max_frame_size,
                });
            }
            let end = next + len as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(malformed(end, "blob not terminated by CRLF"));
            }
            *pos = end + 2;
            let data = &buf[next..end];
            match t {
                b'$' => Value::BulkString(data.to_vec()),
                b'!' => Value::BlobError(data.to_vec()),
                _ => {
                    if data.len() < 4 || data[3] != b':' {
                        return Err(malformed(next, "verbatim string without format"));
                    }
                    Value::VerbatimString {
                        format: [data[0], data[1], data[2]],
                        text: data[4..].to_vec(),
                    }
                }
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let Some((n, next)) = int_line(buf, p)? else {
                return Ok(None);
            };
            if n == -1 && t == b'*' {
                *pos = next;
                return Ok(Some(Value::NullArray));
            }
            if n < 0 {
                return Err(malformed(p, "invalid aggregate length"));
            }
            if n as u64 > limits.max_elements as u64 {
                return Err(CodecError::TooManyElements {
                    offset: hdr,
                    count: n as u64,
                    limit: limits.max_elements,
                });
            }
            if depth >= limits.max_depth {
                return Err(CodecError::DepthExceeded {
                    offset: hdr,
                    limit: limits.max_depth,
                });
            }
            *pos = next;
            // Each element takes at least 3 bytes: never reserve more than the input can hold.
            let cap = (n as usize).min((buf.len() - next) / 3);
            if matches!(t, b'%' | b'|') {
                let mut pairs = Vec::with_capacity(cap / 2);
                for _ in 0..n {
                    let Some(k) = parse(buf, pos, depth + 1, limits)? else {
                        return Ok(None);
                    };
                    let Some(v) = parse(buf, pos, depth + 1, limits)? else {
                        return Ok(None);
                    };
                    pairs.push((k, v));
                }
                if t == b'%' {
                    Value::Map(pairs)
                } else {
                    let Some(value) = parse(buf, pos, depth + 1, limits)? else {
                        return Ok(None);
                    };
                    Value::Attribute {
                        attributes: pairs,
                        value: Box::new(value),
                    }
                }
            } else {
                let mut items = Vec::with_capacity(cap);
                for _ in 0..n {
                    let Some(v) = parse(buf, pos, depth + 1, limits)? else {
                        return Ok(None);
                    };
                    items.push(v);
                }
                match t {
                    b'*' => Value::Array(items),
                    b'~' => Value::Set(items),
                    _ => Value::Push(items),
                }
            }
        }
        _ => return Err(malformed(hdr, "unknown RESP type byte")),
    }))
}
