//! Request framing: multibulk (`*N` of `$len` bulks) and inline commands, the way
//! `redis-server` reads them.

use super::wire::{Step, int_line, malformed};
use crate::{CodecError, Limits};

/// Longest inline command line accepted (Redis' `PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX: usize = 64 * 1024;

/// Reusable buffers for unescaping inline commands.
#[derive(Debug, Default, Clone)]
pub(crate) struct InlineScratch {
    bytes: Vec<u8>,
    args: Vec<(usize, usize)>,
}

/// Scans one request from the front of `buf`, calling `on_arg(index, nargs, bytes)` for each
/// argument (index 0 is the command name). Returns the request length.
///
/// Like the server, empty multibulks (`*0`, `*-1`) and blank inline lines are no-ops: they are
/// absorbed into the request that follows them.
pub(crate) fn scan_request(
    buf: &[u8],
    limits: &Limits,
    scratch: &mut InlineScratch,
    on_arg: &mut impl FnMut(usize, usize, &[u8]),
) -> Result<Step<usize>, CodecError> {
    let mut pos = 0usize;
    loop {
        let Some(&b) = buf.get(pos) else {
            return Ok(Step::Need(None));
        };
        if pos > limits.max_frame_size {
            return Err(CodecError::FrameTooLarge {
                offset: 0,
                size: pos as u64,
                limit: limits.max_frame_size,
            });
        }
        if b == b'*' {
            let Some((n, next)) = int_line(buf, pos + 1)? else {
                return Ok(Step::Need(None));
            };
            if n <= 0 {
                pos = next;
                continue;
            }
            let n = n as u64;
            if n > limits.max_elements as u64 {
                return Err(CodecError::TooManyElements {
                    offset: pos,
                    count: n,
                    limit: limits.max_elements,
                });
            }
            return multibulk(buf, next, n as usize, limits, on_arg);
        }
        let max = INLINE_MAX.min(limits.max_frame_size);
        let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else {
            if buf.len() - pos > max {
                return Err(CodecError::FrameTooLarge {
                    offset: pos,
                    size: (buf.len() - pos) as u64,
                    limit: max,
                });
            }
            return Ok(Step::Need(None));
        };
        if nl > max {
            return Err(CodecError::FrameTooLarge {
                offset: pos,
                size: nl as u64,
                limit: max,
            });
        }
        let mut line = &buf[pos..pos + nl];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        split_inline(line, scratch)
            .map_err(|at| malformed(pos + at, "unbalanced quotes in inline request"))?;
        let end = pos + nl + 1;
        if scratch.args.is_empty() {
            pos = end;
            continue;
        }
        let nargs = scratch.args.len();
        for (i, &(s, e)) in scratch.args.iter().enumerate() {
            on_arg(i, nargs, &scratch.bytes[s..e]);
        }
        return Ok(Step::Done(end));
    }
}

fn multibulk(
    buf: &[u8],
    mut pos: usize,
    nargs: usize,
    limits: &Limits,
    on_arg: &mut impl FnMut(usize, usize, &[u8]),
) -> Result<Step<usize>, CodecError> {
    for i in 0..nargs {
        let hdr = pos;
        match buf.get(pos) {
            None => return Ok(Step::Need(None)),
            Some(b'$') => {}
            Some(_) => return Err(malformed(pos, "expected '$' in a multibulk request")),
        }
        let Some((len, next)) = int_line(buf, pos + 1)? else {
            return Ok(Step::Need(None));
        };
        if len < 0 {
            return Err(malformed(hdr + 1, "invalid bulk length"));
        }
        let total = next as u64 + len as u64 + 2;
        if total > limits.max_frame_size as u64 {
            return Err(CodecError::FrameTooLarge {
                offset: hdr,
                size: total,
                limit: limits.max_frame_size,
            });
        }
        let end = next + len as usize;
        if buf.len() < end + 2 {
            return Ok(Step::Need(Some(end + 2)));
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(malformed(end, "bulk not terminated by CRLF"));
        }
        on_arg(i, nargs, &buf[next..end]);
        pos = end + 2;
    }
    Ok(Step::Done(pos))
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0b' | b'\x0c')
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits an inline command line into arguments (the server's rules: whitespace separates,
/// double quotes with `\n \r \t \b \a \\ \" \xHH` escapes, single quotes with `\'`; a closing
/// quote must be followed by a space or the end). Errors carry the offset of the problem.
fn split_inline(line: &[u8], scratch: &mut InlineScratch) -> Result<(), usize> {
    scratch.bytes.clear();
    scratch.args.clear();
    let out = &mut scratch.bytes;
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(());
        }
        let start = out.len();
        let mut dq = false;
        let mut sq = false;
        loop {
            if dq {
                let Some(&c) = line.get(i) else {
                    return Err(i);
                };
                if c == b'\\'
                    && line.get(i + 1) == Some(&b'x')
                    && let (Some(h), Some(l)) = (
                        line.get(i + 2).copied().and_then(hex),
                        line.get(i + 3).copied().and_then(hex),
                    )
                {
                    out.push(h * 16 + l);
                    i += 4;
                } else if c == b'\\' && i + 1 < line.len() {
                    out.push(match line[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                    i += 2;
                } else if c == b'"' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return Err(i + 1);
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                    i += 1;
                }
            } else if sq {
                let Some(&c) = line.get(i) else {
                    return Err(i);
                };
                if c == b'\\' && line.get(i + 1) == Some(&b'\'') {
                    out.push(b'\'');
                    i += 2;
                } else if c == b'\'' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return Err(i + 1);
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                    i += 1;
                }
            } else {
                let Some(&c) = line.get(i) else {
                    break;
                };
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | b'\0' => {
                        i += 1;
                        break;
                    }
                    b'"' => dq = true,
                    b'\'' => sq = true,
                    _ => out.push(c),
                }
                i += 1;
            }
        }
        scratch.args.push((start, out.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Result<Vec<String>, usize> {
        let mut s = InlineScratch::default();
        split_inline(line.as_bytes(), &mut s)?;
        Ok(s.args
            .iter()
            .map(|&(a, b)| String::from_utf8_lossy(&s.bytes[a..b]).into_owned())
            .collect())
    }

    #[test]
    fn inline_splitting_follows_the_server() {
        assert_eq!(
            split("ECHO \"hello world\"").unwrap(),
            ["ECHO", "hello world"]
        );
        assert_eq!(split("  set  k   v ").unwrap(), ["set", "k", "v"]);
        assert_eq!(split("set k \"a\\x41\\n\"").unwrap(), ["set", "k", "aA\n"]);
        assert_eq!(split("set k 'it\\'s'").unwrap(), ["set", "k", "it's"]);
        assert_eq!(split("set k \"\"").unwrap(), ["set", "k", ""]);
        assert_eq!(split("").unwrap(), Vec::<String>::new());
        assert!(split("set k \"open").is_err());
        assert!(split("set k \"a\"b").is_err());
        assert!(split("set k 'a'b").is_err());
    }
}
