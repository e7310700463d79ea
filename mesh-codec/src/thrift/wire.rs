//! Message-level reading and writing for the Thrift binary and compact protocols: message
//! headers, the first field of a reply, and whole structs skipped by the body skippers
//! (`skip`); both stand on the read layer (`read`).

use crate::CodecError;

use super::read::{B_I32, B_STOP, B_STRING, C_BINARY, C_I32, C_STOP, Cur, R};

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
#[inline]
pub(crate) fn read_msg_header<'a>(c: &mut Cur<'a>, p: Proto) -> R<MsgHeader<'a>> {
    match p {
        Proto::Binary { strict: true } => {
            if let Some(h) = strict_header_fast(c) {
                return Ok(h);
            }
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
            if let Some(h) = compact_header_fast(c) {
                return Ok(h);
            }
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

/// A well-formed strict binary header that is wholly in the buffer, read with two bounds
/// checks; `None` sends every other case (errors, partial input) to the checked reader.
#[inline(always)]
fn strict_header_fast<'a>(c: &mut Cur<'a>) -> Option<MsgHeader<'a>> {
    let b = c.buf.get(c.pos..c.pos + 8)?;
    let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let n = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize;
    let mtype = v as u8;
    let ok = v & 0xffff_ff00 == 0x8001_0000
        && (T_CALL..=T_ONEWAY).contains(&mtype)
        && n <= c.limits.max_frame_size.min(i32::MAX as usize);
    if !ok {
        return None;
    }
    let rest = c.buf.get(c.pos + 8..c.pos + 12 + n)?;
    let (name, s) = rest.split_at(n);
    let seqid = i32::from_be_bytes([s[0], s[1], s[2], s[3]]);
    c.pos += 12 + n;
    Some(MsgHeader { name, mtype, seqid })
}

/// A well-formed compact header with a name shorter than 128 bytes, wholly in the buffer;
/// `None` sends every other case to the checked reader (as [`strict_header_fast`]).
#[inline(always)]
fn compact_header_fast<'a>(c: &mut Cur<'a>) -> Option<MsgHeader<'a>> {
    let buf = c.buf;
    let head = buf.get(c.pos..c.pos + 2)?;
    let (id, vt) = (head[0], head[1]);
    let mtype = vt >> 5;
    if id != 0x82 || vt & 0x1f != 1 || !(T_CALL..=T_ONEWAY).contains(&mtype) {
        return None;
    }
    // seqid: a varint of at most five bytes, truncated to 32 bits as the checked reader does.
    let (seqid, p) = super::read::varint32(buf, c.pos + 2, &c.ctx()).ok()?;
    let n = usize::from(*buf.get(p)?);
    if n >= 0x80 || n > c.limits.max_frame_size {
        return None;
    }
    let name = buf.get(p + 1..p + 1 + n)?;
    c.pos = p + 1 + n;
    Some(MsgHeader {
        name,
        mtype,
        seqid: seqid as u32 as i32,
    })
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

/// First field header of a compact struct (see [`binary_first_field`]).
pub(crate) fn compact_first_field(c: &mut Cur<'_>) -> R<Option<(i16, u8)>> {
    compact_field(c, 0)
}

/// Skips a whole struct in protocol `p`.
pub(crate) fn skip_struct(c: &mut Cur<'_>, p: Proto) -> R<()> {
    // An empty struct (calls without arguments, void replies) is one STOP byte in both
    // protocols; within the depth limit of 1 it needs no walk.
    if c.buf.get(c.pos) == Some(&0) && c.limits.max_depth >= 1 {
        c.pos += 1;
        return Ok(());
    }
    let cx = c.ctx();
    c.pos = match p {
        Proto::Binary { .. } => super::skip::binary_struct(c.buf, c.pos, 1, &cx)?,
        Proto::Compact => super::skip::compact_struct(c.buf, c.pos, 1, &cx)?,
    };
    Ok(())
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
    use super::super::read::Stop;
    use super::*;
    use crate::Limits;

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
    fn compact_header_fast_and_checked_paths_agree() {
        // (seqid varint bytes, expected seqid): one to five bytes, high bits past 32 dropped.
        let seqids: [(&[u8], i32); 6] = [
            (&[0x00], 0),
            (&[0x7f], 127),
            (&[0x80, 0x01], 128),
            (&[0xff, 0xff, 0xff, 0xff, 0x07], i32::MAX),
            (&[0xff, 0xff, 0xff, 0xff, 0x0f], -1),
            (&[0xff, 0xff, 0xff, 0xff, 0x7f], -1),
        ];
        for (seq, want) in seqids {
            // Name lengths on both sides of the one-byte varint (fast path up to 127).
            for n in [0usize, 1, 127, 128, 300] {
                let name = vec![b'm'; n];
                let mut b = vec![0x82, (T_REPLY << 5) | 1];
                b.extend_from_slice(seq);
                write_varint(&mut b, n as u64);
                b.extend_from_slice(&name);
                let mut c = cur(&b);
                let h = read_msg_header(&mut c, Proto::Compact).unwrap();
                assert_eq!(
                    (h.name, h.mtype, h.seqid, c.pos),
                    (&name[..], T_REPLY, want, b.len())
                );
                // Every prefix asks for more.
                for k in 0..b.len() {
                    let mut c = cur(&b[..k]);
                    assert!(
                        matches!(read_msg_header(&mut c, Proto::Compact), Err(Stop::More)),
                        "{k}"
                    );
                }
            }
        }
        // A six-byte seqid varint, a bad version, a bad message type: errors, never a header.
        for b in [
            &[0x82, 0x21, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00][..],
            &[0x82, 0x22, 0x00, 0x00],
            &[0x82, 0xa1, 0x00, 0x00],
        ] {
            let mut c = cur(b);
            assert!(
                matches!(read_msg_header(&mut c, Proto::Compact), Err(Stop::Err(_))),
                "{b:?}"
            );
        }
    }

    /// Every field type the struct skippers special-case, then every strict prefix: "more
    /// data" when the end is unknown, malformed inside a frame.
    fn skips_whole_and_every_prefix(b: &[u8], p: Proto) {
        let mut c = cur(b);
        skip_struct(&mut c, p).unwrap();
        assert_eq!(c.pos, b.len());
        for n in 0..b.len() {
            let mut c = cur(&b[..n]);
            assert!(matches!(skip_struct(&mut c, p), Err(Stop::More)), "{n}");
            let mut c = Cur::new(&b[..n], 0, true, Limits::DEFAULT);
            assert!(
                matches!(skip_struct(&mut c, p), Err(Stop::Err(e)) if matches!(*e, CodecError::Malformed { .. })),
                "{n}"
            );
        }
    }

    #[test]
    fn binary_every_field_type() {
        let mut b = vec![2, 0, 1, 1, 3, 0, 2, 0xff, 4, 0, 3];
        b.extend_from_slice(&2.5f64.to_be_bytes());
        b.extend_from_slice(&[6, 0, 4, 0, 7, 8, 0, 5, 0, 0, 0, 9, 10, 0, 6]);
        b.extend_from_slice(&(-1i64).to_be_bytes());
        b.extend_from_slice(&[11, 0, 7, 0, 0, 0, 2, b'h', b'i', 16, 0, 8]);
        b.extend(1..=16u8);
        b.extend_from_slice(&[12, 0, 9, 8, 0, 1, 0, 0, 0, 1, 0, 15, 0, 10, 8, 0, 0, 0, 1]);
        b.extend_from_slice(&[0, 0, 0, 3, 0]);
        skips_whole_and_every_prefix(&b, Proto::Binary { strict: true });
    }

    #[test]
    fn compact_every_field_type() {
        // bool true, byte, i16 (2-byte varint), i32, i64 (1 byte), double, string, uuid,
        // struct { i32 }, list<i32> [1], long-form field id 300 (i32), i64 (ten bytes), stop.
        let mut b = vec![
            0x11, 0x13, 0xff, 0x14, 0xac, 0x02, 0x15, 0x0e, 0x16, 0x01, 0x17,
        ];
        b.extend_from_slice(&2.5f64.to_le_bytes());
        b.extend_from_slice(&[0x18, 0x02, b'h', b'i', 0x1d]);
        b.extend(1..=16u8);
        b.extend_from_slice(&[
            0x1c, 0x15, 0x02, 0x00, 0x19, 0x15, 0x02, 0x05, 0xd8, 0x04, 0x02,
        ]);
        // i64::MIN: a ten-byte varint (longer than one eight-byte load).
        b.push(0x16);
        b.extend_from_slice(&[0xff; 9]);
        b.push(0x01);
        b.push(0);
        skips_whole_and_every_prefix(&b, Proto::Compact);
    }

    #[test]
    fn binary_list_of_i32_is_skipped_by_length() {
        // struct { 1: list<i32> [1,2] }
        let b = [15, 0, 1, 8, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0];
        let mut c = cur(&b);
        skip_struct(&mut c, Proto::Binary { strict: true }).unwrap();
        assert_eq!(c.pos, b.len());
        let mut c = cur(&b[..10]);
        assert!(matches!(
            skip_struct(&mut c, Proto::Binary { strict: true }),
            Err(Stop::More)
        ));
        let mut c = Cur::new(&b[..10], 0, true, Limits::DEFAULT);
        assert!(matches!(
            skip_struct(&mut c, Proto::Binary { strict: true }),
            Err(Stop::Err(e)) if matches!(*e, CodecError::Malformed { .. })
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
            skip_struct(&mut c, Proto::Binary { strict: true }),
            Err(Stop::Err(e)) if matches!(*e, CodecError::DepthExceeded { limit: 5, .. })
        ));
        let mut c = cur(&b);
        skip_struct(&mut c, Proto::Binary { strict: true }).unwrap();
        assert_eq!(c.pos, b.len());
    }

    #[test]
    fn nested_structs_return_to_their_parents() {
        // struct { 1: struct { 1: struct { 1: i32 }, 2: i32 }, 2: i32 } (depth 3), then the
        // nesting limit on both sides of it: the error points at the struct that goes too deep.
        let binary = [
            12, 0, 1, 12, 0, 1, 8, 0, 1, 0, 0, 0, 7, 0, 8, 0, 2, 0, 0, 0, 8, 0, 8, 0, 2, 0, 0, 0,
            9, 0,
        ];
        let compact = [
            0x1c, 0x1c, 0x15, 0x0e, 0x00, 0x15, 0x10, 0x00, 0x15, 0x12, 0x00,
        ];
        for (b, p, deepest) in [
            (&binary[..], Proto::Binary { strict: true }, 6),
            (&compact[..], Proto::Compact, 2),
        ] {
            skips_whole_and_every_prefix(b, p);
            for (max_depth, ok) in [(3, true), (2, false)] {
                let limits = Limits {
                    max_depth,
                    ..Limits::DEFAULT
                };
                let mut c = Cur::new(b, 0, false, limits);
                match skip_struct(&mut c, p) {
                    Ok(()) => assert!(ok && c.pos == b.len(), "{p:?}"),
                    Err(Stop::Err(e)) => assert!(
                        !ok && matches!(*e, CodecError::DepthExceeded { offset, limit: 2 } if offset == deepest),
                        "{p:?} {e}"
                    ),
                    Err(Stop::More) => panic!("{p:?}: more"),
                }
            }
        }
    }

    #[test]
    fn hostile_counts() {
        let b = [15, 0, 1, 12, 0x7f, 0xff, 0xff, 0xff];
        let mut c = cur(&b);
        assert!(matches!(
            skip_struct(&mut c, Proto::Binary { strict: true }),
            Err(Stop::Err(e)) if matches!(*e, CodecError::TooManyElements { offset: 3, .. })
        ));
        let b = [11, 0, 1, 0xff, 0xff, 0xff, 0xff];
        let mut c = cur(&b);
        assert!(matches!(
            skip_struct(&mut c, Proto::Binary { strict: true }),
            Err(Stop::Err(e)) if matches!(*e, CodecError::Malformed { offset: 3, .. })
        ));
    }
}
