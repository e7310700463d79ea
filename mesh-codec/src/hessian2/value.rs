//! The owned value model of Hessian 2.0.

use std::sync::Arc;

/// One Hessian 2.0 value.
///
/// References (`Q`) are kept as [`Value::Ref`] with the index the stream gave them (lists, maps
/// and objects are numbered in the order they start), so cyclic graphs survive a round trip.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    /// 32-bit int (all compact forms decode to this).
    Int(i32),
    /// 64-bit long.
    Long(i64),
    /// IEEE double (the compact forms decode to this).
    Double(f64),
    /// UTC date, milliseconds since the epoch (the minute form decodes to this too).
    Date(i64),
    /// A string (Hessian lengths are UTF-16 units; supplementary characters are surrogate pairs
    /// on the wire).
    String(String),
    Binary(Vec<u8>),
    List(List),
    Map(Map),
    Object(Object),
    /// A back reference to the n-th list, map or object of the stream.
    Ref(u32),
}

/// A list, typed (`"[int"`, `"java.util.ArrayList"`…) or untyped. Names are shared: every
/// list of one stream that refers to a type holds the same string.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct List {
    pub type_name: Option<Arc<str>>,
    pub items: Vec<Value>,
}

/// A map, typed (`M`) or untyped (`H`); entries in wire order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map {
    pub type_name: Option<Arc<str>>,
    pub entries: Vec<(Value, Value)>,
}

/// An object of a class definition: class name and its fields in definition order. The names
/// are shared by every object of the class (the stream defines them once).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    pub class: Arc<str>,
    pub fields: Vec<(Arc<str>, Value)>,
}

impl PartialEq for Value {
    /// Structural equality; doubles compare by value with NaN equal to NaN (Hessian writes
    /// `-0.0` as the `0.0` byte, so `-0.0 == 0.0` as in IEEE).
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Long(a), Long(b)) => a == b,
            (Double(a), Double(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Date(a), Date(b)) => a == b,
            (String(a), String(b)) => a == b,
            (Binary(a), Binary(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Map(a), Map(b)) => a == b,
            (Object(a), Object(b)) => a == b,
            (Ref(a), Ref(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// The string, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Shorthand for an untyped list.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(List {
            type_name: None,
            items,
        })
    }

    /// Shorthand for a typed list.
    pub fn typed_list(type_name: &str, items: Vec<Value>) -> Value {
        Value::List(List {
            type_name: Some(type_name.into()),
            items,
        })
    }

    /// Shorthand for an untyped map.
    pub fn map(entries: Vec<(Value, Value)>) -> Value {
        Value::Map(Map {
            type_name: None,
            entries,
        })
    }

    /// Shorthand for an object.
    pub fn object(class: &str, fields: Vec<(&str, Value)>) -> Value {
        Value::Object(Object {
            class: class.into(),
            fields: fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        })
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Long(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Double(v)
    }
}
