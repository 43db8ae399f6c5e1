//! `#[tulipa::main]` on a function that is not `async`.

#[tulipa::main]
fn main() {}
