//! Fast, allocation-free body skippers. Positions are kept in locals; bytes are skipped by
//! length without touching them, and every read is bounds-checked, so a skip that overshoots
//! the input is caught by the next read (positions only grow, and each length is bounded by
//! the frame limit, so they cannot overflow).
//!
//! The struct loops give every common type its own branch that advances the position by a
//! constant (or by a length read at a known place), so the next field's position depends on
//! this field's type only through a branch. Messages of one method repeat their type sequence,
//! the branches are predicted, and the CPU runs ahead through the fields instead of waiting
//! for each type byte to load (a size table indexed by the type put that load on the critical
//! path: ~40% slower). The binary loop dispatches by a tree of compares: a jump table is one
//! indirect branch for every field, and its predictor lost type sequences with a period of
//! six fields (60 mixed scalar fields: 106 ns by jump table, 67 ns by compares). The compact
//! loop keeps its table (by compares it ran slower on the same message).
//!
//! A struct field opens the nested struct in the same loop (a depth counter; its STOP returns
//! to the enclosing struct). Containers of fixed-size values, strings and varints are skipped
//! inside the struct loop, containers of structs and of lists run those loops inline, and
//! other nested containers cost a call.

use crate::CodecError;

use super::read::{
    B_BOOL, B_BYTE, B_DOUBLE, B_I16, B_I32, B_I64, B_LIST, B_MAP, B_SET, B_STOP, B_STRING,
    B_STRUCT, B_UUID, C_BINARY, C_BYTE, C_DOUBLE, C_FALSE, C_I16, C_I32, C_I64, C_LIST, C_MAP,
    C_SET, C_STRUCT, C_TRUE, C_UUID, Ctx, R, Stop, be32, byte, skip_varint, varint32,
};

// ---------------------------------------------------------------- binary

/// Wire size of fixed-size binary types (0 = variable or invalid), for every byte value (no
/// bounds check on lookup).
const B_FIXED: [u8; 256] = {
    let mut t = [0; 256];
    t[B_BOOL as usize] = 1;
    t[B_BYTE as usize] = 1;
    t[B_DOUBLE as usize] = 8;
    t[B_I16 as usize] = 2;
    t[B_I32 as usize] = 4;
    t[B_I64 as usize] = 8;
    t[B_UUID as usize] = 16;
    t
};

/// log2 of [`B_FIXED`] (every fixed size is a power of two).
const B_SHIFT: [u8; 256] = {
    let mut t = [0; 256];
    let mut i = 0;
    while i < 256 {
        if B_FIXED[i] != 0 {
            t[i] = B_FIXED[i].trailing_zeros() as u8;
        }
        i += 1;
    }
    t
};

#[inline(always)]
fn b_fixed(t: u8) -> usize {
    B_FIXED[usize::from(t)] as usize
}

/// The largest string length a binary message may claim.
#[inline(always)]
fn b_max_str(cx: &Ctx) -> usize {
    cx.limits.max_frame_size.min(i32::MAX as usize)
}

/// Skips a binary string whose length word is at `pos`.
#[inline(always)]
fn binary_string(buf: &[u8], pos: usize, cx: &Ctx) -> R<usize> {
    match buf.get(pos..pos + 4) {
        Some(b) => {
            let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            if n > b_max_str(cx) {
                return Err(binary_bad_len(pos, n, cx));
            }
            Ok(pos + 4 + n)
        }
        None => Err(cx.eof(buf, pos + 4)),
    }
}

/// A string length word that is negative or over the frame limit.
#[cold]
#[inline(never)]
fn binary_bad_len(pos: usize, n: usize, cx: &Ctx) -> Stop {
    if n > i32::MAX as usize {
        cx.err(pos, |o| CodecError::malformed(o, "negative length"))
    } else {
        let limit = cx.limits.max_frame_size;
        cx.err(pos, |offset| CodecError::FrameTooLarge {
            offset,
            size: n as u64,
            limit,
        })
    }
}

/// Skips a binary struct starting at `pos` (nested at `depth`); returns the position after
/// its STOP.
#[inline(never)]
pub(crate) fn binary_struct(buf: &[u8], pos: usize, depth: usize, cx: &Ctx) -> R<usize> {
    binary_fields(buf, pos, depth, cx)
}

/// [`binary_struct`]'s loop, inlined where structs repeat (containers of structs).
///
/// A binary field is a type byte, a two-byte field id and the value, so `pos += 1 + 2 + size`
/// steps over a whole fixed-size field (`+ 7` for an i32 is 1 + 2 + 4), and a string's length
/// word is at `pos + 3`. The sums are written out as constants on purpose: a size looked up by
/// the type (a table, or `b_fixed`) puts a load on the chain from one field to the next, which
/// cost ~40%.
///
/// The dispatch is a tree of compares: range tests split the types, and no level tests `t`
/// for equality with more than three values. A longer chain of equality tests on one variable
/// is recognised by LLVM as a `switch` and lowered to a jump table (from four cases), which
/// brings back the one indirect branch per field this tree replaces. That branch's predictor lost type sequences with a period past a
/// few fields (60 mixed scalar fields: 106 ns by jump table, 67 ns by compares); conditional
/// branches are predicted from a longer history. Reordering, merging levels or rewriting this
/// as a `match` undoes it: check the instruction counts and the `thrift_decode` bench.
#[inline(always)]
fn binary_fields(buf: &[u8], mut pos: usize, base: usize, cx: &Ctx) -> R<usize> {
    cx.depth(buf, pos, base)?;
    // A struct field opens a nested struct in this same loop (its STOP returns to the
    // enclosing struct's next field): structs in structs cost no call.
    let mut depth = base;
    loop {
        let t = byte(buf, pos, cx)?;
        if t <= B_I32 {
            if t == B_I32 {
                pos += 7;
            } else if t < B_DOUBLE {
                if t >= B_BOOL {
                    pos += 4; // bool, byte
                } else if t == B_STOP {
                    if depth == base {
                        return Ok(pos + 1);
                    }
                    depth -= 1;
                    pos += 1;
                } else {
                    return Err(bad_b_type(pos, t, cx));
                }
            } else if t == B_DOUBLE {
                pos += 11;
            } else if t == B_I16 {
                pos += 5;
            } else {
                return Err(bad_b_type(pos, t, cx));
            }
        } else if t <= B_STRING {
            if t == B_STRING {
                pos = binary_string(buf, pos + 3, cx)?;
            } else if t == B_I64 {
                pos += 11;
            } else {
                return Err(bad_b_type(pos, t, cx));
            }
        } else if t <= B_MAP {
            if t == B_STRUCT {
                depth += 1;
                cx.depth(buf, pos + 3, depth)?;
                pos += 3;
            } else {
                pos = binary_map(buf, pos + 3, depth, cx)?;
            }
        } else if t <= B_LIST {
            pos = binary_list(buf, pos + 3, depth, cx)?; // set, list
        } else if t == B_UUID {
            pos += 19;
        } else {
            return Err(bad_b_type(pos, t, cx));
        }
    }
}

#[cold]
#[inline(never)]
fn bad_b_type(pos: usize, t: u8, cx: &Ctx) -> Stop {
    cx.err(pos, |o| {
        CodecError::malformed(o, format!("unknown binary type {t}"))
    })
}

/// Skips a list or set (header at `pos`) in a value nested at `depth`. Fixed-size elements
/// are skipped by length and strings in a loop, here; other elements by [`binary_elems`].
#[inline(always)]
fn binary_list(buf: &[u8], pos: usize, depth: usize, cx: &Ctx) -> R<usize> {
    cx.depth(buf, pos, depth + 1)?;
    let et = byte(buf, pos, cx)?;
    let n = binary_count(buf, pos + 1, pos, cx)?;
    let mut p = pos + 5;
    // The element type is checked by this dispatch. The next position waits for the count
    // load; a size looked up by the element type would add a second load to that wait, so the
    // common element types get constant sizes (by predicted branches). Other fixed sizes are
    // powers of two: a shift, not a multiply.
    if et == B_I32 {
        return Ok(p + n * 4);
    }
    if et == B_I64 {
        return Ok(p + n * 8);
    }
    if b_fixed(et) != 0 {
        return Ok(p + (n << B_SHIFT[usize::from(et)]));
    }
    match et {
        B_STRING => {
            for _ in 0..n {
                p = binary_string(buf, p, cx)?;
            }
            Ok(p)
        }
        B_STRUCT..=B_LIST => binary_elems(buf, p, et, n, depth + 1, cx),
        _ => Err(bad_b_elem(pos, et, cx)),
    }
}

/// `n` elements of type `t` (struct or container) in a container nested at `depth`.
#[inline(never)]
fn binary_elems(buf: &[u8], mut p: usize, t: u8, n: usize, depth: usize, cx: &Ctx) -> R<usize> {
    match t {
        B_STRUCT => {
            for _ in 0..n {
                p = binary_fields(buf, p, depth + 1, cx)?;
            }
        }
        // Lists of lists (matrices): the list header inline.
        B_SET | B_LIST => {
            for _ in 0..n {
                p = binary_list(buf, p, depth, cx)?;
            }
        }
        _ => {
            for _ in 0..n {
                p = binary_elem(buf, p, t, depth, cx)?;
            }
        }
    }
    Ok(p)
}

/// One container element of a type other than fixed-size (in a container nested at `depth`):
/// strings here, nested values by a call.
#[inline(always)]
fn binary_elem(buf: &[u8], p: usize, t: u8, depth: usize, cx: &Ctx) -> R<usize> {
    match t {
        B_STRING => binary_string(buf, p, cx),
        _ => binary_nested(buf, p, t, depth, cx),
    }
}

/// A struct or container element (type `t`, checked) in a container nested at `depth`.
#[inline(never)]
fn binary_nested(buf: &[u8], p: usize, t: u8, depth: usize, cx: &Ctx) -> R<usize> {
    match t {
        B_STRUCT => binary_struct(buf, p, depth + 1, cx),
        B_MAP => binary_map(buf, p, depth, cx),
        _ => binary_list(buf, p, depth, cx), // set, list: element types are checked
    }
}

/// Skips a map (header at `pos`) in a value nested at `depth`.
#[inline(always)]
fn binary_map(buf: &[u8], pos: usize, depth: usize, cx: &Ctx) -> R<usize> {
    cx.depth(buf, pos, depth + 1)?;
    let kt = byte(buf, pos, cx)?;
    let vt = byte(buf, pos + 1, cx)?;
    let n = binary_count(buf, pos + 2, pos, cx)?;
    let p = pos + 6;
    let (kf, vf) = (b_fixed(kt), b_fixed(vt));
    if kf != 0 && vf != 0 {
        return Ok(p + n * (kf + vf));
    }
    check_b_elem(pos, kt, cx)?;
    check_b_elem(pos + 1, vt, cx)?;
    binary_entries(buf, p, kt, vt, n, depth + 1, cx)
}

/// `n` map entries (at least one type not fixed-size) in a map nested at `depth`. Each entry
/// ends with a check against the input, so a long map over a short input stops early.
#[inline(never)]
fn binary_entries(
    buf: &[u8],
    mut p: usize,
    kt: u8,
    vt: u8,
    n: usize,
    depth: usize,
    cx: &Ctx,
) -> R<usize> {
    let (kf, vf) = (b_fixed(kt), b_fixed(vt));
    if vt == B_STRUCT && kf != 0 {
        // Structs by fixed-size keys (ids): the struct loop inlined here.
        for _ in 0..n {
            p = binary_fields(buf, p + kf, depth + 1, cx)?;
        }
        return Ok(p);
    }
    for _ in 0..n {
        p = if kf != 0 {
            p + kf
        } else {
            binary_elem(buf, p, kt, depth, cx)?
        };
        p = if vf != 0 {
            p + vf
        } else {
            binary_elem(buf, p, vt, depth, cx)?
        };
        if p > buf.len() {
            return Err(cx.eof(buf, p));
        }
    }
    Ok(p)
}

#[inline]
fn binary_count(buf: &[u8], pos: usize, at: usize, cx: &Ctx) -> R<usize> {
    let n = be32(buf, pos, cx)?;
    if n < 0 {
        return Err(cx.err(at, |o| CodecError::malformed(o, "negative collection size")));
    }
    cx.count(at, n as u64)
}

#[inline(always)]
fn check_b_elem(at: usize, t: u8, cx: &Ctx) -> R<()> {
    if b_fixed(t) != 0 || (B_STRING..=B_LIST).contains(&t) {
        Ok(())
    } else {
        Err(bad_b_elem(at, t, cx))
    }
}

#[cold]
#[inline(never)]
fn bad_b_elem(at: usize, t: u8, cx: &Ctx) -> Stop {
    cx.err(at, |o| {
        CodecError::malformed(o, format!("bad element type {t}"))
    })
}

// ---------------------------------------------------------------- compact

/// Skips a compact string (binary) whose varint length is at `pos`.
#[inline(always)]
fn compact_string(buf: &[u8], pos: usize, cx: &Ctx) -> R<usize> {
    match buf.get(pos) {
        Some(&n) if n < 0x80 => Ok(pos + 1 + cx.len(pos, u64::from(n))?),
        _ => {
            let (n, p) = varint32(buf, pos, cx)?;
            Ok(p + cx.len(pos, n)?)
        }
    }
}

/// Skips a compact struct starting at `pos` (nested at `depth`); returns the position after
/// its STOP.
#[inline(never)]
pub(crate) fn compact_struct(buf: &[u8], pos: usize, depth: usize, cx: &Ctx) -> R<usize> {
    compact_fields(buf, pos, depth, cx)
}

/// What a compact field header byte starts: the STOP byte, a long-form header (field id in a
/// varint after it), or a short-form field of one type. One lookup replaces the STOP test,
/// the long-form test and the type's range check; the enum has no other values, so the jump
/// table on it needs no bounds check.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
enum CField {
    Stop,
    Long,
    Bool,
    Byte,
    I16,
    I32,
    I64,
    Double,
    Binary,
    List,
    Map,
    Struct,
    Uuid,
    Bad,
}

const C_FIELD: [CField; 256] = {
    let mut t = [CField::Bad; 256];
    let mut h = 1;
    while h < 256 {
        t[h] = if h < 0x10 {
            CField::Long
        } else {
            match h as u8 & 0x0f {
                C_TRUE | C_FALSE => CField::Bool,
                C_BYTE => CField::Byte,
                C_I16 => CField::I16,
                C_I32 => CField::I32,
                C_I64 => CField::I64,
                C_DOUBLE => CField::Double,
                C_BINARY => CField::Binary,
                C_LIST | C_SET => CField::List,
                C_MAP => CField::Map,
                C_STRUCT => CField::Struct,
                C_UUID => CField::Uuid,
                _ => CField::Bad,
            }
        };
        h += 1;
    }
    t[0] = CField::Stop;
    t
};

/// [`compact_struct`]'s loop, inlined where structs repeat (containers of structs).
#[inline(always)]
fn compact_fields(buf: &[u8], mut pos: usize, base: usize, cx: &Ctx) -> R<usize> {
    cx.depth(buf, pos, base)?;
    // Nested structs in this same loop, as in [`binary_fields`].
    let mut depth = base;
    loop {
        let h = byte(buf, pos, cx)?;
        pos += 1;
        pos = match C_FIELD[usize::from(h)] {
            CField::Bool => pos, // the value lives in the type nibble
            CField::I32 => skip_varint(buf, pos, 5, cx)?,
            CField::Binary => compact_string(buf, pos, cx)?,
            CField::I64 => skip_varint(buf, pos, 10, cx)?,
            CField::Byte => pos + 1,
            CField::I16 => skip_varint(buf, pos, 3, cx)?,
            CField::Double => pos + 8,
            CField::Uuid => pos + 16,
            CField::Struct => {
                depth += 1;
                cx.depth(buf, pos, depth)?;
                pos
            }
            CField::List => compact_list(buf, pos, depth, cx)?,
            CField::Map => compact_map(buf, pos, depth, cx)?,
            CField::Stop if depth == base => return Ok(pos),
            CField::Stop => {
                depth -= 1;
                pos
            }
            CField::Long => compact_long_field(buf, pos, h & 0x0f, depth, cx)?,
            CField::Bad => return Err(bad_c_type(pos, h & 0x0f, cx)),
        };
    }
}

/// A long-form field (type `t`, its field id a varint at `pos`) of a struct nested at
/// `depth`: rare (ids that jump by more than 15), so out of the loop.
#[inline(never)]
fn compact_long_field(buf: &[u8], pos: usize, t: u8, depth: usize, cx: &Ctx) -> R<usize> {
    let pos = skip_varint(buf, pos, 3, cx)?;
    match t {
        C_TRUE | C_FALSE => Ok(pos),
        C_STRUCT => compact_struct(buf, pos, depth + 1, cx),
        C_LIST | C_SET => compact_list(buf, pos, depth, cx),
        C_MAP => compact_map(buf, pos, depth, cx),
        _ => match compact_scalar(buf, pos, t, cx) {
            Some(r) => r,
            None => Err(bad_c_type(pos, t, cx)),
        },
    }
}

#[cold]
#[inline(never)]
fn bad_c_type(pos: usize, t: u8, cx: &Ctx) -> Stop {
    cx.err(pos, |o| {
        CodecError::malformed(o, format!("unknown compact type {t}"))
    })
}

/// Skips one compact scalar of type `t` (in a container, bools take a byte); `None` for
/// structs and containers.
#[inline(always)]
fn compact_scalar(buf: &[u8], pos: usize, t: u8, cx: &Ctx) -> Option<R<usize>> {
    Some(match t {
        C_I32 => skip_varint(buf, pos, 5, cx),
        C_BINARY => compact_string(buf, pos, cx),
        C_I64 => skip_varint(buf, pos, 10, cx),
        C_TRUE..=C_BYTE => Ok(pos + 1),
        C_I16 => skip_varint(buf, pos, 3, cx),
        C_DOUBLE => Ok(pos + 8),
        C_UUID => Ok(pos + 16),
        _ => return None,
    })
}

/// Skips a list or set (header at `pos`) in a value nested at `depth`. Fixed-size elements
/// are skipped by length and scalars in a loop, here; structs and containers by
/// [`compact_elems`].
#[inline(always)]
fn compact_list(buf: &[u8], pos: usize, depth: usize, cx: &Ctx) -> R<usize> {
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
        C_TRUE..=C_BYTE => Ok(p + n),
        C_DOUBLE => Ok(p + n * 8),
        C_UUID => Ok(p + n * 16),
        C_I16 | C_I32 | C_I64 | C_BINARY => {
            for _ in 0..n {
                p = match et {
                    C_I32 => skip_varint(buf, p, 5, cx)?,
                    C_BINARY => compact_string(buf, p, cx)?,
                    C_I64 => skip_varint(buf, p, 10, cx)?,
                    _ => skip_varint(buf, p, 3, cx)?,
                };
            }
            Ok(p)
        }
        _ => compact_elems(buf, p, et, n, depth + 1, cx), // list..=struct (types are checked)
    }
}

/// `n` elements of type `t` (struct or container) in a container nested at `depth`.
#[inline(never)]
fn compact_elems(buf: &[u8], mut p: usize, t: u8, n: usize, depth: usize, cx: &Ctx) -> R<usize> {
    match t {
        C_STRUCT => {
            for _ in 0..n {
                p = compact_fields(buf, p, depth + 1, cx)?;
            }
        }
        // Lists of lists (matrices): the list header inline.
        C_LIST | C_SET => {
            for _ in 0..n {
                p = compact_list(buf, p, depth, cx)?;
            }
        }
        _ => {
            for _ in 0..n {
                p = compact_elem(buf, p, t, depth, cx)?;
            }
        }
    }
    Ok(p)
}

/// One container element (in a container nested at `depth`): scalars here, nested values by
/// a call (inlining the container loops at every element site only bloats the code).
#[inline(always)]
fn compact_elem(buf: &[u8], p: usize, t: u8, depth: usize, cx: &Ctx) -> R<usize> {
    if let Some(r) = compact_scalar(buf, p, t, cx) {
        return r;
    }
    compact_nested(buf, p, t, depth, cx)
}

/// A struct or container element (type `t`, checked) in a container nested at `depth`.
#[inline(never)]
fn compact_nested(buf: &[u8], p: usize, t: u8, depth: usize, cx: &Ctx) -> R<usize> {
    match t {
        C_STRUCT => compact_struct(buf, p, depth + 1, cx),
        C_MAP => compact_map(buf, p, depth, cx),
        _ => compact_list(buf, p, depth, cx), // list, set: element types are checked
    }
}

/// Skips a map (header at `pos`) in a value nested at `depth`.
#[inline(always)]
fn compact_map(buf: &[u8], pos: usize, depth: usize, cx: &Ctx) -> R<usize> {
    cx.depth(buf, pos, depth + 1)?;
    let (n, p) = varint32(buf, pos, cx)?;
    let n = cx.count(pos, n)?;
    if n == 0 {
        return Ok(p);
    }
    let kv = byte(buf, p, cx)?;
    let (kt, vt) = (kv >> 4, kv & 0x0f);
    check_c_elem(pos, kt, cx)?;
    check_c_elem(pos, vt, cx)?;
    compact_entries(buf, p + 1, kt, vt, n, depth + 1, cx)
}

/// `n` map entries in a map nested at `depth`.
#[inline(never)]
fn compact_entries(
    buf: &[u8],
    mut p: usize,
    kt: u8,
    vt: u8,
    n: usize,
    depth: usize,
    cx: &Ctx,
) -> R<usize> {
    if vt == C_STRUCT {
        // Struct values (by ids, names): the struct loop inlined here.
        for _ in 0..n {
            p = compact_elem(buf, p, kt, depth, cx)?;
            p = compact_fields(buf, p, depth + 1, cx)?;
        }
        return Ok(p);
    }
    for _ in 0..n {
        p = compact_elem(buf, p, kt, depth, cx)?;
        p = compact_elem(buf, p, vt, depth, cx)?;
    }
    Ok(p)
}

#[inline]
fn check_c_elem(at: usize, t: u8, cx: &Ctx) -> R<()> {
    if (C_TRUE..=C_UUID).contains(&t) {
        Ok(())
    } else {
        Err(cx.err(at, |o| {
            CodecError::malformed(o, format!("bad element type {t}"))
        }))
    }
}
