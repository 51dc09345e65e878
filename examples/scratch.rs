//! scratch
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
fn main() {
let ex = greenloop::Executor::new();
let (tx, rx) = std::sync::mpsc::channel();
let mut polls = 0;
let handle = ex.spawn(futures::future::poll_fn(move |cx| {
    polls += 1;
    if polls == 1 {
        tx.send(cx.waker().clone()).unwrap();
        return std::task::Poll::Pending;
    }
    std::task::Poll::Ready(())
}));
ex.tick();
let pokes = Arc::new(AtomicUsize::new(0));
let counter = pokes.clone();
ex.on_wake(move || { counter.fetch_add(1, Ordering::SeqCst); println!("hook {}", std::backtrace::Backtrace::force_capture()); });
let waker = rx.recv().unwrap();
std::thread::spawn(move || waker.wake()).join().unwrap();
println!("{}", pokes.load(Ordering::SeqCst));
ex.tick();
assert!(handle.is_finished());
}
