//! Hessian 2.0 decoder: owned [`Value`]s, borrowed strings, and an allocation-free `skip`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use super::error::HessianError;
use super::value::{List, Map, Object, Value};

type Result<T> = std::result::Result<T, HessianError>;

/// Decoder limits; memory use is bounded by these and by the input, never by a claimed length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HessianLimits {
    /// Deepest nesting of lists, maps and objects.
    pub max_depth: usize,
    /// Longest string, in UTF-16 units (summed over chunks).
    pub max_string_len: usize,
    /// Longest binary, in bytes (summed over chunks).
    pub max_binary_len: usize,
    /// Most elements (entries, fields) one list, map or class definition may have; also the
    /// most class definitions and types one stream may define (the stream remembers each).
    pub max_collection_len: usize,
}

impl HessianLimits {
    /// Depth 64, 16 Mi-unit strings, 64 MiB binaries, 1 Mi elements.
    pub const DEFAULT: HessianLimits = HessianLimits {
        max_depth: 64,
        max_string_len: 16 * 1024 * 1024,
        max_binary_len: 64 * 1024 * 1024,
        max_collection_len: 1024 * 1024,
    };
}

impl Default for HessianLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A class definition, as offsets into the input: a definition costs the stream at least three
/// bytes, and remembering it costs this (the field names are found again from `fields_at` when
/// a value is built, so a definition with many fields costs no more than one with none).
#[derive(Debug, Clone, Copy)]
struct ClassDef {
    /// Offset of the class-name string.
    name_at: usize,
    /// Offset of the first field-name string (the names follow one another).
    fields_at: usize,
    field_count: usize,
}

/// What one Hessian stream has defined so far: class definitions, types and the number of
/// referenceable values. A Dubbo body is one stream: class definitions made by an argument are
/// visible to the following arguments and to the attachment map.
///
/// A context holds offsets into the decoder's input, so it belongs to one input buffer;
/// [`Decoder::with_context`] clears it and keeps its allocations (a connection reuses one).
#[derive(Debug, Default, Clone)]
pub struct Context {
    classes: Vec<ClassDef>,
    types: Vec<usize>,
    refs: usize,
}

impl Context {
    /// Forgets every definition, keeping allocations.
    pub fn clear(&mut self) {
        self.classes.clear();
        self.types.clear();
        self.refs = 0;
    }

    /// Number of class definitions seen.
    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// Number of referenceable values (lists, maps, objects) seen.
    pub fn ref_count(&self) -> usize {
        self.refs
    }

    /// Number of types (list/map type names) seen.
    pub fn type_count(&self) -> usize {
        self.types.len()
    }
}

/// Reads Hessian 2.0 values from one byte slice.
///
/// ```
/// use mesh_codec::hessian2::{Decoder, Value};
/// // [1, "a", null] as a fixed-length untyped list
/// let mut d = Decoder::new(&[0x7b, 0x91, 0x01, b'a', 0x4e]);
/// assert_eq!(d.read_value().unwrap(), Value::list(vec![1.into(), "a".into(), Value::Null]));
/// assert!(d.is_empty());
/// ```
#[derive(Debug)]
pub struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    limits: HessianLimits,
    ctx: Context,
    /// Names built for [`Decoder::read_value`]; made on first use (`skip` needs none).
    names: Option<Box<Names>>,
}

/// Names (class, field and type names) already built, by offset: every object of a class
/// shares its names, so a long name defined once and used by many one-byte objects costs its
/// length once, not once per object.
#[derive(Debug, Default)]
struct Names {
    by_offset: HashMap<usize, Arc<str>>,
    /// The field names of each class (by class number), built on its first object.
    class_fields: HashMap<usize, Arc<[Arc<str>]>>,
}

/// Where a string's bytes were after [`Decoder::scan_units`].
struct Scan {
    end: usize,
    /// Bytes are plain UTF-8 (no CESU-8 surrogate halves).
    plain: bool,
}

impl<'a> Decoder<'a> {
    /// A decoder over `input` with default limits and a fresh context.
    pub fn new(input: &'a [u8]) -> Self {
        Self::with_context(input, HessianLimits::DEFAULT, Context::default())
    }

    /// A decoder with explicit limits.
    pub fn with_limits(input: &'a [u8], limits: HessianLimits) -> Self {
        Self::with_context(input, limits, Context::default())
    }

    /// A decoder reusing `ctx`'s allocations (the context is cleared).
    pub fn with_context(input: &'a [u8], limits: HessianLimits, mut ctx: Context) -> Self {
        ctx.clear();
        Decoder {
            input,
            pos: 0,
            limits,
            ctx,
            names: None,
        }
    }

    /// Gives the context back for reuse.
    pub fn into_context(self) -> Context {
        self.ctx
    }

    /// The stream state so far.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    /// True when every byte was read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// The next tag byte, without consuming it.
    pub fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    // ---------------------------------------------------------------- primitives

    #[inline]
    fn byte(&mut self) -> Result<u8> {
        match self.input.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(HessianError::UnexpectedEof { offset: self.pos }),
        }
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.input.len() - self.pos < n {
            return Err(HessianError::UnexpectedEof {
                offset: self.input.len(),
            });
        }
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline]
    fn u16(&mut self) -> Result<usize> {
        let b = self.take(2)?;
        Ok(((b[0] as usize) << 8) | b[1] as usize)
    }

    #[inline]
    fn i32(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    #[inline]
    fn i64(&mut self) -> Result<i64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    fn unexpected(&self, offset: usize, tag: u8, expected: &'static str) -> HessianError {
        HessianError::UnexpectedTag {
            offset,
            tag,
            expected,
        }
    }

    // ---------------------------------------------------------------- scalars

    /// The int that starts at `tag` (already consumed), or `None` when `tag` is not an int.
    #[inline]
    fn int_after(&mut self, tag: u8) -> Result<Option<i32>> {
        Ok(Some(match tag {
            0x80..=0xbf => tag as i32 - 0x90,
            0xc0..=0xcf => ((tag as i32 - 0xc8) << 8) | self.byte()? as i32,
            0xd0..=0xd7 => ((tag as i32 - 0xd4) << 16) | self.u16()? as i32,
            b'I' => self.i32()?,
            _ => return Ok(None),
        }))
    }

    /// The long that starts at `tag` (already consumed), or `None`.
    #[inline]
    fn long_after(&mut self, tag: u8) -> Result<Option<i64>> {
        Ok(Some(match tag {
            0xd8..=0xef => tag as i64 - 0xe0,
            0xf0..=0xff => ((tag as i64 - 0xf8) << 8) | self.byte()? as i64,
            0x38..=0x3f => ((tag as i64 - 0x3c) << 16) | self.u16()? as i64,
            b'Y' => self.i32()? as i64,
            b'L' => self.i64()?,
            _ => return Ok(None),
        }))
    }

    /// Reads an int (any of its encodings).
    pub fn read_int(&mut self) -> Result<i32> {
        let off = self.pos;
        let tag = self.byte()?;
        match self.int_after(tag)? {
            Some(v) => Ok(v),
            None => Err(self.unexpected(off, tag, "an int")),
        }
    }

    /// Reads a long (any of its encodings; an int is widened).
    pub fn read_long(&mut self) -> Result<i64> {
        let off = self.pos;
        let tag = self.byte()?;
        if let Some(v) = self.long_after(tag)? {
            return Ok(v);
        }
        match self.int_after(tag)? {
            Some(v) => Ok(v as i64),
            None => Err(self.unexpected(off, tag, "a long")),
        }
    }

    fn double_after(&mut self, tag: u8) -> Result<Option<f64>> {
        Ok(Some(match tag {
            0x5b => 0.0,
            0x5c => 1.0,
            0x5d => self.byte()? as i8 as f64,
            0x5e => self.u16()? as u16 as i16 as f64,
            // "mills": an int of thousandths, as the reference computes it
            0x5f => 0.001 * self.i32()? as f64,
            b'D' => f64::from_bits(self.i64()? as u64),
            _ => return Ok(None),
        }))
    }

    /// A length read as an int and checked against a limit.
    fn len_int(&mut self, what: &'static str, limit: usize) -> Result<usize> {
        let off = self.pos;
        let n = self.read_int()?;
        if n < 0 || n as usize > limit {
            return Err(HessianError::TooLarge {
                offset: off,
                what,
                size: n as i64,
                limit,
            });
        }
        Ok(n as usize)
    }

    // ---------------------------------------------------------------- strings

    /// True when `tag` starts a string.
    #[inline]
    pub fn is_string_tag(tag: u8) -> bool {
        matches!(tag, 0x00..=0x1f | 0x30..=0x33 | b'R' | b'S')
    }

    /// Finds where `units` UTF-16 units of string bytes end, starting at `self.pos`.
    #[inline]
    fn scan_units(&self, units: usize) -> Result<Scan> {
        let start = self.pos;
        let input = self.input;
        // Fast path: ASCII.
        if let Some(chunk) = input.get(start..start + units)
            && chunk.is_ascii()
        {
            return Ok(Scan {
                end: start + units,
                plain: true,
            });
        }
        let mut p = start;
        let mut n = 0usize;
        let mut plain = true;
        while n < units {
            let b = *input.get(p).ok_or(HessianError::UnexpectedEof {
                offset: input.len(),
            })?;
            let (len, u) = match b {
                0x00..=0x7f => (1, 1),
                0xc0..=0xdf => (2, 1),
                0xe0..=0xef => {
                    if b == 0xed && input.get(p + 1).is_some_and(|&c| c >= 0xa0) {
                        plain = false;
                    }
                    (3, 1)
                }
                0xf0..=0xf7 => (4, 2),
                _ => return Err(HessianError::InvalidUtf8 { offset: p }),
            };
            if p + len > input.len() {
                return Err(HessianError::UnexpectedEof {
                    offset: input.len(),
                });
            }
            for i in 1..len {
                if input[p + i] & 0xc0 != 0x80 {
                    return Err(HessianError::InvalidUtf8 { offset: p + i });
                }
            }
            p += len;
            n += u;
        }
        if n != units {
            // a 4-byte sequence straddles the declared length
            return Err(HessianError::InvalidUtf8 { offset: p });
        }
        Ok(Scan { end: p, plain })
    }

    /// Length and finality of the string chunk starting at `tag` (consumed).
    #[inline]
    fn string_chunk_len(&mut self, tag: u8, off: usize) -> Result<(usize, bool)> {
        Ok(match tag {
            0x00..=0x1f => (tag as usize, true),
            0x30..=0x33 => ((((tag - 0x30) as usize) << 8) | self.byte()? as usize, true),
            b'S' => (self.u16()?, true),
            b'R' => (self.u16()?, false),
            _ => return Err(self.unexpected(off, tag, "a string chunk")),
        })
    }

    /// Reads a string chunk by chunk, borrowing when it is one chunk of plain UTF-8.
    fn str_after(&mut self, tag: u8, off: usize) -> Result<Cow<'a, str>> {
        let (len, last) = self.string_chunk_len(tag, off)?;
        self.check_string_len(len, off)?;
        let start = self.pos;
        let scan = self.scan_units(len)?;
        if last
            && scan.plain
            && let Ok(s) = std::str::from_utf8(&self.input[start..scan.end])
        {
            self.pos = scan.end;
            return Ok(Cow::Borrowed(s));
        }
        // Chunked or CESU-8: append chunk by chunk; plain chunks are copied as they are,
        // surrogate halves are paired (also across chunks), a lone half becomes U+FFFD.
        let mut out = String::with_capacity((scan.end - start).min(self.remaining()));
        let mut pending: Option<u16> = None;
        let mut total = len;
        let mut scan = scan;
        let mut last = last;
        loop {
            let chunk = &self.input[self.pos..scan.end];
            match std::str::from_utf8(chunk) {
                Ok(s) if scan.plain => {
                    if pending.take().is_some() {
                        out.push(char::REPLACEMENT_CHARACTER);
                    }
                    out.push_str(s);
                }
                // CESU-8 surrogate halves, or sequences Java accepts and strict UTF-8 does not
                // (overlong forms): decoded unit by unit, as the reference does.
                _ => push_cesu(chunk, self.pos, &mut out, &mut pending)?,
            }
            self.pos = scan.end;
            if last {
                break;
            }
            let off = self.pos;
            let tag = self.byte()?;
            let (len, l) = self.string_chunk_len(tag, off)?;
            total += len;
            self.check_string_len(total, off)?;
            scan = self.scan_units(len)?;
            last = l;
        }
        if pending.is_some() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
        Ok(Cow::Owned(out))
    }

    fn check_string_len(&self, len: usize, off: usize) -> Result<()> {
        if len > self.limits.max_string_len {
            return Err(HessianError::TooLarge {
                offset: off,
                what: "string",
                size: len as i64,
                limit: self.limits.max_string_len,
            });
        }
        Ok(())
    }

    fn skip_string_after(&mut self, tag: u8, off: usize) -> Result<()> {
        let (mut len, mut last) = self.string_chunk_len(tag, off)?;
        let mut total = len;
        loop {
            self.check_string_len(total, off)?;
            self.pos = self.scan_units(len)?.end;
            if last {
                return Ok(());
            }
            let off = self.pos;
            let tag = self.byte()?;
            (len, last) = self.string_chunk_len(tag, off)?;
            total += len;
        }
    }

    /// Reads a string; borrowed from the input when it is one plain chunk. `null` is refused.
    pub fn read_str(&mut self) -> Result<Cow<'a, str>> {
        let off = self.pos;
        let tag = self.byte()?;
        if !Self::is_string_tag(tag) {
            return Err(self.unexpected(off, tag, "a string"));
        }
        self.str_after(tag, off)
    }

    /// Reads a string or `null`.
    pub fn read_opt_str(&mut self) -> Result<Option<Cow<'a, str>>> {
        if self.peek() == Some(b'N') {
            self.pos += 1;
            return Ok(None);
        }
        self.read_str().map(Some)
    }

    fn str_at(&mut self, at: usize) -> Result<Cow<'a, str>> {
        let saved = self.pos;
        self.pos = at;
        let r = self.read_str();
        self.pos = saved;
        r
    }

    // ---------------------------------------------------------------- binary

    fn binary_chunk_len(&mut self, tag: u8, off: usize) -> Result<(usize, bool)> {
        Ok(match tag {
            0x20..=0x2f => ((tag - 0x20) as usize, true),
            0x34..=0x37 => ((((tag - 0x34) as usize) << 8) | self.byte()? as usize, true),
            b'B' => (self.u16()?, true),
            b'A' => (self.u16()?, false),
            _ => return Err(self.unexpected(off, tag, "a binary chunk")),
        })
    }

    fn binary_after(&mut self, tag: u8, off: usize, out: Option<&mut Vec<u8>>) -> Result<()> {
        let (mut len, mut last) = self.binary_chunk_len(tag, off)?;
        let mut total = len;
        let mut out = out;
        loop {
            if total > self.limits.max_binary_len {
                return Err(HessianError::TooLarge {
                    offset: off,
                    what: "binary",
                    size: total as i64,
                    limit: self.limits.max_binary_len,
                });
            }
            let bytes = self.take(len)?;
            if let Some(o) = out.as_deref_mut() {
                o.extend_from_slice(bytes);
            }
            if last {
                return Ok(());
            }
            let off = self.pos;
            let tag = self.byte()?;
            (len, last) = self.binary_chunk_len(tag, off)?;
            total += len;
        }
    }

    // ---------------------------------------------------------------- definitions

    fn class_def(&mut self) -> Result<()> {
        let name_at = self.pos;
        if self.ctx.classes.len() >= self.limits.max_collection_len {
            return Err(self.too_many_definitions(name_at - 1, "class definitions"));
        }
        self.read_str()?;
        let count = self.len_int("collection", self.limits.max_collection_len)?;
        let fields_at = self.pos;
        for _ in 0..count {
            self.field_name()?;
        }
        self.ctx.classes.push(ClassDef {
            name_at,
            fields_at,
            field_count: count,
        });
        Ok(())
    }

    /// Steps over one field name of a class definition.
    fn field_name(&mut self) -> Result<()> {
        let off = self.pos;
        let tag = self.byte()?;
        if !Self::is_string_tag(tag) {
            return Err(self.unexpected(off, tag, "a field name"));
        }
        self.skip_string_after(tag, off)
    }

    /// The stream defined more classes or types than [`HessianLimits::max_collection_len`].
    #[cold]
    fn too_many_definitions(&self, offset: usize, what: &'static str) -> HessianError {
        HessianError::TooLarge {
            offset,
            what,
            size: self.limits.max_collection_len as i64 + 1,
            limit: self.limits.max_collection_len,
        }
    }

    /// The (shared) string at `at`, built once per offset.
    fn name_at(&mut self, at: usize) -> Result<Arc<str>> {
        if let Some(n) = self.names.as_ref().and_then(|c| c.by_offset.get(&at)) {
            return Ok(Arc::clone(n));
        }
        let n: Arc<str> = Arc::from(self.str_at(at)?);
        let names = self.names.get_or_insert_default();
        names.by_offset.insert(at, Arc::clone(&n));
        Ok(n)
    }

    /// The field names of class number `idx`, built once per class.
    fn fields_of(&mut self, idx: usize, class: ClassDef) -> Result<Arc<[Arc<str>]>> {
        if let Some(f) = self.names.as_ref().and_then(|c| c.class_fields.get(&idx)) {
            return Ok(Arc::clone(f));
        }
        let saved = self.pos;
        self.pos = class.fields_at;
        let mut names = Vec::with_capacity(class.field_count);
        for _ in 0..class.field_count {
            let at = self.pos;
            self.field_name()?;
            names.push(at);
        }
        self.pos = saved;
        let names: Arc<[Arc<str>]> = names
            .into_iter()
            .map(|at| self.name_at(at))
            .collect::<Result<_>>()?;
        let cache = self.names.get_or_insert_default();
        cache.class_fields.insert(idx, Arc::clone(&names));
        Ok(names)
    }

    fn class_ref(&mut self, tag: u8) -> Result<(usize, ClassDef)> {
        let off = self.pos;
        let idx = if tag == b'O' {
            self.read_int()? as i64
        } else {
            (tag - 0x60) as i64
        };
        if idx < 0 || idx as usize >= self.ctx.classes.len() {
            return Err(HessianError::BadReference {
                offset: off,
                what: "class",
                index: idx,
                defined: self.ctx.classes.len(),
            });
        }
        Ok((idx as usize, self.ctx.classes[idx as usize]))
    }

    /// Reads a type (a string, recorded, or an int reference to an earlier one); returns the
    /// offset of the type's string.
    fn type_at(&mut self) -> Result<usize> {
        let off = self.pos;
        let tag = self.byte()?;
        if Self::is_string_tag(tag) {
            if self.ctx.types.len() >= self.limits.max_collection_len {
                return Err(self.too_many_definitions(off, "types"));
            }
            self.skip_string_after(tag, off)?;
            self.ctx.types.push(off);
            return Ok(off);
        }
        match self.int_after(tag)? {
            Some(i) if i >= 0 && (i as usize) < self.ctx.types.len() => {
                Ok(self.ctx.types[i as usize])
            }
            Some(i) => Err(HessianError::BadReference {
                offset: off,
                what: "type",
                index: i as i64,
                defined: self.ctx.types.len(),
            }),
            None => Err(self.unexpected(off, tag, "a type")),
        }
    }

    fn reference(&mut self) -> Result<u32> {
        let off = self.pos;
        let i = self.read_int()?;
        if i < 0 || i as usize >= self.ctx.refs {
            return Err(HessianError::BadReference {
                offset: off,
                what: "value",
                index: i as i64,
                defined: self.ctx.refs,
            });
        }
        Ok(i as u32)
    }

    #[inline]
    fn enter(&self, depth: usize, off: usize) -> Result<usize> {
        if depth >= self.limits.max_depth {
            return Err(HessianError::DepthExceeded {
                offset: off,
                limit: self.limits.max_depth,
            });
        }
        Ok(depth + 1)
    }

    /// True (and consumed) when the next byte is the `Z` terminator.
    fn end_marker(&mut self) -> Result<bool> {
        match self.peek() {
            Some(b'Z') => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(HessianError::UnexpectedEof { offset: self.pos }),
        }
    }

    fn fixed_len(&mut self, tag: u8) -> Result<usize> {
        match tag {
            0x70..=0x77 => Ok((tag - 0x70) as usize),
            0x78..=0x7f => Ok((tag - 0x78) as usize),
            _ => self.len_int("collection", self.limits.max_collection_len),
        }
    }

    // ---------------------------------------------------------------- skip

    /// Steps over one value without building it (no heap allocation beyond the context's
    /// reusable tables), recording class definitions, types and references on the way.
    pub fn skip(&mut self) -> Result<()> {
        self.skip_at(0)
    }

    fn skip_at(&mut self, depth: usize) -> Result<()> {
        loop {
            let off = self.pos;
            let tag = self.byte()?;
            match tag {
                0x00..=0x1f | 0x30..=0x33 | b'R' | b'S' => self.skip_string_after(tag, off)?,
                0x20..=0x2f | 0x34..=0x37 | b'A' | b'B' => self.binary_after(tag, off, None)?,
                0x80..=0xbf | 0xd8..=0xef | b'N' | b'T' | b'F' | 0x5b | 0x5c => {}
                0xc0..=0xcf | 0xf0..=0xff | 0x5d => {
                    self.take(1)?;
                }
                0xd0..=0xd7 | 0x38..=0x3f | 0x5e => {
                    self.take(2)?;
                }
                b'I' | b'Y' | 0x5f | 0x4b => {
                    self.take(4)?;
                }
                b'L' | b'D' | 0x4a => {
                    self.take(8)?;
                }
                b'C' => {
                    self.class_def()?;
                    continue;
                }
                b'O' | 0x60..=0x6f => {
                    let (_, class) = self.class_ref(tag)?;
                    let d = self.enter(depth, off)?;
                    self.ctx.refs += 1;
                    for _ in 0..class.field_count {
                        self.skip_at(d)?;
                    }
                }
                b'H' | b'M' => {
                    if tag == b'M' {
                        self.type_at()?;
                    }
                    let d = self.enter(depth, off)?;
                    self.ctx.refs += 1;
                    let mut n = 0;
                    while !self.end_marker()? {
                        n += 1;
                        if n > self.limits.max_collection_len {
                            return Err(self.too_many(off, n));
                        }
                        self.skip_at(d)?;
                        self.skip_at(d)?;
                    }
                }
                b'U' | b'W' => {
                    if tag == b'U' {
                        self.type_at()?;
                    }
                    let d = self.enter(depth, off)?;
                    self.ctx.refs += 1;
                    let mut n = 0;
                    while !self.end_marker()? {
                        n += 1;
                        if n > self.limits.max_collection_len {
                            return Err(self.too_many(off, n));
                        }
                        self.skip_at(d)?;
                    }
                }
                b'V' | b'X' | 0x70..=0x7f => {
                    if tag == b'V' || (0x70..=0x77).contains(&tag) {
                        self.type_at()?;
                    }
                    let n = self.fixed_len(tag)?;
                    let d = self.enter(depth, off)?;
                    self.ctx.refs += 1;
                    for _ in 0..n {
                        self.skip_at(d)?;
                    }
                }
                b'Q' => {
                    self.reference()?;
                }
                _ => return Err(self.unexpected(off, tag, "a value")),
            }
            return Ok(());
        }
    }

    // ---------------------------------------------------------------- values

    /// Reads one value.
    pub fn read_value(&mut self) -> Result<Value> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> Result<Value> {
        loop {
            let off = self.pos;
            let tag = self.byte()?;
            if let Some(v) = self.int_after(tag)? {
                return Ok(Value::Int(v));
            }
            if let Some(v) = self.long_after(tag)? {
                return Ok(Value::Long(v));
            }
            if let Some(v) = self.double_after(tag)? {
                return Ok(Value::Double(v));
            }
            return Ok(match tag {
                b'N' => Value::Null,
                b'T' => Value::Bool(true),
                b'F' => Value::Bool(false),
                0x4a => Value::Date(self.i64()?),
                0x4b => Value::Date(self.i32()? as i64 * 60_000),
                0x00..=0x1f | 0x30..=0x33 | b'R' | b'S' => {
                    Value::String(self.str_after(tag, off)?.into_owned())
                }
                0x20..=0x2f | 0x34..=0x37 | b'A' | b'B' => {
                    let mut v = Vec::new();
                    self.binary_after(tag, off, Some(&mut v))?;
                    Value::Binary(v)
                }
                b'C' => {
                    self.class_def()?;
                    continue;
                }
                b'O' | 0x60..=0x6f => {
                    let (idx, class) = self.class_ref(tag)?;
                    let d = self.enter(depth, off)?;
                    self.ctx.refs += 1;
                    let name = self.name_at(class.name_at)?;
                    let names = self.fields_of(idx, class)?;
                    let mut fields = Vec::with_capacity(class.field_count.min(self.remaining()));
                    for fname in names.iter() {
                        fields.push((Arc::clone(fname), self.value_at(d)?));
                    }
                    Value::Object(Object {
                        class: name,
                        fields,
                    })
                }
                b'H' | b'M' => {
                    let type_name = if tag == b'M' {
                        let at = self.type_at()?;
                        Some(self.name_at(at)?)
                    } else {
                        None
                    };
                    let d = self.enter(depth, off)?;
                    self.ctx.refs += 1;
                    let mut entries = Vec::new();
                    while !self.end_marker()? {
                        if entries.len() >= self.limits.max_collection_len {
                            return Err(self.too_many(off, entries.len() + 1));
                        }
                        let k = self.value_at(d)?;
                        let v = self.value_at(d)?;
                        entries.push((k, v));
                    }
                    Value::Map(Map { type_name, entries })
                }
                b'U' | b'W' | b'V' | b'X' | 0x70..=0x7f => {
                    let typed = matches!(tag, b'U' | b'V' | 0x70..=0x77);
                    let type_name = if typed {
                        let at = self.type_at()?;
                        Some(self.name_at(at)?)
                    } else {
                        None
                    };
                    let fixed = !matches!(tag, b'U' | b'W');
                    let n = if fixed {
                        Some(self.fixed_len(tag)?)
                    } else {
                        None
                    };
                    let d = self.enter(depth, off)?;
                    self.ctx.refs += 1;
                    let mut items;
                    if let Some(n) = n {
                        // Each item takes at least one byte: a hostile count cannot allocate
                        // more than the input holds.
                        items = Vec::with_capacity(n.min(self.remaining()));
                        for _ in 0..n {
                            items.push(self.value_at(d)?);
                        }
                    } else {
                        items = Vec::new();
                        while !self.end_marker()? {
                            if items.len() >= self.limits.max_collection_len {
                                return Err(self.too_many(off, items.len() + 1));
                            }
                            items.push(self.value_at(d)?);
                        }
                    }
                    Value::List(List { type_name, items })
                }
                b'Q' => Value::Ref(self.reference()?),
                _ => return Err(self.unexpected(off, tag, "a value")),
            });
        }
    }

    fn too_many(&self, off: usize, n: usize) -> HessianError {
        HessianError::TooLarge {
            offset: off,
            what: "collection",
            size: n as i64,
            limit: self.limits.max_collection_len,
        }
    }

    // ---------------------------------------------------------------- maps, element by element

    /// Starts reading a map (`H`, or `M` with its type) entry by entry; follow with
    /// [`Decoder::next_is_end`] / key and value reads. Returns the map's offset.
    pub fn begin_map(&mut self) -> Result<usize> {
        let off = self.pos;
        let tag = self.byte()?;
        match tag {
            b'H' => {}
            b'M' => {
                self.type_at()?;
            }
            _ => return Err(self.unexpected(off, tag, "a map")),
        }
        self.ctx.refs += 1;
        Ok(off)
    }

    /// Consumes the `Z` that ends a map or variable list; `false` when an element follows.
    pub fn next_is_end(&mut self) -> Result<bool> {
        self.end_marker()
    }
}

/// Appends CESU-8/UTF-8 `bytes` (already validated by `scan_units`) to `out`, pairing
/// surrogate halves; `pending` carries a high half across chunks.
fn push_cesu(bytes: &[u8], base: usize, out: &mut String, pending: &mut Option<u16>) -> Result<()> {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (c, n): (u32, usize) = match b {
            0x00..=0x7f => (b as u32, 1),
            0xc0..=0xdf => ((((b & 0x1f) as u32) << 6) | (bytes[i + 1] & 0x3f) as u32, 2),
            0xe0..=0xef => (
                (((b & 0x0f) as u32) << 12)
                    | (((bytes[i + 1] & 0x3f) as u32) << 6)
                    | (bytes[i + 2] & 0x3f) as u32,
                3,
            ),
            0xf0..=0xf7 => (
                (((b & 0x07) as u32) << 18)
                    | (((bytes[i + 1] & 0x3f) as u32) << 12)
                    | (((bytes[i + 2] & 0x3f) as u32) << 6)
                    | (bytes[i + 3] & 0x3f) as u32,
                4,
            ),
            _ => return Err(HessianError::InvalidUtf8 { offset: base + i }),
        };
        match c {
            0xd800..=0xdbff => {
                if pending.replace(c as u16).is_some() {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
            }
            0xdc00..=0xdfff => match pending.take() {
                Some(hi) => {
                    let cp = 0x10000 + (((hi as u32) - 0xd800) << 10) + (c - 0xdc00);
                    out.push(char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                None => out.push(char::REPLACEMENT_CHARACTER),
            },
            _ => {
                if pending.take().is_some() {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
                out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
        i += n;
    }
    Ok(())
}
