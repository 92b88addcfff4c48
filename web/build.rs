fn main() {
    // graphql_client reads these at compile time; rebuild when they change.
    println!("cargo:rerun-if-changed=graphql");
    println!("cargo:rerun-if-changed=../api/schema.graphql");
}
