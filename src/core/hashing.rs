//! A bound on password hashing, the most expensive thing an unauthenticated request can make the
//! server do (argon2id: 19 MiB of memory and tens of milliseconds of a core per hash).
//!
//! At most `workers` hashes run at once (on the blocking pool), and at most `waiting` more may
//! wait for a turn. A request arriving when both are full is answered at once with
//! [`AppError::Busy`] (503 with `Retry-After`) instead of queueing without end, so a burst of
//! sign-ins costs bounded memory and never starves the other pages.
//!
//! Each hash's 19 MiB block must also go back to the system when the hash ends:
//! [`return_large_blocks_to_the_system`] (called once at start-up) sees to it with glibc.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::errors::AppError;

#[derive(Clone, Debug)]
pub struct HashingPool {
    /// Permits to hash now.
    running: Arc<Semaphore>,
    /// Permits to be running or waiting: `workers + waiting`.
    admitted: Arc<Semaphore>,
}

/// A place in the pool (running or waiting); [`Admission::run`] takes a turn and hashes.
#[derive(Debug)]
#[must_use = "an admission does nothing until `run`"]
pub struct Admission {
    running: Arc<Semaphore>,
    _place: OwnedSemaphorePermit,
}

impl HashingPool {
    pub fn new(workers: usize, waiting: usize) -> HashingPool {
        let workers = workers.max(1);
        HashingPool {
            running: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers + waiting)),
        }
    }

    /// Sized to the machine: two hashes per core at once, eight per core waiting.
    pub fn for_this_machine() -> HashingPool {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        HashingPool::new(2 * cores, 8 * cores)
    }

    /// A place in the pool, or [`AppError::Busy`] when it is full. Take it before reserving an
    /// attempt on a throttle, so that a busy answer never counts as a failure.
    pub fn admit(&self) -> Result<Admission, AppError> {
        match self.admitted.clone().try_acquire_owned() {
            Ok(place) => Ok(Admission { running: self.running.clone(), _place: place }),
            Err(_) => {
                tracing::warn!("password hashing pool full; answering 503");
                Err(AppError::Busy { retry_after_secs: 2 })
            }
        }
    }
}

impl Admission {
    /// Waits for a turn, then runs `work` on the blocking pool.
    pub async fn run<T: Send + 'static>(self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let _turn = self.running.acquire().await.map_err(AppError::internal)?;
        tokio::task::spawn_blocking(work).await.map_err(AppError::internal)
    }
}

/// Makes glibc serve every allocation of 1 MiB or more (an argon2 block is 19 MiB) with its own
/// mapping, returned to the system when freed. Left alone, glibc raises that threshold after the
/// first such block is freed and then keeps the blocks in per-thread arenas: a burst of sign-ins
/// on the blocking pool's many threads left hundreds of megabytes resident, although no more than
/// the pool's few hashes ever ran at once. Fixing the threshold also turns off that adjustment.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets an allocator parameter; it is called before the runtime's
        // threads allocate, and a refused setting (return value 0) leaves glibc's default.
        let applied = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) };
        if applied == 0 {
            tracing::warn!("could not set the allocator's mmap threshold; memory use under load may be higher");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn admits_workers_plus_waiting_then_answers_busy() {
        let pool = HashingPool::new(1, 2);
        let held: Vec<Admission> = (0..3).map(|_| pool.admit().expect("room")).collect();
        assert!(matches!(pool.admit(), Err(AppError::Busy { .. })));
        drop(held);
        let admission = pool.admit().expect("room again once they finish");
        assert_eq!(admission.run(|| 6 * 7).await.unwrap(), 42);
    }

    #[tokio::test]
    async fn at_most_workers_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let pool = HashingPool::new(2, 10);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let admission = pool.admit().unwrap();
                let (running, peak) = (running.clone(), peak.clone());
                tokio::spawn(admission.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    // Stands in for a hash: a little CPU work, so that turns overlap.
                    let until = std::time::Instant::now() + std::time::Duration::from_millis(20);
                    while std::time::Instant::now() < until {
                        std::hint::spin_loop();
                    }
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}
