//! `meshplane.hessian2`: Hessian 2.0 values to and from Python objects.
//!
//! Lists, maps and objects are numbered in the order they start, as on the wire: a back
//! reference (`Q`) decodes to the very same Python object, and an object met twice by `dumps`
//! (same `id`) is written as a reference, so shared and cyclic graphs survive a round trip.

use std::collections::HashMap;

use mesh_codec::hessian2::{
    self, HessianError, HessianLimits, List, Map, Object as HObject, Value,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple,
    PyType,
};

use crate::errors::{decode_error_at, guard};

/// A typed Hessian object: its Java class name and its fields in definition order.
#[pyclass(module = "meshplane.hessian2", frozen)]
pub struct Object {
    /// The class name, e.g. `com.example.User`.
    #[pyo3(get)]
    class_name: String,
    /// Field name → value, in the class definition's order.
    #[pyo3(get)]
    fields: Py<PyDict>,
}

#[pymethods]
impl Object {
    #[new]
    #[pyo3(signature = (class_name, fields = None))]
    fn new(py: Python<'_>, class_name: String, fields: Option<Bound<'_, PyDict>>) -> Self {
        Object {
            class_name,
            fields: fields.map_or_else(|| PyDict::new(py).unbind(), Bound::unbind),
        }
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        match other.cast::<Object>() {
            Ok(o) => {
                let o = o.get();
                Ok(
                    self.class_name == o.class_name
                        && self.fields.bind(py).eq(o.fields.bind(py))?,
                )
            }
            Err(_) => Ok(false),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Object({}, {})",
            PyString::new(py, &self.class_name).repr()?,
            self.fields.bind(py).repr()?
        ))
    }
}

struct Dates {
    epoch: Py<PyAny>,
    millisecond: Py<PyAny>,
    timedelta: Py<PyAny>,
    datetime: Py<PyType>,
    utc: Py<PyAny>,
}

static DATES: PyOnceLock<Dates> = PyOnceLock::new();

fn dates(py: Python<'_>) -> PyResult<&Dates> {
    DATES.get_or_try_init(py, || {
        let m = py.import("datetime")?;
        let utc = m.getattr("timezone")?.getattr("utc")?;
        let datetime = m.getattr("datetime")?;
        let timedelta = m.getattr("timedelta")?;
        let epoch = datetime.call1((1970, 1, 1, 0, 0, 0, 0, &utc))?;
        let millisecond = timedelta.call((), Some(&[("milliseconds", 1)].into_py_dict(py)?))?;
        Ok(Dates {
            epoch: epoch.unbind(),
            millisecond: millisecond.unbind(),
            timedelta: timedelta.unbind(),
            datetime: datetime.cast_into::<PyType>()?.unbind(),
            utc: utc.unbind(),
        })
    })
}

use pyo3::types::IntoPyDict;

fn hessian_error(py: Python<'_>, e: HessianError) -> PyErr {
    decode_error_at(py, e.offset(), e.to_string())
}

/// Decodes exactly one Hessian 2.0 value (trailing bytes are an error).
#[pyfunction]
pub fn loads(py: Python<'_>, data: &[u8]) -> PyResult<Py<PyAny>> {
    guard(|| {
        let v = if data.len() >= 64 * 1024 {
            py.detach(|| hessian2::from_slice(data))
        } else {
            hessian2::from_slice(data)
        }
        .map_err(|e| hessian_error(py, e))?;
        let mut refs = Vec::new();
        Ok(to_py(py, &v, &mut refs)?.unbind())
    })
}

fn to_py<'py>(
    py: Python<'py>,
    v: &Value,
    refs: &mut Vec<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Long(l) => l.into_pyobject(py)?.into_any(),
        Value::Double(d) => PyFloat::new(py, *d).into_any(),
        Value::Date(ms) => {
            let d = dates(py)?;
            let delta = d.timedelta.bind(py).call((0, 0, 0, *ms), None)?;
            d.epoch.bind(py).add(delta)?
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Binary(b) => PyBytes::new(py, b).into_any(),
        Value::List(List { items, .. }) => {
            let list = PyList::empty(py);
            refs.push(list.clone().into_any().unbind());
            for it in items {
                list.append(to_py(py, it, refs)?)?;
            }
            list.into_any()
        }
        Value::Map(Map { entries, .. }) => {
            let dict = PyDict::new(py);
            refs.push(dict.clone().into_any().unbind());
            for (k, item) in entries {
                let k = to_py(py, k, refs)?;
                let item = to_py(py, item, refs)?;
                dict.set_item(k, item)?;
            }
            dict.into_any()
        }
        Value::Object(HObject { class, fields }) => {
            let dict = PyDict::new(py);
            let obj = Bound::new(
                py,
                Object {
                    class_name: class.to_string(),
                    fields: dict.clone().unbind(),
                },
            )?
            .into_any();
            refs.push(obj.clone().unbind());
            for (name, item) in fields {
                dict.set_item(&**name, to_py(py, item, refs)?)?;
            }
            obj
        }
        Value::Ref(i) => match refs.get(*i as usize) {
            Some(o) => o.bind(py).clone(),
            None => {
                return Err(PyValueError::new_err(format!(
                    "reference {i} to a value not yet defined"
                )));
            }
        },
    })
}

/// Encodes one value as a whole Hessian 2.0 stream.
#[pyfunction]
pub fn dumps<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    guard(|| {
        let mut seen = HashMap::new();
        let v = from_py(obj, &mut seen, 0)?;
        let out = hessian2::to_vec(&v);
        Ok(PyBytes::new(py, &out))
    })
}

/// `seen`: the `id` of every list, dict and Object started so far → its reference number.
fn from_py(
    obj: &Bound<'_, PyAny>,
    seen: &mut HashMap<usize, u32>,
    depth: usize,
) -> PyResult<Value> {
    let py = obj.py();
    if depth > HessianLimits::DEFAULT.max_depth {
        return Err(PyValueError::new_err(format!(
            "nested deeper than {} levels",
            HessianLimits::DEFAULT.max_depth
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i32>() {
            return Ok(Value::Int(i));
        }
        return obj
            .extract::<i64>()
            .map(Value::Long)
            .map_err(|_| PyValueError::new_err("int out of the 64-bit range of a Hessian long"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Double(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Binary(b.as_bytes().to_vec()));
    }
    if obj.is_instance_of::<PyByteArray>() || obj.is_instance_of::<PyMemoryView>() {
        return Ok(Value::Binary(obj.extract::<Vec<u8>>()?));
    }
    let d = dates(py)?;
    if obj.is_instance(d.datetime.bind(py))? {
        let aware = if obj.getattr("tzinfo")?.is_none() {
            obj.call_method(
                "replace",
                (),
                Some(&[("tzinfo", d.utc.bind(py))].into_py_dict(py)?),
            )?
        } else {
            obj.clone()
        };
        let ms = aware
            .sub(d.epoch.bind(py))?
            .floor_div(d.millisecond.bind(py))?;
        return Ok(Value::Date(ms.extract::<i64>()?));
    }
    let is_list = obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>();
    let is_dict = obj.is_instance_of::<PyDict>();
    let as_object = obj.cast::<Object>().ok();
    if !(is_list || is_dict || as_object.is_some()) {
        return Err(PyTypeError::new_err(format!(
            "cannot encode {} as Hessian 2.0 (expected None, bool, int, float, str, bytes, list, tuple, dict, datetime or hessian2.Object)",
            obj.get_type().name()?
        )));
    }
    let id = obj.as_ptr() as usize;
    if let Some(&n) = seen.get(&id) {
        return Ok(Value::Ref(n));
    }
    let n = u32::try_from(seen.len()).map_err(|_| PyValueError::new_err("too many values"))?;
    seen.insert(id, n);
    if is_list {
        let mut items = Vec::new();
        for it in obj.try_iter()? {
            items.push(from_py(&it?, seen, depth + 1)?);
        }
        return Ok(Value::list(items));
    }
    if is_dict {
        let mut entries = Vec::new();
        for (k, v) in obj.cast::<PyDict>()?.iter() {
            let k = from_py(&k, seen, depth + 1)?;
            entries.push((k, from_py(&v, seen, depth + 1)?));
        }
        return Ok(Value::map(entries));
    }
    let o = as_object.expect("checked above");
    let o = o.get();
    let mut fields = Vec::new();
    for (k, v) in o.fields.bind(py).iter() {
        let name = k
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("Object field names must be str"))?
            .to_cow()?
            .into_owned();
        fields.push((name.into(), from_py(&v, seen, depth + 1)?));
    }
    Ok(Value::Object(HObject {
        class: o.class_name.as_str().into(),
        fields,
    }))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Object>()?;
    m.add_function(wrap_pyfunction!(loads, m)?)?;
    m.add_function(wrap_pyfunction!(dumps, m)?)?;
    Ok(())
}
