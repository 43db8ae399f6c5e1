//! `worker_threads` with `flavor = "current_thread"`.

#[tulipa::main(flavor = "current_thread", worker_threads = 2)]
async fn main() {}
