//! Scratch timing (not committed).
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::hint::black_box;
use std::time::Instant;

fn time(name: &str, mut f: impl FnMut() -> usize) {
    if let Ok(only) = std::env::var("ONLY") {
        if !name.contains(&only) {
            return;
        }
    }
    let mut best = f64::MAX;
    for _ in 0..15 {
        let t = Instant::now();
        black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("{name:40} {:8.2} ms", best * 1e3);
}

fn main() {
    const N: u64 = 100_000;
    const ITEMS: u64 = 1_000_000;
    let ex = greenloop::Executor::new();
    let spawn_all = || {
        (0..N)
            .map(|i| greenloop::spawn(async move { black_box(i) }))
            .collect::<Vec<_>>()
    };
    time("spawn only (detach)", || {
        ex.block_on(async {
            let h = spawn_all();
            let n = h.len();
            drop(h);
            greenloop::yield_now().await;
            n
        })
    });
    time("gather tasks", || {
        ex.block_on(async { greenloop::gather::gather(spawn_all()).await.len() })
    });
    time("FU tasks", || {
        ex.block_on(async {
            spawn_all()
                .into_iter()
                .collect::<FuturesUnordered<_>>()
                .count()
                .await
        })
    });
    time("join_all tasks", || {
        ex.block_on(async { futures::future::join_all(spawn_all()).await.len() })
    });
    time("sequential await tasks", || {
        ex.block_on(async {
            let mut n = 0;
            for h in spawn_all() {
                h.await.unwrap();
                n += 1;
            }
            n
        })
    });
    let children = || (0..N).map(|i| async move { black_box(i) });
    time("gather ready", || {
        ex.block_on(greenloop::gather::gather(children())).len()
    });
    time("FU ready", || {
        ex.block_on(
            children()
                .collect::<FuturesUnordered<_>>()
                .collect::<Vec<_>>(),
        )
        .len()
    });
    time("join_all ready", || {
        ex.block_on(futures::future::join_all(children())).len()
    });
    time("generator", || {
        ex.block_on(
            greenloop::stream::generator(|mut y| async move {
                for i in 0..ITEMS {
                    y.yield_(black_box(i)).await?;
                }
                Ok(())
            })
            .fold(0u64, |s, i| async move { s.wrapping_add(i) }),
        ) as usize
    });
    time("unfold", || {
        ex.block_on(
            futures::stream::unfold(
                0,
                |i| async move { (i < ITEMS).then(|| (black_box(i), i + 1)) },
            )
            .fold(0u64, |s, i| async move { s.wrapping_add(i) }),
        ) as usize
    });
}
