//! THeader transport: parse the header of one frame and rebuild it with other info headers.
//!
//! Frame: `u32 length | 0x0FFF | u16 flags | u32 seqid | u16 header words | header | payload`.
//! Header: varint protocol id, varint transform count, transform ids, then info sections
//! (varint id 1 = key/values, 2 = persistent key/values; each a varint count of varint-length
//! string pairs) and zero padding to a multiple of 4 bytes.

use crate::{CodecError, Mutation};

use super::read::{Cur, R, Stop};
use super::wire::write_varint;

pub(crate) const MAGIC: [u8; 2] = [0x0f, 0xff];
pub(crate) const PROTO_BINARY: u64 = 0;
pub(crate) const PROTO_COMPACT: u64 = 2;
pub(crate) const TRANSFORM_ZLIB: u64 = 1;
const INFO_KEYVALUE: u64 = 1;
const INFO_PKEYVALUE: u64 = 2;
/// Most transforms we accept in one header (the header size bounds it anyway).
const MAX_TRANSFORMS: usize = 8;

/// What the header of one THeader frame says. Offsets are absolute in the frame buffer.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub flags: u16,
    pub seqid: u32,
    pub protocol_id: u64,
    pub transforms: [u64; MAX_TRANSFORMS],
    pub n_transforms: usize,
    /// Where the info sections start and where the header (incl. padding) ends.
    pub info_start: usize,
    pub header_end: usize,
}

impl Header {
    pub fn zlib(&self) -> bool {
        self.transforms[..self.n_transforms].contains(&TRANSFORM_ZLIB)
    }
}

/// Parses the header of the frame `c.buf[..frame_end]` whose length word is at 0; the cursor
/// must be at offset 4 (the magic) and `c` bounded to the frame.
pub(crate) fn parse(c: &mut Cur<'_>) -> R<Header> {
    c.skip(2)?; // magic, checked by the caller
    let flags = c.be_i16()? as u16;
    let seqid = c.be_i32()? as u32;
    let at = c.off();
    let words = c.be_i16()? as u16 as usize;
    let header_end = c.pos + words * 4;
    if header_end > c.buf.len() {
        return Err(CodecError::malformed(at, "THeader header size exceeds the frame").into());
    }
    let mut h = Cur {
        buf: &c.buf[..header_end],
        pos: c.pos,
        bounded: true,
        limits: c.limits,
        base: c.base,
    };
    let at = h.off();
    let protocol_id = h.varint(5)?;
    let at_n = h.off();
    let n = h.varint(5)? as usize;
    if n > MAX_TRANSFORMS {
        return Err(CodecError::malformed(at_n, "too many THeader transforms").into());
    }
    let mut transforms = [0u64; MAX_TRANSFORMS];
    for t in transforms.iter_mut().take(n) {
        let at_t = h.off();
        *t = h.varint(5)?;
        if *t != TRANSFORM_ZLIB {
            return Err(CodecError::Unsupported {
                offset: at_t,
                what: format!("THeader transform {t}").into(),
            }
            .into());
        }
    }
    if protocol_id != PROTO_BINARY && protocol_id != PROTO_COMPACT {
        return Err(CodecError::Unsupported {
            offset: at,
            what: format!("THeader protocol id {protocol_id}").into(),
        }
        .into());
    }
    let info_start = h.pos;
    c.pos = header_end;
    Ok(Header {
        flags,
        seqid,
        protocol_id,
        transforms,
        n_transforms: n,
        info_start,
        header_end,
    })
}

/// Calls `f(persistent, key, value)` for each info header of the frame `frame`.
pub(crate) fn for_each_info<'a>(
    frame: &'a [u8],
    h: &Header,
    base: usize,
    limits: crate::Limits,
    mut f: impl FnMut(bool, &'a [u8], &'a [u8]),
) -> R<()> {
    let mut c = Cur {
        buf: &frame[..h.header_end],
        pos: h.info_start,
        bounded: true,
        limits,
        base,
    };
    while c.pos < h.header_end {
        let id = c.varint(5)?;
        let persistent = match id {
            0 => break, // padding
            INFO_KEYVALUE => false,
            INFO_PKEYVALUE => true,
            _ => break, // unknown info id: the rest is opaque (as the reference readers do)
        };
        let count = c.varint(5)?;
        for _ in 0..count {
            let at = c.off();
            let kl = c.varint(5)? as usize;
            if kl > h.header_end {
                return Err(CodecError::malformed(at, "THeader key longer than header").into());
            }
            let k = c.bytes(kl)?;
            let at = c.off();
            let vl = c.varint(5)? as usize;
            if vl > h.header_end {
                return Err(CodecError::malformed(at, "THeader value longer than header").into());
            }
            let v = c.bytes(vl)?;
            f(persistent, k, v);
        }
    }
    Ok(())
}

/// Writes `frame` (a whole THeader frame with parsed header `h`) with `mutation` applied to
/// its non-persistent info headers (replace or append); payload bytes unchanged.
pub(crate) fn rebuild(
    frame: &[u8],
    h: &Header,
    limits: crate::Limits,
    mutation: &Mutation,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let mut kv: Vec<(&[u8], &[u8])> = Vec::new();
    let mut pkv: Vec<(&[u8], &[u8])> = Vec::new();
    for_each_info(frame, h, 0, limits, |p, k, v| {
        if p { pkv.push((k, v)) } else { kv.push((k, v)) }
    })
    .map_err(|e| match e {
        Stop::Err(e) => *e,
        Stop::More => CodecError::malformed(4, "truncated THeader header"),
    })?;
    for (k, v) in mutation.iter() {
        match kv.iter_mut().find(|(ok, _)| *ok == k.as_bytes()) {
            Some(slot) => slot.1 = v.as_bytes(),
            None => kv.push((k.as_bytes(), v.as_bytes())),
        }
    }
    let mut hdr = Vec::with_capacity(64);
    write_varint(&mut hdr, h.protocol_id);
    write_varint(&mut hdr, h.n_transforms as u64);
    for t in &h.transforms[..h.n_transforms] {
        write_varint(&mut hdr, *t);
    }
    for (id, list) in [(INFO_KEYVALUE, &kv), (INFO_PKEYVALUE, &pkv)] {
        if list.is_empty() {
            continue;
        }
        write_varint(&mut hdr, id);
        write_varint(&mut hdr, list.len() as u64);
        for (k, v) in list.iter() {
            write_varint(&mut hdr, k.len() as u64);
            hdr.extend_from_slice(k);
            write_varint(&mut hdr, v.len() as u64);
            hdr.extend_from_slice(v);
        }
    }
    while hdr.len() % 4 != 0 {
        hdr.push(0);
    }
    let words = hdr.len() / 4;
    if words > u16::MAX as usize {
        return Err(CodecError::MutationRefused {
            reason: "THeader header would exceed 262140 bytes".into(),
        });
    }
    let payload = &frame[h.header_end..];
    let len = 10 + hdr.len() + payload.len();
    if len > limits.max_frame_size || len > i32::MAX as usize {
        return Err(CodecError::MutationRefused {
            reason: "mutated frame would exceed the frame size limit".into(),
        });
    }
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&h.flags.to_be_bytes());
    out.extend_from_slice(&h.seqid.to_be_bytes());
    out.extend_from_slice(&(words as u16).to_be_bytes());
    out.extend_from_slice(&hdr);
    out.extend_from_slice(payload);
    Ok(())
}

/// Writes a THeader frame around `payload` with no transforms and no info headers.
pub(crate) fn frame_plain(
    out: &mut Vec<u8>,
    flags: u16,
    seqid: u32,
    protocol_id: u64,
    payload: &[u8],
) {
    let mut hdr = Vec::with_capacity(4);
    write_varint(&mut hdr, protocol_id);
    hdr.push(0); // no transforms
    while hdr.len() % 4 != 0 {
        hdr.push(0);
    }
    let len = 10 + hdr.len() + payload.len();
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&seqid.to_be_bytes());
    out.extend_from_slice(&((hdr.len() / 4) as u16).to_be_bytes());
    out.extend_from_slice(&hdr);
    out.extend_from_slice(payload);
}
