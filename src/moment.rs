//! Times as pages show them: worded on the server ("5 minutes ago", with the exact UTC time), so
//! the server-rendered page and the hydrated one show the very same text.

use serde::{Deserialize, Serialize};

/// A moment, worded relative to when the page was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    /// "5 minutes ago", "in 29 days".
    pub relative: String,
    /// "2026-11-22 05:41 UTC", for the `title`.
    pub exact: String,
    /// "2026-11-22T05:41:07Z", for `<time datetime>`.
    pub iso: String,
}

/// `at` worded relative to `now`, with its exact UTC time.
#[cfg(feature = "ssr")]
pub fn moment(at: i64, now: i64) -> Moment {
    let dt = time::OffsetDateTime::from_unix_timestamp(at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (y, mo, d, h, mi, s) = (dt.year(), dt.month() as u8, dt.day(), dt.hour(), dt.minute(), dt.second());
    Moment {
        relative: relative(at, now),
        exact: format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC"),
        iso: format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
    }
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago"; "in 29 days" for the future.
pub fn relative(at: i64, now: i64) -> String {
    let delta = now - at;
    let (amount, future) = (delta.unsigned_abs(), delta < 0);
    if amount < 60 {
        return if future { "in less than a minute".into() } else { "just now".into() };
    }
    let (n, unit) = match amount {
        a if a < 3600 => (a / 60, "minute"),
        a if a < 86_400 => (a / 3600, "hour"),
        a => (a / 86_400, "day"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if future {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative(1000, 1000), "just now");
        assert_eq!(relative(1000, 1059), "just now");
        assert_eq!(relative(1000, 1060), "1 minute ago");
        assert_eq!(relative(1000, 1000 + 5 * 60 + 30), "5 minutes ago");
        assert_eq!(relative(0, 2 * 3600), "2 hours ago");
        assert_eq!(relative(0, 86_400), "1 day ago");
        assert_eq!(relative(30 * 86_400, 0), "in 30 days");
        assert_eq!(relative(10, 0), "in less than a minute");
    }

    #[test]
    fn exact_times_are_utc() {
        let m = moment(1_795_326_067, 1_795_326_067);
        assert_eq!(m.iso, "2026-11-22T05:41:07Z");
        assert_eq!(m.exact, "2026-11-22 05:41 UTC");
    }
}
