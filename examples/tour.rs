//! A guided tour of tulipa: each section shows one part of asyncio's model
//! running on tulipa, says what happens, and how long it took.
//!
//! The asyncio programs each section mirrors are in the section's doc
//! comment. To add a section, write one `fn(&Runtime)` and list it in
//! [`SECTIONS`].
//!
//! Run it with `cargo run -p tulipa --example tour`.

use std::time::Duration;

use tulipa::time::{interval, sleep, timeout, Instant};
use tulipa::{Handle, Runtime};

/// One section of the tour: it runs its examples on the runtime it is
/// given (or builds its own) and prints what happens.
type Section = fn(&Runtime);

/// The tour, in order: a title and the function that runs the section.
const SECTIONS: &[(&str, Section)] = &[
    ("callbacks: call_soon, call_later, call_at", callbacks),
    ("tasks: spawn, names, gather", tasks),
    ("timers: sleep, interval, timeout", timers),
    ("cancellation: Task.cancel()", cancellation),
    ("a task panics, the runtime goes on", caught_panic),
    ("a bounded wait: asyncio.wait_for", bounded_wait),
    ("virtual time: an hour in no time", virtual_time),
    ("TaskGroup: the first failure cancels the rest", task_group),
    ("a Queue with workers, task_done and join", queue_workers),
    ("blocking work: to_thread and a subprocess", blocking_work),
    ("streams: an echo server and a client", streams),
    ("http: an axum app served, a Client fetching from it", http),
];

fn main() {
    println!(
        "tulipa: Python's asyncio, in Rust. A tour in {} parts.",
        SECTIONS.len()
    );
    // `tulipa::run(main())` is `asyncio.run(main())`; the tour keeps one
    // runtime (a multi-thread one, the default) and enters it once per
    // section with `Runtime::block_on`, asyncio's `run_until_complete`.
    let rt = Runtime::new().expect("the OS gave us a poller and worker threads");
    let tour = std::time::Instant::now();
    for (i, (title, section)) in SECTIONS.iter().enumerate() {
        println!("\n{}. {title}", i + 1);
        let start = std::time::Instant::now();
        section(&rt);
        println!("   (took {})", ms(start.elapsed()));
    }
    println!("\nthe whole tour took {}", ms(tour.elapsed()));
}

/// Formats a duration as milliseconds.
fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Callbacks run one at a time in deadline order; a cancelled one never
/// runs.
///
/// ```python
/// loop.call_later(0.03, say, "call_later(30 ms)")
/// h = loop.call_later(0.02, say, "never printed"); h.cancel()
/// loop.call_at(loop.time() + 0.01, say, "call_at(now + 10 ms)")
/// loop.call_soon(say, "call_soon")
/// ```
fn callbacks(rt: &Runtime) {
    // A handle works from outside the runtime too: `call_soon` is also
    // `call_soon_threadsafe`.
    let handle = rt.handle().clone();
    let start = handle.time();
    let say = {
        let handle = handle.clone();
        move |what: &'static str| {
            let at = handle.time() - start;
            println!("   at {:>7}  {what}", ms(at));
        }
    };
    let s = say.clone();
    let last = handle.call_later(Duration::from_millis(30), move || s("call_later(30 ms)"));
    let s = say.clone();
    let dropped = handle.call_later(Duration::from_millis(20), move || s("never printed"));
    let s = say.clone();
    handle.call_at(start + Duration::from_millis(10), move || {
        s("call_at(now + 10 ms)")
    });
    handle.call_soon(move || say("call_soon"));
    dropped.cancel();

    rt.block_on(async {
        // Wait for the last callback. (A settable future, asyncio's
        // `loop.create_future()`, is `tulipa::sync::Promise`.)
        while !last.is_done() {
            sleep(Duration::from_millis(1)).await;
        }
    });
    println!(
        "   the cancelled callback ran: {}; scheduled in one order, run in deadline order",
        dropped.is_done()
    );
}

/// Named tasks run concurrently; awaiting their handles gathers the
/// results in the order asked, and takes as long as the slowest.
///
/// ```python
/// tasks = [asyncio.create_task(fetch(n, d), name=n) for n, d in ...]
/// print(await asyncio.gather(*tasks))
/// ```
fn tasks(rt: &Runtime) {
    rt.block_on(async {
        let jobs = [("fetch-a", 30), ("fetch-b", 10), ("fetch-c", 20)];
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(name, millis)| {
                tulipa::task::Builder::new()
                    .name(name)
                    .spawn(async move {
                        sleep(Duration::from_millis(millis)).await;
                        format!("{name} slept {millis} ms")
                    })
                    .expect("we are inside the runtime")
            })
            .collect();

        // `asyncio.all_tasks()`: the callbacks of the first section run in
        // a task of their own, so it shows up too.
        let names: Vec<String> = Handle::current()
            .tasks()
            .iter()
            .map(|t| t.name().unwrap_or("<unnamed>").to_owned())
            .collect();
        println!("   tasks alive: {names:?}");

        let mut results = Vec::new();
        for h in handles {
            let id = h.id();
            let name = h.info().name().unwrap_or("<unnamed>").to_owned();
            results.push(
                h.await
                    .expect("these tasks neither panic nor are cancelled"),
            );
            println!("   {name} (task {id}) is done");
        }
        println!("   gathered: {results:?}");
        println!("   about 30 ms in all: the slowest task, not the sum of 60 ms");
    });
}

/// `sleep`, an `interval` ticking three times (the first tick at once), and
/// a `timeout` that runs out.
///
/// ```python
/// await asyncio.sleep(0.02)
/// async with asyncio.timeout(0.01): await asyncio.sleep(3600)
/// ```
fn timers(rt: &Runtime) {
    rt.block_on(async {
        let start = Instant::now();
        sleep(Duration::from_millis(20)).await;
        println!("   sleep(20 ms) woke after {}", ms(start.elapsed()));

        let start = Instant::now();
        let mut every = interval(Duration::from_millis(10));
        for n in 1..=3 {
            every.tick().await;
            println!("   interval(10 ms) tick {n} after {}", ms(start.elapsed()));
        }

        let start = Instant::now();
        match timeout(Duration::from_millis(10), sleep(Duration::from_secs(3600))).await {
            Ok(()) => println!("   unexpected: the hour-long sleep finished"),
            Err(elapsed) => println!(
                "   timeout(10 ms, sleep(1 h)): {elapsed} after {}",
                ms(start.elapsed())
            ),
        }
    });
}

/// Cancelling a sleeping task: its future is dropped at once, and its
/// handle reports the cancellation.
///
/// ```python
/// task = asyncio.create_task(asyncio.sleep(3600)); task.cancel()
/// try: await task
/// except asyncio.CancelledError: ...
/// ```
fn cancellation(rt: &Runtime) {
    rt.block_on(async {
        let sleeper = tulipa::spawn(async {
            sleep(Duration::from_secs(3600)).await;
            "woke up"
        });
        sleep(Duration::from_millis(5)).await;
        println!(
            "   a task sleeps for an hour; finished: {}",
            sleeper.is_finished()
        );
        sleeper.cancel();
        match sleeper.await {
            Ok(text) => println!("   unexpected: the task {text}"),
            Err(e) => println!("   cancelled: is_cancelled() = {} ({e})", e.is_cancelled()),
        }
    });
}

/// A panicking task does not take the runtime down: its panic reaches
/// whoever awaits its handle.
///
/// ```python
/// task = asyncio.create_task(boom())
/// try: await task
/// except ValueError as e: ...
/// ```
fn caught_panic(rt: &Runtime) {
    // The default hook would print the panic and a backtrace hint on
    // stderr; silence it for this section so the tour's output stays
    // clean, and put it back afterwards.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    // `rt.spawn`, not `tulipa::spawn`: this line runs outside the runtime.
    let result = rt.block_on(rt.spawn(async {
        panic!("the bishop moved like a knight");
    }));
    std::panic::set_hook(default_hook);

    match result {
        Ok(()) => println!("   unexpected: the task did not panic"),
        Err(e) => {
            println!("   the task failed: is_panic() = {}", e.is_panic());
            println!(
                "   its panic message: {:?}",
                tulipa::core::panic_message(&*e.into_panic()).unwrap_or("<not a string>")
            );
        }
    }
    let after = rt.block_on(rt.spawn(async { 6 * 7 }));
    println!("   the runtime goes on: the next task returned {after:?}");
}

/// `timeout` bounds how long we wait. Unlike `asyncio.wait_for`, giving up
/// on a task's handle does not stop the task (dropping a handle detaches
/// it), so we cancel it ourselves.
///
/// ```python
/// try: await asyncio.wait_for(slow_task, 0.02)
/// except TimeoutError: ...  # wait_for has cancelled slow_task
/// ```
fn bounded_wait(rt: &Runtime) {
    rt.block_on(async {
        let quick = timeout(Duration::from_millis(50), async { "quick answer" }).await;
        println!("   timeout(50 ms, a ready future) gave {quick:?}");

        let start = Instant::now();
        let mut slow = tulipa::spawn(async {
            sleep(Duration::from_secs(10)).await;
            "slow answer"
        });
        // Awaiting `&mut slow` keeps the handle when the wait gives up.
        match timeout(Duration::from_millis(20), &mut slow).await {
            Ok(answer) => println!("   unexpected: {answer:?}"),
            Err(elapsed) => {
                println!(
                    "   waited for a 10 s task: {elapsed} after {}",
                    ms(start.elapsed())
                );
                slow.cancel();
                let cancelled = slow.await.is_err_and(|e| e.is_cancelled());
                println!("   then cancelled it, as wait_for would: {cancelled}");
            }
        }
    });
}

/// A runtime on virtual time (for tests): when every task is idle, time
/// jumps to the next timer, so sleeping an hour takes no real time.
/// `time::advance` moves it by hand.
fn virtual_time(_rt: &Runtime) {
    let paused = Runtime::builder()
        .current_thread()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime needs only a poller");
    paused.block_on(async {
        let loop_start = Handle::current().time();
        let start = Instant::now();
        sleep(Duration::from_secs(3600)).await;
        println!("   slept {:?} of virtual time", start.elapsed());

        let start = Instant::now();
        tulipa::time::advance(Duration::from_secs(90)).await;
        println!("   advance(90 s) moved the clock by {:?}", start.elapsed());
        let loop_time = Handle::current().time() - loop_start;
        println!("   loop.time() moved {loop_time:?} in all, on a paused runtime");
    });
}

/// A `TaskGroup`: results come back in spawn order; when one task fails,
/// the others are cancelled and the failure is returned.
///
/// ```python
/// async with asyncio.TaskGroup() as tg:
///     for i in range(3): tg.create_task(work(i))
/// ```
fn task_group(rt: &Runtime) {
    rt.block_on(async {
        let mut group = tulipa::task::TaskGroup::new();
        for i in 1..=3u64 {
            group.spawn(async move {
                sleep(Duration::from_millis(10 * i)).await;
                i * i
            });
        }
        let squares = group.join().await.expect("no task fails");
        println!("   joined in spawn order: {squares:?}");

        let mut group = tulipa::task::TaskGroup::new();
        group.spawn(async {
            sleep(Duration::from_secs(3600)).await;
            Ok("never")
        });
        group.spawn(async {
            sleep(Duration::from_millis(5)).await;
            Err("a task failed")
        });
        match group.try_join().await {
            Ok(_) => println!("   unexpected: every task succeeded"),
            Err(e) => println!("   try_join failed ({e}); the hour-long sleeper was cancelled"),
        }
    });
}

/// asyncio's `Queue(maxsize)` with three workers that mark each item done;
/// `join` returns once every item put has been processed.
///
/// ```python
/// q = asyncio.Queue(maxsize=4)
/// workers = [asyncio.create_task(worker(q)) for _ in range(3)]
/// for job in jobs: await q.put(job)
/// await q.join()
/// ```
fn queue_workers(rt: &Runtime) {
    rt.block_on(async {
        let q = tulipa::queue::Queue::new(4);
        let workers: Vec<_> = (0..3)
            .map(|w| {
                let q = q.clone();
                tulipa::spawn(async move {
                    let mut done = 0;
                    while let Ok(ms) = q.get().await {
                        sleep(Duration::from_millis(ms)).await;
                        q.task_done().expect("one task_done per get");
                        done += 1;
                    }
                    (w, done)
                })
            })
            .collect();
        for ms in [5, 1, 3, 2, 4, 1, 2, 3, 1] {
            q.put(ms).await.expect("the queue is not shut down");
        }
        q.join().await;
        println!("   join() returned: all 9 items were processed");
        q.shutdown(false);
        for w in workers {
            let (w, done) = w.await.expect("workers do not panic");
            println!("   worker {w} processed {done} items");
        }
    });
}

/// Blocking work leaves the loop free: `to_thread` runs a closure on the
/// blocking pool, and a subprocess runs while other tasks go on.
///
/// ```python
/// digest = await asyncio.to_thread(hashlib.sha256, data)
/// proc = await asyncio.create_subprocess_exec("uname", "-s", stdout=PIPE)
/// out, _ = await proc.communicate()
/// ```
fn blocking_work(rt: &Runtime) {
    rt.block_on(async {
        let sum = tulipa::unblock(|| (1..=1_000_000u64).sum::<u64>()).await;
        println!("   to_thread: the sum of 1..=1,000,000 is {sum}");
        match tulipa::process::Command::new("uname")
            .arg("-s")
            .output()
            .await
        {
            Ok(out) => println!(
                "   uname -s said {:?} and exited with {}",
                String::from_utf8_lossy(&out.stdout).trim(),
                out.status
            ),
            Err(e) => println!("   could not run uname: {e}"),
        }
    });
}

/// asyncio streams: `start_server` with a handler per connection, and
/// `open_connection` for the client.
///
/// ```python
/// server = await asyncio.start_server(echo, "127.0.0.1", 0)
/// reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname())
/// ```
fn streams(rt: &Runtime) {
    rt.block_on(async {
        let server =
            tulipa::net::start_server("127.0.0.1:0", |mut reader, mut writer| async move {
                while let Ok(line) = reader.read_line().await {
                    if line.is_empty() {
                        break;
                    }
                    let reply = String::from_utf8_lossy(&line).to_uppercase();
                    if writer.write(reply.as_bytes()).is_err() || writer.drain().await.is_err() {
                        break;
                    }
                }
            })
            .await
            .expect("bind a loopback port");
        let addr = server.local_addr().expect("the server is bound");
        let (mut reader, mut writer) = tulipa::net::open_connection(addr)
            .await
            .expect("connect to our own server");
        for word in ["hello", "asyncio"] {
            writer
                .write(format!("{word}\n").as_bytes())
                .expect("connection open");
            writer.drain().await.expect("connection open");
            let line = reader.read_line().await.expect("the server echoes");
            println!(
                "   sent {word:?}, got back {:?}",
                String::from_utf8_lossy(&line).trim()
            );
        }
        server.close();
    });
}

/// HTTP, aiohttp's way: an axum `Router` (`web.Application` with
/// `router.add_get`) served on a loopback port, a `Client`
/// (`ClientSession`) reading status, text and JSON from it, then a
/// graceful shutdown that reports what it finished.
///
/// ```python
/// app = web.Application(); app.router.add_get("/", hello); ...
/// runner = web.AppRunner(app); await runner.setup()
/// await web.TCPSite(runner, "127.0.0.1", 0).start()
/// async with aiohttp.ClientSession() as session:
///     async with session.get(url) as resp: print(resp.status, await resp.text())
/// await runner.cleanup()
/// ```
#[cfg(feature = "http")]
fn http(rt: &Runtime) {
    use axum::routing::get;
    use axum::{Json, Router};

    rt.block_on(async {
        let app = Router::new()
            .route("/", get(|| async { "Hello world." }))
            .route(
                "/petals",
                get(|| async { Json(serde_json::json!({"flower": "tulipa", "petals": 6})) }),
            );
        let listener = tulipa::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("the listener is bound");
        let server = tulipa::http::serve(listener, app);
        let handle = server.handle();
        let serving = tulipa::spawn(server);

        let client = tulipa::http::Client::new();
        let fetched = async {
            let response = client.get(&format!("http://{addr}/")).send().await?;
            let status = response.status();
            println!("   GET / -> {status}: {:?}", response.text().await?);
            let response = client.get(&format!("http://{addr}/petals")).send().await?;
            let json: serde_json::Value = response.json().await?;
            println!("   GET /petals -> JSON {json}");
            Ok::<(), tulipa::http::Error>(())
        };
        if let Err(e) = fetched.await {
            println!("   unexpected: {e}");
        }

        let report = handle.shutdown(Duration::from_secs(5)).await;
        println!("   shut down gracefully: {report}");
        let accept_loop = serving.await.expect("the server task does not panic");
        println!("   the accept loop ended too: {}", accept_loop.is_ok());
    });
}

/// Built without the `http` feature: nothing to show.
#[cfg(not(feature = "http"))]
fn http(_rt: &Runtime) {
    println!("   skipped: tulipa was built without its `http` feature");
}
