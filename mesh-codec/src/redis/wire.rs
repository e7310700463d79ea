//! RESP wire primitives and the allocation-free message scanner used on the metadata path.

use crate::{CodecError, Limits};

/// Outcome of scanning a prefix of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step<T> {
    Done(T),
    /// More input is needed; the value, when known, is a lower bound of the message length.
    Need(Option<usize>),
}

/// RESP type names, as reported in the `type` typed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RespType {
    SimpleString,
    Error,
    Integer,
    BulkString,
    Array,
    #[default]
    Null,
    Map,
    Set,
    Double,
    Boolean,
    VerbatimString,
    BigNumber,
    Push,
    Attribute,
    BlobError,
}

impl RespType {
    /// The snake_case name (`simple_string`, `bulk_string`, `push`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RespType::SimpleString => "simple_string",
            RespType::Error => "error",
            RespType::Integer => "integer",
            RespType::BulkString => "bulk_string",
            RespType::Array => "array",
            RespType::Null => "null",
            RespType::Map => "map",
            RespType::Set => "set",
            RespType::Double => "double",
            RespType::Boolean => "boolean",
            RespType::VerbatimString => "verbatim_string",
            RespType::BigNumber => "big_number",
            RespType::Push => "push",
            RespType::Attribute => "attribute",
            RespType::BlobError => "blob_error",
        }
    }

    /// True for error replies (simple and blob).
    pub fn is_error(self) -> bool {
        matches!(self, RespType::Error | RespType::BlobError)
    }
}

pub(crate) fn malformed(offset: usize, reason: &'static str) -> CodecError {
    CodecError::malformed(offset, reason)
}

/// Parses a signed decimal integer terminated by CRLF, starting at `pos`.
/// Returns the value and the position after the CRLF, or `None` when the line is incomplete.
/// Never scans more than 21 bytes: longer numbers overflow and are rejected.
#[inline]
pub(crate) fn int_line(buf: &[u8], pos: usize) -> Result<Option<(i64, usize)>, CodecError> {
    let mut i = pos;
    let neg = match buf.get(i) {
        None => return Ok(None),
        Some(b'-') => {
            i += 1;
            true
        }
        Some(_) => false,
    };
    let digits = i;
    let mut v: i64 = 0;
    loop {
        let Some(&b) = buf.get(i) else {
            return Ok(None);
        };
        match b {
            b'0'..=b'9' => {
                let d = i64::from(b - b'0');
                let next = v.checked_mul(10).and_then(|v| {
                    if neg {
                        v.checked_sub(d)
                    } else {
                        v.checked_add(d)
                    }
                });
                v = next.ok_or_else(|| malformed(pos, "integer out of range"))?;
                i += 1;
            }
            b'\r' if i > digits => {
                return match buf.get(i + 1) {
                    None => Ok(None),
                    Some(b'\n') => Ok(Some((v, i + 2))),
                    Some(_) => Err(malformed(i + 1, "expected LF after CR")),
                };
            }
            _ => return Err(malformed(i, "invalid integer")),
        }
    }
}

/// Finds the CRLF ending a line that starts at `pos`; returns the index of the CR.
/// A bare CR or LF inside the line is malformed.
#[inline]
pub(crate) fn line_end(
    buf: &[u8],
    pos: usize,
    msg_start: usize,
    limits: &Limits,
) -> Result<Option<usize>, CodecError> {
    line_end_from(buf, pos, msg_start, limits)
}

#[cfg(test)]
thread_local! {
    /// Bytes `line_end_from` searched on this thread (the complexity tests count them).
    pub(crate) static LINE_BYTES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// [`line_end`] for a line whose bytes before `from` (≥ its start) are known to hold no CR
/// or LF: the search starts there.
#[inline]
fn line_end_from(
    buf: &[u8],
    from: usize,
    msg_start: usize,
    limits: &Limits,
) -> Result<Option<usize>, CodecError> {
    #[cfg(test)]
    LINE_BYTES.with(|c| c.set(c.get() + (buf.len() - from) as u64));
    match buf[from..].iter().position(|&b| b == b'\r' || b == b'\n') {
        Some(rel) => {
            let cr = from + rel;
            if buf[cr] == b'\n' {
                return Err(malformed(cr, "LF without CR inside a line"));
            }
            match buf.get(cr + 1) {
                None => Ok(None),
                Some(b'\n') => Ok(Some(cr)),
                Some(_) => Err(malformed(cr + 1, "expected LF after CR")),
            }
        }
        None => {
            if buf.len() - msg_start > limits.max_frame_size {
                return Err(CodecError::FrameTooLarge {
                    offset: msg_start,
                    size: (buf.len() - msg_start) as u64,
                    limit: limits.max_frame_size,
                });
            }
            Ok(None)
        }
    }
}

fn valid_double(s: &[u8]) -> bool {
    parse_double(s).is_some()
}

/// A RESP3 double: `inf`, `-inf`, `nan` or a decimal number. One rule for the metadata
/// scanner and the value decoder, so they always agree on where a reply ends.
pub(crate) fn parse_double(l: &[u8]) -> Option<f64> {
    match l {
        b"inf" | b"+inf" => Some(f64::INFINITY),
        b"-inf" => Some(f64::NEG_INFINITY),
        b"nan" | b"-nan" => Some(f64::NAN),
        _ => {
            // Rust's parser also takes words such as "infinity": only digits and their marks.
            if !l.iter().any(u8::is_ascii_digit)
                || !l
                    .iter()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                return None;
            }
            std::str::from_utf8(l).ok()?.parse().ok()
        }
    }
}

fn valid_big_number(s: &[u8]) -> bool {
    let digits = match s.first() {
        Some(b'-' | b'+') => &s[1..],
        _ => s,
    };
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// What the scanner learned about one whole RESP value (plus any leading attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Scan {
    /// Length of the message in bytes.
    pub end: usize,
    /// Type of the first frame (`Attribute` when the reply carries one).
    pub first: RespType,
    /// Type of the reply proper (after any top-level attribute).
    pub value: RespType,
    /// Offset where the reply proper starts.
    pub value_at: usize,
    /// Element count of the reply proper when it is an aggregate (pairs for maps), else 0.
    pub count: u64,
    /// Payload length of the reply proper when it is a blob, else 0.
    pub body: usize,
}

const ATTR: u64 = 1 << 63;

fn check_frame(total: u64, limits: &Limits, at: usize) -> Result<(), CodecError> {
    if total > limits.max_frame_size as u64 {
        return Err(CodecError::FrameTooLarge {
            offset: at,
            size: total,
            limit: limits.max_frame_size,
        });
    }
    Ok(())
}

/// Scans one whole RESP2/RESP3 value from the front of `buf` without allocating (the `stack`
/// is reused across calls). Blob payloads are skipped by length.
pub(crate) fn scan_value(
    buf: &[u8],
    limits: &Limits,
    state: &mut ScanState,
) -> Result<Step<Scan>, CodecError> {
    let fp_len = buf.len().min(FINGERPRINT);
    let resumable = state.active
        && buf.len() >= state.pos
        && buf.len() >= state.fp_len
        && buf[..state.fp_len] == state.fp[..state.fp_len];
    state.active = false;
    if !resumable {
        state.stack.clear();
        state.pos = 0;
        state.first = None;
        state.have_value = false;
        state.scan = Scan::default();
        state.line_scanned = 0;
    }
    let r = scan_from(buf, limits, state);
    if let Ok(Step::Need(_)) = r {
        // Resume from the incomplete frame when called again with more of the same bytes.
        state.active = true;
        state.fp_len = fp_len;
        state.fp[..fp_len].copy_from_slice(&buf[..fp_len]);
    }
    r
}

const FINGERPRINT: usize = 16;

/// Scanner progress kept between calls, so a large aggregate arriving in many chunks is
/// scanned once, not once per chunk. Reused: no allocation once the stack has grown.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScanState {
    stack: Vec<u64>,
    /// Start of the first incomplete frame.
    pos: usize,
    first: Option<RespType>,
    have_value: bool,
    scan: Scan,
    active: bool,
    fp: [u8; FINGERPRINT],
    fp_len: usize,
    /// When the incomplete frame is a line: the input length searched for its end last time
    /// (those bytes, but for the last, which may be the CR, hold no CR or LF), so a long line
    /// arriving in many chunks is searched once, not once per chunk.
    line_scanned: usize,
}

impl ScanState {
    /// Forgets any partial progress.
    pub(crate) fn forget(&mut self) {
        self.active = false;
    }
}

fn scan_from(buf: &[u8], limits: &Limits, state: &mut ScanState) -> Result<Step<Scan>, CodecError> {
    let ScanState {
        stack,
        pos: saved,
        first,
        have_value,
        scan,
        line_scanned,
        ..
    } = state;
    let mut pos = *saved;
    // Only the first frame of this call (the one that was incomplete) has been searched.
    let mut searched = std::mem::take(line_scanned);
    loop {
        let hint = std::mem::take(&mut searched);
        let hdr = pos;
        *saved = hdr;
        let Some(&t) = buf.get(pos) else {
            return Ok(Step::Need(None));
        };
        check_frame(pos as u64 + 1, limits, hdr)?;
        pos += 1;
        // (type, aggregate children, is attribute, blob len)
        let mut children: u64 = 0;
        let mut blob = 0usize;
        let ty = match t {
            b'+' | b'-' | b'(' | b',' => {
                let from = pos.max(hint.saturating_sub(1)).min(buf.len());
                let Some(cr) = line_end_from(buf, from, 0, limits)? else {
                    *line_scanned = buf.len();
                    return Ok(Step::Need(None));
                };
                let line = &buf[pos..cr];
                let ty = match t {
                    b'+' => RespType::SimpleString,
                    b'-' => RespType::Error,
                    b'(' => {
                        if !valid_big_number(line) {
                            return Err(malformed(pos, "invalid big number"));
                        }
                        RespType::BigNumber
                    }
                    _ => {
                        if !valid_double(line) {
                            return Err(malformed(pos, "invalid double"));
                        }
                        RespType::Double
                    }
                };
                pos = cr + 2;
                ty
            }
            b':' => {
                let Some((_, next)) = int_line(buf, pos)? else {
                    return Ok(Step::Need(None));
                };
                pos = next;
                RespType::Integer
            }
            b'#' => {
                match buf.get(pos) {
                    None => return Ok(Step::Need(None)),
                    Some(b't' | b'f') => {}
                    Some(_) => return Err(malformed(pos, "invalid boolean")),
                }
                let Some(next) = expect_crlf(buf, pos + 1)? else {
                    return Ok(Step::Need(None));
                };
                pos = next;
                RespType::Boolean
            }
            b'_' => {
                let Some(next) = expect_crlf(buf, pos)? else {
                    return Ok(Step::Need(None));
                };
                pos = next;
                RespType::Null
            }
            b'$' | b'!' | b'=' => {
                let Some((len, next)) = int_line(buf, pos)? else {
                    return Ok(Step::Need(None));
                };
                if len == -1 && t == b'$' {
                    pos = next;
                    RespType::Null
                } else {
                    if len < 0 {
                        return Err(malformed(pos, "invalid blob length"));
                    }
                    let total = next as u64 + len as u64 + 2;
                    check_frame(total, limits, hdr)?;
                    let len = len as usize;
                    let end = next + len;
                    if buf.len() < end + 2 {
                        return Ok(Step::Need(Some(end + 2)));
                    }
                    if &buf[end..end + 2] != b"\r\n" {
                        return Err(malformed(end, "blob not terminated by CRLF"));
                    }
                    blob = len;
                    pos = end + 2;
                    match t {
                        b'$' => RespType::BulkString,
                        b'!' => RespType::BlobError,
                        _ => {
                            if len < 4 || buf[next + 3] != b':' {
                                return Err(malformed(next, "verbatim string without format"));
                            }
                            RespType::VerbatimString
                        }
                    }
                }
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let Some((n, next)) = int_line(buf, pos)? else {
                    return Ok(Step::Need(None));
                };
                pos = next;
                if n == -1 && t == b'*' {
                    RespType::Null
                } else {
                    if n < 0 {
                        return Err(malformed(hdr + 1, "invalid aggregate length"));
                    }
                    let n = n as u64;
                    if n > limits.max_elements as u64 {
                        return Err(CodecError::TooManyElements {
                            offset: hdr,
                            count: n,
                            limit: limits.max_elements,
                        });
                    }
                    children = if matches!(t, b'%' | b'|') { n * 2 } else { n };
                    blob = n as usize;
                    match t {
                        b'*' => RespType::Array,
                        b'~' => RespType::Set,
                        b'>' => RespType::Push,
                        b'%' => RespType::Map,
                        _ => RespType::Attribute,
                    }
                }
            }
            _ => return Err(malformed(hdr, "unknown RESP type byte")),
        };
        if first.is_none() {
            *first = Some(ty);
        }
        if stack.is_empty() && ty != RespType::Attribute && !*have_value {
            *have_value = true;
            scan.value = ty;
            scan.value_at = hdr;
            if matches!(
                ty,
                RespType::Array | RespType::Set | RespType::Push | RespType::Map
            ) {
                scan.count = blob as u64;
            } else {
                scan.body = blob;
            }
        }
        if ty == RespType::Attribute {
            if children > 0 {
                if stack.len() >= limits.max_depth {
                    return Err(CodecError::DepthExceeded {
                        offset: hdr,
                        limit: limits.max_depth,
                    });
                }
                stack.push(children | ATTR);
            }
            continue;
        }
        if children > 0 {
            if stack.len() >= limits.max_depth {
                return Err(CodecError::DepthExceeded {
                    offset: hdr,
                    limit: limits.max_depth,
                });
            }
            stack.push(children);
            continue;
        }
        // One value complete: propagate to the parents.
        loop {
            let Some(top) = stack.last_mut() else {
                scan.end = pos;
                scan.first = first.unwrap_or(scan.value);
                return Ok(Step::Done(*scan));
            };
            *top -= 1;
            if *top & !ATTR != 0 {
                break;
            }
            let was_attr = *top & ATTR != 0;
            stack.pop();
            if was_attr {
                // The attribute is done; the value it annotates comes next.
                break;
            }
        }
    }
}

/// Expects CRLF at `pos`; returns the position after it, `None` when incomplete.
#[inline]
pub(crate) fn expect_crlf(buf: &[u8], pos: usize) -> Result<Option<usize>, CodecError> {
    match (buf.get(pos), buf.get(pos + 1)) {
        (None, _) => Ok(None),
        (Some(b'\r'), None) => Ok(None),
        (Some(b'\r'), Some(b'\n')) => Ok(Some(pos + 2)),
        (Some(b'\r'), Some(_)) => Err(malformed(pos + 1, "expected LF after CR")),
        (Some(_), _) => Err(malformed(pos, "expected CRLF")),
    }
}
