//! Allocation-free readers for the Thrift binary and compact protocols: message header and a
//! struct walker that skips a body by its encoded lengths.

use crate::{CodecError, Limits};

/// Why a read stopped: the input ends early (only when the end is not known) or an error.
#[derive(Debug)]
pub(crate) enum Stop {
    More,
    Err(CodecError),
}

impl From<CodecError> for Stop {
    fn from(e: CodecError) -> Self {
        Stop::Err(e)
    }
}

pub(crate) type R<T> = Result<T, Stop>;

/// The two wire protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    /// Binary; `strict` = versioned header (0x8001).
    Binary {
        strict: bool,
    },
    Compact,
}

/// Thrift message types on the wire.
pub(crate) const T_CALL: u8 = 1;
pub(crate) const T_REPLY: u8 = 2;
pub(crate) const T_EXCEPTION: u8 = 3;
pub(crate) const T_ONEWAY: u8 = 4;

/// A cursor over `buf` (absolute offsets). When `bounded`, `buf` ends where the message must
/// end (a frame), so running past it is malformed; otherwise it asks for more input.
#[derive(Debug)]
pub(crate) struct Cur<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
    pub bounded: bool,
    pub limits: Limits,
    /// Added to offsets in errors (where `buf` starts inside the message).
    pub base: usize,
}

impl<'a> Cur<'a> {
    pub fn new(buf: &'a [u8], pos: usize, bounded: bool, limits: Limits) -> Self {
        Cur {
            buf,
            pos,
            bounded,
            limits,
            base: 0,
        }
    }

    #[inline]
    pub fn off(&self) -> usize {
        self.base + self.pos
    }

    /// Makes sure `n` more bytes are available.
    #[inline]
    fn need(&self, n: usize) -> R<()> {
        let end = self.pos.saturating_add(n);
        if end <= self.buf.len() {
            return Ok(());
        }
        Err(self.past_end(end))
    }

    #[cold]
    fn past_end(&self, end: usize) -> Stop {
        if self.bounded {
            Stop::Err(CodecError::malformed(
                self.off(),
                "value runs past the end of the frame",
            ))
        } else if self.base + end > self.limits.max_frame_size {
            Stop::Err(CodecError::FrameTooLarge {
                offset: self.off(),
                size: (self.base + end) as u64,
                limit: self.limits.max_frame_size,
            })
        } else {
            Stop::More
        }
    }

    #[inline]
    pub fn skip(&mut self, n: usize) -> R<()> {
        self.need(n)?;
        self.pos += n;
        Ok(())
    }

    #[inline]
    pub fn u8(&mut self) -> R<u8> {
        self.need(1)?;
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    pub fn be_i16(&mut self) -> R<i16> {
        self.need(2)?;
        let v = i16::from_be_bytes([self.buf[self.pos], self.buf[self.pos + 1]]);
        self.pos += 2;
        Ok(v)
    }

    #[inline]
    pub fn be_i32(&mut self) -> R<i32> {
        self.need(4)?;
        let b = &self.buf[self.pos..self.pos + 4];
        self.pos += 4;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn bytes(&mut self, n: usize) -> R<&'a [u8]> {
        self.need(n)?;
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Unsigned LEB128 varint of at most `max_bytes` bytes.
    #[inline]
    pub fn varint(&mut self, max_bytes: usize) -> R<u64> {
        let start = self.off();
        let mut v: u64 = 0;
        for i in 0..max_bytes {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CodecError::malformed(start, "varint too long").into())
    }

    /// A length (binary i32 or compact varint) checked against the limits.
    fn check_len(&self, at: usize, len: i64) -> R<usize> {
        if len < 0 {
            return Err(CodecError::malformed(at, "negative length").into());
        }
        if len as u64 > self.limits.max_frame_size as u64 {
            return Err(CodecError::FrameTooLarge {
                offset: at,
                size: len as u64,
                limit: self.limits.max_frame_size,
            }
            .into());
        }
        Ok(len as usize)
    }

    fn check_count(&self, at: usize, count: i64) -> R<usize> {
        if count < 0 {
            return Err(CodecError::malformed(at, "negative collection size").into());
        }
        if count as u64 > self.limits.max_elements as u64 {
            return Err(CodecError::TooManyElements {
                offset: at,
                count: count as u64,
                limit: self.limits.max_elements,
            }
            .into());
        }
        Ok(count as usize)
    }
}

/// The header of one message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MsgHeader<'a> {
    pub name: &'a [u8],
    pub mtype: u8,
    pub seqid: i32,
}

fn check_mtype(at: usize, t: u8) -> R<u8> {
    if (T_CALL..=T_ONEWAY).contains(&t) {
        Ok(t)
    } else {
        Err(CodecError::malformed(at, format!("unknown message type {t}")).into())
    }
}

/// Reads a message header in protocol `p` at the cursor.
pub(crate) fn read_msg_header<'a>(c: &mut Cur<'a>, p: Proto) -> R<MsgHeader<'a>> {
    match p {
        Proto::Binary { strict: true } => {
            let at = c.off();
            let v = c.be_i32()? as u32;
            if v & 0xffff_0000 != 0x8001_0000 {
                return Err(CodecError::malformed(at, "bad binary protocol version").into());
            }
            let mtype = check_mtype(at + 3, (v & 0xff) as u8)?;
            let at = c.off();
            let n = c.be_i32()?;
            let n = c.check_len(at, n.into())?;
            let name = c.bytes(n)?;
            let seqid = c.be_i32()?;
            Ok(MsgHeader { name, mtype, seqid })
        }
        Proto::Binary { strict: false } => {
            let at = c.off();
            let n = c.be_i32()?;
            let n = c.check_len(at, n.into())?;
            let name = c.bytes(n)?;
            let at = c.off();
            let mtype = check_mtype(at, c.u8()?)?;
            let seqid = c.be_i32()?;
            Ok(MsgHeader { name, mtype, seqid })
        }
        Proto::Compact => {
            let at = c.off();
            if c.u8()? != 0x82 {
                return Err(CodecError::malformed(at, "bad compact protocol id").into());
            }
            let at = c.off();
            let vt = c.u8()?;
            if vt & 0x1f != 1 {
                return Err(CodecError::malformed(at, "bad compact protocol version").into());
            }
            let mtype = check_mtype(at, vt >> 5)?;
            let seqid = c.varint(5)? as u32 as i32;
            let at = c.off();
            let n = c.varint(5)?;
            let n = c.check_len(at, n as i64)?;
            let name = c.bytes(n)?;
            Ok(MsgHeader { name, mtype, seqid })
        }
    }
}

// Binary type ids.
const B_STOP: u8 = 0;
const B_BOOL: u8 = 2;
const B_BYTE: u8 = 3;
const B_DOUBLE: u8 = 4;
const B_I16: u8 = 6;
const B_I32: u8 = 8;
const B_I64: u8 = 10;
const B_STRING: u8 = 11;
const B_STRUCT: u8 = 12;
const B_MAP: u8 = 13;
const B_SET: u8 = 14;
const B_LIST: u8 = 15;
const B_UUID: u8 = 16;

/// Fixed wire size of a binary type, `None` for variable-size types.
#[inline]
fn binary_fixed(t: u8) -> Option<usize> {
    match t {
        B_BOOL | B_BYTE => Some(1),
        B_I16 => Some(2),
        B_I32 => Some(4),
        B_DOUBLE | B_I64 => Some(8),
        B_UUID => Some(16),
        _ => None,
    }
}

/// Skips one binary value of type `t`.
fn skip_binary(c: &mut Cur<'_>, t: u8, depth: usize) -> R<()> {
    if let Some(n) = binary_fixed(t) {
        return c.skip(n);
    }
    match t {
        B_STRING => {
            let at = c.off();
            let n = c.be_i32()?;
            let n = c.check_len(at, n.into())?;
            c.skip(n)
        }
        B_STRUCT => skip_binary_struct(c, depth + 1),
        B_MAP => {
            let at = c.off();
            enter(c, depth + 1)?;
            let kt = c.u8()?;
            let vt = c.u8()?;
            let n = c.be_i32()?;
            let n = c.check_count(at, n.into())?;
            check_binary_elem(at, kt)?;
            check_binary_elem(at + 1, vt)?;
            if let (Some(a), Some(b)) = (binary_fixed(kt), binary_fixed(vt)) {
                return c.skip(n.saturating_mul(a + b));
            }
            for _ in 0..n {
                skip_binary(c, kt, depth + 1)?;
                skip_binary(c, vt, depth + 1)?;
            }
            Ok(())
        }
        B_SET | B_LIST => {
            let at = c.off();
            enter(c, depth + 1)?;
            let et = c.u8()?;
            let n = c.be_i32()?;
            let n = c.check_count(at, n.into())?;
            check_binary_elem(at, et)?;
            if let Some(a) = binary_fixed(et) {
                return c.skip(n.saturating_mul(a));
            }
            for _ in 0..n {
                skip_binary(c, et, depth + 1)?;
            }
            Ok(())
        }
        other => Err(CodecError::malformed(c.off(), format!("unknown binary type {other}")).into()),
    }
}

fn check_binary_elem(at: usize, t: u8) -> R<()> {
    if binary_fixed(t).is_some() || matches!(t, B_STRING | B_STRUCT | B_MAP | B_SET | B_LIST) {
        Ok(())
    } else {
        Err(CodecError::malformed(at, format!("bad element type {t}")).into())
    }
}

#[inline]
fn enter(c: &Cur<'_>, depth: usize) -> R<()> {
    if depth > c.limits.max_depth {
        Err(CodecError::DepthExceeded {
            offset: c.off(),
            limit: c.limits.max_depth,
        }
        .into())
    } else {
        Ok(())
    }
}

/// Skips a binary struct (fields up to STOP). `depth` is the struct's own depth.
pub(crate) fn skip_binary_struct(c: &mut Cur<'_>, depth: usize) -> R<()> {
    enter(c, depth)?;
    loop {
        let t = c.u8()?;
        if t == B_STOP {
            return Ok(());
        }
        c.skip(2)?;
        skip_binary(c, t, depth)?;
    }
}

/// Reads the first field header of a binary struct: `None` for an empty struct, else
/// (field id, type). The cursor is left after the field header.
pub(crate) fn binary_first_field(c: &mut Cur<'_>) -> R<Option<(i16, u8)>> {
    let t = c.u8()?;
    if t == B_STOP {
        return Ok(None);
    }
    let id = c.be_i16()?;
    Ok(Some((id, t)))
}

// Compact type ids.
const C_STOP: u8 = 0;
const C_TRUE: u8 = 1;
const C_FALSE: u8 = 2;
const C_BYTE: u8 = 3;
const C_I16: u8 = 4;
const C_I32: u8 = 5;
const C_I64: u8 = 6;
const C_DOUBLE: u8 = 7;
const C_BINARY: u8 = 8;
const C_LIST: u8 = 9;
const C_SET: u8 = 10;
const C_MAP: u8 = 11;
const C_STRUCT: u8 = 12;
const C_UUID: u8 = 13;

/// Skips one compact value of type `t`; `in_field` distinguishes field bools (value in the
/// type nibble) from container bools (one byte).
fn skip_compact(c: &mut Cur<'_>, t: u8, depth: usize, in_field: bool) -> R<()> {
    match t {
        C_TRUE | C_FALSE => {
            if in_field {
                Ok(())
            } else {
                c.skip(1)
            }
        }
        C_BYTE => c.skip(1),
        C_I16 => c.varint(3).map(drop),
        C_I32 => c.varint(5).map(drop),
        C_I64 => c.varint(10).map(drop),
        C_DOUBLE => c.skip(8),
        C_UUID => c.skip(16),
        C_BINARY => {
            let at = c.off();
            let n = c.varint(5)?;
            let n = c.check_len(at, n as i64)?;
            c.skip(n)
        }
        C_STRUCT => skip_compact_struct(c, depth + 1),
        C_LIST | C_SET => {
            let at = c.off();
            enter(c, depth + 1)?;
            let h = c.u8()?;
            let et = h & 0x0f;
            let mut n = u64::from(h >> 4);
            if n == 15 {
                n = c.varint(5)?;
            }
            let n = c.check_count(at, n as i64)?;
            check_compact_elem(at, et)?;
            match et {
                C_TRUE | C_FALSE | C_BYTE => c.skip(n),
                C_DOUBLE => c.skip(n.saturating_mul(8)),
                C_UUID => c.skip(n.saturating_mul(16)),
                _ => {
                    for _ in 0..n {
                        skip_compact(c, et, depth + 1, false)?;
                    }
                    Ok(())
                }
            }
        }
        C_MAP => {
            let at = c.off();
            enter(c, depth + 1)?;
            let n = c.varint(5)?;
            let n = c.check_count(at, n as i64)?;
            if n == 0 {
                return Ok(());
            }
            let kv = c.u8()?;
            let (kt, vt) = (kv >> 4, kv & 0x0f);
            check_compact_elem(at, kt)?;
            check_compact_elem(at, vt)?;
            for _ in 0..n {
                skip_compact(c, kt, depth + 1, false)?;
                skip_compact(c, vt, depth + 1, false)?;
            }
            Ok(())
        }
        other => {
            Err(CodecError::malformed(c.off(), format!("unknown compact type {other}")).into())
        }
    }
}

fn check_compact_elem(at: usize, t: u8) -> R<()> {
    if (C_TRUE..=C_UUID).contains(&t) {
        Ok(())
    } else {
        Err(CodecError::malformed(at, format!("bad element type {t}")).into())
    }
}

/// Reads a compact field header; `None` at STOP. Returns (field id, type).
#[inline]
fn compact_field(c: &mut Cur<'_>, last: i16) -> R<Option<(i16, u8)>> {
    let b = c.u8()?;
    if b == C_STOP {
        return Ok(None);
    }
    let t = b & 0x0f;
    let delta = b >> 4;
    let id = if delta != 0 {
        last.wrapping_add(i16::from(delta))
    } else {
        let z = c.varint(3)? as u32;
        ((z >> 1) as i32 ^ -((z & 1) as i32)) as i16
    };
    Ok(Some((id, t)))
}

/// Skips a compact struct. `depth` is the struct's own depth.
pub(crate) fn skip_compact_struct(c: &mut Cur<'_>, depth: usize) -> R<()> {
    enter(c, depth)?;
    let mut last = 0i16;
    while let Some((id, t)) = compact_field(c, last)? {
        last = id;
        skip_compact(c, t, depth, true)?;
    }
    Ok(())
}

/// First field header of a compact struct (see [`binary_first_field`]).
pub(crate) fn compact_first_field(c: &mut Cur<'_>) -> R<Option<(i16, u8)>> {
    compact_field(c, 0)
}

/// Skips a whole struct in protocol `p`.
pub(crate) fn skip_struct(c: &mut Cur<'_>, p: Proto) -> R<()> {
    match p {
        Proto::Binary { .. } => skip_binary_struct(c, 1),
        Proto::Compact => skip_compact_struct(c, 1),
    }
}

/// First field of the struct at the cursor.
pub(crate) fn first_field(c: &mut Cur<'_>, p: Proto) -> R<Option<(i16, u8)>> {
    match p {
        Proto::Binary { .. } => binary_first_field(c),
        Proto::Compact => compact_first_field(c),
    }
}

/// Writes a message header.
pub(crate) fn write_msg_header(out: &mut Vec<u8>, p: Proto, name: &[u8], mtype: u8, seqid: i32) {
    match p {
        Proto::Binary { strict: true } => {
            out.extend_from_slice(&[0x80, 0x01, 0x00, mtype]);
            out.extend_from_slice(&(name.len() as i32).to_be_bytes());
            out.extend_from_slice(name);
            out.extend_from_slice(&seqid.to_be_bytes());
        }
        Proto::Binary { strict: false } => {
            out.extend_from_slice(&(name.len() as i32).to_be_bytes());
            out.extend_from_slice(name);
            out.push(mtype);
            out.extend_from_slice(&seqid.to_be_bytes());
        }
        Proto::Compact => {
            out.push(0x82);
            out.push((mtype << 5) | 1);
            write_varint(out, u64::from(seqid as u32));
            write_varint(out, name.len() as u64);
            out.extend_from_slice(name);
        }
    }
}

/// Writes a TApplicationException struct {1: string message, 2: i32 type}.
pub(crate) fn write_app_exception(out: &mut Vec<u8>, p: Proto, message: &[u8], kind: i32) {
    match p {
        Proto::Binary { .. } => {
            out.extend_from_slice(&[B_STRING, 0, 1]);
            out.extend_from_slice(&(message.len() as i32).to_be_bytes());
            out.extend_from_slice(message);
            out.extend_from_slice(&[B_I32, 0, 2]);
            out.extend_from_slice(&kind.to_be_bytes());
            out.push(B_STOP);
        }
        Proto::Compact => {
            out.push(0x10 | C_BINARY);
            write_varint(out, message.len() as u64);
            out.extend_from_slice(message);
            out.push(0x10 | C_I32);
            write_varint(out, u64::from(((kind << 1) ^ (kind >> 31)) as u32));
            out.push(C_STOP);
        }
    }
}

pub(crate) fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(b: &[u8]) -> Cur<'_> {
        Cur::new(b, 0, false, Limits::DEFAULT)
    }

    #[test]
    fn compact_add_header() {
        let b = [
            0x82, 0x21, 0x00, 0x03, b'a', b'd', b'd', 0x15, 0x02, 0x15, 0x04, 0x00,
        ];
        let mut c = cur(&b);
        let h = read_msg_header(&mut c, Proto::Compact).unwrap();
        assert_eq!((h.name, h.mtype, h.seqid), (&b"add"[..], T_CALL, 0));
        skip_struct(&mut c, Proto::Compact).unwrap();
        assert_eq!(c.pos, b.len());
    }

    #[test]
    fn binary_list_of_i32_is_skipped_by_length() {
        // struct { 1: list<i32> [1,2] }
        let b = [15, 0, 1, 8, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0];
        let mut c = cur(&b);
        skip_binary_struct(&mut c, 1).unwrap();
        assert_eq!(c.pos, b.len());
        let mut c = cur(&b[..10]);
        assert!(matches!(skip_binary_struct(&mut c, 1), Err(Stop::More)));
        let mut c = Cur::new(&b[..10], 0, true, Limits::DEFAULT);
        assert!(matches!(
            skip_binary_struct(&mut c, 1),
            Err(Stop::Err(CodecError::Malformed { .. }))
        ));
    }

    #[test]
    fn depth_limit() {
        // nested structs 1: struct { 1: struct {...} }
        let mut b = Vec::new();
        for _ in 0..10 {
            b.extend_from_slice(&[12, 0, 1]);
        }
        b.extend(std::iter::repeat_n(0u8, 11));
        let limits = Limits {
            max_depth: 5,
            ..Limits::DEFAULT
        };
        let mut c = Cur::new(&b, 0, false, limits);
        assert!(matches!(
            skip_binary_struct(&mut c, 1),
            Err(Stop::Err(CodecError::DepthExceeded { limit: 5, .. }))
        ));
        let mut c = cur(&b);
        skip_binary_struct(&mut c, 1).unwrap();
        assert_eq!(c.pos, b.len());
    }

    #[test]
    fn hostile_counts() {
        let b = [15, 0, 1, 12, 0x7f, 0xff, 0xff, 0xff];
        let mut c = cur(&b);
        assert!(matches!(
            skip_binary_struct(&mut c, 1),
            Err(Stop::Err(CodecError::TooManyElements { offset: 3, .. }))
        ));
        let b = [11, 0, 1, 0xff, 0xff, 0xff, 0xff];
        let mut c = cur(&b);
        assert!(matches!(
            skip_binary_struct(&mut c, 1),
            Err(Stop::Err(CodecError::Malformed { offset: 3, .. }))
        ));
    }
}
