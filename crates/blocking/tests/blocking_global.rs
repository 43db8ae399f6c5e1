//! The global pool reads `TULIPA_BLOCKING_MAX_THREADS` when it is created.
//! (Its own test binary, so no other test creates the global pool first.)

use tulipa_blocking::{Pool, DEFAULT_MAX_THREADS, MAX_THREADS_ENV};

#[test]
fn global_pool_cap_comes_from_the_environment() {
    assert_eq!(MAX_THREADS_ENV, "TULIPA_BLOCKING_MAX_THREADS");
    std::env::set_var(MAX_THREADS_ENV, " 3 ");
    let pool = Pool::current();
    assert_eq!(pool.max_threads(), 3);
    assert_ne!(DEFAULT_MAX_THREADS, 3);
    // Created once: later changes do not matter, and every call without an
    // entered pool returns the same pool.
    std::env::set_var(MAX_THREADS_ENV, "9");
    assert!(Pool::current().same_pool(&pool));
    assert_eq!(Pool::current().max_threads(), 3);
    let n = futures_lite::future::block_on(tulipa_blocking::unblock(|| 5));
    assert_eq!(n, 5);
    assert_eq!(pool.stats().threads_started, 1);
}
