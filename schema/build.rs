use std::io::Write;

fn main() {
    // embed_migrations! reads ../migrations at compile time; without this, a new
    // migration would not be embedded until something else changed.
    println!("cargo:rerun-if-changed=../migrations");
    // Every profiles/*.toml (but the fault catalogue) is shipped: list them for include_str!.
    println!("cargo:rerun-if-changed=profiles");
    let dir = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("profiles");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("schema/profiles exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml") && n != "faults.toml")
        .collect();
    names.sort();
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_profiles.rs");
    let mut file = std::fs::File::create(out).expect("OUT_DIR is writable");
    writeln!(file, "&[").expect("write");
    for name in names {
        writeln!(file, "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/profiles/{name}\"))),")
            .expect("write");
    }
    writeln!(file, "]").expect("write");
}
