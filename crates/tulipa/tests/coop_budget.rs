//! The cooperative budget: a task whose socket is always ready, or whose
//! mutex is always free, still yields to the others after
//! `tulipa_core::coop::BUDGET` ready operations in one poll, on both
//! runtimes.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_lite::AsyncReadExt;
use tulipa::Runtime;

const MESSAGES: usize = 4 * BUDGET;

/// The budget `tulipa_core::coop::BUDGET` documents.
const BUDGET: usize = 128;

fn flavors() -> Vec<Runtime> {
    vec![
        Runtime::builder().current_thread().build().unwrap(),
        Runtime::builder().worker_threads(1).build().unwrap(),
    ]
}

#[test]
fn a_reader_whose_socket_is_always_ready_lets_another_task_run() {
    for rt in flavors() {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        // Enough bytes that one-byte reads are always ready.
        b.write_all(&vec![7u8; MESSAGES]).unwrap();
        let read = Arc::new(AtomicUsize::new(0));
        let seen_by_other = rt.block_on({
            let read = read.clone();
            async move {
                let mut a = tulipa::net::UnixStream::from_std(a).unwrap();
                let counter = read.clone();
                let reader = tulipa::spawn(async move {
                    let mut byte = [0u8; 1];
                    let mut other = None;
                    for i in 0..MESSAGES {
                        a.read_exact(&mut byte).await.unwrap();
                        counter.fetch_add(1, Ordering::SeqCst);
                        if i == 0 {
                            let seen = counter.clone();
                            other = Some(tulipa::spawn(async move { seen.load(Ordering::SeqCst) }));
                        }
                    }
                    other
                });
                let other = reader.await.unwrap().unwrap();
                other.await.unwrap()
            }
        });
        assert!(
            seen_by_other < MESSAGES,
            "the other task ran only after all {MESSAGES} reads: no yield"
        );
        assert_eq!(read.load(Ordering::SeqCst), MESSAGES);
        drop(b);
    }
}

#[test]
fn a_task_relocking_a_free_mutex_lets_another_task_run() {
    for rt in flavors() {
        let locks = Arc::new(AtomicUsize::new(0));
        let seen_by_other = rt.block_on({
            let locks = locks.clone();
            async move {
                let mutex = Arc::new(tulipa::sync::Mutex::new(0usize));
                let counter = locks.clone();
                let locker = tulipa::spawn(async move {
                    let mut other = None;
                    for i in 0..MESSAGES {
                        *mutex.lock().await += 1;
                        counter.fetch_add(1, Ordering::SeqCst);
                        if i == 0 {
                            let seen = counter.clone();
                            other = Some(tulipa::spawn(async move { seen.load(Ordering::SeqCst) }));
                        }
                    }
                    other
                });
                let other = locker.await.unwrap().unwrap();
                other.await.unwrap()
            }
        });
        assert!(
            seen_by_other < MESSAGES,
            "the other task ran only after all {MESSAGES} locks: no yield"
        );
        assert_eq!(locks.load(Ordering::SeqCst), MESSAGES);
    }
}
