//! The committed header must be exactly what the pinned cbindgen generates from the sources.
//! On failure, regenerate it: `cbindgen --config bindings/c/cbindgen.toml --crate meshplane-c
//! --output bindings/c/include/meshplane.h` (cbindgen 0.29.4), or run this test with
//! `MESHPLANE_BLESS=1`.

use std::path::Path;

#[test]
fn header_matches_the_sources() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .unwrap()
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let path = dir.join("include/meshplane.h");
    if std::env::var_os("MESHPLANE_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "include/meshplane.h is stale (first difference at line {}); regenerate it with \
             cbindgen 0.29.4 (see this file's doc)",
            line + 1
        );
    }
}

#[test]
fn header_has_guard_and_every_export() {
    let header = include_str!("../include/meshplane.h");
    assert!(header.contains("#ifndef MESHPLANE_H\n#define MESHPLANE_H"));
    assert!(header.trim_end().ends_with("#endif  /* MESHPLANE_H */"));
    // Every `#[no_mangle]` function of the sources is declared.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut n = 0;
    for entry in std::fs::read_dir(src).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (i, _) in text.match_indices("extern \"C\" fn ") {
            let name: String = text[i + 14..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            assert!(
                header.contains(&format!("{name}(")),
                "{name} missing from the header"
            );
            n += 1;
        }
    }
    assert!(n > 20, "only {n} exported functions found");
}

#[test]
fn the_c_tests_call_every_function() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(dir.join("include/meshplane.h")).unwrap();
    let mut tests = String::new();
    for entry in std::fs::read_dir(dir.join("tests/c")).unwrap() {
        tests.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let mut missing = Vec::new();
    for (i, _) in header.match_indices("meshplane_") {
        let name: String = header[i..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // A function declaration: the name followed by `(`.
        if header[i + name.len()..].starts_with('(')
            && !tests.contains(&format!("{name}("))
            && !missing.contains(&name)
        {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "not called by tests/c: {missing:?}");
}
