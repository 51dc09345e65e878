//! Async iterators: [`Stream`] (futures' `Stream`), [`StreamExt`] and async generators.
//!
//! - `generator.rs`: [`generator`], an async generator whose body receives a [`Yielder`] and
//!   `await`s each yield; the consumer sets the pace.
//!
//! `Stream` is `futures_core::Stream`, re-exported, so every stream of the ecosystem works with
//! greenloop and the other way round. Python's `async for` is a `while let` loop:
//!
//! ```
//! use greenloop::stream::{self, StreamExt};
//! # greenloop::block_on(async {
//! let mut numbers = stream::iter([1, 2, 3]);
//! let mut sum = 0;
//! // async for n in numbers: sum += n
//! while let Some(n) = numbers.next().await {
//!     sum += n;
//! }
//! assert_eq!(sum, 6);
//! # });
//! ```
//!
//! | asyncio | greenloop |
//! |---|---|
//! | `async def gen(): yield x` | `generator(\|mut y\| async move { y.yield_(x).await?; Ok(()) })` |
//! | `async for x in gen` | `while let Some(x) = gen.next().await` |
//! | `await gen.aclose()` | `gen.close().await` |
//! | `break` out of `async for`, generator garbage-collected | drop the stream: the body is dropped at its yield |
mod generator;

pub use futures::stream::{Stream, StreamExt, iter};
pub use generator::{Close, Closed, Generator, Yield, Yielder, generator};
