//! Networking: sockets, names, asyncio streams, transports and protocols.
#![forbid(unsafe_code)]
