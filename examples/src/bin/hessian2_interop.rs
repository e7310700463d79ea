//! `hessian2_interop`: our Hessian2 codec as a command for the interop tests
//! (tests/interop/dubbo), which compare it with the Caucho reference and hessian.js.
//!
//! ```text
//! hessian2_interop reencode < vectors.tsv   # "name<TAB>hex" in; decode + re-encode, same format out
//! hessian2_interop equal A.tsv B.tsv        # "name<TAB>EQUAL|DIFF" for names in both files
//! ```
//! A vector that fails to decode is printed as `name<TAB>ERROR <reason>`.
#![forbid(unsafe_code)] // the workspace only denies it, for the FFI crates' sake

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::process::ExitCode;

use mesh_codec::hessian2::{Value, from_slice, to_vec};

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn read_tsv(r: impl BufRead) -> Vec<(String, String)> {
    r.lines()
        .map_while(Result::ok)
        .filter_map(|l| {
            let (n, h) = l.split_once('\t')?;
            Some((n.to_string(), h.trim().to_string()))
        })
        .collect()
}

fn decode(h: &str) -> Result<Value, String> {
    let bytes = unhex(h).ok_or("bad hex")?;
    from_slice(&bytes).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.first().map(String::as_str) {
        Some("reencode") => {
            for (name, h) in read_tsv(std::io::stdin().lock()) {
                let line = match decode(&h) {
                    Ok(v) => hex(&to_vec(&v)),
                    Err(e) => format!("ERROR {e}"),
                };
                let _ = writeln!(out, "{name}\t{line}");
            }
        }
        Some("equal") if args.len() == 3 => {
            let open = |p: &str| match std::fs::File::open(p) {
                Ok(f) => Ok(read_tsv(std::io::BufReader::new(f))),
                Err(e) => Err(format!("{p}: {e}")),
            };
            let (a, b) = match (open(&args[1]), open(&args[2])) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("hessian2_interop: {e}");
                    return ExitCode::from(2);
                }
            };
            let b: BTreeMap<_, _> = b.into_iter().collect();
            for (name, ha) in a {
                let Some(hb) = b.get(&name) else { continue };
                let verdict = match (decode(&ha), decode(hb)) {
                    (Ok(x), Ok(y)) if x == y => "EQUAL".to_string(),
                    (Ok(x), Ok(y)) => format!("DIFF {x:?} vs {y:?}"),
                    (Err(e), _) | (_, Err(e)) => format!("ERROR {e}"),
                };
                let _ = writeln!(out, "{name}\t{verdict}");
            }
        }
        _ => {
            eprintln!(
                "usage: hessian2_interop reencode < TSV | hessian2_interop equal A.tsv B.tsv"
            );
            return ExitCode::from(2);
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
