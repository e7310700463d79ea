//! `meshctl render` / `meshctl validate`: SmartLimiters (+ Services, DestinationRules) to
//! EnvoyFilters and the RLS ConfigMap. Exit 0 on success, 1 with every problem on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use mesh_core::{RenderOptions, parse_metrics};

use crate::input::read_all;

#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Metric material: a YAML/JSON map such as `{"_base.pod": 3, "v1.cpu.sum": 185.7}`.
    #[arg(long, value_name = "FILE")]
    metrics: Option<PathBuf>,
    /// Accept unknown fields in SmartLimiters (Slime ignores them silently).
    #[arg(long)]
    allow_unknown_fields: bool,
    /// Global rate limit domain.
    #[arg(long, default_value = "slime")]
    domain: String,
    /// RLS service host.
    #[arg(long, default_value = "rate-limit.istio-system.svc.cluster.local")]
    rls_service: String,
    /// RLS gRPC port.
    #[arg(long, default_value_t = 18081)]
    rls_port: u16,
    /// Do not insert the local_ratelimit HTTP filter.
    #[arg(long)]
    disable_insert_local_rate_limit: bool,
    /// Do not insert the global ratelimit HTTP filter.
    #[arg(long)]
    disable_insert_global_rate_limit: bool,
    /// Input files with multi-document YAML (`-` = stdin).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Also print each SmartLimiter with the status Slime would write.
    #[arg(long)]
    status: bool,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    common: CommonArgs,
}

fn load(common: &CommonArgs, include_status: bool) -> Result<(String, RenderOptions), Vec<String>> {
    let mut options = RenderOptions {
        allow_unknown_fields: common.allow_unknown_fields,
        include_status,
        ..RenderOptions::default()
    };
    options.module.domain = common.domain.clone();
    options.module.rls_service = common.rls_service.clone();
    options.module.rls_port = common.rls_port;
    options.module.disable_insert_local_rate_limit = common.disable_insert_local_rate_limit;
    options.module.disable_insert_global_rate_limit = common.disable_insert_global_rate_limit;
    let mut errors = Vec::new();
    if let Some(path) = &common.metrics {
        match read_all(path) {
            Ok(bytes) => match parse_metrics(&String::from_utf8_lossy(&bytes)) {
                Ok(m) => options.metrics = m,
                Err(e) => errors.extend(
                    e.lines()
                        .into_iter()
                        .map(|l| format!("{}: {l}", path.display())),
                ),
            },
            Err(e) => errors.push(format!("{}: {e}", path.display())),
        }
    }
    let mut text = String::new();
    for path in &common.files {
        match read_all(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) => {
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    if !text.is_empty() {
                        text.push_str("---\n");
                    }
                    text.push_str(&s);
                }
                Err(_) => errors.push(format!("{}: not UTF-8", path.display())),
            },
            Err(e) => errors.push(format!("{}: {e}", path.display())),
        }
    }
    if errors.is_empty() {
        Ok((text, options))
    } else {
        Err(errors)
    }
}

fn fail(lines: impl IntoIterator<Item = String>) -> ExitCode {
    for l in lines {
        eprintln!("{l}");
    }
    ExitCode::from(1)
}

pub fn render(args: RenderArgs) -> ExitCode {
    let (text, options) = match load(&args.common, args.status) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    match mesh_core::render_documents(&text, &options) {
        Ok(out) => {
            for w in &out.warnings {
                eprintln!("warning: {w}");
            }
            print!("{}", out.yaml);
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.lines()),
    }
}

pub fn validate(args: ValidateArgs) -> ExitCode {
    let (text, options) = match load(&args.common, false) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    match mesh_core::validate_documents(&text, &options) {
        Ok(warnings) => {
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.lines()),
    }
}
