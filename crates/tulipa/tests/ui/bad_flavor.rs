//! A flavour that does not exist.

#[tulipa::main(flavor = "x")]
async fn main() {}
