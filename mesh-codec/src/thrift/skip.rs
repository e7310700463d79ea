//! Fast, allocation-free body skippers. Positions are kept in locals; bytes are skipped by
//! length without touching them, and every read is bounds-checked, so a skip that overshoots
//! the input is caught by the next read (positions only grow, and each length is bounded by
//! the frame limit, so they cannot overflow).

use crate::{CodecError, Limits};

use super::wire::{R, Stop};

/// What a skip needs besides the bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub limits: Limits,
    /// The input ends where the message must end (a frame): running out is malformed.
    pub bounded: bool,
    /// Added to positions in errors.
    pub base: usize,
}

impl Ctx {
    /// The input ended at `pos` (or a value claims bytes up to `pos`).
    #[cold]
    #[inline(never)]
    fn eof(&self, buf: &[u8], pos: usize) -> Stop {
        if self.bounded {
            CodecError::malformed(
                self.base + pos.min(buf.len()),
                "value runs past the end of the frame",
            )
            .into()
        } else if self.base.saturating_add(pos) > self.limits.max_frame_size {
            // Reported at the start of the walked region: the claim `pos` is the same however
            // much input is buffered, but `buf.len()` is not (chunked and whole decodes must
            // give the same error).
            CodecError::FrameTooLarge {
                offset: self.base,
                size: self.base.saturating_add(pos) as u64,
                limit: self.limits.max_frame_size,
            }
            .into()
        } else {
            Stop::More
        }
    }

    #[cold]
    #[inline(never)]
    fn err(&self, pos: usize, e: impl FnOnce(usize) -> CodecError) -> Stop {
        e(self.base + pos).into()
    }

    #[inline]
    fn len(&self, buf: &[u8], at: usize, n: u64) -> R<usize> {
        if n > self.limits.max_frame_size as u64 {
            let limit = self.limits.max_frame_size;
            return Err(self.err(at, |offset| CodecError::FrameTooLarge {
                offset,
                size: n,
                limit,
            }));
        }
        let _ = buf;
        Ok(n as usize)
    }

    #[inline]
    fn count(&self, at: usize, n: u64) -> R<usize> {
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
    fn depth(&self, buf: &[u8], at: usize, depth: usize) -> R<()> {
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

#[inline(always)]
fn byte(buf: &[u8], pos: usize, cx: &Ctx) -> R<u8> {
    match buf.get(pos) {
        Some(&b) => Ok(b),
        None => Err(cx.eof(buf, pos)),
    }
}

#[inline(always)]
fn be32(buf: &[u8], pos: usize, cx: &Ctx) -> R<i32> {
    match buf.get(pos..pos + 4) {
        Some(b) => Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(cx.eof(buf, pos + 4)),
    }
}

// ---------------------------------------------------------------- binary

/// Wire size of fixed-size binary types (0 = variable or invalid).
const B_FIXED: [u8; 17] = [0, 0, 1, 1, 8, 0, 2, 0, 4, 0, 8, 0, 0, 0, 0, 0, 16];

#[inline(always)]
fn b_fixed(t: u8) -> usize {
    B_FIXED.get(t as usize).copied().unwrap_or(0) as usize
}

/// Skips a binary struct starting at `pos`; returns the position after its STOP.
pub(crate) fn binary_struct(buf: &[u8], mut pos: usize, depth: usize, cx: &Ctx) -> R<usize> {
    cx.depth(buf, pos, depth)?;
    loop {
        let t = byte(buf, pos, cx)?;
        if t == 0 {
            return Ok(pos + 1);
        }
        pos += 3;
        // Fixed-size values and strings (the common fields) share one branch-light path:
        // a string's length word is read speculatively (0 when missing: the next read then
        // fails at the right place).
        let fixed = b_fixed(t);
        let is_str = t == 11;
        if fixed != 0 || is_str {
            let word = match buf.get(pos..pos + 4) {
                Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                None => 0,
            };
            let slen = if is_str { 4 + word as usize } else { 0 };
            if is_str && word as usize > cx.limits.max_frame_size.min(i32::MAX as usize) {
                return binary_value(buf, pos, t, depth, cx); // reports the error
            }
            pos += fixed + slen;
        } else if t == 12 {
            pos = binary_struct(buf, pos, depth + 1, cx)?; // what `binary_value` does for 12
        } else {
            pos = binary_value(buf, pos, t, depth, cx)?;
        }
    }
}

/// Skips one variable-size binary value (string, struct, containers).
fn binary_value(buf: &[u8], pos: usize, t: u8, depth: usize, cx: &Ctx) -> R<usize> {
    match t {
        11 => {
            let n = be32(buf, pos, cx)?;
            if n < 0 {
                return Err(cx.err(pos, |o| CodecError::malformed(o, "negative length")));
            }
            let n = cx.len(buf, pos, n as u64)?;
            Ok(pos + 4 + n)
        }
        12 => binary_struct(buf, pos, depth + 1, cx),
        13 => {
            cx.depth(buf, pos, depth + 1)?;
            let kt = byte(buf, pos, cx)?;
            let vt = byte(buf, pos + 1, cx)?;
            let n = binary_count(buf, pos + 2, pos, cx)?;
            check_b_elem(pos, kt, cx)?;
            check_b_elem(pos + 1, vt, cx)?;
            let mut p = pos + 6;
            let (kf, vf) = (b_fixed(kt), b_fixed(vt));
            if kf != 0 && vf != 0 {
                return Ok(p + n * (kf + vf));
            }
            for _ in 0..n {
                p = if kf != 0 {
                    p + kf
                } else {
                    binary_elem(buf, p, kt, depth + 1, cx)?
                };
                p = if vf != 0 {
                    p + vf
                } else {
                    binary_elem(buf, p, vt, depth + 1, cx)?
                };
                if p > buf.len() {
                    return Err(cx.eof(buf, p));
                }
            }
            Ok(p)
        }
        14 | 15 => {
            cx.depth(buf, pos, depth + 1)?;
            let et = byte(buf, pos, cx)?;
            let n = binary_count(buf, pos + 1, pos, cx)?;
            check_b_elem(pos, et, cx)?;
            let mut p = pos + 5;
            let f = b_fixed(et);
            if f != 0 {
                return Ok(p + n * f);
            }
            for _ in 0..n {
                p = binary_elem(buf, p, et, depth + 1, cx)?;
            }
            Ok(p)
        }
        _ => Err(cx.err(pos - 3, |o| {
            CodecError::malformed(o, format!("unknown binary type {t}"))
        })),
    }
}

/// A variable-size container element: strings inline, structs directly, the rest by call.
#[inline(always)]
fn binary_elem(buf: &[u8], p: usize, t: u8, depth: usize, cx: &Ctx) -> R<usize> {
    if t == 11
        && let Some(b) = buf.get(p..p + 4)
    {
        let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if n <= cx.limits.max_frame_size.min(i32::MAX as usize) {
            return Ok(p + 4 + n);
        }
    }
    if t == 12 {
        return binary_struct(buf, p, depth + 1, cx); // what `binary_value` does for 12
    }
    binary_value(buf, p, t, depth, cx)
}

#[inline]
fn binary_count(buf: &[u8], pos: usize, at: usize, cx: &Ctx) -> R<usize> {
    let n = be32(buf, pos, cx)?;
    if n < 0 {
        return Err(cx.err(at, |o| CodecError::malformed(o, "negative collection size")));
    }
    cx.count(at, n as u64)
}

#[inline]
fn check_b_elem(at: usize, t: u8, cx: &Ctx) -> R<()> {
    if b_fixed(t) != 0 || (11..=15).contains(&t) {
        Ok(())
    } else {
        Err(cx.err(at, |o| {
            CodecError::malformed(o, format!("bad element type {t}"))
        }))
    }
}

// ---------------------------------------------------------------- compact

/// Skips a varint of at most `max` bytes.
#[inline(always)]
fn skip_varint(buf: &[u8], mut pos: usize, max: usize, cx: &Ctx) -> R<usize> {
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

/// Reads a varint of at most 5 bytes.
#[inline(always)]
fn varint32(buf: &[u8], mut pos: usize, cx: &Ctx) -> R<(u64, usize)> {
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

/// Skips a compact struct starting at `pos`; returns the position after its STOP.
pub(crate) fn compact_struct(buf: &[u8], mut pos: usize, depth: usize, cx: &Ctx) -> R<usize> {
    cx.depth(buf, pos, depth)?;
    loop {
        let h = byte(buf, pos, cx)?;
        if h == 0 {
            return Ok(pos + 1);
        }
        pos += 1;
        if h & 0xf0 == 0 {
            pos = skip_varint(buf, pos, 3, cx)?; // long-form field id
        }
        let t = h & 0x0f;
        pos = match t {
            1 | 2 => pos, // bool value lives in the type nibble
            3 => pos + 1,
            4 => skip_varint(buf, pos, 3, cx)?,
            5 => skip_varint(buf, pos, 5, cx)?,
            6 => skip_varint(buf, pos, 10, cx)?,
            7 => pos + 8,
            _ => compact_elem(buf, pos, t, depth, cx)?,
        };
    }
}

/// Skips one compact value (in a container, bools are one byte).
fn compact_value(buf: &[u8], pos: usize, t: u8, depth: usize, cx: &Ctx) -> R<usize> {
    match t {
        1..=3 => Ok(pos + 1),
        4 => skip_varint(buf, pos, 3, cx),
        5 => skip_varint(buf, pos, 5, cx),
        6 => skip_varint(buf, pos, 10, cx),
        7 => Ok(pos + 8),
        13 => Ok(pos + 16),
        8 => {
            let (n, p) = varint32(buf, pos, cx)?;
            let n = cx.len(buf, pos, n)?;
            Ok(p + n)
        }
        12 => compact_struct(buf, pos, depth + 1, cx),
        9 | 10 => {
            cx.depth(buf, pos, depth + 1)?;
            let h = byte(buf, pos, cx)?;
            let et = h & 0x0f;
            let (n, mut p) = if h >> 4 == 15 {
                varint32(buf, pos + 1, cx)?
            } else {
                (u64::from(h >> 4), pos + 1)
            };
            let n = cx.count(pos, n)?;
            check_c_elem(pos, et, cx)?;
            match et {
                1..=3 => return Ok(p + n),
                7 => return Ok(p + n * 8),
                13 => return Ok(p + n * 16),
                _ => {}
            }
            for _ in 0..n {
                p = compact_elem(buf, p, et, depth + 1, cx)?;
            }
            Ok(p)
        }
        11 => {
            cx.depth(buf, pos, depth + 1)?;
            let (n, mut p) = varint32(buf, pos, cx)?;
            let n = cx.count(pos, n)?;
            if n == 0 {
                return Ok(p);
            }
            let kv = byte(buf, p, cx)?;
            p += 1;
            let (kt, vt) = (kv >> 4, kv & 0x0f);
            check_c_elem(pos, kt, cx)?;
            check_c_elem(pos, vt, cx)?;
            for _ in 0..n {
                p = compact_elem(buf, p, kt, depth + 1, cx)?;
                p = compact_elem(buf, p, vt, depth + 1, cx)?;
            }
            Ok(p)
        }
        _ => Err(cx.err(pos, |o| {
            CodecError::malformed(o, format!("unknown compact type {t}"))
        })),
    }
}

/// `compact_value` with strings, structs, i32 and i64 handled without its dispatch (same results).
#[inline(always)]
fn compact_elem(buf: &[u8], pos: usize, t: u8, depth: usize, cx: &Ctx) -> R<usize> {
    match t {
        8 => {
            let (n, p) = varint32(buf, pos, cx)?;
            let n = cx.len(buf, pos, n)?;
            Ok(p + n)
        }
        12 => compact_struct(buf, pos, depth + 1, cx),
        5 => skip_varint(buf, pos, 5, cx),
        6 => skip_varint(buf, pos, 10, cx),
        _ => compact_value(buf, pos, t, depth, cx),
    }
}

#[inline]
fn check_c_elem(at: usize, t: u8, cx: &Ctx) -> R<()> {
    if (1..=13).contains(&t) {
        Ok(())
    } else {
        Err(cx.err(at, |o| {
            CodecError::malformed(o, format!("bad element type {t}"))
        }))
    }
}
