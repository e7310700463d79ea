//! Python bindings: the private native module `meshplane._meshplane`. The public package is
//! `python/meshplane/` (re-exports, typed stubs in `__init__.pyi`, `py.typed`). Thin shell: all
//! logic lives in the Rust crates.

use bytes::BytesMut;
use mesh_codec::stream::{StreamEnd, decode_all};
use mesh_codec::{
    Codec, DecodeStatus, Direction, Limits, LocalError, LocalErrorKind, Metadata, Mutation,
    TypedValue, new_codec,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

create_exception!(
    _meshplane,
    MeshplaneError,
    PyException,
    "Base class of Meshplane errors."
);
create_exception!(
    _meshplane,
    DecodeError,
    MeshplaneError,
    "Malformed input; `offset` is the byte offset, `reason` the cause."
);
create_exception!(
    _meshplane,
    IncompleteMessage,
    MeshplaneError,
    "Input ends in the middle of a message; `offset` is where that message starts."
);
create_exception!(
    _meshplane,
    EncodeError,
    MeshplaneError,
    "A message could not be encoded (e.g. a mutation the protocol cannot carry)."
);

fn decode_error(py: Python<'_>, offset: usize, reason: String) -> PyErr {
    let err = DecodeError::new_err(format!("offset {offset}: {reason}"));
    let value = err.value(py);
    let _ = value.setattr("offset", offset);
    let _ = value.setattr("reason", reason);
    err
}

fn incomplete(py: Python<'_>, offset: usize) -> PyErr {
    let err = IncompleteMessage::new_err(format!("incomplete message at offset {offset}"));
    let _ = err.value(py).setattr("offset", offset);
    err
}

fn parse_direction(direction: &str) -> PyResult<Direction> {
    direction.parse().map_err(PyValueError::new_err)
}

fn make_codec(
    protocol: &str,
    direction: Direction,
    max_frame_size: usize,
) -> PyResult<Box<dyn Codec>> {
    let limits = Limits {
        max_frame_size,
        ..Limits::DEFAULT
    };
    new_codec(protocol, direction, limits).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The message dict: the same shape as one line of `meshctl decode`.
fn message_dict<'py>(py: Python<'py>, md: &Metadata, size: usize) -> PyResult<Bound<'py, PyDict>> {
    let meta = PyDict::new(py);
    for (k, v) in md.headers.iter() {
        meta.set_item(k, v)?;
    }
    for (k, v) in &md.typed {
        match v {
            TypedValue::Str(s) => meta.set_item(k, s)?,
            TypedValue::Int(i) => meta.set_item(k, i)?,
            TypedValue::UInt(u) => meta.set_item(k, u)?,
            TypedValue::Bool(b) => meta.set_item(k, b)?,
        }
    }
    let d = PyDict::new(py);
    d.set_item("message_type", md.message_type.as_str())?;
    d.set_item("request_id", md.request_id)?;
    d.set_item("size", size)?;
    d.set_item("status", md.status.map(|s| s.as_str()))?;
    d.set_item("metadata", meta)?;
    Ok(d)
}

fn mutation_from(mutation: Option<Vec<(String, String)>>) -> Mutation {
    mutation.unwrap_or_default().into_iter().collect()
}

/// Decodes a whole byte stream (one direction of a connection) into a list of message dicts.
#[pyfunction]
#[pyo3(signature = (protocol, direction, data, *, max_frame_size = Limits::DEFAULT.max_frame_size))]
fn decode<'py>(
    py: Python<'py>,
    protocol: &str,
    direction: &str,
    data: &[u8],
    max_frame_size: usize,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let mut codec = make_codec(protocol, parse_direction(direction)?, max_frame_size)?;
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
        Err(e) => {
            let at = e.offset().unwrap_or(0);
            Err(decode_error(py, at, e.to_string()))
        }
    }
}

/// A codec for one direction of one connection, fed with chunks as they arrive.
#[pyclass(module = "meshplane._meshplane")]
struct StreamDecoder {
    /// A Mutex only to make the class `Sync` for Python; `&mut self` methods never contend.
    codec: std::sync::Mutex<Box<dyn Codec>>,
    protocol: String,
    direction: Direction,
    max_frame_size: usize,
    buf: Vec<u8>,
    offset: usize,
    md: Metadata,
}

#[pymethods]
impl StreamDecoder {
    #[new]
    #[pyo3(signature = (protocol, direction, *, max_frame_size = Limits::DEFAULT.max_frame_size))]
    fn new(protocol: &str, direction: &str, max_frame_size: usize) -> PyResult<Self> {
        let direction = parse_direction(direction)?;
        Ok(StreamDecoder {
            codec: std::sync::Mutex::new(make_codec(protocol, direction, max_frame_size)?),
            protocol: protocol.to_string(),
            direction,
            max_frame_size,
            buf: Vec::new(),
            offset: 0,
            md: Metadata::new(),
        })
    }

    /// Appends a chunk and returns the messages it completed, as `(message_dict, raw_bytes)`.
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        chunk: &[u8],
    ) -> PyResult<Vec<(Bound<'py, PyDict>, Bound<'py, PyBytes>)>> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut start = 0;
        let codec = self.codec.get_mut().unwrap_or_else(|p| p.into_inner());
        while start < self.buf.len() {
            match codec.decode(&self.buf[start..], &mut self.md) {
                Ok(DecodeStatus::Done { consumed }) => {
                    let raw = PyBytes::new(py, &self.buf[start..start + consumed]);
                    out.push((message_dict(py, &self.md, consumed)?, raw));
                    start += consumed;
                }
                Ok(DecodeStatus::NeedMoreData { .. }) => break,
                Err(e) => {
                    let e = e.shifted(self.offset + start);
                    let at = e.offset().unwrap_or(self.offset + start);
                    return Err(decode_error(py, at, e.to_string()));
                }
            }
        }
        self.buf.drain(..start);
        self.offset += start;
        Ok(out)
    }

    /// Bytes received and not yet part of a whole message.
    #[getter]
    fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Re-encodes one message (its raw bytes as returned by `feed`) with `mutation` applied.
    #[pyo3(signature = (raw, mutation = None))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        raw: &[u8],
        mutation: Option<Vec<(String, String)>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (mut codec, md) = self.redecode(py, raw)?;
        let mut out = BytesMut::new();
        codec
            .encode(raw, &md, &mutation_from(mutation), &mut out)
            .map_err(|e| EncodeError::new_err(e.to_string()))?;
        Ok(PyBytes::new(py, &out))
    }

    /// The protocol's local reply to a request (its raw bytes), e.g. for `route_not_found`.
    #[pyo3(signature = (raw_request, kind = "route_not_found", message = ""))]
    fn local_reply<'py>(
        &self,
        py: Python<'py>,
        raw_request: &[u8],
        kind: &str,
        message: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let kind: LocalErrorKind = kind.parse().map_err(PyValueError::new_err)?;
        let (mut codec, md) = self.redecode(py, raw_request)?;
        let mut out = BytesMut::new();
        codec
            .on_error(&md, &LocalError::new(kind, message), &mut out)
            .map_err(|e| EncodeError::new_err(e.to_string()))?;
        Ok(PyBytes::new(py, &out))
    }
}

impl StreamDecoder {
    /// Decodes `raw` (one whole message) with a fresh codec of this decoder's kind.
    fn redecode(&self, py: Python<'_>, raw: &[u8]) -> PyResult<(Box<dyn Codec>, Metadata)> {
        let mut codec = make_codec(&self.protocol, self.direction, self.max_frame_size)?;
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
            Err(e) => Err(decode_error(py, e.offset().unwrap_or(0), e.to_string())),
        }
    }
}

#[pymodule]
fn _meshplane(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MeshplaneError", m.py().get_type::<MeshplaneError>())?;
    m.add("DecodeError", m.py().get_type::<DecodeError>())?;
    m.add("IncompleteMessage", m.py().get_type::<IncompleteMessage>())?;
    m.add("EncodeError", m.py().get_type::<EncodeError>())?;
    m.add("PROTOCOLS", mesh_codec::PROTOCOLS.to_vec())?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_class::<StreamDecoder>()?;
    Ok(())
}
