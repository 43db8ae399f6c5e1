//! `crate = ""`: not a path.

#[tulipa::main(crate = "")]
async fn main() {}
