//! Property test: `Queue` against a `VecDeque` model under random sequences of
//! put/get/try_put/try_get, pending futures polled or dropped (cancellation), task_done,
//! close and close_immediately.
//!
//! Checked after every step: every item got is the model's front item (FIFO, nothing lost,
//! nothing duplicated), `len`/`is_closed`/`join` agree with the model, errors are justified,
//! and a pending future becomes ready exactly when its waker was woken (no lost wake-up, no
//! spurious one). At the end the queue is closed and every pending future must finish.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Poll, Waker};

use crate::common::{Flag, poll_noop, poll_once};
use greenloop::sync::{Closed, Get, Put, PutError, Queue, TryGetError, TryPutError};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    TryPut,
    TryGet,
    Put,
    Get,
    /// Polls the pending future at this index (modulo their number).
    Poll(usize),
    /// Drops the pending future at this index: cancellation.
    Drop(usize),
    TaskDone,
    Close,
    CloseImmediately,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::TryPut),
        3 => Just(Op::TryGet),
        4 => Just(Op::Put),
        4 => Just(Op::Get),
        6 => any::<usize>().prop_map(Op::Poll),
        2 => any::<usize>().prop_map(Op::Drop),
        1 => Just(Op::TaskDone),
        1 => Just(Op::Close),
        1 => Just(Op::CloseImmediately),
    ]
}

enum Pending<'q> {
    Put(Put<'q, u32>, u32, Arc<Flag>, Waker),
    Get(Get<'q, u32>, Arc<Flag>, Waker),
}

#[derive(Default)]
struct Model {
    items: VecDeque<u32>,
    unfinished: usize,
    closed: bool,
}

fn run(cap: Option<usize>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let q = match cap {
        Some(cap) => Queue::bounded(cap),
        None => Queue::unbounded(),
    };
    let cap = cap.unwrap_or(usize::MAX);
    let mut m = Model::default();
    let mut pending: Vec<Pending<'_>> = Vec::new();
    let mut next = 0u32;
    for op in ops {
        let putters = pending
            .iter()
            .filter(|p| matches!(p, Pending::Put(..)))
            .count();
        let getters = pending.len() - putters;
        match op {
            Op::TryPut => {
                next += 1;
                match q.try_put(next) {
                    Ok(()) => {
                        m.items.push_back(next);
                        m.unfinished += 1;
                    }
                    Err(TryPutError::Full(v)) => {
                        prop_assert_eq!(v, next);
                        prop_assert!(!m.closed);
                        // Reserved slots belong to pending putters.
                        prop_assert!(m.items.len() + putters >= cap);
                    }
                    Err(TryPutError::Closed(v)) => {
                        prop_assert_eq!(v, next);
                        prop_assert!(m.closed);
                    }
                }
            }
            Op::TryGet => match q.try_get() {
                Ok(v) => prop_assert_eq!(Some(v), m.items.pop_front()),
                Err(TryGetError::Empty) => {
                    prop_assert!(!m.closed);
                    // Reserved items belong to pending getters.
                    prop_assert!(m.items.len() <= getters);
                }
                Err(TryGetError::Closed) => {
                    prop_assert!(m.closed);
                    prop_assert!(m.items.len() <= getters);
                }
            },
            Op::Put => {
                next += 1;
                let (flag, waker) = Flag::new();
                let mut put = q.put(next);
                match poll_once(&mut put, &waker) {
                    Poll::Ready(Ok(())) => {
                        m.items.push_back(next);
                        m.unfinished += 1;
                    }
                    Poll::Ready(Err(PutError(v))) => {
                        prop_assert_eq!(v, next);
                        prop_assert!(m.closed);
                    }
                    Poll::Pending => pending.push(Pending::Put(put, next, flag, waker)),
                }
            }
            Op::Get => {
                let (flag, waker) = Flag::new();
                let mut get = q.get();
                match poll_once(&mut get, &waker) {
                    Poll::Ready(Ok(v)) => prop_assert_eq!(Some(v), m.items.pop_front()),
                    Poll::Ready(Err(Closed)) => prop_assert!(m.closed),
                    Poll::Pending => pending.push(Pending::Get(get, flag, waker)),
                }
            }
            Op::Poll(i) if !pending.is_empty() => {
                let i = i % pending.len();
                let done = poll_pending(&mut pending[i], &mut m)?;
                if done {
                    pending.remove(i);
                }
            }
            Op::Drop(i) if !pending.is_empty() => {
                pending.remove(i % pending.len());
            }
            Op::Poll(_) | Op::Drop(_) => {}
            Op::TaskDone => {
                let r = q.task_done();
                prop_assert_eq!(r.is_ok(), m.unfinished > 0);
                m.unfinished = m.unfinished.saturating_sub(1);
            }
            Op::Close => {
                q.close();
                m.closed = true;
            }
            Op::CloseImmediately => {
                q.close_immediately();
                m.closed = true;
                m.unfinished = m.unfinished.saturating_sub(m.items.len());
                m.items.clear();
            }
        }
        prop_assert_eq!(q.len(), m.items.len());
        prop_assert_eq!(q.is_closed(), m.closed);
        check_no_waiter_is_left_behind(&pending, &m, cap)?;
        prop_assert_eq!(poll_noop(&mut q.join()).is_ready(), m.unfinished == 0);
    }
    // Liveness: once closed, every pending future finishes.
    q.close();
    m.closed = true;
    for mut p in pending {
        prop_assert!(
            poll_pending(&mut p, &mut m)?,
            "a pending future outlived close"
        );
    }
    let rest: Vec<u32> = std::iter::from_fn(|| q.try_get().ok()).collect();
    prop_assert_eq!(rest, Vec::from(m.items));
    Ok(())
}

/// Hand-off invariants: while a getter still waits (not woken), every item is owed to a
/// woken getter; while a putter still waits, every slot is taken or owed to a woken putter.
fn check_no_waiter_is_left_behind(
    pending: &[Pending<'_>],
    m: &Model,
    cap: usize,
) -> Result<(), TestCaseError> {
    if m.closed {
        return Ok(());
    }
    let (mut gets, mut woken_gets, mut puts, mut woken_puts) = (0, 0, 0, 0);
    for p in pending {
        match p {
            Pending::Get(_, flag, _) => {
                gets += 1;
                woken_gets += usize::from(flag.is_woken());
            }
            Pending::Put(_, _, flag, _) => {
                puts += 1;
                woken_puts += usize::from(flag.is_woken());
            }
        }
    }
    if gets > woken_gets {
        prop_assert_eq!(
            m.items.len(),
            woken_gets,
            "a getter waits while an item is free"
        );
    }
    if puts > woken_puts {
        prop_assert_eq!(
            m.items.len() + woken_puts,
            cap,
            "a putter waits while a slot is free"
        );
    }
    Ok(())
}

/// Polls one pending future; checks it is ready exactly when it was woken.
fn poll_pending(p: &mut Pending<'_>, m: &mut Model) -> Result<bool, TestCaseError> {
    match p {
        Pending::Put(put, value, flag, waker) => {
            let woken = flag.take();
            let r = poll_once(put, waker);
            prop_assert_eq!(
                r.is_ready(),
                woken,
                "put ready without a wake, or woken in vain"
            );
            match r {
                Poll::Ready(Ok(())) => {
                    prop_assert!(!m.closed);
                    m.items.push_back(*value);
                    m.unfinished += 1;
                }
                Poll::Ready(Err(PutError(v))) => {
                    prop_assert_eq!(v, *value);
                    prop_assert!(m.closed);
                }
                Poll::Pending => {}
            }
            Ok(r.is_ready())
        }
        Pending::Get(get, flag, waker) => {
            let woken = flag.take();
            let r = poll_once(get, waker);
            prop_assert_eq!(
                r.is_ready(),
                woken,
                "get ready without a wake, or woken in vain"
            );
            match r {
                Poll::Ready(Ok(v)) => prop_assert_eq!(Some(v), m.items.pop_front()),
                Poll::Ready(Err(Closed)) => prop_assert!(m.closed),
                Poll::Pending => {}
            }
            Ok(r.is_ready())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn queue_matches_a_vecdeque_model(
        cap in prop_oneof![Just(None), (1usize..4).prop_map(Some)],
        ops in prop::collection::vec(op(), 1..60),
    ) {
        run(cap, ops)?;
    }
}
