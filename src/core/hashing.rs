//! A bound on password hashing, the most expensive thing an unauthenticated request can make the
//! server do (argon2id: 19 MiB of memory and tens of milliseconds of a core per hash).
//!
//! Hashes run on the pool's own threads, one per core: each takes the next hash from a shared
//! queue as soon as it finishes one, so a core spends no time between hashes waiting for the async
//! runtime to hand it the next one (with tokio's blocking pool, every hash was a permit to wake, a
//! task to poll and a thread to wake, several context switches while the core sat idle). At most
//! `waiting` more hashes may queue. A request arriving when both are full is answered at once with
//! [`AppError::Busy`] (503 with `Retry-After`) instead of queueing without end, so a burst of
//! sign-ins costs bounded memory and never starves the other pages. A place is held until its hash
//! is done, even when the request that asked for it has gone; a hash nobody waits for any more is
//! skipped.
//!
//! argon2's working memory (19 MiB per hash) is kept between hashes ([`Blocks`]): each hashing
//! thread keeps one buffer. Allocating and zeroing a fresh block for every hash (page faults,
//! memory-cgroup charging, unmapping) cost about a third of a sign-in's CPU. Any other large
//! allocation goes back to the system when freed ([`return_large_blocks_to_the_system`], called
//! once at start-up).

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::errors::AppError;

/// argon2's working memory for one hash, reused by the next (see the module's notes).
pub type Blocks = Vec<argon2::Block>;

/// A hash to run on a hashing thread, with that thread's kept working memory.
type Job = Box<dyn FnOnce(&mut Blocks) + Send>;

#[derive(Clone, Debug)]
pub struct HashingPool {
    /// Permits to be running or waiting: `workers + waiting`.
    admitted: Arc<Semaphore>,
    /// `workers + waiting`, to tell how many places are taken.
    places: usize,
    /// The queue the hashing threads take their work from; they stop when every copy of the pool
    /// is gone.
    jobs: mpsc::Sender<Job>,
}

/// A place in the pool (running or waiting); [`Admission::run`] queues the hash.
#[derive(Debug)]
#[must_use = "an admission does nothing until `run`"]
pub struct Admission {
    jobs: mpsc::Sender<Job>,
    place: OwnedSemaphorePermit,
}

impl HashingPool {
    /// Starts `workers` hashing threads (at least one).
    pub fn new(workers: usize, waiting: usize) -> HashingPool {
        let workers = workers.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..workers {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("keycard-hash-{n}"))
                .spawn(move || hash_worker(&queue))
                .expect("starting a password hashing thread");
        }
        HashingPool { admitted: Arc::new(Semaphore::new(workers + waiting)), places: workers + waiting, jobs }
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
            Ok(place) => Ok(Admission { jobs: self.jobs.clone(), place }),
            Err(_) => {
                tracing::warn!("password hashing pool full; answering 503");
                Err(AppError::Busy { retry_after_secs: 2 })
            }
        }
    }
}

/// A hashing thread: runs one queued hash after another in the memory it keeps.
fn hash_worker(queue: &Mutex<mpsc::Receiver<Job>>) {
    let mut blocks = Blocks::new();
    loop {
        // The lock is held only while this thread waits for the next hash; the other threads
        // are busy hashing or waiting for the lock.
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match next {
            Ok(job) => job(&mut blocks),
            Err(mpsc::RecvError) => return,
        }
    }
}

impl Admission {
    /// Queues `work` for a hashing thread and waits for its answer. The place stays taken until
    /// the work is done (or skipped because nobody waits for it any more).
    pub async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce(&mut Blocks) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let place = self.place;
        let job: Job = Box::new(move |blocks| {
            if answer.is_closed() {
                drop(place);
                return;
            }
            // A panic is this request's error, not the end of the thread.
            let done = std::panic::catch_unwind(AssertUnwindSafe(|| work(blocks)));
            // Free before answering, so the waiting request never sees its own place still taken.
            drop(place);
            if let Ok(value) = done {
                let _ = answer.send(value);
            }
        });
        self.jobs.send(job).map_err(|_| AppError::internal("the password hashing threads have stopped"))?;
        answered.await.map_err(|_| AppError::internal("a password hash failed"))
    }
}

/// Makes glibc serve every allocation of 1 MiB or more (an argon2 block is 19 MiB) with its own
/// mapping, returned to the system when freed. Left alone, glibc raises that threshold after the
/// first such block is freed and then keeps the blocks in per-thread arenas: when each hash still
/// allocated its own block on one of tokio's many blocking threads, a burst of sign-ins left
/// hundreds of megabytes resident, although no more than the pool's few hashes ever ran at once.
/// Fixing the threshold also turns off that adjustment.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets an allocator parameter; it is called before the runtime's
        // threads allocate, and a refused setting (return value 0) leaves glibc's default.
        #[allow(unsafe_code)]
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
    }

    #[tokio::test]
    async fn hashes_run_on_the_pools_own_threads_in_memory_each_keeps() {
        let pool = HashingPool::new(1, 2);
        let first = pool.admit().unwrap().run(|blocks| {
            blocks.resize(3, argon2::Block::default());
            (std::thread::current().name().map(str::to_owned), blocks.as_ptr() as usize)
        });
        let (thread, buffer) = first.await.unwrap();
        assert_eq!(thread.as_deref(), Some("keycard-hash-0"));
        let again = pool.admit().unwrap().run(|blocks| (blocks.len(), blocks.as_ptr() as usize)).await.unwrap();
        assert_eq!(again, (3, buffer), "the next hash gets the same working memory");
    }

    #[tokio::test]
    async fn a_panicking_hash_is_an_error_and_the_thread_goes_on() {
        let pool = HashingPool::new(1, 0);
        let failed = pool.admit().unwrap().run(|_| -> u8 { panic!("boom") }).await;
        assert!(matches!(failed, Err(AppError::Internal)), "{failed:?}");
        assert_eq!(pool.in_flight(), 0, "its place is free again");
        assert_eq!(pool.admit().unwrap().run(|_| 7).await.unwrap(), 7);
    }

    /// A request that goes away while its hash waits (a client that disconnects) costs no hash,
    /// and its place stays taken until the queue reaches it, so disconnecting frees nothing early.
    #[tokio::test]
    async fn a_hash_nobody_waits_for_is_skipped_and_holds_its_place_until_reached() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let pool = HashingPool::new(1, 1);
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let busy = tokio::spawn(pool.admit().unwrap().run(move |_| gate.recv().unwrap()));
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let abandoned = tokio::spawn(pool.admit().unwrap().run(move |_| flag.store(true, Ordering::SeqCst)));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        abandoned.abort();
        let _ = abandoned.await;
        assert!(matches!(pool.admit(), Err(AppError::Busy { .. })), "both places still taken");
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        // The queue reaches the abandoned hash, skips it and frees its place.
        let mut admitted = pool.admit();
        for _ in 0..100 {
            if admitted.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            admitted = pool.admit();
        }
        admitted.expect("a place once the queue has moved on").run(|_| ()).await.unwrap();
        assert!(!ran.load(Ordering::SeqCst), "the abandoned hash was not worked out");
    }
}
