//! `meshctl crds` (being built: see the mesh-core issue).

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct CrdsArgs {}

pub fn run(_args: CrdsArgs) -> ExitCode {
    eprintln!("meshctl crds: not available in this build yet");
    ExitCode::from(2)
}
