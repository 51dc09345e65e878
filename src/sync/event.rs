//! [`Event`]: a flag that tasks wait on; `set` wakes every waiter.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::diag::{self, WaitSource};
use super::waiters::{WaiterId, WaiterList};

/// A flag that tasks can wait on. asyncio's `Event`.
///
/// [`set`](Event::set) sets the flag and wakes every task waiting in
/// [`wait`](Event::wait), in the order they started waiting; while the flag is set, `wait`
/// completes at once. [`clear`](Event::clear) resets the flag. A waiter woken by `set`
/// completes even if the flag is cleared again before it runs.
///
/// An `Event` is a cheap `Clone` handle: clones share the flag. It is `!Send`.
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<greenloop::sync::Event>();
/// ```
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// use greenloop::sync::Event;
///
/// let ready = Event::new();
/// let waiter = async {
///     ready.wait().await;
///     "woken"
/// };
/// let setter = async { ready.set() };
/// let (out, ()) = futures::join!(waiter, setter);
/// assert_eq!(out, "woken");
/// # });
/// ```
#[derive(Clone)]
pub struct Event {
    core: Rc<EventCore>,
}

/// Future returned by [`Event::wait`].
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let event = greenloop::sync::Event::new();
/// event.set();
/// let wait: greenloop::sync::EventWait<'_> = event.wait();
/// wait.await;
/// assert!(event.is_set());
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct EventWait<'a> {
    core: &'a EventCore,
    id: Option<WaiterId>,
}

#[derive(Debug)]
struct EventCore {
    state: RefCell<EventState>,
}

#[derive(Debug)]
struct EventState {
    set: bool,
    waiters: WaiterList,
    name: Option<Box<str>>,
}

// === impl Event ===

impl Event {
    /// A new event whose flag is clear.
    ///
    /// # Examples
    /// ```
    /// assert!(!greenloop::sync::Event::new().is_set());
    /// ```
    pub fn new() -> Self {
        let state = EventState {
            set: false,
            waiters: WaiterList::new(),
            name: None,
        };
        Self {
            core: super::registered(EventCore {
                state: RefCell::new(state),
            }),
        }
    }

    /// Names the event in diagnostics (what a blocked task waits on).
    ///
    /// # Examples
    /// ```
    /// let e = greenloop::sync::Event::new().with_name("started");
    /// assert_eq!(e.name().as_deref(), Some("started"));
    /// ```
    pub fn with_name(self, name: impl Into<Box<str>>) -> Self {
        self.core.state.borrow_mut().name = Some(name.into());
        self
    }

    /// The name given by [`with_name`](Self::with_name).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::Event::new().name(), None);
    /// ```
    pub fn name(&self) -> Option<String> {
        self.core.state.borrow().name.as_deref().map(str::to_owned)
    }

    /// Sets the flag and wakes every waiter, in FIFO order. Does nothing if already set.
    ///
    /// # Examples
    /// ```
    /// let e = greenloop::sync::Event::new();
    /// e.set();
    /// e.set();
    /// assert!(e.is_set());
    /// ```
    pub fn set(&self) {
        let n = {
            let mut st = self.core.state.borrow_mut();
            if st.set {
                return;
            }
            st.set = true;
            st.waiters.len()
        };
        // Wake outside the borrow, one waiter at a time; nobody can join the list while
        // the flag is set, so `n` bounds the loop even if a waker re-enters.
        for _ in 0..n {
            let waker = self.core.state.borrow_mut().waiters.notify_first(0);
            match waker {
                Some(waker) => waker.wake(),
                None => break,
            }
        }
    }

    /// Clears the flag; later [`wait`](Self::wait)s wait again.
    ///
    /// # Examples
    /// ```
    /// let e = greenloop::sync::Event::new();
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// ```
    pub fn clear(&self) {
        self.core.state.borrow_mut().set = false;
    }

    /// Whether the flag is set.
    ///
    /// # Examples
    /// ```
    /// let e = greenloop::sync::Event::new();
    /// assert!(!e.is_set());
    /// e.set();
    /// assert!(e.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.core.state.borrow().set
    }

    /// Waits until the flag is set; completes at once if it is set already.
    ///
    /// # Cancel safety
    /// Dropping the future removes the waiter; nothing else is affected (every waiter is
    /// woken by `set`, so there is no notification to pass on).
    ///
    /// # Examples
    /// ```
    /// # greenloop::block_on(async {
    /// let e = greenloop::sync::Event::new();
    /// e.set();
    /// e.wait().await; // Does not suspend.
    /// assert!(e.is_set());
    /// # });
    /// ```
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            core: &self.core,
            id: None,
        }
    }
}

impl Default for Event {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.core.state.borrow();
        f.debug_struct("Event")
            .field("name", &st.name)
            .field("set", &st.set)
            .field("waiting", &st.waiters.len())
            .finish()
    }
}

impl WaitSource for EventCore {
    fn waiting(&self, f: &mut dyn FnMut(&std::task::Waker, &str)) {
        // A primitive mutably borrowed right now (a report taken from inside its own
        // operation) is skipped rather than panicking.
        let Ok(st) = self.state.try_borrow() else {
            return;
        };
        let description = diag::describe("Event::wait", st.name.as_deref(), "");
        st.waiters.for_each_waiting(|w| f(w, &description));
    }
}

// === impl EventWait ===

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut st = this.core.state.borrow_mut();
        match this.id {
            Some(id) => match st.waiters.poll(id, cx.waker()) {
                Some(_) => {
                    st.waiters.remove(id);
                    this.id = None;
                    Poll::Ready(())
                }
                None => Poll::Pending,
            },
            None if st.set => Poll::Ready(()),
            None => {
                this.id = Some(st.waiters.push(cx.waker()));
                Poll::Pending
            }
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.core.state.borrow_mut().waiters.remove(id);
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("waiting", &self.id.is_some())
            .finish()
    }
}
