//! `meshctl simulate` (being built: see the mesh-limiter issue).

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct SimulateArgs {}

pub fn run(_args: SimulateArgs) -> ExitCode {
    eprintln!("meshctl simulate: not available in this build yet");
    ExitCode::from(2)
}
