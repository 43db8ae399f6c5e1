//! The attribute on something that is not a function.

#[tulipa::test]
struct NotATest;

fn main() {}
