//! Limits on guessing, kept in the database so every instance shares them and restarts don't
//! reset them.
//!
//! Every attempt is **reserved before** the expensive or secret check: [`reserve`] runs one
//! atomic statement per limit that refuses while the limit is blocked and otherwise counts the
//! attempt *and* sets the block that applies if it fails. So 30 concurrent guesses cannot all see
//! "not blocked yet": the statements queue on the row, and the first one past the free attempts
//! blocks the rest. A success then gives its reservation back ([`Permits::succeeded`]).
//!
//! The limits (see the constructors of [`Limit`]):
//! - Sign-in password by email (known or not, so throttling reveals nothing), also at the
//!   re-authentication prompt and on the password page: 5 free failures, then waits doubling
//!   from 1 s up to an hour. A correct password clears the count; it lapses a day after the
//!   last failure.
//! - Second factor by account (authentication and recovery codes, at sign-in and at the
//!   prompt): 5 free failures, then waits doubling from 1 minute up to an hour; only a correct
//!   code clears it (or a week without failures). About 10 guesses fit in the first hour and
//!   about 33 in a day, whatever sessions the guesser starts.
//! - Sign-in by IP (IPv6 by /64): 20 free failures, then the doubling from 1 s; successes give
//!   their reservation back; it lapses after an hour.
//! - Sign-up by IP: 10 attempts an hour, successful or not, then the IP waits for the hour.
//! - Password-reset mails: 3 an hour per email (known or not), 10 an hour per IP.
//! - Verification mail sent again, by account: 3 an hour, then the account waits for the hour
//!   (each one is a mail to an address nobody has proven yet: it must not become a way to flood it).
//!
//! - Pairing codes on `/connect` that name nothing: 10 free per account and 20 per IP, then
//!   waits doubling from a minute; new pairing requests: 30 an hour per IP; unusable device
//!   codes and refresh tokens at the token endpoint: 30 free per IP, then doubling from 1 s.
//!
//! No block is permanent: each ends by itself.

use sqlx::Row;

use crate::core::db::Db;
use crate::errors::AppError;

/// What a success does to a limit's count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnSuccess {
    /// Forget the count (the secret was known: the failures before were the owner's typos).
    Clear,
    /// Give this attempt's reservation back; earlier failures stay counted.
    GiveBack,
    /// Every attempt counts, successful or not (volume limits).
    Keep,
}

/// How long a limit blocks once its free attempts are used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Curve {
    /// `first` seconds after the last free attempt, doubling with each further one up to `max`.
    Doubling { first: i64, max: i64 },
    /// Until the count lapses.
    UntilLapse,
}

/// One throttled thing and its rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    pub key: String,
    /// Attempts allowed before blocking starts.
    free: i64,
    /// A count whose last attempt is this old starts again from zero.
    lapse_secs: i64,
    curve: Curve,
    on_success: OnSuccess,
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

impl Limit {
    /// Password guesses for one email, known or not (sign-in, re-authentication, password page).
    pub fn sign_in_email(email_key: &str) -> Limit {
        Limit::doubling(format!("signin-email:{email_key}"), 5, DAY, 1, OnSuccess::Clear)
    }

    /// Password attempts from one address (an IPv6 client's whole /64).
    pub fn sign_in_ip(ip: &str) -> Limit {
        Limit::doubling(format!("signin-ip:{}", network_key(ip)), 20, HOUR, 1, OnSuccess::GiveBack)
    }

    /// Sign-up attempts from one address, whether or not the email already has an account.
    pub fn sign_up_ip(ip: &str) -> Limit {
        Limit::quota(format!("signup-ip:{}", network_key(ip)), 10)
    }

    /// Authentication and recovery codes of one account, wherever they are typed. It belongs to
    /// the account, so a new half-signed-in session (a fresh password sign-in) starts no new round.
    pub fn second_factor(user_id: i64) -> Limit {
        Limit::doubling(format!("second-factor:user:{user_id}"), 5, 7 * DAY, 60, OnSuccess::Clear)
    }

    /// Password-reset mails asked for one email, known or not (so the answer reveals nothing):
    /// 3 an hour, then the address waits for the hour; a flood of reset mails cannot be aimed at
    /// one inbox.
    pub fn reset_mail_email(email_key: &str) -> Limit {
        Limit::quota(format!("reset-email:{email_key}"), 3)
    }

    /// "Send the link again" for one account's address verification: every request counts.
    pub fn verification_mail(user_id: i64) -> Limit {
        Limit::quota(format!("verification-mail:user:{user_id}"), 3)
    }

    /// Password-reset requests from one address (an IPv6 client's whole /64): 10 an hour.
    pub fn reset_mail_ip(ip: &str) -> Limit {
        Limit::quota(format!("reset-ip:{}", network_key(ip)), 10)
    }

    /// Pairing codes typed on `/connect` by one account that named no pending request: 10 free,
    /// then waits doubling from a minute up to an hour (a code has about 34 bits; at this rate
    /// guessing any live one would take far longer than codes live). Codes that match give
    /// their reservation back.
    pub fn pairing_code_account(user_id: i64) -> Limit {
        Limit::doubling(format!("pairing-code:user:{user_id}"), 10, DAY, 60, OnSuccess::GiveBack)
    }

    /// Pairing codes that named nothing, from one address (an IPv6 client's whole /64), whichever
    /// accounts typed them: 20 free, then the same doubling.
    pub fn pairing_code_ip(ip: &str) -> Limit {
        Limit::doubling(format!("pairing-code-ip:{}", network_key(ip)), 20, DAY, 60, OnSuccess::GiveBack)
    }

    /// New pairing requests (`POST /oauth/device`) from one address: 30 an hour, counted whatever
    /// happens, so nobody can fill the table with codes.
    pub fn device_authorization_ip(ip: &str) -> Limit {
        Limit::quota(format!("device-authorization-ip:{}", network_key(ip)), 30)
    }

    /// Token requests from one client address that presented an unusable device code or refresh
    /// token: 30 free, then waits doubling from a second up to an hour. Tokens issued, pending
    /// polls and slow-downs give their reservation back.
    pub fn token_endpoint_ip(ip: &str) -> Limit {
        Limit::doubling(format!("token-ip:{}", network_key(ip)), 30, HOUR, 1, OnSuccess::GiveBack)
    }

    /// Wrong client secrets for one registered app (OpenID Connect) from one address (an IPv6
    /// client's whole /64): 10 free, then waits doubling from a second up to an hour; the right
    /// secret clears the count. The guesser waits, not the app's own server at another address.
    pub fn client_secret_ip(client_id: &str, ip: &str) -> Limit {
        Limit::doubling(format!("client-secret-ip:{client_id}:{}", network_key(ip)), 10, DAY, 1, OnSuccess::Clear)
    }

    /// Wrong client secrets for one registered app from anywhere: 1000 a day free (guessing 256
    /// random bits that way is hopeless; the bound is on work), then the same doubling. A right
    /// secret gives its reservation back. Only registered apps are counted, so made-up client ids
    /// add no rows.
    pub fn client_secret(client_id: &str) -> Limit {
        Limit::doubling(format!("client-secret:{client_id}"), 1000, DAY, 1, OnSuccess::GiveBack)
    }

    /// `free` requests an hour, each counted whatever happens, then refused until the hour is up.
    fn quota(key: String, free: i64) -> Limit {
        Limit { key, free, lapse_secs: HOUR, curve: Curve::UntilLapse, on_success: OnSuccess::Keep }
    }

    /// `free` attempts, then waits doubling from `first` seconds up to an hour; the count starts
    /// again once its last attempt is `lapse_secs` old.
    fn doubling(key: String, free: i64, lapse_secs: i64, first: i64, on_success: OnSuccess) -> Limit {
        Limit { key, free, lapse_secs, curve: Curve::Doubling { first, max: HOUR }, on_success }
    }

    /// Seconds blocked after `attempts` counted attempts (the block a failing attempt leaves).
    pub fn block_after(&self, attempts: i64) -> i64 {
        if attempts < self.free {
            return 0;
        }
        match self.curve {
            Curve::UntilLapse => self.lapse_secs,
            Curve::Doubling { first, max } => {
                let doublings = (attempts - self.free).min(40) as u32;
                first.saturating_mul(1i64 << doublings).min(max)
            }
        }
    }

    /// [`Limit::block_after`] as an SQL expression of `attempts` (an SQL expression), so the
    /// reservation can set the block in the same statement that counts. Only numbers from this
    /// code go into the text.
    fn block_sql(&self, attempts: &str) -> String {
        let mut sql = format!("CASE WHEN {attempts} < {} THEN 0", self.free);
        match self.curve {
            Curve::UntilLapse => sql.push_str(&format!(" ELSE {} END", self.lapse_secs)),
            Curve::Doubling { max, .. } => {
                let mut n = self.free;
                loop {
                    let block = self.block_after(n);
                    if block >= max {
                        break;
                    }
                    sql.push_str(&format!(" WHEN {attempts} = {n} THEN {block}"));
                    n += 1;
                }
                sql.push_str(&format!(" ELSE {max} END"));
            }
        }
        sql
    }
}

/// The key of an address for per-IP limits ([`crate::core::web::ip_limit_key`]: IPv6 clients by
/// their /64); text that is no address is its own key.
fn network_key(ip: &str) -> String {
    ip.parse().map(crate::core::web::ip_limit_key).unwrap_or_else(|_| ip.to_owned())
}

/// One reserved attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permit {
    pub limit: Limit,
    /// Attempts counted so far, this one included.
    pub attempts: i64,
}

impl Permit {
    /// Whether this attempt, if it fails, leaves the limit blocked (a lock).
    pub fn locks(&self) -> bool {
        self.limit.block_after(self.attempts) > 0
    }

    /// Whether this is the attempt whose failure starts the first block of a series.
    pub fn first_lock(&self) -> bool {
        self.attempts == self.limit.free
    }
}

/// Attempts reserved on every limit that applies.
#[derive(Clone, Debug)]
#[must_use = "a reservation stays counted as a failure unless `succeeded` gives it back"]
pub struct Permits {
    pub held: Vec<Permit>,
    /// The clock the reservation read, so that a failure's block runs from its own "now".
    clock: crate::core::clock::Clock,
}

impl Permits {
    /// Whether this attempt, if it fails, leaves any of its limits blocked.
    pub fn locks(&self) -> bool {
        self.held.iter().any(Permit::locks)
    }

    /// The attempt failed: each block it leaves runs from now (the reservation set it already,
    /// from the moment the attempt started; a slow check must not eat into the wait). One
    /// statement per limit, on the caller's transaction, so the failure's history event commits
    /// with it and every failure costs the same work, known account or not.
    pub async fn failed(&self, conn: &mut sqlx::AnyConnection) -> Result<(), AppError> {
        let t = self.clock.now();
        for permit in &self.held {
            // A failure within the free attempts blocks nothing.
            let until = match permit.limit.block_after(permit.attempts) {
                0 => 0,
                block => t + block,
            };
            sqlx::query(
                "UPDATE throttle SET last_failure_at = $1, \
                 blocked_until = CASE WHEN blocked_until < $2 THEN $2 ELSE blocked_until END WHERE key = $3",
            )
            .bind(t)
            .bind(until)
            .bind(&permit.limit.key)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// The attempt succeeded: each limit forgets, gives back or keeps it, by its rules (on one
    /// pooled connection: each hand-out costs a check of the connection).
    pub async fn succeeded(self, db: &Db) -> Result<(), AppError> {
        if self.held.iter().all(|permit| permit.limit.on_success == OnSuccess::Keep) {
            return Ok(());
        }
        let mut conn = db.pool.acquire().await?;
        for permit in &self.held {
            match permit.limit.on_success {
                OnSuccess::Clear => clear(&mut conn, &permit.limit).await?,
                OnSuccess::GiveBack => give_back(&mut conn, &permit.limit).await?,
                OnSuccess::Keep => {}
            }
        }
        Ok(())
    }
}

/// Reserves one attempt on each of `limits`, or refuses with [`AppError::TooManyAttempts`]
/// while any of them is blocked (then nothing stays counted).
pub async fn reserve(db: &Db, limits: &[Limit]) -> Result<Permits, AppError> {
    let t = db.clock.now();
    let mut permits = Vec::with_capacity(limits.len());
    // One pooled connection for every statement: each hand-out costs a check of the connection.
    let mut conn = db.pool.acquire().await?;
    for limit in limits {
        match reserve_one(&mut conn, limit, t).await? {
            Some(attempts) => permits.push(Permit { limit: limit.clone(), attempts }),
            None => {
                for permit in &permits {
                    give_back(&mut conn, &permit.limit).await?;
                }
                return Err(AppError::TooManyAttempts { retry_after_secs: retry_after(&mut conn, limit, t).await? });
            }
        }
    }
    Ok(Permits { held: permits, clock: db.clock.clone() })
}

/// The one statement that decides: refuse while blocked (no row returned), else count the
/// attempt (from 1 again once the count lapsed) and set the block it leaves if it fails.
async fn reserve_one(conn: &mut sqlx::AnyConnection, limit: &Limit, t: i64) -> Result<Option<i64>, AppError> {
    let sql = format!(
        "INSERT INTO throttle (key, failures, last_failure_at, blocked_until, lapses_at) \
         VALUES ($1, 1, $2, {first_until}, $2 + $3) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN throttle.lapses_at <= $2 THEN 1 ELSE throttle.failures + 1 END, \
           blocked_until = CASE WHEN throttle.lapses_at <= $2 THEN {first_until} \
             WHEN ({next}) = 0 THEN 0 ELSE $2 + ({next}) END, \
           last_failure_at = $2, \
           lapses_at = $2 + $3 \
         WHERE throttle.blocked_until <= $2 \
         RETURNING failures",
        // A free attempt leaves no block (0, not "until now"): a concurrent request that read the
        // clock a moment earlier must not find itself blocked by it.
        first_until = match limit.block_after(1) {
            0 => "0".to_owned(),
            first => format!("$2 + {first}"),
        },
        next = limit.block_sql("throttle.failures + 1"),
    );
    let row = sqlx::query(&sql).bind(&limit.key).bind(t).bind(limit.lapse_secs).fetch_optional(conn).await?;
    Ok(row.map(|row| row.get::<i64, _>(0)))
}

async fn retry_after(conn: &mut sqlx::AnyConnection, limit: &Limit, t: i64) -> Result<i64, AppError> {
    let row =
        sqlx::query("SELECT blocked_until FROM throttle WHERE key = $1").bind(&limit.key).fetch_optional(conn).await?;
    Ok(row.map_or(1, |row| (row.get::<i64, _>(0) - t).max(1)))
}

/// Takes one reservation back; when the count falls below the free attempts, so does the block.
async fn give_back(conn: &mut sqlx::AnyConnection, limit: &Limit) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE throttle SET failures = failures - 1, \
         blocked_until = CASE WHEN failures - 1 < $2 THEN 0 ELSE blocked_until END \
         WHERE key = $1 AND failures > 0",
    )
    .bind(&limit.key)
    .bind(limit.free)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the count of a limit.
async fn clear(conn: &mut sqlx::AnyConnection, limit: &Limit) -> Result<(), AppError> {
    sqlx::query("DELETE FROM throttle WHERE key = $1").bind(&limit.key).execute(conn).await?;
    Ok(())
}

/// Deletes counters that have lapsed and block nothing (called by the periodic clean-up).
pub async fn purge_lapsed(conn: &mut sqlx::AnyConnection, now: i64) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM throttle WHERE lapses_at <= $1 AND blocked_until <= $1")
        .bind(now)
        .execute(conn)
        .await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attempts a guesser gets within `window` seconds when every attempt fails and each is made
    /// the moment the previous block ends.
    fn attempts_within(limit: &Limit, window: i64) -> i64 {
        let (mut t, mut attempts) = (0, 0);
        while t < window {
            attempts += 1;
            t += limit.block_after(attempts);
        }
        attempts
    }

    #[test]
    fn sign_in_back_off_grows_exponentially_and_is_capped() {
        let limit = Limit::sign_in_email("a@example.com");
        assert_eq!((1..5).map(|n| limit.block_after(n)).collect::<Vec<_>>(), vec![0; 4]);
        assert_eq!(limit.block_after(5), 1);
        assert_eq!(limit.block_after(6), 2);
        assert_eq!(limit.block_after(10), 32);
        assert_eq!(limit.block_after(17), 3600);
        assert_eq!(limit.block_after(1_000_000), 3600);
        assert!(attempts_within(&limit, DAY) <= 45);
    }

    #[test]
    fn second_factor_allows_about_ten_guesses_an_hour_and_far_under_100_a_day() {
        let limit = Limit::second_factor(7);
        assert_eq!(limit.block_after(4), 0);
        assert_eq!(limit.block_after(5), 60);
        assert_eq!(limit.block_after(6), 120);
        assert_eq!(limit.block_after(50), 3600, "capped, never permanent");
        assert_eq!(attempts_within(&limit, HOUR), 10);
        let per_day = attempts_within(&limit, DAY);
        assert!(per_day <= 40, "{per_day} guesses a day");
    }

    #[test]
    fn sign_up_waits_for_the_hour_after_ten() {
        let limit = Limit::sign_up_ip("192.0.2.1");
        assert_eq!(limit.block_after(9), 0);
        assert_eq!(limit.block_after(10), HOUR);
    }

    #[test]
    fn verification_mail_allows_three_an_hour() {
        let limit = Limit::verification_mail(7);
        assert_eq!((1..3).map(|n| limit.block_after(n)).collect::<Vec<_>>(), vec![0; 2]);
        assert_eq!(limit.block_after(3), HOUR, "the third leaves the account waiting for the hour");
        assert_eq!(limit.block_sql("n"), "CASE WHEN n < 3 THEN 0 ELSE 3600 END");
    }

    #[test]
    fn block_sql_matches_block_after() {
        let limit = Limit::second_factor(1);
        let sql = limit.block_sql("n");
        assert_eq!(
            sql,
            "CASE WHEN n < 5 THEN 0 WHEN n = 5 THEN 60 WHEN n = 6 THEN 120 WHEN n = 7 THEN 240 \
             WHEN n = 8 THEN 480 WHEN n = 9 THEN 960 WHEN n = 10 THEN 1920 ELSE 3600 END"
        );
        assert_eq!(Limit::sign_up_ip("x").block_sql("n"), "CASE WHEN n < 10 THEN 0 ELSE 3600 END");
    }

    #[test]
    fn per_ip_limits_key_ipv6_clients_by_their_64() {
        assert_eq!(Limit::sign_in_ip("2001:db8:1:2:aaaa::1"), Limit::sign_in_ip("2001:db8:1:2:ffff::9"));
        assert_ne!(Limit::sign_in_ip("2001:db8:1:2::1"), Limit::sign_in_ip("2001:db8:1:3::1"));
        assert_eq!(Limit::sign_up_ip("2001:db8:1:2::1").key, "signup-ip:2001:db8:1:2::/64");
        assert_eq!(Limit::sign_in_ip("::ffff:192.0.2.9").key, "signin-ip:192.0.2.9");
    }
}
