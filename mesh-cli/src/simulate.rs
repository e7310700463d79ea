//! `meshctl simulate`: runs mesh-limiter's deterministic overload model through one limiter.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use mesh_limiter::sim::{self, LimiterSpec, ServiceTime, SimConfig};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Limiter: none, static, token-bucket, gradient, gradient2, gradient2-windowed, vegas,
    /// vegas-windowed, aimd, bbr.
    #[arg(long, default_value = "gradient")]
    limiter: String,
    /// Offered load, as a multiple of the server's initial capacity.
    #[arg(long, default_value_t = 3.0)]
    load: f64,
    /// RNG seed (same seed, same run, on every platform).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    json: bool,
    /// Also write an SVG plot (limit, in flight, latency, goodput over time).
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Simulated seconds.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Seconds at which half the server's slots disappear (default: half the run).
    #[arg(long, conflicts_with = "no_halving")]
    halve_at: Option<f64>,
    /// Keep the capacity constant.
    #[arg(long)]
    no_halving: bool,
    /// Server concurrency slots.
    #[arg(long, default_value_t = 20)]
    slots: u32,
    /// Mean service time (ms), Erlang-2 distributed.
    #[arg(long, default_value_t = 10.0)]
    service_ms: f64,
    /// Client deadline (ms); default 10 × the mean service time.
    #[arg(long)]
    slo_ms: Option<f64>,
    /// Static limit for `--limiter static` (default: capacity × unloaded p99, see the docs).
    #[arg(long)]
    static_limit: Option<u32>,
}

fn secs(v: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v).map_err(|_| format!("{what}: not a valid duration: {v}"))
}

fn config(a: &SimulateArgs) -> Result<SimConfig, String> {
    let duration = secs(a.duration, "--duration")?;
    let service = secs(a.service_ms / 1e3, "--service-ms")?;
    let slo = match a.slo_ms {
        Some(ms) => secs(ms / 1e3, "--slo-ms")?,
        None => service * 10,
    };
    let halve_at = if a.no_halving {
        None
    } else {
        Some(match a.halve_at {
            Some(h) => secs(h, "--halve-at")?,
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
    let spec = match (a.limiter.as_str(), a.static_limit) {
        ("static", Some(n)) => LimiterSpec::Static(n),
        (name, _) => match LimiterSpec::by_name(name, &cfg) {
            Some(s) => s,
            None => {
                eprintln!(
                    "meshctl simulate: unknown limiter {name:?} (one of: {})",
                    LimiterSpec::NAMES.join(", ")
                );
                return ExitCode::from(2);
            }
        },
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
