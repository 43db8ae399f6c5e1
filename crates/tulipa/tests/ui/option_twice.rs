//! The same option twice.

#[tulipa::main(debug = true, debug = false)]
async fn main() {}
