//! Hessian 2.0 encoder writing the reference implementation's compact forms.

use bytes::BufMut;

use super::value::{List, Map, Object, Value};

/// Writes `null`.
pub fn write_null<B: BufMut>(out: &mut B) {
    out.put_u8(b'N');
}

/// Writes a boolean.
pub fn write_bool<B: BufMut>(out: &mut B, v: bool) {
    out.put_u8(if v { b'T' } else { b'F' });
}

/// Writes an int in its shortest form.
pub fn write_int<B: BufMut>(out: &mut B, v: i32) {
    if (-0x10..=0x2f).contains(&v) {
        out.put_u8((v + 0x90) as u8);
    } else if (-0x800..=0x7ff).contains(&v) {
        out.put_u8(((v >> 8) + 0xc8) as u8);
        out.put_u8(v as u8);
    } else if (-0x40000..=0x3ffff).contains(&v) {
        out.put_u8(((v >> 16) + 0xd4) as u8);
        out.put_u16(v as u16);
    } else {
        out.put_u8(b'I');
        out.put_i32(v);
    }
}

/// Writes a long in its shortest form.
pub fn write_long<B: BufMut>(out: &mut B, v: i64) {
    if (-8..=15).contains(&v) {
        out.put_u8((v + 0xe0) as u8);
    } else if (-0x800..=0x7ff).contains(&v) {
        out.put_u8(((v >> 8) + 0xf8) as u8);
        out.put_u8(v as u8);
    } else if (-0x40000..=0x3ffff).contains(&v) {
        out.put_u8(((v >> 16) + 0x3c) as u8);
        out.put_u16(v as u16);
    } else if i32::try_from(v).is_ok() {
        out.put_u8(b'Y');
        out.put_i32(v as i32);
    } else {
        out.put_u8(b'L');
        out.put_i64(v);
    }
}

/// Writes a double in the reference's compact forms (integral values as byte/short, values with
/// exact thousandths as "mills", everything else as 8 bytes).
pub fn write_double<B: BufMut>(out: &mut B, v: f64) {
    let i = v as i32;
    if i as f64 == v {
        if i == 0 {
            out.put_u8(0x5b);
            return;
        } else if i == 1 {
            out.put_u8(0x5c);
            return;
        } else if (-0x80..0x80).contains(&i) {
            out.put_u8(0x5d);
            out.put_u8(i as u8);
            return;
        } else if (-0x8000..0x8000).contains(&i) {
            out.put_u8(0x5e);
            out.put_u16(i as u16);
            return;
        }
    }
    let mills = (v * 1000.0) as i32;
    if 0.001 * mills as f64 == v {
        out.put_u8(0x5f);
        out.put_i32(mills);
        return;
    }
    out.put_u8(b'D');
    out.put_u64(v.to_bits());
}

/// Writes a UTC date (milliseconds): the minute form when it is a whole minute.
pub fn write_date<B: BufMut>(out: &mut B, ms: i64) {
    if ms % 60_000 == 0 {
        let minutes = ms / 60_000;
        if let Ok(m) = i32::try_from(minutes) {
            out.put_u8(0x4b);
            out.put_i32(m);
            return;
        }
    }
    out.put_u8(0x4a);
    out.put_i64(ms);
}

/// Largest string chunk, in UTF-16 units.
const STRING_CHUNK: usize = 0x8000;
/// Largest binary chunk the reference writes from an empty buffer.
const BINARY_CHUNK: usize = 8189;

/// Number of UTF-16 units of `s`.
pub fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().map(char::len_utf16).sum()
    }
}

/// Writes a string: UTF-16 lengths, supplementary characters as two 3-byte surrogate halves,
/// chunks of 32768 units (never splitting a surrogate pair), compact final chunk.
pub fn write_string<B: BufMut>(out: &mut B, s: &str) {
    let mut remaining = utf16_len(s);
    let mut rest = s;
    while remaining > STRING_CHUNK {
        // Find the byte index where STRING_CHUNK units end (one less when a pair straddles).
        let mut units = 0;
        let mut cut = rest.len();
        for (i, c) in rest.char_indices() {
            let u = c.len_utf16();
            if units + u > STRING_CHUNK {
                cut = i;
                break;
            }
            units += u;
        }
        out.put_u8(b'R');
        out.put_u16(units as u16);
        put_cesu(out, &rest[..cut]);
        rest = &rest[cut..];
        remaining -= units;
    }
    let len = remaining;
    if len <= 0x1f {
        out.put_u8(len as u8);
    } else if len <= 0x3ff {
        out.put_u8(0x30 + (len >> 8) as u8);
        out.put_u8(len as u8);
    } else {
        out.put_u8(b'S');
        out.put_u16(len as u16);
    }
    put_cesu(out, rest);
}

fn put_cesu<B: BufMut>(out: &mut B, s: &str) {
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| b >= 0xf0) {
        out.put_slice(bytes);
        return;
    }
    for c in s.chars() {
        if (c as u32) < 0x10000 {
            let mut buf = [0u8; 4];
            out.put_slice(c.encode_utf8(&mut buf).as_bytes());
        } else {
            let mut units = [0u16; 2];
            for &u in c.encode_utf16(&mut units).iter() {
                out.put_u8(0xe0 | (u >> 12) as u8);
                out.put_u8(0x80 | ((u >> 6) & 0x3f) as u8);
                out.put_u8(0x80 | (u & 0x3f) as u8);
            }
        }
    }
}

/// Writes binary data (8189-byte `A` chunks, compact final chunk).
pub fn write_binary<B: BufMut>(out: &mut B, mut v: &[u8]) {
    while v.len() > BINARY_CHUNK {
        out.put_u8(b'A');
        out.put_u16(BINARY_CHUNK as u16);
        out.put_slice(&v[..BINARY_CHUNK]);
        v = &v[BINARY_CHUNK..];
    }
    let len = v.len();
    if len <= 0x0f {
        out.put_u8(0x20 + len as u8);
    } else if len <= 0x3ff {
        out.put_u8(0x34 + (len >> 8) as u8);
        out.put_u8(len as u8);
    } else {
        out.put_u8(b'B');
        out.put_u16(len as u16);
    }
    out.put_slice(v);
}

/// Writes values with the stream state Hessian shares across one stream (class definitions and
/// types written once, then referenced).
///
/// ```
/// use mesh_codec::hessian2::{Encoder, Value};
/// let mut out = Vec::new();
/// let mut enc = Encoder::new();
/// let user = Value::object("com.example.User", vec![("name", "a".into())]);
/// enc.write_value(&mut out, &user);
/// enc.write_value(&mut out, &user); // second instance reuses the class definition
/// assert_eq!(out, b"\x43\x10com.example.User\x91\x04name\x60\x01a\x60\x01a");
/// ```
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    classes: Vec<(String, Vec<String>)>,
    types: Vec<String>,
}

impl Encoder {
    /// An encoder with no definitions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every definition (start of a new stream).
    pub fn reset(&mut self) {
        self.classes.clear();
        self.types.clear();
    }

    /// Writes a type: an int reference when already written in this stream, else the string.
    pub fn write_type<B: BufMut>(&mut self, out: &mut B, t: &str) {
        match self.types.iter().position(|x| x == t) {
            Some(i) => write_int(out, i as i32),
            None => {
                self.types.push(t.to_string());
                write_string(out, t);
            }
        }
    }

    /// Writes the start of a list of known length (the reference's fixed forms).
    pub fn write_list_begin<B: BufMut>(&mut self, out: &mut B, len: usize, t: Option<&str>) {
        match (t, len) {
            (Some(t), 0..=7) => {
                out.put_u8(0x70 + len as u8);
                self.write_type(out, t);
            }
            (None, 0..=7) => out.put_u8(0x78 + len as u8),
            (Some(t), _) => {
                out.put_u8(b'V');
                self.write_type(out, t);
                write_int(out, len as i32);
            }
            (None, _) => {
                out.put_u8(b'X');
                write_int(out, len as i32);
            }
        }
    }

    /// Writes the start of a map; end it with [`Encoder::write_end`].
    pub fn write_map_begin<B: BufMut>(&mut self, out: &mut B, t: Option<&str>) {
        match t {
            Some(t) => {
                out.put_u8(b'M');
                self.write_type(out, t);
            }
            None => out.put_u8(b'H'),
        }
    }

    /// Writes the `Z` that ends a map or a variable-length list.
    pub fn write_end<B: BufMut>(&mut self, out: &mut B) {
        out.put_u8(b'Z');
    }

    /// Writes the start of an object: its class definition the first time, then the instance
    /// tag. The caller writes `fields.len()` field values next.
    pub fn write_object_begin<B: BufMut>(&mut self, out: &mut B, class: &str, fields: &[&str]) {
        let idx = match self.classes.iter().position(|(c, f)| {
            c == class && f.iter().map(String::as_str).eq(fields.iter().copied())
        }) {
            Some(i) => i,
            None => {
                out.put_u8(b'C');
                write_string(out, class);
                write_int(out, fields.len() as i32);
                for f in fields {
                    write_string(out, f);
                }
                self.classes.push((
                    class.to_string(),
                    fields.iter().map(|f| f.to_string()).collect(),
                ));
                self.classes.len() - 1
            }
        };
        if idx <= 0x0f {
            out.put_u8(0x60 + idx as u8);
        } else {
            out.put_u8(b'O');
            write_int(out, idx as i32);
        }
    }

    /// Writes any value.
    pub fn write_value<B: BufMut>(&mut self, out: &mut B, v: &Value) {
        match v {
            Value::Null => write_null(out),
            Value::Bool(b) => write_bool(out, *b),
            Value::Int(i) => write_int(out, *i),
            Value::Long(l) => write_long(out, *l),
            Value::Double(d) => write_double(out, *d),
            Value::Date(ms) => write_date(out, *ms),
            Value::String(s) => write_string(out, s),
            Value::Binary(b) => write_binary(out, b),
            Value::List(List { type_name, items }) => {
                self.write_list_begin(out, items.len(), type_name.as_deref());
                for it in items {
                    self.write_value(out, it);
                }
            }
            Value::Map(Map { type_name, entries }) => {
                self.write_map_begin(out, type_name.as_deref());
                for (k, v) in entries {
                    self.write_value(out, k);
                    self.write_value(out, v);
                }
                self.write_end(out);
            }
            Value::Object(Object { class, fields }) => {
                let names: Vec<&str> = fields.iter().map(|(n, _)| &**n).collect();
                self.write_object_begin(out, class, &names);
                for (_, v) in fields {
                    self.write_value(out, v);
                }
            }
            Value::Ref(i) => {
                out.put_u8(b'Q');
                write_int(out, *i as i32);
            }
        }
    }
}
