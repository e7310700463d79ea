//! Limiters: `meshplane_clock`, `meshplane_rate_limiter` (Envoy local rate limit) and
//! `meshplane_concurrency_limiter` (adaptive concurrency).

use std::collections::HashMap;
use std::os::raw::c_char;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mesh_limiter::adaptive::{AdaptiveLimiter, LimitAlgorithm, Limiter, Outcome, Permit};
use mesh_limiter::local::{BucketId, Entry};
use mesh_limiter::{Clock, LocalRateLimiter, ManualClock, SystemClock};
use serde_json::Value;

use crate::codec::meshplane_kv;
use crate::error::{ErrorState, Problem, meshplane_error, meshplane_result};
use crate::ffi::{Handle, array, boundary, free_handle, handle_ref, into_handle, out, text, tri};

/// A clock that moves only when told to (`meshplane_clock_advance`), for tests and
/// simulations. Limiters created with it share its time. Thread-safe.
#[derive(Debug)]
pub struct meshplane_clock {
    _private: [u8; 0],
}

/// The Envoy local rate limiter (token buckets + descriptors). Thread-safe: share one handle
/// between threads.
#[derive(Debug)]
pub struct meshplane_rate_limiter {
    _private: [u8; 0],
}

/// An adaptive concurrency limiter. Thread-safe: share one handle between threads.
#[derive(Debug)]
pub struct meshplane_concurrency_limiter {
    _private: [u8; 0],
}

/// Which bucket a rate limit decision reports (`MESHPLANE_BUCKET_*`).
pub type meshplane_bucket = u32;
/// No bucket applied (no default bucket and no descriptor matched).
pub const MESHPLANE_BUCKET_NONE: meshplane_bucket = 0;
/// The top-level `token_bucket`.
pub const MESHPLANE_BUCKET_DEFAULT: meshplane_bucket = 1;
/// `descriptors[descriptor_index]` of the config.
pub const MESHPLANE_BUCKET_DESCRIPTOR: meshplane_bucket = 2;

/// How a request admitted by a concurrency limiter ended (`MESHPLANE_OUTCOME_*`).
pub type meshplane_outcome = u32;
/// Completed: its RTT is a latency sample.
pub const MESHPLANE_OUTCOME_SUCCESS: meshplane_outcome = 0;
/// Failed in a way that signals overload (timeout, 503 upstream).
pub const MESHPLANE_OUTCOME_DROPPED: meshplane_outcome = 1;
/// Does not count (cancelled, health check): frees the slot, no sample.
pub const MESHPLANE_OUTCOME_IGNORED: meshplane_outcome = 2;

/// One request descriptor: a list of key/value entries (Envoy `RateLimitDescriptor`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshplane_descriptor {
    pub entries: *const meshplane_kv,
    pub entries_len: usize,
}

/// The decision of `meshplane_rate_limiter_check`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct meshplane_rate_limit_decision {
    /// Whether the request may pass (false: answer 429 / an over-limit local reply).
    pub allowed: bool,
    /// `MESHPLANE_BUCKET_*`: on deny the bucket that denied; on allow the strictest matched
    /// descriptor bucket, else the default bucket.
    pub bucket: meshplane_bucket,
    /// Index into the config's `descriptors` when `bucket` is `MESHPLANE_BUCKET_DESCRIPTOR`.
    pub descriptor_index: usize,
    /// Whether Envoy would add `x-ratelimit-*` headers (config `enableXRatelimitHeaders:
    /// DRAFT_VERSION_03` and a bucket reported). The values below are set whenever a bucket
    /// is reported.
    pub x_ratelimit_headers: bool,
    /// `x-ratelimit-limit`.
    pub limit: u32,
    /// `x-ratelimit-remaining`.
    pub remaining: u32,
    /// `x-ratelimit-reset`, in seconds.
    pub reset_seconds: u64,
}

#[repr(C)]
#[derive(Debug)]
pub(crate) struct ClockState {
    magic: u64,
    clock: ManualClock,
}

impl Handle for ClockState {
    type Opaque = meshplane_clock;
    const MAGIC: u64 = 0x6d65_7368_636c_6f63; // "meshcloc"
    fn clear_magic(&mut self) {
        self.magic = 0;
    }
}

#[repr(C)]
#[derive(Debug)]
pub(crate) struct RateLimiterState {
    magic: u64,
    limiter: LocalRateLimiter<Arc<dyn Clock>>,
}

impl Handle for RateLimiterState {
    type Opaque = meshplane_rate_limiter;
    const MAGIC: u64 = 0x6d65_7368_726c_696d; // "meshrlim"
    fn clear_magic(&mut self) {
        self.magic = 0;
    }
}

#[repr(C)]
#[derive(Debug)]
pub(crate) struct ConcurrencyState {
    magic: u64,
    limiter: AdaptiveLimiter<Box<dyn LimitAlgorithm>>,
    permits: Mutex<Permits>,
}

#[derive(Debug, Default)]
struct Permits {
    next: u64,
    outstanding: HashMap<u64, Permit>,
}

impl Handle for ConcurrencyState {
    type Opaque = meshplane_concurrency_limiter;
    const MAGIC: u64 = 0x6d65_7368_636c_696d; // "meshclim"
    fn clear_magic(&mut self) {
        self.magic = 0;
    }
}

/// The clock a limiter uses: the caller's manual clock, or the monotonic system clock.
pub(crate) unsafe fn clock_of(
    clock: *const meshplane_clock,
) -> Result<Arc<dyn Clock>, meshplane_result> {
    if clock.is_null() {
        Ok(Arc::new(SystemClock::new()))
    } else {
        Ok(Arc::new(
            unsafe { handle_ref::<ClockState>(clock)? }.clock.clone(),
        ))
    }
}

/// Creates a manual clock at time zero.
///
/// # Safety
/// `clock_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_clock_new_manual(
    clock_out: *mut *mut meshplane_clock,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let slot = tri!(out(clock_out));
        slot.write(into_handle(ClockState {
            magic: ClockState::MAGIC,
            clock: ManualClock::new(),
        }));
        meshplane_result::Ok
    })
}

/// Moves a manual clock forward by `nanos` nanoseconds (every limiter using it sees the move).
/// `INVALID_PARAMETER` when the time would overflow 2^64 ns.
///
/// # Safety
/// `clock` is NULL or a live clock.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_clock_advance(
    clock: *const meshplane_clock,
    nanos: u64,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_ref::<ClockState>(clock) });
        let now = c.clock.now();
        match now.checked_add(Duration::from_nanos(nanos)) {
            Some(t) if t.as_nanos() <= u64::MAX as u128 => {
                c.clock.set(t);
                meshplane_result::Ok
            }
            _ => meshplane_result::InvalidParameter,
        }
    })
}

/// The time of a manual clock, in nanoseconds since its creation.
///
/// # Safety
/// `clock` is NULL or a live clock; `nanos_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_clock_now(
    clock: *const meshplane_clock,
    nanos_out: *mut u64,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let c = tri!(unsafe { handle_ref::<ClockState>(clock) });
        let slot = tri!(out(nanos_out));
        slot.write(c.clock.now().as_nanos() as u64);
        meshplane_result::Ok
    })
}

/// Frees a clock. Limiters created with it keep working (they share its time source). NULL is
/// ignored.
///
/// # Safety
/// `clock` is NULL or a live clock; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_clock_free(clock: *mut meshplane_clock) {
    boundary!((), { unsafe { free_handle::<ClockState>(clock) } })
}

/// Creates a local rate limiter from Envoy `LocalRateLimit` JSON (protojson, lowerCamel or
/// snake_case names: the document mesh-core renders into EnvoyFilters). `clock` may be NULL
/// for the system monotonic clock. On an invalid config returns
/// `LIMITER_INVALID_CONFIG` and, when `error_out` is not NULL, writes the details to it.
///
/// # Safety
/// Pointers are NULL or valid for the lengths given.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_rate_limiter_new(
    json: *const c_char,
    json_len: usize,
    clock: *const meshplane_clock,
    limiter_out: *mut *mut meshplane_rate_limiter,
    error_out: *mut *mut meshplane_error,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let slot = tri!(out(limiter_out));
        let json = tri!(unsafe { text(json, json_len) });
        let clock = tri!(unsafe { clock_of(clock) });
        match LocalRateLimiter::from_json(json, clock) {
            Ok(limiter) => {
                slot.write(into_handle(RateLimiterState {
                    magic: RateLimiterState::MAGIC,
                    limiter,
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

/// A request descriptor entry whose strings were checked to be UTF-8.
#[repr(transparent)]
struct CheckedKv(meshplane_kv);

impl Entry for CheckedKv {
    fn key(&self) -> &str {
        // SAFETY: checked by `checked_descriptors` (valid pointer, length and UTF-8).
        unsafe { str_unchecked(self.0.key, self.0.key_len) }
    }
    fn value(&self) -> &str {
        // SAFETY: as above.
        unsafe { str_unchecked(self.0.value, self.0.value_len) }
    }
}

unsafe fn str_unchecked<'a>(p: *const c_char, len: usize) -> &'a str {
    if len == 0 {
        return "";
    }
    unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(p.cast(), len)) }
}

/// A request descriptor whose entries were checked.
#[repr(transparent)]
struct CheckedDescriptor(meshplane_descriptor);

impl AsRef<[CheckedKv]> for CheckedDescriptor {
    fn as_ref(&self) -> &[CheckedKv] {
        if self.0.entries_len == 0 {
            return &[];
        }
        // SAFETY: checked by `checked_descriptors`; CheckedKv is transparent over meshplane_kv.
        unsafe { std::slice::from_raw_parts(self.0.entries.cast(), self.0.entries_len) }
    }
}

/// Validates every pointer, length and string of the descriptors (no allocation).
unsafe fn checked_descriptors<'a>(
    p: *const meshplane_descriptor,
    n: usize,
) -> Result<&'a [CheckedDescriptor], meshplane_result> {
    let ds = unsafe { array(p, n)? };
    for d in ds {
        let entries = unsafe { array(d.entries, d.entries_len)? };
        for kv in entries {
            unsafe { text(kv.key, kv.key_len)? };
            unsafe { text(kv.value, kv.value_len)? };
        }
    }
    // SAFETY: CheckedDescriptor is transparent over meshplane_descriptor.
    Ok(unsafe { std::slice::from_raw_parts(ds.as_ptr().cast(), ds.len()) })
}

/// Checks one request: `descriptors` (an array of `descriptors_len`, NULL with 0 for none) are
/// the request's descriptors, as Envoy's rate limit actions would produce them. Consumes a token
/// from each matching bucket (Envoy's semantics) and writes the decision.
///
/// # Safety
/// Pointers are NULL or valid for the lengths given.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_rate_limiter_check(
    limiter: *const meshplane_rate_limiter,
    descriptors: *const meshplane_descriptor,
    descriptors_len: usize,
    decision_out: *mut meshplane_rate_limit_decision,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let l = tri!(unsafe { handle_ref::<RateLimiterState>(limiter) });
        let slot = tri!(out(decision_out));
        let ds = tri!(unsafe { checked_descriptors(descriptors, descriptors_len) });
        let d = l.limiter.check(ds);
        let (bucket, descriptor_index) = match d.reported.map(|r| r.bucket) {
            None => (MESHPLANE_BUCKET_NONE, 0),
            Some(BucketId::Default) => (MESHPLANE_BUCKET_DEFAULT, 0),
            Some(BucketId::Descriptor(i)) => (MESHPLANE_BUCKET_DESCRIPTOR, i),
        };
        let x = d.x_ratelimit();
        slot.write(meshplane_rate_limit_decision {
            allowed: d.allowed,
            bucket,
            descriptor_index,
            x_ratelimit_headers: x.is_some() && l.limiter.x_ratelimit_headers_enabled(),
            limit: x.map_or(0, |x| x.limit),
            remaining: x.map_or(0, |x| x.remaining),
            reset_seconds: x.map_or(0, |x| x.reset),
        });
        meshplane_result::Ok
    })
}

/// Frees a rate limiter. NULL is ignored.
///
/// # Safety
/// `limiter` is NULL or a live rate limiter no other thread is using; not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_rate_limiter_free(limiter: *mut meshplane_rate_limiter) {
    boundary!((), { unsafe { free_handle::<RateLimiterState>(limiter) } })
}

/// The algorithm `name` built from `config` (a JSON object; empty for the defaults) by
/// mesh-limiter's one config reader, its problems as the C API reports them.
fn algorithm(name: &str, config: &str) -> Result<Box<dyn LimitAlgorithm>, Vec<Problem>> {
    let problem = |path: &str, message: String| Problem {
        object: String::new(),
        path: path.to_string(),
        message,
    };
    let value = if config.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(config).map_err(|e| vec![problem("", format!("invalid JSON: {e}"))])?
    };
    mesh_limiter::adaptive::algorithm_from_json(name, &value).map_err(|e| {
        e.problems
            .into_iter()
            .map(|p| problem(&p.field, p.message))
            .collect()
    })
}

/// Creates an adaptive concurrency limiter. `algorithm` is one of `"gradient"` (Envoy's
/// adaptive_concurrency gradient controller), `"gradient2"`, `"vegas"`, `"aimd"` (Netflix
/// concurrency-limits) or `"fixed"`; `config_json` is a JSON object of the algorithm's settings
/// with snake_case names (durations as protojson strings, e.g. `"0.1s"`), empty or `{}` for the
/// defaults (`"fixed"` needs `{"limit": N}`). Unknown names and fields are refused with
/// `LIMITER_INVALID_CONFIG`, details in `*error_out` when not NULL. `clock` may be NULL for the
/// system monotonic clock.
///
/// # Safety
/// Pointers are NULL or valid for the lengths given.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_concurrency_limiter_new(
    algorithm: *const c_char,
    algorithm_len: usize,
    config_json: *const c_char,
    config_json_len: usize,
    clock: *const meshplane_clock,
    limiter_out: *mut *mut meshplane_concurrency_limiter,
    error_out: *mut *mut meshplane_error,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let slot = tri!(out(limiter_out));
        let name = tri!(unsafe { text(algorithm, algorithm_len) });
        let config = tri!(unsafe { text(config_json, config_json_len) });
        let clock = tri!(unsafe { clock_of(clock) });
        match self::algorithm(name, config) {
            Ok(algo) => {
                slot.write(into_handle(ConcurrencyState {
                    magic: ConcurrencyState::MAGIC,
                    limiter: AdaptiveLimiter::new(algo, clock),
                    permits: Mutex::new(Permits::default()),
                }));
                meshplane_result::Ok
            }
            Err(problems) => {
                ErrorState::report(problems, error_out);
                meshplane_result::LimiterInvalidConfig
            }
        }
    })
}

impl ConcurrencyState {
    fn permits(&self) -> std::sync::MutexGuard<'_, Permits> {
        self.permits.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Asks for a slot. `*admitted_out` is true when the request may go ahead: then `*permit_out`
/// receives a permit id to give back with `meshplane_concurrency_limiter_release`. When false
/// (reject the request now), `*permit_out` is not written.
///
/// # Safety
/// `limiter` is NULL or a live limiter; the out-pointers are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_concurrency_limiter_acquire(
    limiter: *const meshplane_concurrency_limiter,
    admitted_out: *mut bool,
    permit_out: *mut u64,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let l = tri!(unsafe { handle_ref::<ConcurrencyState>(limiter) });
        let admitted = tri!(out(admitted_out));
        let permit_slot = tri!(out(permit_out));
        match l.limiter.acquire() {
            Some(permit) => {
                let mut p = l.permits();
                p.next += 1;
                let id = p.next;
                p.outstanding.insert(id, permit);
                permit_slot.write(id);
                admitted.write(true);
            }
            None => {
                admitted.write(false);
            }
        }
        meshplane_result::Ok
    })
}

/// Gives a permit back with how the request ended (`MESHPLANE_OUTCOME_*`) and its round-trip
/// time in nanoseconds. `LIMITER_UNKNOWN_PERMIT` when `permit` is not outstanding (never
/// acquired, or already released); `INVALID_PARAMETER` for an unknown outcome (the permit
/// stays outstanding).
///
/// # Safety
/// `limiter` is NULL or a live limiter.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_concurrency_limiter_release(
    limiter: *const meshplane_concurrency_limiter,
    permit: u64,
    outcome: meshplane_outcome,
    rtt_nanos: u64,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let l = tri!(unsafe { handle_ref::<ConcurrencyState>(limiter) });
        let outcome = match outcome {
            MESHPLANE_OUTCOME_SUCCESS => Outcome::Success,
            MESHPLANE_OUTCOME_DROPPED => Outcome::Dropped,
            MESHPLANE_OUTCOME_IGNORED => Outcome::Ignored,
            _ => return meshplane_result::InvalidParameter,
        };
        let Some(p) = l.permits().outstanding.remove(&permit) else {
            return meshplane_result::LimiterUnknownPermit;
        };
        l.limiter
            .release(p, outcome, Duration::from_nanos(rtt_nanos));
        meshplane_result::Ok
    })
}

/// The current admission limit (`UINT32_MAX` when not limiting).
///
/// # Safety
/// `limiter` is NULL or a live limiter; `limit_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_concurrency_limiter_limit(
    limiter: *const meshplane_concurrency_limiter,
    limit_out: *mut u32,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let l = tri!(unsafe { handle_ref::<ConcurrencyState>(limiter) });
        let slot = tri!(out(limit_out));
        slot.write(l.limiter.limit());
        meshplane_result::Ok
    })
}

/// Requests currently holding a permit.
///
/// # Safety
/// `limiter` is NULL or a live limiter; `in_flight_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_concurrency_limiter_in_flight(
    limiter: *const meshplane_concurrency_limiter,
    in_flight_out: *mut u32,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let l = tri!(unsafe { handle_ref::<ConcurrencyState>(limiter) });
        let slot = tri!(out(in_flight_out));
        slot.write(l.limiter.in_flight());
        meshplane_result::Ok
    })
}

/// Frees a concurrency limiter (outstanding permits die with it). NULL is ignored.
///
/// # Safety
/// `limiter` is NULL or a live limiter no other thread is using; not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_concurrency_limiter_free(
    limiter: *mut meshplane_concurrency_limiter,
) {
    boundary!((), { unsafe { free_handle::<ConcurrencyState>(limiter) } })
}

// The handles documented as thread-safe are backed by `Send + Sync` Rust types.
const _: () = {
    const fn thread_safe<T: Send + Sync>() {}
    thread_safe::<ClockState>();
    thread_safe::<RateLimiterState>();
    thread_safe::<ConcurrencyState>();
};
