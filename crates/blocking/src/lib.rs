//! The thread pool for blocking work (asyncio's `run_in_executor` and `to_thread`).
#![forbid(unsafe_code)]
