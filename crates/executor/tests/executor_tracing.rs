//! Feature `tracing`: a recording layer sees what console-subscriber reads.
//! A spawn makes a `runtime.spawn` span with the task's fields, each poll
//! enters it, the end of the task closes it, and the waker the task stored
//! and woke produces `waker.clone` and `waker.wake` events naming the span;
//! an unhandled panic becomes an `ERROR` event with the task's fields. On
//! both executors.
#![cfg(feature = "tracing")]

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tracing::span;
use tracing::subscriber::Subscriber;
use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tulipa_core::ThreadParker;
use tulipa_executor::{
    block_on, CurrentThread, Diagnostics, JoinHandle, MultiThread, MultiThreadBuilder,
    SpawnOptions, TaskId,
};

#[derive(Clone, Debug)]
enum Rec {
    NewSpan {
        id: u64,
        name: &'static str,
        target: &'static str,
        fields: BTreeMap<String, String>,
    },
    Enter(u64),
    Close(u64),
    Event {
        target: &'static str,
        level: tracing::Level,
        fields: BTreeMap<String, String>,
    },
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

struct Recorder(Arc<Mutex<Vec<Rec>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, _: LayerContext<'_, S>) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        let meta = attrs.metadata();
        self.0.lock().unwrap().push(Rec::NewSpan {
            id: id.into_u64(),
            name: meta.name(),
            target: meta.target(),
            fields: f.0,
        });
    }
    fn on_enter(&self, id: &span::Id, _: LayerContext<'_, S>) {
        self.0.lock().unwrap().push(Rec::Enter(id.into_u64()));
    }
    fn on_close(&self, id: span::Id, _: LayerContext<'_, S>) {
        self.0.lock().unwrap().push(Rec::Close(id.into_u64()));
    }
    fn on_event(&self, event: &tracing::Event<'_>, _: LayerContext<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        self.0.lock().unwrap().push(Rec::Event {
            target: event.metadata().target(),
            level: *event.metadata().level(),
            fields: f.0,
        });
    }
}

/// The records of the process-wide subscriber (worker threads need a
/// global one), installed once.
fn records() -> Arc<Mutex<Vec<Rec>>> {
    static RECORDS: OnceLock<Arc<Mutex<Vec<Rec>>>> = OnceLock::new();
    RECORDS
        .get_or_init(|| {
            let records = Arc::new(Mutex::new(Vec::new()));
            let subscriber = tracing_subscriber::registry().with(Recorder(records.clone()));
            tracing::subscriber::set_global_default(subscriber).unwrap();
            records
        })
        .clone()
}

enum Flavor {
    Current(CurrentThread),
    Multi(MultiThread),
}

impl Flavor {
    fn all(diagnostics: Diagnostics) -> [Flavor; 2] {
        [
            Flavor::Current(CurrentThread::with_diagnostics(
                Arc::new(ThreadParker::new()),
                diagnostics.clone(),
            )),
            Flavor::Multi(
                MultiThreadBuilder::new()
                    .workers(2)
                    .diagnostics(diagnostics)
                    .build(Arc::new(ThreadParker::new()))
                    .unwrap(),
            ),
        ]
    }

    #[track_caller]
    fn spawn<F>(&self, name: &str, f: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let o = SpawnOptions::new().name(name);
        match self {
            Flavor::Current(c) => c.spawn(o, f),
            Flavor::Multi(m) => m.spawn(o, f),
        }
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        match self {
            Flavor::Current(c) => c.block_on(f),
            Flavor::Multi(_) => block_on(&ThreadParker::new(), f),
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Flavor::Current(_) => "current",
            Flavor::Multi(_) => "multi",
        }
    }
}

/// Pending on its first poll (after storing a clone of its waker), ready
/// on the next.
struct WaitOnce {
    slot: Arc<Mutex<Option<Waker>>>,
    polled: bool,
}

impl Future for WaitOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.polled {
            return Poll::Ready(());
        }
        self.polled = true;
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

fn span_of(records: &[Rec], task: TaskId) -> Option<(u64, BTreeMap<String, String>)> {
    records.iter().find_map(|r| match r {
        Rec::NewSpan {
            id,
            name: "runtime.spawn",
            target: "runtime::task",
            fields,
        } if fields.get("task.id") == Some(&task.as_u64().to_string()) => {
            Some((*id, fields.clone()))
        }
        _ => None,
    })
}

fn waker_ops(records: &[Rec], span: u64) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            Rec::Event {
                target: "runtime::waker",
                fields,
                ..
            } if fields.get("task.id") == Some(&span.to_string()) => fields.get("op").cloned(),
            _ => None,
        })
        .collect()
}

#[test]
fn spawn_poll_and_wake_produce_the_span_and_events_console_reads() {
    let records = records();
    for ex in Flavor::all(Diagnostics::builder().debug(false).build()) {
        let name = format!("traced-{}", ex.label());
        let slot = Arc::new(Mutex::new(None::<Waker>));
        let waiting = WaitOnce {
            slot: slot.clone(),
            polled: false,
        };
        let spawned_at = Location::caller();
        let line = line!() + 1;
        let handle = ex.spawn(&name, waiting);
        let task = handle.id();
        // Bounded: until the task stored its waker (first poll done).
        let mut waker = None;
        for _ in 0..10_000 {
            waker = slot.lock().unwrap().take();
            if waker.is_some() {
                break;
            }
            ex.block_on(tulipa_executor::yield_now());
            std::thread::sleep(Duration::from_micros(100));
        }
        waker.expect("the task was polled").wake();
        ex.block_on(handle).unwrap();

        let recs = records.lock().unwrap().clone();
        let (span, fields) = span_of(&recs, task).expect("a runtime.spawn span");
        assert_eq!(fields.get("kind").map(String::as_str), Some("task"));
        assert_eq!(fields.get("task.name"), Some(&name));
        assert_eq!(
            fields.get("loc.file").map(String::as_str),
            Some(spawned_at.file())
        );
        assert_eq!(fields.get("loc.line"), Some(&line.to_string()));
        assert!(fields.contains_key("loc.col"), "{fields:?}");
        let enters = recs
            .iter()
            .filter(|r| matches!(r, Rec::Enter(id) if *id == span))
            .count();
        assert_eq!(enters, 2, "one enter per poll");
        assert!(
            recs.iter()
                .any(|r| matches!(r, Rec::Close(id) if *id == span)),
            "the span closes when the task ends"
        );
        let ops = waker_ops(&recs, span);
        assert!(
            ops.iter().any(|o| o == "waker.clone"),
            "storing the waker clones it: {ops:?}"
        );
        assert!(
            ops.iter().any(|o| o == "waker.wake"),
            "waking it by value: {ops:?}"
        );
    }
}

#[test]
fn an_unhandled_panic_is_an_error_event_with_the_task_fields() {
    let records = records();
    for ex in Flavor::all(Diagnostics::builder().debug(false).reporter(|_| {}).build()) {
        let name = format!("panics-{}", ex.label());
        let handle = ex.spawn(&name, async { panic!("on purpose") });
        let task = handle.id();
        handle.detach();
        let mut found = false;
        for _ in 0..10_000 {
            found = records.lock().unwrap().iter().any(|r| match r {
                Rec::Event {
                    target: "tulipa::diagnostics",
                    level,
                    fields,
                } => {
                    *level == tracing::Level::ERROR
                        && fields.get("task.id") == Some(&task.as_u64().to_string())
                        && fields.get("task.name") == Some(&name)
                        && fields.get("panic").map(String::as_str) == Some("on purpose")
                }
                _ => false,
            });
            if found {
                break;
            }
            ex.block_on(tulipa_executor::yield_now());
            std::thread::sleep(Duration::from_micros(100));
        }
        assert!(found, "an ERROR event for {name}");
    }
}
