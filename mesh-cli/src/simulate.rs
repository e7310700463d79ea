//! `meshctl simulate`: runs mesh-limiter's deterministic overload model through one limiter.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use mesh_limiter::sim::{self, LimiterKind, LimiterSpec, ServiceTime, SimConfig};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    // The help lists `LimiterSpec::NAMES`. Numeric options below take negative numbers as
    // values (`--load -1` is then refused by its range, with the value) instead of clap's
    // "unexpected argument '-1'".
    #[arg(long, default_value = "gradient", value_parser = parse_limiter, help = limiter_help())]
    limiter: LimiterKind,
    /// Offered load, as a multiple of the server's initial capacity.
    #[arg(long, default_value_t = 3.0, allow_negative_numbers = true)]
    load: f64,
    /// RNG seed (same seed, same run, on every platform).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    seed: u64,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    json: bool,
    /// Also write an SVG plot (limit, in flight, latency, goodput over time).
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Simulated seconds.
    #[arg(long, default_value_t = 30.0, allow_negative_numbers = true)]
    duration: f64,
    /// Seconds at which half the server's slots disappear (default: half the run).
    #[arg(long, conflicts_with = "no_halving", allow_negative_numbers = true)]
    halve_at: Option<f64>,
    /// Keep the capacity constant.
    #[arg(long)]
    no_halving: bool,
    /// Server concurrency slots.
    #[arg(long, default_value_t = 20, allow_negative_numbers = true)]
    slots: u32,
    /// Mean service time (ms), Erlang-2 distributed.
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
    service_ms: f64,
    /// Client deadline (ms); default 10 × the mean service time.
    #[arg(long, allow_negative_numbers = true)]
    slo_ms: Option<f64>,
    /// Static limit for `--limiter static` (default: capacity × unloaded p99, see the docs).
    #[arg(long, allow_negative_numbers = true)]
    static_limit: Option<u32>,
}

/// The help of `--limiter`, from the one list of names.
fn limiter_help() -> String {
    format!("Limiter: {}", LimiterSpec::NAMES.join(", "))
}

fn parse_limiter(s: &str) -> Result<LimiterKind, String> {
    LimiterKind::from_name(s).ok_or_else(|| format!("one of: {}", LimiterSpec::NAMES.join(", ")))
}

/// A time option in `unit_s` seconds as a duration, refused unless finite and in
/// [0 or (0, `sim::MAX_TIME`] (the simulator's own range). `{v:?}` echoes the value in its
/// shortest form (`1e300`, `-1.0`), never 301 digits.
fn time_arg(v: f64, unit_s: f64, what: &str, zero_ok: bool) -> Result<Duration, String> {
    let max = sim::MAX_TIME.as_secs_f64() / unit_s;
    if v.is_finite() && v <= max && (v > 0.0 || (zero_ok && v == 0.0)) {
        Ok(Duration::from_secs_f64(v * unit_s))
    } else {
        let open = if zero_ok { '[' } else { '(' };
        Err(format!("{what} must be in {open}0, {max}], not {v:?}"))
    }
}

fn config(a: &SimulateArgs) -> Result<SimConfig, String> {
    let duration = time_arg(a.duration, 1.0, "--duration", false)?;
    let service = time_arg(a.service_ms, 1e-3, "--service-ms", false)?;
    let slo = match a.slo_ms {
        Some(ms) => time_arg(ms, 1e-3, "--slo-ms", false)?,
        // Saturates: a default SLO over the range is refused by `SimConfig::validate`.
        None => service.saturating_mul(10),
    };
    let halve_at = if a.no_halving {
        None
    } else {
        Some(match a.halve_at {
            Some(h) => time_arg(h, 1.0, "--halve-at", true)?,
            None => duration / 2,
        })
    };
    Ok(SimConfig {
        slots: a.slots,
        service: ServiceTime::Erlang {
            k: 2,
            mean: service,
        },
        load: a.load,
        duration,
        halve_at,
        slo,
        seed: a.seed,
        warmup: SimConfig::default().warmup.min(duration / 4),
        ..SimConfig::default()
    })
}

pub fn run(a: SimulateArgs) -> ExitCode {
    let cfg = match config(&a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("meshctl simulate: {e}");
            return ExitCode::from(2);
        }
    };
    // Every field is checked before any simulation runs (the static limit runs the baseline).
    if let Err(e) = cfg.validate() {
        eprintln!("meshctl simulate: {e}");
        return ExitCode::from(2);
    }
    let spec = match (a.limiter, a.static_limit) {
        (LimiterKind::Static, Some(n)) => LimiterSpec::Static(n),
        (kind, _) => LimiterSpec::of_kind(kind, &cfg),
    };
    let (report, run) = match sim::evaluate_with_series(&cfg, &spec) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("meshctl simulate: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &a.plot
        && let Err(e) = std::fs::write(path, sim::render_svg(&report, &run.series))
    {
        eprintln!("meshctl simulate: writing {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    if a.json {
        match serde_json::to_string(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("meshctl simulate: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        println!(
            "limiter {} at {}× load (capacity {:.0}/s, seed {})",
            report.limiter, report.load, report.capacity_rps, report.seed
        );
        println!("  goodput ratio    {:.3}", report.goodput_ratio);
        println!(
            "  admitted p99     {:.1} ms (unloaded p99 {:.1} ms, SLO {:.0} ms)",
            report.admitted_p99_ms, report.unloaded_p99_ms, report.slo_ms
        );
        println!("  reject ratio     {:.3}", report.reject_ratio);
        match report.halve_at_s {
            Some(h) => println!(
                "  reconverge       {:.2} s after the halving at {h} s{}",
                report.reconverge_s,
                if report.reconverged { "" } else { " (never)" }
            ),
            None => println!("  reconverge       (no capacity change)"),
        }
    }
    ExitCode::SUCCESS
}
