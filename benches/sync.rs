//! Synchronisation primitives, side by side in one run: greenloop's `sync` on greenloop's
//! executor; async-channel / async-lock / event-listener on smol's `LocalExecutor`;
//! tokio::sync on a current-thread runtime with a `LocalSet`; futures' channel and lock on
//! `LocalPool`. Every workload is one iteration; divide by the element count for ns/op.
//!
//! Sizes are scaled down from the (same shapes, fewer operations) so the whole file
//! runs in a couple of minutes on a shared machine:
//! ping_pong 10k round trips (1M), channel_throughput 100k messages (10M), fan_in 1000
//! producers × 100 (× 1000), mutex_contention 1000 tasks × 100 locks (× 1000),
//! event_broadcast 10k tasks, one round per iteration (× 10).
//!
//! futures' `mpsc::channel(n)` holds `n + senders` messages, so it gets `n - 1`.
#![allow(missing_docs)]

use std::cell::Cell;
use std::rc::Rc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use futures::{SinkExt, StreamExt};
use greenloop::sync::{Event, Lock, Queue};

const PING_PONG: u64 = 10_000;
const THROUGHPUT: u64 = 100_000;
const FAN_IN_PRODUCERS: u64 = 1000;
const FAN_IN_EACH: u64 = 100;
const MUTEX_TASKS: u64 = 1000;
const MUTEX_EACH: u64 = 100;
const EVENT_TASKS: u64 = 10_000;

// === greenloop ===

mod gl {
    use super::*;
    use greenloop::{spawn, yield_now};

    pub(crate) async fn ping_pong(n: u64) {
        let (a, b) = (Queue::bounded(1), Queue::bounded(1));
        let (a2, b2) = (a.clone(), b.clone());
        let pong = spawn(async move {
            for _ in 0..n {
                let x = a2.get().await.unwrap();
                b2.put(x).await.unwrap();
            }
        });
        for i in 0..n {
            a.put(i).await.unwrap();
            assert_eq!(b.get().await.unwrap(), i);
        }
        pong.await.unwrap();
    }

    pub(crate) async fn throughput(n: u64) {
        let q = Queue::bounded(128);
        let q2 = q.clone();
        let producer = spawn(async move {
            for i in 0..n {
                q2.put(i).await.unwrap();
            }
        });
        let mut sum = 0;
        for _ in 0..n {
            sum += q.get().await.unwrap();
        }
        assert_eq!(sum, n * (n - 1) / 2);
        producer.await.unwrap();
    }

    pub(crate) async fn fan_in(producers: u64, each: u64) {
        let q = Queue::bounded(128);
        for _ in 0..producers {
            let q = q.clone();
            drop(spawn(async move {
                for i in 0..each {
                    q.put(i).await.unwrap();
                }
            }));
        }
        for _ in 0..producers * each {
            q.get().await.unwrap();
        }
    }

    pub(crate) async fn mutex(tasks: u64, each: u64) {
        let m = Lock::new(0u64);
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let m = m.clone();
                spawn(async move {
                    for i in 0..each {
                        let mut g = m.lock().await;
                        *g += 1;
                        if i % 10 == 0 {
                            yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(*m.lock().await, tasks * each);
    }

    pub(crate) async fn event(tasks: u64) {
        let e = Event::new();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let e = e.clone();
                spawn(async move { e.wait().await })
            })
            .collect();
        yield_now().await;
        e.set();
        for h in handles {
            h.await.unwrap();
        }
    }
}

// === smol: async-channel, async-lock, event-listener on LocalExecutor ===

mod sm {
    use super::*;
    use smol::LocalExecutor;
    use smol::future::yield_now;

    pub(crate) async fn ping_pong(ex: &LocalExecutor<'_>, n: u64) {
        let (atx, arx) = async_channel::bounded(1);
        let (btx, brx) = async_channel::bounded(1);
        let pong = ex.spawn(async move {
            for _ in 0..n {
                let x = arx.recv().await.unwrap();
                btx.send(x).await.unwrap();
            }
        });
        for i in 0..n {
            atx.send(i).await.unwrap();
            assert_eq!(brx.recv().await.unwrap(), i);
        }
        pong.await;
    }

    pub(crate) async fn throughput(ex: &LocalExecutor<'_>, n: u64) {
        let (tx, rx) = async_channel::bounded(128);
        let producer = ex.spawn(async move {
            for i in 0..n {
                tx.send(i).await.unwrap();
            }
        });
        let mut sum = 0;
        for _ in 0..n {
            sum += rx.recv().await.unwrap();
        }
        assert_eq!(sum, n * (n - 1) / 2);
        producer.await;
    }

    pub(crate) async fn fan_in(ex: &LocalExecutor<'_>, producers: u64, each: u64) {
        let (tx, rx) = async_channel::bounded(128);
        for _ in 0..producers {
            let tx = tx.clone();
            ex.spawn(async move {
                for i in 0..each {
                    tx.send(i).await.unwrap();
                }
            })
            .detach();
        }
        for _ in 0..producers * each {
            rx.recv().await.unwrap();
        }
    }

    pub(crate) async fn mutex(ex: &LocalExecutor<'_>, tasks: u64, each: u64) {
        let m = Rc::new(smol::lock::Mutex::new(0u64));
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let m = m.clone();
                ex.spawn(async move {
                    for i in 0..each {
                        let mut g = m.lock().await;
                        *g += 1;
                        if i % 10 == 0 {
                            yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.await;
        }
        assert_eq!(*m.lock().await, tasks * each);
    }

    pub(crate) async fn event(ex: &LocalExecutor<'_>, tasks: u64) {
        let e = Rc::new(event_listener::Event::new());
        let set = Rc::new(Cell::new(false));
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (e, set) = (e.clone(), set.clone());
                ex.spawn(async move {
                    let listener = e.listen();
                    if !set.get() {
                        listener.await;
                    }
                })
            })
            .collect();
        yield_now().await;
        set.set(true);
        e.notify(usize::MAX);
        for h in handles {
            h.await;
        }
    }
}

// === tokio::sync on a current-thread runtime + LocalSet ===

mod tk {
    use super::*;
    use tokio::task::{spawn_local, yield_now};

    pub(crate) async fn ping_pong(n: u64) {
        let (atx, mut arx) = tokio::sync::mpsc::channel(1);
        let (btx, mut brx) = tokio::sync::mpsc::channel(1);
        let pong = spawn_local(async move {
            for _ in 0..n {
                let x = arx.recv().await.unwrap();
                btx.send(x).await.unwrap();
            }
        });
        for i in 0..n {
            atx.send(i).await.unwrap();
            assert_eq!(brx.recv().await.unwrap(), i);
        }
        pong.await.unwrap();
    }

    pub(crate) async fn throughput(n: u64) {
        let (tx, mut rx) = tokio::sync::mpsc::channel(128);
        let producer = spawn_local(async move {
            for i in 0..n {
                tx.send(i).await.unwrap();
            }
        });
        let mut sum = 0;
        for _ in 0..n {
            sum += rx.recv().await.unwrap();
        }
        assert_eq!(sum, n * (n - 1) / 2);
        producer.await.unwrap();
    }

    pub(crate) async fn fan_in(producers: u64, each: u64) {
        let (tx, mut rx) = tokio::sync::mpsc::channel(128);
        for _ in 0..producers {
            let tx = tx.clone();
            drop(spawn_local(async move {
                for i in 0..each {
                    tx.send(i).await.unwrap();
                }
            }));
        }
        for _ in 0..producers * each {
            rx.recv().await.unwrap();
        }
    }

    pub(crate) async fn mutex(tasks: u64, each: u64) {
        let m = Rc::new(tokio::sync::Mutex::new(0u64));
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let m = m.clone();
                spawn_local(async move {
                    for i in 0..each {
                        let mut g = m.lock().await;
                        *g += 1;
                        if i % 10 == 0 {
                            yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(*m.lock().await, tasks * each);
    }

    pub(crate) async fn event(tasks: u64) {
        let notify = Rc::new(tokio::sync::Notify::new());
        let set = Rc::new(Cell::new(false));
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (notify, set) = (notify.clone(), set.clone());
                spawn_local(async move {
                    let notified = notify.notified();
                    if !set.get() {
                        notified.await;
                    }
                })
            })
            .collect();
        yield_now().await;
        set.set(true);
        notify.notify_waiters();
        for h in handles {
            h.await.unwrap();
        }
    }
}

// === futures: mpsc, lock::Mutex, Shared oneshot on LocalPool ===

mod fu {
    use super::*;
    use futures::FutureExt;
    use futures::executor::LocalSpawner;
    use greenloop::yield_now;

    pub(crate) async fn ping_pong(sp: &LocalSpawner, n: u64) {
        let (mut atx, mut arx) = futures::channel::mpsc::channel(0);
        let (mut btx, mut brx) = futures::channel::mpsc::channel(0);
        let pong = sp
            .spawn_local_with_handle(async move {
                for _ in 0..n {
                    let x = arx.next().await.unwrap();
                    btx.send(x).await.unwrap();
                }
            })
            .unwrap();
        for i in 0..n {
            atx.send(i).await.unwrap();
            assert_eq!(brx.next().await.unwrap(), i);
        }
        pong.await;
    }

    pub(crate) async fn throughput(sp: &LocalSpawner, n: u64) {
        let (mut tx, mut rx) = futures::channel::mpsc::channel(127);
        let producer = sp
            .spawn_local_with_handle(async move {
                for i in 0..n {
                    tx.send(i).await.unwrap();
                }
            })
            .unwrap();
        let mut sum = 0;
        for _ in 0..n {
            sum += rx.next().await.unwrap();
        }
        assert_eq!(sum, n * (n - 1) / 2);
        producer.await;
    }

    pub(crate) async fn fan_in(sp: &LocalSpawner, producers: u64, each: u64) {
        let (tx, mut rx) = futures::channel::mpsc::channel(127);
        for _ in 0..producers {
            let mut tx = tx.clone();
            sp.spawn_local(async move {
                for i in 0..each {
                    tx.send(i).await.unwrap();
                }
            })
            .unwrap();
        }
        for _ in 0..producers * each {
            rx.next().await.unwrap();
        }
    }

    pub(crate) async fn mutex(sp: &LocalSpawner, tasks: u64, each: u64) {
        let m = Rc::new(futures::lock::Mutex::new(0u64));
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let m = m.clone();
                sp.spawn_local_with_handle(async move {
                    for i in 0..each {
                        let mut g = m.lock().await;
                        *g += 1;
                        if i % 10 == 0 {
                            yield_now().await;
                        }
                    }
                })
                .unwrap()
            })
            .collect();
        for h in handles {
            h.await;
        }
        assert_eq!(*m.lock().await, tasks * each);
    }

    pub(crate) async fn event(sp: &LocalSpawner, tasks: u64) {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let rx = rx.shared();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let rx = rx.clone();
                sp.spawn_local_with_handle(async move {
                    rx.await.unwrap();
                })
                .unwrap()
            })
            .collect();
        yield_now().await;
        tx.send(()).unwrap();
        for h in handles {
            h.await;
        }
    }
}

// === harness ===

/// Runs `$body` (an async block per stack) for the four stacks in one criterion group.
macro_rules! bench_group {
    ($c:expr, $name:literal, $elems:expr,
     gl: |$g:ident| $gl:expr, sm: |$ex:ident| $sm:expr, tk: $tk:expr, fu: |$sp:ident| $fu:expr) => {{
        let mut group = $c.benchmark_group($name);
        group.sample_size(10);
        group.throughput(Throughput::Elements($elems));
        let $g = greenloop::Executor::new();
        group.bench_function("greenloop", |b| b.iter(|| $gl));
        let smol_ex = smol::LocalExecutor::new();
        {
            let $ex = &smol_ex;
            group.bench_function("smol", |b| b.iter(|| async_io::block_on($ex.run($sm))));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        group.bench_function("tokio", |b| b.iter(|| local.block_on(&rt, $tk)));
        let mut pool = LocalPool::new();
        let $sp = pool.spawner();
        group.bench_function("futures", |b| b.iter(|| pool.run_until($fu)));
        group.finish();
    }};
}

fn sync_benches(c: &mut Criterion) {
    // Two tasks bounce one item over two bounded(1) queues: wake/hand-off latency.
    bench_group!(c, "ping_pong", PING_PONG,
        gl: |g| g.block_on(gl::ping_pong(PING_PONG)),
        sm: |ex| sm::ping_pong(ex, PING_PONG),
        tk: tk::ping_pong(PING_PONG),
        fu: |sp| fu::ping_pong(&sp, PING_PONG));
    // One producer, one consumer, bounded(128): the buffered fast path.
    bench_group!(c, "channel_throughput", THROUGHPUT,
        gl: |g| g.block_on(gl::throughput(THROUGHPUT)),
        sm: |ex| sm::throughput(ex, THROUGHPUT),
        tk: tk::throughput(THROUGHPUT),
        fu: |sp| fu::throughput(&sp, THROUGHPUT));
    // Many producers into one bounded(128): a long putter waiter list.
    bench_group!(c, "fan_in", FAN_IN_PRODUCERS * FAN_IN_EACH,
        gl: |g| g.block_on(gl::fan_in(FAN_IN_PRODUCERS, FAN_IN_EACH)),
        sm: |ex| sm::fan_in(ex, FAN_IN_PRODUCERS, FAN_IN_EACH),
        tk: tk::fan_in(FAN_IN_PRODUCERS, FAN_IN_EACH),
        fu: |sp| fu::fan_in(&sp, FAN_IN_PRODUCERS, FAN_IN_EACH));
    // Many tasks on one lock, sometimes yielding while holding it: lock hand-off.
    bench_group!(c, "mutex_contention", MUTEX_TASKS * MUTEX_EACH,
        gl: |g| g.block_on(gl::mutex(MUTEX_TASKS, MUTEX_EACH)),
        sm: |ex| sm::mutex(ex, MUTEX_TASKS, MUTEX_EACH),
        tk: tk::mutex(MUTEX_TASKS, MUTEX_EACH),
        fu: |sp| fu::mutex(&sp, MUTEX_TASKS, MUTEX_EACH));
    // Spawn 10k waiters, set once, join them all: broadcast wake plus spawn/join.
    bench_group!(c, "event_broadcast", EVENT_TASKS,
        gl: |g| g.block_on(gl::event(EVENT_TASKS)),
        sm: |ex| sm::event(ex, EVENT_TASKS),
        tk: tk::event(EVENT_TASKS),
        fu: |sp| fu::event(&sp, EVENT_TASKS));
}

criterion_group!(benches, sync_benches);
criterion_main!(benches);
