//! Background tasks that run every so often until the server stops (the session sweep, the mail
//! worker, the app-token purge): one way to wait for the next turn.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};

/// Ticks every `period`; a late turn does not cause a burst of catch-up turns.
pub fn every(period: Duration) -> Interval {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks
}

/// Waits for the next tick; false once `stop` turns true or its sender is gone (then the task
/// ends), without waiting out the tick.
pub async fn next_turn(ticks: &mut Interval, stop: &mut watch::Receiver<bool>) -> bool {
    loop {
        tokio::select! {
            _ = ticks.tick() => return true,
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn turns_come_each_period_until_stopped() {
        let (stop_tx, mut stop) = watch::channel(false);
        let mut ticks = every(Duration::from_secs(60));
        let started = tokio::time::Instant::now();
        assert!(next_turn(&mut ticks, &mut stop).await, "the first turn is at once");
        assert!(next_turn(&mut ticks, &mut stop).await);
        assert_eq!(started.elapsed(), Duration::from_secs(60));
        let _ = stop_tx.send(true);
        assert!(!next_turn(&mut ticks, &mut stop).await);
        assert!(started.elapsed() < Duration::from_secs(120), "stopping does not wait for the tick");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_sender_stops_the_task() {
        let (stop_tx, mut stop) = watch::channel(false);
        let mut ticks = every(Duration::from_secs(60));
        assert!(next_turn(&mut ticks, &mut stop).await);
        drop(stop_tx);
        assert!(!next_turn(&mut ticks, &mut stop).await);
    }
}
