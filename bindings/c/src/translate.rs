//! Translation: SmartLimiter CRDs (+ metrics) to Istio EnvoyFilters, `meshplane_translation`.

use std::os::raw::c_char;

use mesh_core::{RenderOptions, parse_metrics, render_documents};

use crate::error::{ErrorState, Problem, meshplane_error, meshplane_result};
use crate::ffi::{
    Handle, boundary, free_handle, handle_ref, into_handle, meshplane_str, out, text, tri,
};

/// Flags of `meshplane_translate` (`MESHPLANE_TRANSLATE_*`, OR-ed together).
pub type meshplane_translate_flags = u32;
/// Accept (and ignore) unknown fields in SmartLimiters, as Slime does (default: an error).
pub const MESHPLANE_TRANSLATE_ALLOW_UNKNOWN_FIELDS: meshplane_translate_flags = 1;
/// Also emit each SmartLimiter with the `status` Slime would write.
pub const MESHPLANE_TRANSLATE_INCLUDE_STATUS: meshplane_translate_flags = 2;

/// The output of a successful translation. Immutable; free with `meshplane_translation_free`.
#[derive(Debug)]
pub struct meshplane_translation {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Debug)]
pub(crate) struct TranslationState {
    magic: u64,
    yaml: String,
    warnings: Vec<String>,
}

impl Handle for TranslationState {
    type Opaque = meshplane_translation;
    const MAGIC: u64 = 0x6d65_7368_7472_616e; // "meshtran"
    fn clear_magic(&mut self) {
        self.magic = 0;
    }
}

fn problems(e: mesh_core::RenderErrors) -> Vec<Problem> {
    e.0.into_iter()
        .map(|p| Problem {
            object: p.object,
            path: p.path,
            message: p.message,
        })
        .collect()
}

/// Translates a multi-document YAML (or JSON) text of SmartLimiters, with the Services,
/// DestinationRules, ServiceEntries they refer to, into Istio EnvoyFilters (and the RLS
/// ConfigMap for global limits), as one multi-document YAML text.
///
/// `metrics` (may be NULL with length 0) is a YAML/JSON map of the metric material quota and
/// condition expressions read (`{"_base.pod": 3}`). `flags` is `MESHPLANE_TRANSLATE_*` OR-ed
/// (0 for Slime's defaults with unknown fields refused); unknown bits give `INVALID_PARAMETER`.
///
/// On invalid input returns `TRANSLATION_FAILED` and, when `error_out` is not NULL, writes
/// every problem found (object, field path, message) to it.
///
/// # Safety
/// Pointers are NULL or valid for the lengths given.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_translate(
    yaml: *const c_char,
    yaml_len: usize,
    metrics: *const c_char,
    metrics_len: usize,
    flags: meshplane_translate_flags,
    translation_out: *mut *mut meshplane_translation,
    error_out: *mut *mut meshplane_error,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let slot = tri!(out(translation_out));
        let input = tri!(unsafe { text(yaml, yaml_len) });
        let metrics = tri!(unsafe { text(metrics, metrics_len) });
        if flags & !(MESHPLANE_TRANSLATE_ALLOW_UNKNOWN_FIELDS | MESHPLANE_TRANSLATE_INCLUDE_STATUS)
            != 0
        {
            return meshplane_result::InvalidParameter;
        }
        let mut options = RenderOptions {
            allow_unknown_fields: flags & MESHPLANE_TRANSLATE_ALLOW_UNKNOWN_FIELDS != 0,
            include_status: flags & MESHPLANE_TRANSLATE_INCLUDE_STATUS != 0,
            ..RenderOptions::default()
        };
        if !metrics.trim().is_empty() {
            match parse_metrics(metrics) {
                Ok(m) => options.metrics = m,
                Err(e) => {
                    let mut ps = problems(e);
                    for p in &mut ps {
                        if p.object.is_empty() {
                            p.object = "metrics".into();
                        }
                    }
                    ErrorState::report(ps, error_out);
                    return meshplane_result::TranslationFailed;
                }
            }
        }
        match render_documents(input, &options) {
            Ok(r) => {
                slot.write(into_handle(TranslationState {
                    magic: TranslationState::MAGIC,
                    yaml: r.yaml,
                    warnings: r.warnings,
                }));
                meshplane_result::Ok
            }
            Err(e) => {
                ErrorState::report(problems(e), error_out);
                meshplane_result::TranslationFailed
            }
        }
    })
}

/// The generated YAML (multi-document). Valid until the translation is freed.
///
/// # Safety
/// `translation` is NULL or a live translation; `yaml_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_translation_yaml(
    translation: *const meshplane_translation,
    yaml_out: *mut meshplane_str,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let t = tri!(unsafe { handle_ref::<TranslationState>(translation) });
        let slot = tri!(out(yaml_out));
        slot.write(meshplane_str::of(&t.yaml));
        meshplane_result::Ok
    })
}

/// Number of non-fatal warnings (Slime quirks that changed a result, ignored inputs); 0 for
/// NULL or an invalid handle.
///
/// # Safety
/// `translation` is NULL or a live translation.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_translation_warning_count(
    translation: *const meshplane_translation,
) -> usize {
    boundary!(0, {
        unsafe { handle_ref::<TranslationState>(translation) }.map_or(0, |t| t.warnings.len())
    })
}

/// The `index`-th warning, one line. Valid until the translation is freed. `NOT_FOUND` past
/// the end.
///
/// # Safety
/// `translation` is NULL or a live translation; `warning_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_translation_warning_at(
    translation: *const meshplane_translation,
    index: usize,
    warning_out: *mut meshplane_str,
) -> meshplane_result {
    boundary!(meshplane_result::Panic, {
        let t = tri!(unsafe { handle_ref::<TranslationState>(translation) });
        let slot = tri!(out(warning_out));
        match t.warnings.get(index) {
            Some(w) => {
                slot.write(meshplane_str::of(w));
                meshplane_result::Ok
            }
            None => meshplane_result::NotFound,
        }
    })
}

/// Frees a translation. NULL is ignored.
///
/// # Safety
/// `translation` is NULL or a live translation; it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn meshplane_translation_free(translation: *mut meshplane_translation) {
    boundary!((), {
        unsafe { free_handle::<TranslationState>(translation) }
    })
}
