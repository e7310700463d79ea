//! `meshctl crds`: prints the SmartLimiter CustomResourceDefinition.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct CrdsArgs {}

pub fn run(_args: CrdsArgs) -> ExitCode {
    print!("{}", mesh_core::crd::smartlimiter_crd_yaml());
    ExitCode::SUCCESS
}
