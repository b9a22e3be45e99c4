//! A bound on password hashing, the most expensive thing an unauthenticated request can make the
//! server do (argon2id: 19 MiB of memory and tens of milliseconds of a core per hash).
//!
//! At most `workers` hashes run at once (on the blocking pool), and at most `waiting` more may
//! wait for a turn. A request arriving when both are full is answered at once with
//! [`AppError::Busy`] (503 with `Retry-After`) instead of queueing without end, so a burst of
//! sign-ins costs bounded memory and never starves the other pages.
//!
//! argon2's working memory (19 MiB per hash) is kept between hashes ([`Blocks`]): one buffer per
//! hash that may run at once, handed to the work with its turn. Allocating and zeroing a fresh
//! block for every hash (page faults, memory-cgroup charging, unmapping) cost about a third of a
//! sign-in's CPU. Any other large allocation goes back to the system when freed
//! ([`return_large_blocks_to_the_system`], called once at start-up).

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::errors::AppError;

/// argon2's working memory for one hash, reused by the next (see the module's notes).
pub type Blocks = Vec<argon2::Block>;

#[derive(Clone, Debug)]
pub struct HashingPool {
    /// Permits to hash now.
    running: Arc<Semaphore>,
    /// Permits to be running or waiting: `workers + waiting`.
    admitted: Arc<Semaphore>,
    /// `workers + waiting`, to tell how many places are taken.
    places: usize,
    /// Kept working memory: never more buffers than `workers` (one per running hash).
    buffers: Arc<Mutex<Vec<Blocks>>>,
}

/// A place in the pool (running or waiting); [`Admission::run`] takes a turn and hashes.
#[derive(Debug)]
#[must_use = "an admission does nothing until `run`"]
pub struct Admission {
    running: Arc<Semaphore>,
    buffers: Arc<Mutex<Vec<Blocks>>>,
    _place: OwnedSemaphorePermit,
}

impl HashingPool {
    pub fn new(workers: usize, waiting: usize) -> HashingPool {
        let workers = workers.max(1);
        HashingPool {
            running: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers + waiting)),
            places: workers + waiting,
            buffers: Arc::new(Mutex::new(Vec::with_capacity(workers))),
        }
    }

    /// Hashes running or waiting now (for the metrics page).
    pub fn in_flight(&self) -> usize {
        self.places - self.admitted.available_permits()
    }

    /// Sized to the machine: one hash per core at once (a hash keeps its core busy; more at once
    /// only adds memory and switching), nine per core waiting.
    pub fn for_this_machine() -> HashingPool {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        HashingPool::new(cores, 9 * cores)
    }

    /// A place in the pool, or [`AppError::Busy`] when it is full. Take it before reserving an
    /// attempt on a throttle, so that a busy answer never counts as a failure.
    pub fn admit(&self) -> Result<Admission, AppError> {
        match self.admitted.clone().try_acquire_owned() {
            Ok(place) => Ok(Admission { running: self.running.clone(), buffers: self.buffers.clone(), _place: place }),
            Err(_) => {
                tracing::warn!("password hashing pool full; answering 503");
                Err(AppError::Busy { retry_after_secs: 2 })
            }
        }
    }
}

impl Admission {
    /// Waits for a turn, then runs `work` on the blocking pool with a kept working memory.
    pub async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce(&mut Blocks) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _turn = self.running.acquire().await.map_err(AppError::internal)?;
        let buffers = self.buffers.clone();
        tokio::task::spawn_blocking(move || {
            let taken = buffers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
            let mut blocks = taken.unwrap_or_default();
            let done = work(&mut blocks);
            buffers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(blocks);
            done
        })
        .await
        .map_err(AppError::internal)
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
        assert_eq!(admission.run(|_| 6 * 7).await.unwrap(), 42);
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
                tokio::spawn(admission.run(move |_| {
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
        // One kept working memory per hash that ran at once, not one per hash.
        assert_eq!(pool.buffers.lock().unwrap().len(), 2);
    }
}
