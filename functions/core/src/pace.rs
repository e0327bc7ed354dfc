//! How fast the sender may hand email to the mailer: a token bucket.
//!
//! SES accepts at most a number of messages a second (the account's
//! "maximum send rate": 1 in the sandbox, 14 when production access is
//! first granted) and answers `TooManyRequestsException` above it. The
//! bucket holds up to `burst` sends and refills by one every `1 / rate`
//! seconds; a send takes one, or says how long to wait for it. With a
//! burst of one, sends are spaced evenly, so any one-second window holds
//! at most `rate` of them.
//!
//! Time is given to it, never read: the caller passes its clock's `now`.
//! Everything is counted in whole nanoseconds, so no rounding lets a send
//! through early.

use jiff::{SignedDuration, Timestamp};

#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Nanoseconds between two refills.
    interval: i128,
    /// The most credit the bucket holds, in nanoseconds of refill.
    capacity: i128,
    /// Credit held at `at`, in nanoseconds of refill.
    credit: i128,
    at: Timestamp,
}

impl TokenBucket {
    /// A full bucket of `burst` sends refilling at `per_second` a second
    /// (both at least one), at `now`.
    pub fn new(per_second: u32, burst: u32, now: Timestamp) -> TokenBucket {
        // Rounded up: a rate of 14 is one every 71,428,572 ns, never a
        // nanosecond sooner, so 15 cannot fit in a second.
        let per_second = i128::from(per_second.max(1));
        let interval = (1_000_000_000 + per_second - 1) / per_second;
        let capacity = interval * i128::from(burst.max(1));
        TokenBucket {
            interval,
            capacity,
            credit: capacity,
            at: now,
        }
    }

    /// Takes one send at `now`, or says how long until one is there (and
    /// takes nothing). A clock going backwards refills nothing.
    pub fn take(&mut self, now: Timestamp) -> Result<(), SignedDuration> {
        let elapsed = (now.as_nanosecond() - self.at.as_nanosecond()).max(0);
        self.credit = (self.credit + elapsed).min(self.capacity);
        if now > self.at {
            self.at = now;
        }
        if self.credit >= self.interval {
            self.credit -= self.interval;
            return Ok(());
        }
        let missing = self.interval - self.credit;
        let nanos = i64::try_from(missing).unwrap_or(i64::MAX);
        Err(SignedDuration::from_nanos(nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millisecond(1_803_895_200_000 + millis).unwrap()
    }

    #[test]
    fn a_full_bucket_gives_its_burst_then_one_per_interval() {
        let mut bucket = TokenBucket::new(4, 3, at(0));
        for _ in 0..3 {
            assert_eq!(bucket.take(at(0)), Ok(()));
        }
        assert_eq!(bucket.take(at(0)), Err(SignedDuration::from_millis(250)));
        assert_eq!(bucket.take(at(100)), Err(SignedDuration::from_millis(150)));
        assert_eq!(bucket.take(at(250)), Ok(()));
        assert_eq!(bucket.take(at(250)), Err(SignedDuration::from_millis(250)));
    }

    #[test]
    fn an_idle_bucket_refills_only_to_its_burst() {
        let mut bucket = TokenBucket::new(10, 2, at(0));
        assert_eq!(bucket.take(at(0)), Ok(()));
        assert_eq!(bucket.take(at(0)), Ok(()));
        // An hour idle earns two sends, not 36,000.
        let later = 3_600_000;
        assert_eq!(bucket.take(at(later)), Ok(()));
        assert_eq!(bucket.take(at(later)), Ok(()));
        assert!(bucket.take(at(later)).is_err());
    }

    #[test]
    fn waiting_as_told_never_exceeds_the_rate_in_any_second() {
        let rate = 14;
        let mut bucket = TokenBucket::new(rate, 1, at(0));
        let mut now = at(0);
        let mut sent = Vec::new();
        while sent.len() < 200 {
            match bucket.take(now) {
                Ok(()) => sent.push(now),
                Err(wait) => now += wait,
            }
        }
        for (i, start) in sent.iter().enumerate() {
            let end = *start + SignedDuration::from_secs(1);
            let in_window = sent[i..].iter().take_while(|t| **t < end).count();
            assert!(in_window <= rate as usize, "{in_window} sends in a second");
        }
        // And it is not slower than asked: 200 sends take 199 intervals.
        let took = sent[199].duration_since(sent[0]);
        assert_eq!(took, SignedDuration::from_nanos(199 * 71_428_572));
    }

    #[test]
    fn a_clock_going_backwards_earns_nothing() {
        let mut bucket = TokenBucket::new(1, 1, at(10_000));
        assert_eq!(bucket.take(at(10_000)), Ok(()));
        assert!(bucket.take(at(5_000)).is_err());
        assert!(bucket.take(at(10_500)).is_err());
        assert_eq!(bucket.take(at(11_000)), Ok(()));
    }
}
