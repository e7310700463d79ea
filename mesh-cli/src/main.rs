//! `meshctl`: a thin shell over the Meshplane crates. It holds no logic of its own.
#![forbid(unsafe_code)] // the workspace only denies it, for the FFI crates' sake

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod crds;
mod decode;
mod input;
mod render;
mod simulate;

#[derive(Debug, Parser)]
#[command(
    name = "meshctl",
    version,
    about = "Slime and Aeraki mesh logic, outside the mesh"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Translate SmartLimiters (and the Services/DestinationRules they refer to) to Istio/Envoy objects.
    Render(render::RenderArgs),
    /// Check SmartLimiters; prints nothing on success.
    Validate(render::ValidateArgs),
    /// Print the CustomResourceDefinitions.
    Crds(crds::CrdsArgs),
    /// Decode a raw byte stream (one direction of a connection), one JSON line per message.
    Decode(decode::DecodeArgs),
    /// Run the overload simulator through a limiter.
    Simulate(simulate::SimulateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Render(a) => render::render(a),
        Command::Validate(a) => render::validate(a),
        Command::Crds(a) => crds::run(a),
        Command::Decode(a) => decode::run(a),
        Command::Simulate(a) => simulate::run(a),
    }
}
