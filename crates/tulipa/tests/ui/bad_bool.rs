#[tulipa::main(start_paused = "yes")]
async fn main() {}
