//! A minimal RESP2 client over `TcpStream`: pipelined commands, integer/status/error replies,
//! connect/read/write timeouts. Just what fixed-window counters need.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Reply frames we accept (bulk strings and arrays are parsed only to be skipped safely).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Integer(i64),
    Status(String),
    Error(String),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// Why a Redis exchange failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RedisError {
    #[error("redis connect to {addr}: {msg}")]
    Connect { addr: SocketAddr, msg: String },
    #[error("redis i/o: {0}")]
    Io(String),
    #[error("redis timed out after {0:?}")]
    Timeout(Duration),
    #[error("redis closed the connection")]
    Closed,
    #[error("redis protocol error: {0}")]
    Protocol(String),
    #[error("redis error reply: {0}")]
    ErrorReply(String),
    #[error("redis is marked down (reconnect backoff)")]
    Backoff,
}

const MAX_LINE: usize = 64 * 1024;
const MAX_BULK: usize = 512 * 1024 * 1024;
const MAX_DEPTH: usize = 8;

pub(crate) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("peer", &self.stream.peer_addr().ok())
            .finish()
    }
}

fn io_err(e: io::Error, timeout: Duration) -> RedisError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => RedisError::Timeout(timeout),
        io::ErrorKind::UnexpectedEof => RedisError::Closed,
        _ => RedisError::Io(e.to_string()),
    }
}

/// Appends one command as a RESP array of bulk strings.
pub(crate) fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.push(b'*');
    out.extend_from_slice(args.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(a.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

impl Conn {
    pub(crate) fn connect(addr: SocketAddr, timeout: Duration) -> Result<Conn, RedisError> {
        let stream =
            TcpStream::connect_timeout(&addr, timeout).map_err(|e| RedisError::Connect {
                addr,
                msg: e.to_string(),
            })?;
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            buf: vec![0; 16 * 1024],
            start: 0,
            end: 0,
        })
    }

    /// Writes `request` (already encoded commands) in one write and reads `n` replies, all
    /// within `timeout`.
    pub(crate) fn round_trip(
        &mut self,
        request: &[u8],
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<Reply>, RedisError> {
        let deadline = Instant::now() + timeout;
        self.stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| io_err(e, timeout))?;
        self.stream
            .write_all(request)
            .map_err(|e| io_err(e, timeout))?;
        let mut replies = Vec::with_capacity(n);
        for _ in 0..n {
            replies.push(self.read_reply(deadline, timeout, 0)?);
        }
        Ok(replies)
    }

    fn fill(&mut self, deadline: Instant, timeout: Duration) -> Result<(), RedisError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grow = self.buf.len();
            self.buf.resize(self.buf.len() + grow, 0);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(RedisError::Timeout(timeout));
        }
        self.stream
            .set_read_timeout(Some(left))
            .map_err(|e| io_err(e, timeout))?;
        match self.stream.read(&mut self.buf[self.end..]) {
            Ok(0) => Err(RedisError::Closed),
            Ok(k) => {
                self.end += k;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(io_err(e, timeout)),
        }
    }

    fn line(&mut self, deadline: Instant, timeout: Duration) -> Result<Vec<u8>, RedisError> {
        loop {
            let window = &self.buf[self.start..self.end];
            if let Some(p) = window.windows(2).position(|w| w == b"\r\n") {
                let line = window[..p].to_vec();
                self.start += p + 2;
                return Ok(line);
            }
            if self.end - self.start > MAX_LINE {
                return Err(RedisError::Protocol("reply line too long".into()));
            }
            self.fill(deadline, timeout)?;
        }
    }

    fn read_reply(
        &mut self,
        deadline: Instant,
        timeout: Duration,
        depth: usize,
    ) -> Result<Reply, RedisError> {
        if depth > MAX_DEPTH {
            return Err(RedisError::Protocol("reply nested too deeply".into()));
        }
        let line = self.line(deadline, timeout)?;
        let (&tag, rest) = line
            .split_first()
            .ok_or_else(|| RedisError::Protocol("empty reply line".into()))?;
        let text = String::from_utf8_lossy(rest).into_owned();
        let int = |t: &str| {
            t.parse::<i64>()
                .map_err(|_| RedisError::Protocol(format!("bad integer {t:?}")))
        };
        match tag {
            b':' => Ok(Reply::Integer(int(&text)?)),
            b'+' => Ok(Reply::Status(text)),
            b'-' => Ok(Reply::Error(text)),
            b'$' => {
                let len = int(&text)?;
                if len < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let len = len as usize;
                if len > MAX_BULK {
                    return Err(RedisError::Protocol("bulk string too long".into()));
                }
                while self.end - self.start < len + 2 {
                    self.fill(deadline, timeout)?;
                }
                let data = self.buf[self.start..self.start + len].to_vec();
                self.start += len + 2;
                Ok(Reply::Bulk(Some(data)))
            }
            b'*' => {
                let len = int(&text)?;
                if len < 0 {
                    return Ok(Reply::Array(None));
                }
                let mut items = Vec::new();
                for _ in 0..len {
                    items.push(self.read_reply(deadline, timeout, depth + 1)?);
                }
                Ok(Reply::Array(Some(items)))
            }
            other => Err(RedisError::Protocol(format!(
                "unexpected reply type byte 0x{other:02x}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_commands() {
        let mut out = Vec::new();
        encode(&mut out, &[b"INCRBY", b"k", b"1"]);
        assert_eq!(out, b"*3\r\n$6\r\nINCRBY\r\n$1\r\nk\r\n$1\r\n1\r\n");
    }
}
