//! An option that does not exist.

#[tulipa::main(threads = 2)]
async fn main() {}
