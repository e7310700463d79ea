//! `meshplane.codec`: the protocol codecs (`Decoder`, `Message`) and the one-shot `decode`.

use std::ops::Range;
use std::sync::Mutex;

use bytes::BytesMut;
use mesh_codec::stream::{StreamEnd, decode_all};
use mesh_codec::{
    Codec, CodecError, DecodeStatus, Direction, Limits, LocalError, LocalErrorKind, Metadata,
    Mutation, TypedValue, new_codec,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::errors::{EncodeError, decode_error, decode_error_at, guard, incomplete};

fn parse_direction(direction: &str) -> PyResult<Direction> {
    direction.parse().map_err(PyValueError::new_err)
}

fn make_codec(protocol: &str, direction: Direction, limits: Limits) -> PyResult<Box<dyn Codec>> {
    new_codec(protocol, direction, limits).map_err(|e| PyValueError::new_err(e.to_string()))
}

fn codec_error(py: Python<'_>, e: CodecError) -> PyErr {
    match e.offset() {
        Some(at) => decode_error_at(py, at, e.to_string()),
        None => EncodeError::new_err(e.to_string()),
    }
}

/// The metadata dict: routable headers (str) and typed values (str, int, bool).
fn metadata_dict<'py>(py: Python<'py>, md: &Metadata) -> PyResult<Bound<'py, PyDict>> {
    let meta = PyDict::new(py);
    for (k, v) in md.headers.iter() {
        meta.set_item(k, v)?;
    }
    for (k, v) in &md.typed {
        let key = PyString::intern(py, k);
        match v {
            TypedValue::Str(s) => meta.set_item(key, PyString::intern(py, s))?,
            TypedValue::Int(i) => meta.set_item(key, i)?,
            TypedValue::UInt(u) => meta.set_item(key, u)?,
            TypedValue::Bool(b) => meta.set_item(key, b)?,
        }
    }
    Ok(meta)
}

/// The message dict of `meshplane.decode`: the same shape as one line of `meshctl decode`.
fn message_dict<'py>(py: Python<'py>, md: &Metadata, size: usize) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("message_type", md.message_type.as_str())?;
    d.set_item("request_id", md.request_id)?;
    d.set_item("size", size)?;
    d.set_item("status", md.status.map(|s| s.as_str()))?;
    d.set_item("metadata", metadata_dict(py, md)?)?;
    Ok(d)
}

/// Decodes a whole byte stream (one direction of a connection) into a list of message dicts
/// (`message_type`, `request_id`, `size`, `status`, `metadata`).
#[pyfunction]
#[pyo3(signature = (protocol, direction, data, *, max_frame_size = Limits::DEFAULT.max_frame_size))]
pub fn decode<'py>(
    py: Python<'py>,
    protocol: &str,
    direction: &str,
    data: &[u8],
    max_frame_size: usize,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    guard(|| {
        let limits = Limits {
            max_frame_size,
            ..Limits::DEFAULT
        };
        let mut codec = make_codec(protocol, parse_direction(direction)?, limits)?;
        let mut out = Vec::new();
        let mut failed = None;
        let end = decode_all(codec.as_mut(), data, &mut Metadata::new(), |md, _, size| {
            match message_dict(py, md, size) {
                Ok(d) => out.push(d),
                Err(e) => failed = Some(e),
            }
            failed.is_none()
        });
        if let Some(e) = failed {
            return Err(e);
        }
        match end {
            Ok(StreamEnd::Complete | StreamEnd::Stopped { .. }) => Ok(out),
            Ok(StreamEnd::Incomplete { offset }) => Err(incomplete(py, offset)),
            Err(e) => Err(codec_error(py, e)),
        }
    })
}

/// One decoded message.
#[pyclass(module = "meshplane.codec", frozen, eq)]
pub struct Message {
    /// `request`, `response`, `oneway`, `heartbeat`, `error`, …
    #[pyo3(get)]
    message_type: Py<PyString>,
    /// The protocol's request id (Dubbo id, Thrift seqid, Redis position), if any.
    #[pyo3(get)]
    request_id: Option<u64>,
    /// Length of the message in bytes.
    #[pyo3(get)]
    size: usize,
    /// `ok` or `error` for responses, else None.
    #[pyo3(get)]
    status: Option<Py<PyString>>,
    /// Routable headers and typed values (command, key, service, method, …).
    #[pyo3(get)]
    metadata: Py<PyDict>,
    /// The message's bytes as received.
    #[pyo3(get)]
    raw: Py<PyBytes>,
}

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        Python::attach(|py| {
            let same = |a: &Py<PyAny>, b: &Py<PyAny>| a.bind(py).eq(b.bind(py)).unwrap_or(false);
            self.request_id == other.request_id
                && self.size == other.size
                && same(self.message_type.as_any(), other.message_type.as_any())
                && match (&self.status, &other.status) {
                    (Some(a), Some(b)) => same(a.as_any(), b.as_any()),
                    (None, None) => true,
                    _ => false,
                }
                && same(self.metadata.as_any(), other.metadata.as_any())
                && same(self.raw.as_any(), other.raw.as_any())
        })
    }
}

#[pymethods]
impl Message {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Message(message_type={}, request_id={}, size={}, status={}, metadata={})",
            self.message_type.bind(py).repr()?,
            self.request_id.map_or("None".into(), |i| i.to_string()),
            self.size,
            match &self.status {
                Some(s) => s.bind(py).repr()?.to_string(),
                None => "None".into(),
            },
            self.metadata.bind(py).repr()?,
        ))
    }

    /// The message as the dict `meshplane.decode` returns.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("message_type", self.message_type.bind(py))?;
        d.set_item("request_id", self.request_id)?;
        d.set_item("size", self.size)?;
        d.set_item("status", self.status.as_ref().map(|s| s.bind(py)))?;
        d.set_item("metadata", self.metadata.bind(py).copy()?)?;
        Ok(d)
    }
}

/// A mutation: a dict of str to str, or a sequence of `(key, value)` pairs (applied in order).
fn mutation_of(m: Option<&Bound<'_, PyAny>>) -> PyResult<Mutation> {
    let Some(m) = m.filter(|m| !m.is_none()) else {
        return Ok(Mutation::new());
    };
    let pairs: Vec<(String, String)> = match m.cast::<PyDict>() {
        Ok(d) => d
            .iter()
            .map(|(k, v)| Ok((k.extract()?, v.extract()?)))
            .collect::<PyResult<_>>()?,
        Err(_) => m.extract()?,
    };
    Ok(pairs.into_iter().collect())
}

/// The codec state of one direction of one connection, behind a lock only to make the class
/// `Sync` (methods take `&mut self`, so it never contends).
struct State {
    codec: Box<dyn Codec>,
    /// Received bytes not yet handed out as messages.
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    offset: usize,
    md: Metadata,
    cut: Cuts,
}

/// The messages one `feed` cut, their metadata copied into flat buffers that are reused from
/// call to call (cutting needs no Python object, so a large chunk is cut without the GIL).
#[derive(Default)]
struct Cuts {
    messages: Vec<Cut>,
    /// `(key, value)` ranges into `text`.
    headers: Vec<(Range<usize>, Range<usize>)>,
    text: String,
    typed: Vec<(&'static str, TypedValue)>,
}

struct Cut {
    message_type: &'static str,
    request_id: Option<u64>,
    status: Option<&'static str>,
    /// The message's bytes in `State::buf`.
    raw: Range<usize>,
    headers: Range<usize>,
    typed: Range<usize>,
}

impl Cuts {
    fn clear(&mut self) {
        self.messages.clear();
        self.headers.clear();
        self.text.clear();
        self.typed.clear();
    }

    fn push(&mut self, md: &Metadata, raw: Range<usize>) {
        let h0 = self.headers.len();
        for (k, v) in md.headers.iter() {
            let k0 = self.text.len();
            self.text.push_str(k);
            let v0 = self.text.len();
            self.text.push_str(v);
            self.headers.push((k0..v0, v0..self.text.len()));
        }
        let t0 = self.typed.len();
        self.typed.extend_from_slice(&md.typed);
        self.messages.push(Cut {
            message_type: md.message_type.as_str(),
            request_id: md.request_id,
            status: md.status.map(|s| s.as_str()),
            raw,
            headers: h0..self.headers.len(),
            typed: t0..self.typed.len(),
        });
    }
}

/// Cuts every whole message from the buffer; returns how many bytes they took and the error
/// that stopped the cutting, if any (with its stream offset).
fn cut_messages(st: &mut State) -> (usize, Option<CodecError>) {
    st.cut.clear();
    let mut pos = 0;
    while pos < st.buf.len() {
        match st.codec.decode(&st.buf[pos..], &mut st.md) {
            Ok(DecodeStatus::Done { consumed }) => {
                st.cut.push(&st.md, pos..pos + consumed);
                pos += consumed;
            }
            Ok(DecodeStatus::NeedMoreData { .. }) => break,
            Err(e) => return (pos, Some(e.shifted(st.offset + pos))),
        }
    }
    (pos, None)
}

/// Python strings for the keys and names messages repeat, made once per decoder.
#[derive(Default)]
struct Names {
    /// `&'static str` names (message types, statuses, typed keys and values), by address.
    statics: Vec<(usize, Py<PyString>)>,
    /// Header keys (a connection uses a handful); bounded.
    keys: Vec<(String, Py<PyString>)>,
}

const MAX_CACHED_KEYS: usize = 64;

impl Names {
    fn name<'py>(&mut self, py: Python<'py>, s: &'static str) -> Bound<'py, PyString> {
        let at = s.as_ptr() as usize;
        if let Some((_, p)) = self.statics.iter().find(|(a, _)| *a == at) {
            return p.bind(py).clone();
        }
        let p = PyString::intern(py, s);
        self.statics.push((at, p.clone().unbind()));
        p
    }

    fn key<'py>(&mut self, py: Python<'py>, k: &str) -> Bound<'py, PyString> {
        if let Some((_, p)) = self.keys.iter().find(|(c, _)| c == k) {
            return p.bind(py).clone();
        }
        let p = PyString::new(py, k);
        if self.keys.len() < MAX_CACHED_KEYS {
            self.keys.push((k.to_string(), p.clone().unbind()));
        }
        p
    }

    fn message(&mut self, py: Python<'_>, cuts: &Cuts, c: &Cut, buf: &[u8]) -> PyResult<Message> {
        let meta = PyDict::new(py);
        for (k, v) in &cuts.headers[c.headers.clone()] {
            meta.set_item(
                self.key(py, &cuts.text[k.clone()]),
                PyString::new(py, &cuts.text[v.clone()]),
            )?;
        }
        for (k, v) in &cuts.typed[c.typed.clone()] {
            let key = self.name(py, k);
            match v {
                TypedValue::Str(s) => meta.set_item(key, self.name(py, s))?,
                TypedValue::Int(i) => meta.set_item(key, i)?,
                TypedValue::UInt(u) => meta.set_item(key, u)?,
                TypedValue::Bool(b) => meta.set_item(key, b)?,
            }
        }
        Ok(Message {
            message_type: self.name(py, c.message_type).unbind(),
            request_id: c.request_id,
            size: c.raw.len(),
            status: c.status.map(|s| self.name(py, s).unbind()),
            metadata: meta.unbind(),
            raw: PyBytes::new(py, &buf[c.raw.clone()]).unbind(),
        })
    }
}

/// A codec for one direction of one connection, fed with chunks as they arrive.
#[pyclass(module = "meshplane.codec")]
pub struct Decoder {
    state: Mutex<State>,
    names: Names,
    protocol: String,
    direction: Direction,
    limits: Limits,
}

#[pymethods]
impl Decoder {
    #[new]
    #[pyo3(signature = (protocol, direction, *, max_frame_size = Limits::DEFAULT.max_frame_size, max_depth = Limits::DEFAULT.max_depth, max_elements = Limits::DEFAULT.max_elements))]
    fn new(
        protocol: &str,
        direction: &str,
        max_frame_size: usize,
        max_depth: usize,
        max_elements: usize,
    ) -> PyResult<Self> {
        guard(|| {
            let direction = parse_direction(direction)?;
            let limits = Limits {
                max_frame_size,
                max_depth,
                max_elements,
            };
            Ok(Decoder {
                state: Mutex::new(State {
                    codec: make_codec(protocol, direction, limits)?,
                    buf: Vec::new(),
                    offset: 0,
                    md: Metadata::new(),
                    cut: Cuts::default(),
                }),
                names: Names::default(),
                protocol: protocol.to_string(),
                direction,
                limits,
            })
        })
    }

    /// Appends a chunk and returns the whole messages it completed.
    fn feed(&mut self, py: Python<'_>, data: &[u8]) -> PyResult<Vec<Message>> {
        guard(|| {
            let st = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
            st.buf.extend_from_slice(data);
            let (used, err) = if data.len() >= 64 * 1024 {
                py.detach(|| cut_messages(st))
            } else {
                cut_messages(st)
            };
            let mut out = Vec::with_capacity(st.cut.messages.len());
            for c in &st.cut.messages {
                out.push(self.names.message(py, &st.cut, c, &st.buf)?);
            }
            st.buf.drain(..used);
            st.offset += used;
            match err {
                None => Ok(out),
                Some(e) => {
                    let err = codec_error(py, e);
                    let done = PyList::empty(py);
                    for m in out {
                        done.append(m)?;
                    }
                    err.value(py).setattr("messages", done)?;
                    Err(err)
                }
            }
        })
    }

    /// Bytes received and not yet part of a whole message.
    #[getter]
    fn buffered(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .buf
            .len()
    }

    /// The protocol name.
    #[getter]
    fn protocol(&self) -> &str {
        &self.protocol
    }

    /// `request` or `response`.
    #[getter]
    fn direction(&self) -> &'static str {
        match self.direction {
            Direction::Request => "request",
            Direction::Response => "response",
        }
    }

    /// Writes `message` again with `mutation` applied (an empty mutation gives its bytes back).
    #[pyo3(signature = (message, mutation = None))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        message: &Message,
        mutation: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        guard(|| {
            let mutation = mutation_of(mutation)?;
            let raw = message.raw.bind(py).as_bytes();
            let (mut codec, md) = self.redecode(py, raw)?;
            let mut out = BytesMut::new();
            codec
                .encode(raw, &md, &mutation, &mut out)
                .map_err(|e| EncodeError::new_err(e.to_string()))?;
            Ok(PyBytes::new(py, &out))
        })
    }

    /// The protocol's local reply to the request `message` (`kind`: `route_not_found`,
    /// `cluster_not_found`, `no_healthy_upstream`, `over_limit`, `bad_response`, `timeout`,
    /// `unspecified`).
    #[pyo3(signature = (message, kind = "route_not_found", text = ""))]
    fn error_reply<'py>(
        &self,
        py: Python<'py>,
        message: &Message,
        kind: &str,
        text: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        guard(|| {
            let kind: LocalErrorKind = kind.parse().map_err(PyValueError::new_err)?;
            let (mut codec, md) = self.redecode(py, message.raw.bind(py).as_bytes())?;
            let mut out = BytesMut::new();
            codec
                .on_error(&md, &LocalError::new(kind, text), &mut out)
                .map_err(|e| EncodeError::new_err(e.to_string()))?;
            Ok(PyBytes::new(py, &out))
        })
    }

    /// The reply to a heartbeat request, or None when `message` is not one (or the protocol
    /// has no heartbeat).
    fn heartbeat_reply<'py>(
        &self,
        py: Python<'py>,
        message: &Message,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        guard(|| {
            let (mut codec, md) = self.redecode(py, message.raw.bind(py).as_bytes())?;
            let mut out = BytesMut::new();
            let wrote = codec
                .heartbeat_reply(&md, &mut out)
                .map_err(|e| EncodeError::new_err(e.to_string()))?;
            Ok(wrote.then(|| PyBytes::new(py, &out)))
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Decoder({:?}, {:?}, buffered={})",
            self.protocol,
            self.direction(),
            self.buffered()
        )
    }
}

impl Decoder {
    /// Decodes `raw` (one whole message) with a fresh codec of this decoder's kind.
    fn redecode(&self, py: Python<'_>, raw: &[u8]) -> PyResult<(Box<dyn Codec>, Metadata)> {
        let mut codec = make_codec(&self.protocol, self.direction, self.limits)?;
        let mut md = Metadata::new();
        match codec.decode(raw, &mut md) {
            Ok(DecodeStatus::Done { consumed }) if consumed == raw.len() => Ok((codec, md)),
            Ok(DecodeStatus::Done { consumed }) => Err(decode_error(
                py,
                consumed,
                format!(
                    "expected one whole message, found {} trailing bytes",
                    raw.len() - consumed
                ),
            )),
            Ok(DecodeStatus::NeedMoreData { .. }) => Err(incomplete(py, 0)),
            Err(e) => Err(codec_error(py, e)),
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("PROTOCOLS", mesh_codec::PROTOCOLS.to_vec())?;
    m.add_class::<Decoder>()?;
    m.add_class::<Message>()?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    Ok(())
}
