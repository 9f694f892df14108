//! Household writes per token over a sliding hour (`writes_per_hour`): a
//! write past the limit is refused with 429 and the seconds to wait.

use crate::error::ApiError;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Household writes per token over a sliding hour.
#[derive(Debug, Default)]
pub struct WriteLimiter {
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl WriteLimiter {
    /// Count one write of `token` now, or refuse it when `per_hour` writes
    /// were counted in the last hour (429 with the seconds to wait).
    pub fn check(&self, token: &str, per_hour: u32) -> Result<(), ApiError> {
        self.check_at(token, per_hour, Instant::now())
    }

    fn check_at(&self, token: &str, per_hour: u32, now: Instant) -> Result<(), ApiError> {
        const HOUR: Duration = Duration::from_secs(3600);
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let times = seen.entry(token.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= HOUR)
        {
            times.pop_front();
        }
        if times.len() >= per_hour as usize {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = HOUR.saturating_sub(now.saturating_duration_since(oldest));
            return Err(ApiError::TooManyRequests {
                message: format!(
                    "this token made {} household writes in the last hour: at most {per_hour} \
                     per hour (writes_per_hour); retry in {} s",
                    times.len(),
                    wait.as_secs().max(1)
                ),
                retry_after: wait.as_secs().max(1),
            });
        }
        times.push_back(now);
        // Forget idle tokens now and then.
        if seen.len() > 10_000 {
            seen.retain(|_, t| {
                t.back()
                    .is_some_and(|b| now.saturating_duration_since(*b) < HOUR)
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_limited_per_token_and_hour() {
        let l = WriteLimiter::default();
        let t0 = Instant::now();
        for k in 0..3 {
            l.check_at("a", 3, t0 + Duration::from_secs(k)).unwrap();
        }
        let e = l
            .check_at("a", 3, t0 + Duration::from_secs(10))
            .unwrap_err();
        match e {
            ApiError::TooManyRequests {
                retry_after,
                message,
            } => {
                assert_eq!(retry_after, 3590);
                assert!(message.contains("writes_per_hour"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // Another token is counted apart; an hour later the first may write again.
        l.check_at("b", 3, t0 + Duration::from_secs(10)).unwrap();
        l.check_at("a", 3, t0 + Duration::from_secs(3600)).unwrap();
    }
}
