//! Task builder: names a task before spawning it.
#![allow(missing_docs)]
use crate::executor::JoinHandle;
use std::future::Future;

/// Names a task; `Builder::new().name("producer").spawn(fut)`.
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
}
impl Builder {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    #[track_caller]
    pub fn spawn<F: Future + 'static>(self, _f: F) -> JoinHandle<F::Output> {
        let _ = self.name;
        todo!()
    }
}
