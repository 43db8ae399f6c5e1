//! Channels and asyncio's queues.
#![forbid(unsafe_code)]

pub mod queue {
    //! asyncio's queues: `Queue`, `PriorityQueue`, `LifoQueue`.
}
