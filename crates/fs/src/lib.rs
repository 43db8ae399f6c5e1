//! Async files, directories and standard streams.
#![forbid(unsafe_code)]
