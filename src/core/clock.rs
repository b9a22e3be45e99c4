//! The application's clock: the one source of "now" for every rule about time (throttle blocks,
//! session lifetimes and idle timeouts, link and code expiry, sweeps, mail retries).
//!
//! Production reads the system clock; tests hold a manual clock they set and advance, so a test
//! says "31 days later" instead of rewriting stored times, and asserts exact seconds. It travels
//! with the database handle ([`super::db::Db::clock`]) because every time it gives is one that
//! is stored or compared with a stored one, and everything that decides such a rule has the handle.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds, from the system or from a test's hand.
#[derive(Clone, Debug, Default)]
pub struct Clock(Source);

#[derive(Clone, Debug, Default)]
enum Source {
    #[default]
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// The system clock (what the server runs on).
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    /// A clock that stands at `at` (Unix seconds) until [`Clock::set`] or [`Clock::advance`]
    /// moves it; its copies move with it.
    pub fn manual(at: i64) -> Clock {
        Clock(Source::Manual(Arc::new(AtomicI64::new(at))))
    }

    /// Now, in Unix seconds: the only time format stored, identical on both databases.
    pub fn now(&self) -> i64 {
        match &self.0 {
            Source::System => SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0),
            Source::Manual(at) => at.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock by `secs` (back when negative).
    ///
    /// # Panics
    /// On the system clock, which no one moves.
    pub fn advance(&self, secs: i64) {
        self.manual_hand().fetch_add(secs, Ordering::SeqCst);
    }

    /// Puts a manual clock at `at`.
    ///
    /// # Panics
    /// On the system clock.
    pub fn set(&self, at: i64) {
        self.manual_hand().store(at, Ordering::SeqCst);
    }

    fn manual_hand(&self) -> &AtomicI64 {
        match &self.0 {
            Source::Manual(at) => at,
            Source::System => panic!("the system clock cannot be moved"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_its_copies_with_it() {
        let clock = Clock::manual(1_000);
        let copy = clock.clone();
        assert_eq!(copy.now(), 1_000);
        clock.advance(61);
        assert_eq!(copy.now(), 1_061);
        copy.set(5);
        assert_eq!(clock.now(), 5);
    }

    #[test]
    fn the_system_clock_reads_the_present() {
        // 2026-01-01T00:00:00Z: a reading before it means the clock is not the system's.
        assert!(Clock::system().now() > 1_767_225_600);
    }

    #[test]
    #[should_panic(expected = "cannot be moved")]
    fn the_system_clock_refuses_to_move() {
        Clock::system().advance(1);
    }
}
