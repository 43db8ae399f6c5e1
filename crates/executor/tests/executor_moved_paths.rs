//! The paths that moved to `tulipa-future` still work from the executor,
//! deprecated, for code written against them.
#![allow(deprecated)]

use futures_lite::future::block_on;

tulipa_executor::task_local! {
    static DEPTH: u32;
}

#[test]
fn moved_paths_still_resolve_and_behave() {
    let (a, b) = block_on(tulipa_executor::gather!(async { 1 }, async { "two" }));
    assert_eq!((a, b), (1, "two"));
    let err: Result<(u8, u8), &str> =
        block_on(tulipa_executor::try_gather!(async { Ok(1) }, async {
            Err("boom")
        }));
    assert_eq!(err, Err("boom"));
    let out = block_on(tulipa_executor::combinators::gather(
        (1..=2).map(|i| async move { i }).collect::<Vec<_>>(),
    ));
    assert_eq!(out, vec![1, 2]);
    let key: &'static tulipa_executor::LocalKey<u32> = &DEPTH;
    let seen = block_on(key.scope(3, async { DEPTH.get() }));
    assert_eq!(seen, 3);
    let missing: Result<u32, tulipa_executor::AccessError> = DEPTH.try_get();
    assert!(missing.is_err());
}
