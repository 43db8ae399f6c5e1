//! A generic test function.

#[tulipa::test]
async fn generic<T>() {}

fn main() {}
