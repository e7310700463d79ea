//! Reading input files (`-` = stdin).

use std::io::Read;
use std::path::Path;

/// Reads a whole file, or stdin for `-`.
pub fn read_all(path: &Path) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(path)
    }
}
