//! Work a request starts and does not wait for (the password-reset mail is written after the
//! answer, so the answer takes the same time whether or not the address has an account), counted
//! so that shutdown, and tests, can wait until it has finished instead of guessing how long.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

/// The detached work in flight. Clones share the count.
#[derive(Clone, Debug)]
pub struct Detached {
    in_flight: Arc<watch::Sender<usize>>,
}

impl Default for Detached {
    fn default() -> Self {
        Detached { in_flight: Arc::new(watch::Sender::new(0)) }
    }
}

/// Counts one piece of work out when dropped, so a panic in it does not leave it counted.
struct Finished(Arc<watch::Sender<usize>>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

impl Detached {
    /// Runs `work` on its own task, counted until it ends.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.in_flight.send_modify(|n| *n += 1);
        let finished = Finished(self.in_flight.clone());
        tokio::spawn(async move {
            let _finished = finished;
            work.await;
        });
    }

    /// Waits until no detached work is in flight.
    pub async fn settled(&self) {
        let mut count = self.in_flight.subscribe();
        let _ = count.wait_for(|n| *n == 0).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn settled_waits_for_every_piece_of_work_even_one_that_panics() {
        let detached = Detached::default();
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for delay in [1, 5] {
            let done = done.clone();
            detached.spawn(async move {
                tokio::time::sleep(Duration::from_secs(delay)).await;
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        detached.spawn(async { panic!("a failing piece of work") });
        detached.settled().await;
        assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 2);
        // Nothing in flight: at once.
        tokio::time::timeout(Duration::from_millis(1), detached.settled()).await.expect("settled at once");
    }
}
