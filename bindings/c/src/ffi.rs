//! Glue shared by every exported function: the panic boundary, NULL checks, handle checks and
//! borrowed (pointer, length) views.

use std::os::raw::c_char;

use crate::error::meshplane_result;

/// A borrowed string: `len` bytes of UTF-8 at `data`, **not** NUL-terminated.
///
/// A `meshplane_str` returned by the library is a view into memory the library owns; each
/// function documents how long it stays valid. `data` may be NULL only when `len` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshplane_str {
    pub data: *const c_char,
    pub len: usize,
}

impl meshplane_str {
    /// The empty string.
    pub const EMPTY: meshplane_str = meshplane_str {
        data: std::ptr::null(),
        len: 0,
    };

    /// A view of `s` (the caller guarantees `s` outlives the view's documented lifetime).
    pub fn of(s: &str) -> meshplane_str {
        meshplane_str {
            data: s.as_ptr().cast(),
            len: s.len(),
        }
    }
}

/// Runs `body`, turning a panic into `$default` (never unwinding into C).
macro_rules! boundary {
    ($default:expr, $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => $default,
        }
    }};
}
pub(crate) use boundary;

/// Returns early from the enclosing function with `e` when `r` is `Err(e)`.
macro_rules! tri {
    ($r:expr) => {
        match $r {
            Ok(v) => v,
            Err(e) => return e,
        }
    };
}
pub(crate) use tri;

/// A heap object handed to C as an opaque pointer. Every handle starts with a per-type tag so
/// that a handle of the wrong type (or a zeroed/garbage block) is refused with
/// `MESHPLANE_RESULT_INVALID_HANDLE` instead of being used.
///
/// Implementors are `#[repr(C)]` with a `u64` tag as their first field; C sees only the
/// zero-sized `Opaque` type.
pub(crate) trait Handle: Sized {
    /// The type C sees (an empty struct: `typedef struct x x;` in the header).
    type Opaque;
    const MAGIC: u64;
    fn clear_magic(&mut self);
}

/// Reads the first 8 bytes of a handle pointer: the type tag.
///
/// # Safety
/// `p` must be NULL or point to at least 8 readable bytes (any of our handles does).
unsafe fn tag_of<T>(p: *const T) -> u64 {
    // SAFETY: per the function contract; unaligned read so a misaligned garbage pointer that is
    // still readable does not trigger UB.
    unsafe { std::ptr::read_unaligned(p.cast::<u64>()) }
}

/// Borrows a handle.
///
/// # Safety
/// `p` is NULL or a pointer the library returned and has not freed.
pub(crate) unsafe fn handle_ref<'a, T: Handle>(
    p: *const T::Opaque,
) -> Result<&'a T, meshplane_result> {
    let p = p.cast::<T>();
    if p.is_null() {
        return Err(meshplane_result::NullParameter);
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<T>()) || unsafe { tag_of(p) } != T::MAGIC {
        return Err(meshplane_result::InvalidHandle);
    }
    // SAFETY: non-null, aligned, tagged as a T the library allocated.
    Ok(unsafe { &*p })
}

/// Borrows a handle mutably.
///
/// # Safety
/// As [`handle_ref`], and no other reference to the handle is live (C calls it from one thread).
pub(crate) unsafe fn handle_mut<'a, T: Handle>(
    p: *mut T::Opaque,
) -> Result<&'a mut T, meshplane_result> {
    unsafe { handle_ref::<T>(p)? };
    // SAFETY: checked above.
    Ok(unsafe { &mut *p.cast::<T>() })
}

/// Moves a handle to C.
pub(crate) fn into_handle<T: Handle>(value: T) -> *mut T::Opaque {
    Box::into_raw(Box::new(value)).cast()
}

/// Frees a handle (NULL and non-handles are ignored).
///
/// # Safety
/// `p` is NULL or a pointer the library returned and has not freed.
pub(crate) unsafe fn free_handle<T: Handle>(p: *mut T::Opaque) {
    if unsafe { handle_ref::<T>(p) }.is_ok() {
        // SAFETY: allocated by `into_handle`, not yet freed.
        let mut b = unsafe { Box::from_raw(p.cast::<T>()) };
        b.clear_magic();
        drop(b);
    }
}

/// Checks an out-pointer for NULL.
pub(crate) fn out<'a, T>(p: *mut T) -> Result<&'a mut std::mem::MaybeUninit<T>, meshplane_result> {
    if p.is_null() {
        Err(meshplane_result::NullParameter)
    } else {
        // SAFETY: non-null; the caller promised it points to writable memory for one T.
        Ok(unsafe { &mut *p.cast::<std::mem::MaybeUninit<T>>() })
    }
}

/// Views C bytes. NULL is accepted only with length 0.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes that stay unchanged during the call.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize) -> Result<&'a [u8], meshplane_result> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(meshplane_result::NullParameter)
        };
    }
    if len > isize::MAX as usize {
        return Err(meshplane_result::InvalidParameter);
    }
    // SAFETY: per the function contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Views a C string given as (pointer, length): UTF-8, not NUL-terminated.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn text<'a>(p: *const c_char, len: usize) -> Result<&'a str, meshplane_result> {
    let b = unsafe { bytes(p.cast(), len)? };
    std::str::from_utf8(b).map_err(|_| meshplane_result::InvalidUtf8)
}

/// Views a C array of `n` elements. NULL is accepted only with `n == 0`.
///
/// # Safety
/// `p` is NULL or points to `n` initialized elements.
pub(crate) unsafe fn array<'a, T>(p: *const T, n: usize) -> Result<&'a [T], meshplane_result> {
    if p.is_null() {
        return if n == 0 {
            Ok(&[])
        } else {
            Err(meshplane_result::NullParameter)
        };
    }
    if n.checked_mul(std::mem::size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
        || !(p as usize).is_multiple_of(std::mem::align_of::<T>())
    {
        return Err(meshplane_result::InvalidParameter);
    }
    // SAFETY: per the function contract.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// Copies `src` into the caller's buffer `(dst, cap)`, reporting the size through `written_out`.
/// When it does not fit, nothing is copied, `*written_out` receives the size needed and the
/// result is `BUFFER_TOO_SMALL`.
///
/// # Safety
/// `dst` is NULL or points to `cap` writable bytes not overlapping `src`.
pub(crate) unsafe fn copy_out(
    src: &[u8],
    dst: *mut u8,
    cap: usize,
    written_out: *mut usize,
) -> meshplane_result {
    let written = tri!(out(written_out));
    if src.len() > cap {
        written.write(src.len());
        return meshplane_result::BufferTooSmall;
    }
    if dst.is_null() {
        if !src.is_empty() || cap != 0 {
            return meshplane_result::NullParameter;
        }
    } else {
        // SAFETY: `dst` has `cap >= src.len()` writable bytes.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
    }
    written.write(src.len());
    meshplane_result::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundary_turns_a_panic_into_the_default() {
        let r = boundary!(meshplane_result::Panic, {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            meshplane_result::Ok
        });
        assert_eq!(r, meshplane_result::Panic);
        let p: *const u8 = boundary!(std::ptr::null(), { panic!("boom") });
        assert!(p.is_null());
        assert_eq!(boundary!(7, { 8 }), 8);
    }

    #[test]
    fn copy_out_reports_the_size_needed() {
        let mut buf = [0u8; 4];
        let mut n = 0;
        let r = unsafe { copy_out(b"hello", buf.as_mut_ptr(), 4, &mut n) };
        assert_eq!((r, n, buf), (meshplane_result::BufferTooSmall, 5, [0; 4]));
        let r = unsafe { copy_out(b"hey", buf.as_mut_ptr(), 4, &mut n) };
        assert_eq!((r, n, &buf[..3]), (meshplane_result::Ok, 3, &b"hey"[..]));
        let r = unsafe { copy_out(b"", std::ptr::null_mut(), 0, &mut n) };
        assert_eq!((r, n), (meshplane_result::Ok, 0));
        let r = unsafe { copy_out(b"", std::ptr::null_mut(), 3, &mut n) };
        assert_eq!(r, meshplane_result::NullParameter);
        let r = unsafe { copy_out(b"x", buf.as_mut_ptr(), 4, std::ptr::null_mut()) };
        assert_eq!(r, meshplane_result::NullParameter);
    }

    #[test]
    fn views_refuse_null_with_a_length_and_huge_lengths() {
        unsafe {
            assert_eq!(bytes(std::ptr::null(), 0), Ok(&[][..]));
            assert_eq!(
                bytes(std::ptr::null(), 1),
                Err(meshplane_result::NullParameter)
            );
            let b = [0u8; 1];
            assert_eq!(
                bytes(b.as_ptr(), usize::MAX),
                Err(meshplane_result::InvalidParameter)
            );
            assert_eq!(
                text(b"\xff".as_ptr().cast(), 1),
                Err(meshplane_result::InvalidUtf8)
            );
            let a = [0u64; 1];
            assert_eq!(
                array(a.as_ptr(), usize::MAX / 4).map(|_| ()),
                Err(meshplane_result::InvalidParameter)
            );
            assert_eq!(array::<u64>(std::ptr::null(), 0).map(<[u64]>::len), Ok(0));
        }
    }
}
