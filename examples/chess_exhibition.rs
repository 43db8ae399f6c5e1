//! The chess exhibition from the classic asyncio talks: one master plays 24
//! opponents, first one board after another, then all boards at once.
//!
//! The master takes 5 s per move and each opponent 50 s; a game is 30 move
//! pairs. Played one board at a time that is 24 × 30 × 55 s = 11 hours.
//! Played concurrently, the master moves on to the next board while the
//! opponent thinks, so the exhibition takes about the master's own time:
//! 24 × 30 × 5 s = 1 hour. The program mirrors:
//!
//! ```python
//! import asyncio, time
//!
//! async def game(board):
//!     for move in range(30):
//!         time.sleep(5)           # the master thinks: one person, it blocks
//!         await asyncio.sleep(50) # the opponent thinks: the master walks on
//!
//! async def main():
//!     for board in range(24):     # sequential
//!         await game(board)
//!     await asyncio.gather(*(game(board) for board in range(24)))  # concurrent
//!
//! asyncio.run(main())
//! ```
//!
//! Time is scaled down so the whole program runs in under 3 s: one second
//! of the exhibition is 40 µs here (a master move is 200 µs, an opponent
//! move 2 ms). Measured times come out above the ideal ones: a thread sleep
//! overshoots a little, and timers have a 1 ms resolution and never fire
//! early, so a 2 ms opponent move takes about 3 ms. The ratio between the
//! two ways of playing is what the demo is about.
//!
//! Run it with `cargo run -p tulipa --example chess_exhibition`.

use std::time::{Duration, Instant};

const BOARDS: u32 = 24;
const MOVE_PAIRS: u32 = 30;
/// Exhibition seconds per move.
const MASTER_MOVE_S: u32 = 5;
const OPPONENT_MOVE_S: u32 = 50;
/// How long one exhibition second lasts here.
const SCALE: Duration = Duration::from_micros(40);

async fn game() {
    for _ in 0..MOVE_PAIRS {
        // The master is one person: thinking blocks the whole loop, like
        // `time.sleep` in the Python version. This is why the runtime below
        // is current-thread: one loop thread is one master.
        std::thread::sleep(SCALE * MASTER_MOVE_S);
        // The opponent thinks while the master walks to the next board.
        tulipa::time::sleep(SCALE * OPPONENT_MOVE_S).await;
    }
}

/// Converts a scaled time back into exhibition hours.
fn exhibition_hours(scaled: Duration) -> f64 {
    scaled.as_secs_f64() / SCALE.as_secs_f64() / 3600.0
}

// asyncio's loop runs on one thread; so does a current-thread runtime.
#[tulipa::main(flavor = "current_thread")]
async fn main() {
    println!(
        "one master, {BOARDS} boards, {MOVE_PAIRS} move pairs a game; \
         master {MASTER_MOVE_S} s a move, opponents {OPPONENT_MOVE_S} s"
    );
    println!("(1 s of the exhibition = {SCALE:?} here)\n");

    // One board after another: `for board in boards: await game(board)`.
    let start = Instant::now();
    for _ in 0..BOARDS {
        game().await;
    }
    let sequential = start.elapsed();

    // All boards at once: spawn a task per board, then await them all
    // (`asyncio.gather`).
    let start = Instant::now();
    let games: Vec<_> = (0..BOARDS).map(|_| tulipa::spawn(game())).collect();
    for g in games {
        g.await.expect("a game neither panics nor is cancelled");
    }
    let concurrent = start.elapsed();

    // The exhibition's own times, and what they become at this scale.
    let ideal_sequential = SCALE * (BOARDS * MOVE_PAIRS * (MASTER_MOVE_S + OPPONENT_MOVE_S));
    let ideal_concurrent = SCALE * (BOARDS * MOVE_PAIRS * MASTER_MOVE_S + OPPONENT_MOVE_S);
    println!("              exhibition   here, ideal   here, measured");
    for (name, ideal, measured) in [
        ("sequential", ideal_sequential, sequential),
        ("concurrent", ideal_concurrent, concurrent),
    ] {
        println!(
            "{name:<12} {:>8.2} h   {:>9.3} s   {:>12.3} s",
            exhibition_hours(ideal),
            ideal.as_secs_f64(),
            measured.as_secs_f64(),
        );
    }
    println!(
        "\nconcurrent play is {:.1}x faster (ideally {:.1}x)",
        sequential.as_secs_f64() / concurrent.as_secs_f64(),
        ideal_sequential.as_secs_f64() / ideal_concurrent.as_secs_f64(),
    );
}
