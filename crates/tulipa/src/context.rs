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
