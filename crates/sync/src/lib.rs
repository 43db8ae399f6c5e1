//! Async synchronization primitives: asyncio's locks, events, conditions, semaphores and futures.
#![forbid(unsafe_code)]
