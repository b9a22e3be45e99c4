//! The argon2id bound on sign-in throughput: how many password verifications per second this
//! machine can do at most, from Keycard's own hashing code (`accounts::password`), so the
//! parameters are the server's by construction. scripts/bench compares sign-ins per second with it.
//!
//! Hashes one password, then times N sequential verifications on one thread (default 40; after one
//! that is not counted). The bound is `cores / median`. For comparison it then measures what
//! `cores` threads verifying at once (N each) achieve, and both again with the allocator set as the
//! server sets it (`core::hashing::return_large_blocks_to_the_system`: each hash's 19 MiB block is
//! mapped afresh and returned), and with twice as many threads as cores (as many hashes as the
//! server's pool runs at once), `N / 2` each (at least 1). Last, the same verification with a block
//! buffer each thread keeps (Keycard's `verify_password_in`, as the server's hashing pool runs
//! it): sequential and on every core.
//!
//! Prints `key=value` lines: `params`, `verifications`, `cores`, `median_ms`, `bound_per_sec` (the
//! bound), `parallel_per_sec`, `server_alloc_median_ms`, `server_alloc_bound_per_sec`,
//! `server_alloc_parallel_per_sec`, `server_alloc_parallel_2x_per_sec`, `reused_memory_median_ms`,
//! `reused_memory_parallel_per_sec`.
//! Usage: cargo run --release --features ssr --example argon2_bound [N]

use std::time::{Duration, Instant};

use keycard::accounts::password::{hash_password, verify_password, verify_password_in};

const PASSWORD: &str = "quiet-harbor-lantern-1972";

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2
    }
}

/// Median time of `n` sequential verifications on this thread, after one not counted.
fn sequential(phc: &str, n: usize) -> Duration {
    assert!(verify_password(PASSWORD, phc), "the password must verify");
    let times = (0..n)
        .map(|_| {
            let start = Instant::now();
            let ok = verify_password(PASSWORD, phc);
            let took = start.elapsed();
            assert!(ok, "the password must verify");
            took
        })
        .collect();
    median(times)
}

/// Verifications per second with `threads` threads verifying at once, `n` each.
fn parallel(phc: &str, threads: usize, n: usize) -> f64 {
    parallel_with(threads, n, || move || assert!(verify_password(PASSWORD, phc), "the password must verify"))
}

/// Verifications per second with `threads` threads at once, `n` each; `verifier` makes each
/// thread's verification, on that thread, inside the timing.
fn parallel_with<F: FnMut()>(threads: usize, n: usize, verifier: impl Fn() -> F + Sync) -> f64 {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut verify = verifier();
                for _ in 0..n {
                    verify();
                }
            });
        }
    });
    (threads * n) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = match std::env::args().nth(1) {
        None => 40,
        Some(arg) => match arg.parse() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("usage: argon2_bound [N]  (N sequential verifications, default 40)");
                std::process::exit(2);
            }
        },
    };
    let cores = std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1);
    let phc = hash_password(PASSWORD).expect("hashing");
    // "$argon2id$v=19$m=19456,t=2,p=1$salt$hash": the parameters are the fourth field.
    let params = phc.split('$').take(4).collect::<Vec<_>>().join("$");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;

    let plain = sequential(&phc, n);
    println!("params={params}");
    println!("verifications={n}");
    println!("cores={cores}");
    println!("median_ms={:.2}", ms(plain));
    println!("bound_per_sec={:.1}", cores as f64 / plain.as_secs_f64());
    println!("parallel_per_sec={:.1}", parallel(&phc, cores, n));

    // The allocator as the server sets it, from here on.
    keycard::core::hashing::return_large_blocks_to_the_system();
    let server_alloc = sequential(&phc, n);
    println!("server_alloc_median_ms={:.2}", ms(server_alloc));
    println!("server_alloc_bound_per_sec={:.1}", cores as f64 / server_alloc.as_secs_f64());

    println!("server_alloc_parallel_per_sec={:.1}", parallel(&phc, cores, n));
    // As many at once as the server's hashing pool lets run (two per core).
    println!("server_alloc_parallel_2x_per_sec={:.1}", parallel(&phc, 2 * cores, (n / 2).max(1)));

    // Each thread keeping its block buffer (as the server's hashing pool keeps one per running hash).
    let mut blocks = Vec::new();
    assert!(verify_password_in(PASSWORD, &phc, &mut blocks), "the password must verify");
    assert!(!verify_password_in("wrong", &phc, &mut blocks), "a wrong password must not verify");
    let times = (0..n)
        .map(|_| {
            let start = Instant::now();
            assert!(verify_password_in(PASSWORD, &phc, &mut blocks));
            start.elapsed()
        })
        .collect();
    println!("reused_memory_median_ms={:.2}", ms(median(times)));
    let reusing = parallel_with(cores, n, || {
        let mut blocks = Vec::new();
        let phc = &phc;
        move || assert!(verify_password_in(PASSWORD, phc, &mut blocks), "the password must verify")
    });
    println!("reused_memory_parallel_per_sec={reusing:.1}");
}
