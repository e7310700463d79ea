//! `meshctl render` / `meshctl validate` (being built: see the mesh-core issue).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Input files (`-` = stdin).
    files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Input files (`-` = stdin).
    files: Vec<PathBuf>,
}

pub fn render(_args: RenderArgs) -> ExitCode {
    eprintln!("meshctl render: not available in this build yet");
    ExitCode::from(2)
}

pub fn validate(_args: ValidateArgs) -> ExitCode {
    eprintln!("meshctl validate: not available in this build yet");
    ExitCode::from(2)
}
