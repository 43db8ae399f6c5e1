//! The thread-local "current runtime handle".

use std::cell::RefCell;

use crate::runtime::Handle;

thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

pub(crate) fn current() -> Option<Handle> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

pub(crate) fn replace(h: Option<Handle>) -> Option<Handle> {
    CURRENT
        .try_with(|c| std::mem::replace(&mut *c.borrow_mut(), h))
        .ok()
        .flatten()
}

/// Runs `f` with the current handle, without cloning it (spawning is hot).
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Handle>) -> R) -> R {
    let mut f = Some(f);
    let out = CURRENT.try_with(|c| (f.take().unwrap())(c.borrow().as_ref()));
    match out {
        Ok(r) => r,
        // Thread-local storage is being torn down: no runtime.
        Err(_) => (f.take().unwrap())(None),
    }
}
