fn main() {
    // embed_migrations! reads ../migrations at compile time; without this, a new
    // migration would not be embedded until something else changed.
    println!("cargo:rerun-if-changed=../migrations");
}
