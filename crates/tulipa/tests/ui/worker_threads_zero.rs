//! `worker_threads = 0`.

#[tulipa::main(worker_threads = 0)]
async fn main() {}
