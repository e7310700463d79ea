//! # meshplane-c
//!
//! The C API of Meshplane (library `libmeshplane`, header `include/meshplane.h`): the codecs,
//! the limiters and the translation, behind opaque handles, numeric result codes and
//! (pointer, length) strings. The conventions are in this crate's README.md.
//!
//! The functions are `extern "C"`, so Rust can call them too (the benches do):
//!
//! ```
//! use meshplane::*;
//!
//! let v = meshplane_version();
//! let v = unsafe { std::slice::from_raw_parts(v.data.cast::<u8>(), v.len) };
//! assert_eq!(v, env!("CARGO_PKG_VERSION").as_bytes());
//!
//! let mut codec = std::ptr::null_mut();
//! let rc = unsafe {
//!     meshplane_codec_new(c"nope".as_ptr(), 4, MESHPLANE_DIRECTION_REQUEST, std::ptr::null(), &mut codec)
//! };
//! assert_eq!(rc, meshplane_result::UnknownProtocol);
//! assert!(codec.is_null()); // out-params are written only on success
//! ```
// The workspace denies `unsafe_code`; a C API cannot exist without it: `#[unsafe(no_mangle)]`
// exports, `unsafe extern "C" fn`s taking raw pointers and the blocks that dereference them.
// Every other workspace lint applies here as everywhere.
#![allow(unsafe_code)]
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // every `unsafe fn` documents its contract in `# Safety`

mod codec;
mod error;
mod ffi;
mod limiter;
mod quota;
mod translate;

pub use codec::*;
pub use error::*;
pub use ffi::meshplane_str;
pub use limiter::*;
pub use quota::*;
pub use translate::*;

/// The library version (`MAJOR.MINOR.PATCH`), a static string valid forever.
#[unsafe(no_mangle)]
pub extern "C" fn meshplane_version() -> meshplane_str {
    meshplane_str::of(env!("CARGO_PKG_VERSION"))
}
