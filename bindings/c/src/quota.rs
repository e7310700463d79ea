//! `meshplane_smart_quota`: the token buckets of one rendered SmartLimiter, whose rates
//! change in place when the re-rendered config is given to `meshplane_smart_quota_update`.

use std::os::raw::c_char;
use std::sync::Arc;

use mesh_limiter::{Clock, QuotaBucket, SmartQuota};

use crate::error::{ErrorState, meshplane_result};
use crate::ffi::{Handle, boundary, free_handle, handle_ref, into_handle, out, text, tri};
use crate::limiter::{
    MESHPLANE_BUCKET_DEFAULT, MESHPLANE_BUCKET_DESCRIPTOR, clock_of, meshplane_bucket,
};
use crate::meshplane_error;

/// The token buckets of a rendered SmartLimiter (its `LocalRateLimit`), updated in place.
/// Thread-safe: share one handle between threads.
#[derive(Debug)]
pub struct meshplane_smart_quota {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Debug)]
pub(crate) struct QuotaState {
    magic: u64,
    quota: SmartQuota<Arc<dyn Clock>>,
}

impl Handle for QuotaState {
    type Opaque = meshplane_smart_quota;
    const MAGIC: u64 = 0x6d65_7368_7371_7461; // "meshsqta"
    fn clear_magic(&mut self) {
        self.magic = 0;
    }
}

fn bucket_of(bucket: meshplane_bucket, index: usize) -> Result<QuotaBucket, meshplane_result> {
    match bucket {
        MESHPLANE_BUCKET_DEFAULT => Ok(QuotaBucket::Default),
        MESHPLANE_BUCKET_DESCRIPTOR => Ok(QuotaBucket::Descriptor(index)),
        _ => Err(meshplane_result::InvalidParameter),
    }
}

/// Creates the buckets (all full) of an Envoy `LocalRateLimit` JSON, as mesh-core renders it
/// into a SmartLimiter's EnvoyFilter. `clock` may be NULL for the system monotonic clock. On
/// an invalid config returns `LIMITER_INVALID_CONFIG` and, when `error_out` is not NULL,
/// writes the details to it.
///
/// # Safety
/// Pointers are NULL or valid for the lengths given.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_smart_quota_new(
    json: *const c_char,
    json_len: usize,
    clock: *const crate::limiter::meshplane_clock,
    quota_out: *mut *mut meshplane_smart_quota,
    error_out: *mut *mut meshplane_error,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let slot = tri!(out(quota_out));
        let json = tri!(unsafe { text(json, json_len) });
        let clock = tri!(unsafe { clock_of(clock) });
        match SmartQuota::from_json(json, clock) {
            Ok(quota) => {
                slot.write(into_handle(QuotaState {
                    magic: QuotaState::MAGIC,
                    quota,
                }));
                meshplane_result::Ok
            }
            Err(e) => {
                ErrorState::report(vec![ErrorState::split(&e.to_string())], error_out);
                meshplane_result::LimiterInvalidConfig
            }
        }
    })
}

/// Changes the rates to those of the re-rendered `LocalRateLimit` JSON, keeping the bucket
/// state: each bucket is refilled at its old rate up to now; its tokens are scaled down with
/// a smaller capacity and never raised. Descriptors are matched by position. On success
/// writes the number of buckets whose rate changed to `changed_out` (may be NULL). A config
/// of another shape (descriptor count, default bucket) or an invalid one returns
/// `LIMITER_INVALID_CONFIG` (details to `error_out`) and changes nothing.
///
/// # Safety
/// `quota` is NULL or a live quota; other pointers are NULL or valid for the lengths given.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_smart_quota_update(
    quota: *const meshplane_smart_quota,
    json: *const c_char,
    json_len: usize,
    changed_out: *mut usize,
    error_out: *mut *mut meshplane_error,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let q = tri!(unsafe { handle_ref::<QuotaState>(quota) });
        let json = tri!(unsafe { text(json, json_len) });
        match q.quota.update_json(json) {
            Ok(changes) => {
                if !changed_out.is_null() {
                    // SAFETY: non-null, writable per the contract.
                    unsafe { changed_out.write(changes.len()) };
                }
                meshplane_result::Ok
            }
            Err(e) => {
                ErrorState::report(vec![ErrorState::split(&e.to_string())], error_out);
                meshplane_result::LimiterInvalidConfig
            }
        }
    })
}

/// Takes `n` tokens from one bucket (`MESHPLANE_BUCKET_DEFAULT`, or
/// `MESHPLANE_BUCKET_DESCRIPTOR` with `descriptor_index`) and writes whether they were
/// there. `NOT_FOUND` when the quota has no such bucket.
///
/// # Safety
/// `quota` is NULL or a live quota; `allowed_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_smart_quota_acquire(
    quota: *const meshplane_smart_quota,
    bucket: meshplane_bucket,
    descriptor_index: usize,
    n: u32,
    allowed_out: *mut bool,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let q = tri!(unsafe { handle_ref::<QuotaState>(quota) });
        let slot = tri!(out(allowed_out));
        let b = tri!(bucket_of(bucket, descriptor_index));
        match q.quota.try_acquire(b, n) {
            Some(allowed) => {
                slot.write(allowed);
                meshplane_result::Ok
            }
            None => meshplane_result::NotFound,
        }
    })
}

/// The tokens in one bucket now (fractional: refill is continuous). `NOT_FOUND` when the
/// quota has no such bucket.
///
/// # Safety
/// `quota` is NULL or a live quota; `tokens_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_smart_quota_tokens(
    quota: *const meshplane_smart_quota,
    bucket: meshplane_bucket,
    descriptor_index: usize,
    tokens_out: *mut f64,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let q = tri!(unsafe { handle_ref::<QuotaState>(quota) });
        let slot = tri!(out(tokens_out));
        let b = tri!(bucket_of(bucket, descriptor_index));
        match q.quota.tokens(b) {
            Some(t) => {
                slot.write(t);
                meshplane_result::Ok
            }
            None => meshplane_result::NotFound,
        }
    })
}

/// Frees a quota. NULL is ignored.
///
/// # Safety
/// `quota` is NULL or a live quota; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_smart_quota_free(quota: *mut meshplane_smart_quota) {
    boundary!((), { unsafe { free_handle::<QuotaState>(quota) } })
}
