//! `#[tulipa::test]` on a function that is not `async`.

#[tulipa::test]
fn not_async() {}

fn main() {}
