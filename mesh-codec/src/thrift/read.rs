//! The low-level read layer under the message reader (`wire`) and the body skippers (`skip`):
//! why a read stops ([`Stop`]), the one rule for running out of input, the cursor, the
//! position-based readers the skippers use, the varint readers, and the wire type ids.

use crate::{CodecError, Limits};

/// Why a read stopped: the input ends early (only when the end is not known) or an error.
#[derive(Debug)]
pub(crate) enum Stop {
    More,
    /// Boxed so that the hot `Result`s stay two words wide.
    Err(Box<CodecError>),
}

impl From<CodecError> for Stop {
    #[cold]
    fn from(e: CodecError) -> Self {
        Stop::Err(Box::new(e))
    }
}

pub(crate) type R<T> = Result<T, Stop>;

// ---------------------------------------------------------------- type ids

/// Binary protocol field and element types.
pub(crate) const B_STOP: u8 = 0;
pub(crate) const B_BOOL: u8 = 2;
pub(crate) const B_BYTE: u8 = 3;
pub(crate) const B_DOUBLE: u8 = 4;
pub(crate) const B_I16: u8 = 6;
pub(crate) const B_I32: u8 = 8;
pub(crate) const B_I64: u8 = 10;
pub(crate) const B_STRING: u8 = 11;
pub(crate) const B_STRUCT: u8 = 12;
pub(crate) const B_MAP: u8 = 13;
pub(crate) const B_SET: u8 = 14;
pub(crate) const B_LIST: u8 = 15;
pub(crate) const B_UUID: u8 = 16;

/// Compact protocol types (the low nibble of a field header or element type).
pub(crate) const C_STOP: u8 = 0;
pub(crate) const C_TRUE: u8 = 1;
pub(crate) const C_FALSE: u8 = 2;
pub(crate) const C_BYTE: u8 = 3;
pub(crate) const C_I16: u8 = 4;
pub(crate) const C_I32: u8 = 5;
pub(crate) const C_I64: u8 = 6;
pub(crate) const C_DOUBLE: u8 = 7;
pub(crate) const C_BINARY: u8 = 8;
pub(crate) const C_LIST: u8 = 9;
pub(crate) const C_SET: u8 = 10;
pub(crate) const C_MAP: u8 = 11;
pub(crate) const C_STRUCT: u8 = 12;
pub(crate) const C_UUID: u8 = 13;

// ---------------------------------------------------------------- end of input

/// The one rule for a read that needs bytes up to `claim` (absolute) the input does not hold:
/// inside a frame (`bounded`) the message is malformed (reported at `at`); otherwise a claim
/// past the frame size limit is `FrameTooLarge` (reported at `region`) and anything else
/// waits for more input.
#[inline]
fn past_end(bounded: bool, limits: &Limits, claim: usize, at: usize, region: usize) -> Stop {
    if bounded {
        CodecError::malformed(at, "value runs past the end of the frame").into()
    } else if claim > limits.max_frame_size {
        CodecError::FrameTooLarge {
            offset: region,
            size: claim as u64,
            limit: limits.max_frame_size,
        }
        .into()
    } else {
        Stop::More
    }
}

// ---------------------------------------------------------------- position readers

/// What the position-based readers (the body skippers) need besides the bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub limits: Limits,
    /// The input ends where the message must end (a frame): running out is malformed.
    pub bounded: bool,
    /// Added to positions in errors.
    pub base: usize,
}

impl Ctx {
    /// The input ended at `pos` (or a value claims bytes up to `pos`). A claim past the limit
    /// is reported at the start of the walked region: the claim `pos` is the same however
    /// much input is buffered, but `buf.len()` is not (chunked and whole decodes must give
    /// the same error).
    #[cold]
    #[inline(never)]
    pub fn eof(&self, buf: &[u8], pos: usize) -> Stop {
        past_end(
            self.bounded,
            &self.limits,
            self.base.saturating_add(pos),
            self.base + pos.min(buf.len()),
            self.base,
        )
    }

    #[cold]
    #[inline(never)]
    pub fn err(&self, pos: usize, e: impl FnOnce(usize) -> CodecError) -> Stop {
        e(self.base + pos).into()
    }

    /// A byte length read at `at`, checked against the frame size limit.
    #[inline]
    pub fn len(&self, at: usize, n: u64) -> R<usize> {
        if n > self.limits.max_frame_size as u64 {
            let limit = self.limits.max_frame_size;
            return Err(self.err(at, |offset| CodecError::FrameTooLarge {
                offset,
                size: n,
                limit,
            }));
        }
        Ok(n as usize)
    }

    /// An element count read at `at`, checked against the element limit.
    #[inline]
    pub fn count(&self, at: usize, n: u64) -> R<usize> {
        if n > self.limits.max_elements as u64 {
            let limit = self.limits.max_elements;
            return Err(self.err(at, |offset| CodecError::TooManyElements {
                offset,
                count: n,
                limit,
            }));
        }
        Ok(n as usize)
    }

    /// Checks the nesting depth of a value starting at `at`. Fixed-size values are skipped
    /// without reading them, so `at` may lie past the input: then the value has not arrived
    /// yet, and the answer is "more data" (or end of frame), never an offset outside the input.
    #[inline]
    pub fn depth(&self, buf: &[u8], at: usize, depth: usize) -> R<()> {
        if depth > self.limits.max_depth {
            if at > buf.len() {
                return Err(self.eof(buf, at));
            }
            let limit = self.limits.max_depth;
            return Err(self.err(at, |offset| CodecError::DepthExceeded { offset, limit }));
        }
        Ok(())
    }
}

/// The byte at `pos`.
#[inline(always)]
pub(crate) fn byte(buf: &[u8], pos: usize, cx: &Ctx) -> R<u8> {
    match buf.get(pos) {
        Some(&b) => Ok(b),
        None => Err(cx.eof(buf, pos)),
    }
}

/// The big-endian i32 at `pos`.
#[inline(always)]
pub(crate) fn be32(buf: &[u8], pos: usize, cx: &Ctx) -> R<i32> {
    match buf.get(pos..pos + 4) {
        Some(b) => Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(cx.eof(buf, pos + 4)),
    }
}

// ---------------------------------------------------------------- varints

/// Skips a varint of at most `max` bytes. Values of up to five bytes (every i16 and i32) by a
/// byte test each: a field's values tend to keep their length, so these branches are predicted
/// and the next position is a constant away, off the chain of loads. Longer ones (i64), with
/// eight bytes in the buffer, by the position of the first byte without the continuation bit
/// in one word, found without a branch per byte. (An eight-byte load for every multi-byte value
/// was slower and depended on where the message lay in memory: a load across a cache line or
/// page costs more, 101–117 ns for one compact message at eight offsets.)
#[inline(always)]
pub(crate) fn skip_varint(buf: &[u8], pos: usize, max: usize, cx: &Ctx) -> R<usize> {
    // Unrolled; a byte before `pos + k` had its continuation bit set, or was missing (then so
    // is every later one).
    for k in 0..max.min(5) {
        match buf.get(pos + k) {
            Some(&b) if b < 0x80 => return Ok(pos + k + 1),
            Some(_) => {}
            None => break,
        }
    }
    if let Some(w) = buf
        .get(pos..pos + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
    {
        let last = !u64::from_le_bytes(w) & 0x8080_8080_8080_8080;
        let n = (last.trailing_zeros() as usize >> 3) + 1;
        if last != 0 && n <= max {
            return Ok(pos + n);
        }
    }
    skip_long_varint(buf, pos, max, cx)
}

#[inline(never)]
fn skip_long_varint(buf: &[u8], mut pos: usize, max: usize, cx: &Ctx) -> R<usize> {
    let start = pos;
    loop {
        let b = byte(buf, pos, cx)?;
        pos += 1;
        if b & 0x80 == 0 {
            return Ok(pos);
        }
        if pos - start >= max {
            return Err(cx.err(start, |o| CodecError::malformed(o, "varint too long")));
        }
    }
}

/// Reads a varint of at most 5 bytes at `pos`; returns it and the position after it.
#[inline(always)]
pub(crate) fn varint32(buf: &[u8], mut pos: usize, cx: &Ctx) -> R<(u64, usize)> {
    let start = pos;
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = byte(buf, pos, cx)?;
        pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok((v, pos));
        }
        shift += 7;
        if shift >= 35 {
            return Err(cx.err(start, |o| CodecError::malformed(o, "varint too long")));
        }
    }
}

// ---------------------------------------------------------------- cursor

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

    /// What the position readers need of this cursor besides the bytes.
    #[inline]
    pub fn ctx(&self) -> Ctx {
        Ctx {
            limits: self.limits,
            bounded: self.bounded,
            base: self.base,
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

    /// The read at the cursor needs bytes up to `end`: reported where the read starts.
    #[cold]
    fn past_end(&self, end: usize) -> Stop {
        past_end(
            self.bounded,
            &self.limits,
            self.base + end,
            self.off(),
            self.off(),
        )
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
    pub fn check_len(&self, at: usize, len: i64) -> R<usize> {
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
}
