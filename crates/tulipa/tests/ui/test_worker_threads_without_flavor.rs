//! `worker_threads` on a test, whose default flavour is current-thread.

#[tulipa::test(worker_threads = 2)]
async fn on_two_workers() {}

fn main() {}
