//! A boolean option given as a string.

#[tulipa::main(start_paused = "yes")]
async fn main() {}
