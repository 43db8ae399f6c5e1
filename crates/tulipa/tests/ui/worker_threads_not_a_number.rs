//! `worker_threads` given as a string.

#[tulipa::main(worker_threads = "4")]
async fn main() {}
