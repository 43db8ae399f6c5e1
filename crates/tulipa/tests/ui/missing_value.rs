//! An option without `= value`.

#[tulipa::main(flavor)]
async fn main() {}
