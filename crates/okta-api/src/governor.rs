//! The governor: every request asks it for permission first. It keeps, per rate-limit bucket,
//! the limit, remaining count and reset time Okta reported (`X-Rate-Limit-*`), converts the
//! reset into local time using the server's `Date` header, and lets requests go as long as
//! the window has budget, so the normal case never sees a 429. Separately it caps requests in
//! flight and adapts that cap to the org's concurrency limit (additive increase,
//! multiplicative decrease on concurrency 429s).
//!
//! Okta's windows are fixed (a count per minute that resets at once, not a sliding rate), so
//! what a window allows goes out as fast as the request slots allow: spreading it over the
//! window would only make the last window of a listing last as long as a full one. A reserve
//! (a share of the limit) is held back for the org's other integrations for most of the
//! window and spent in its last part ([`RESERVE_RELEASE_FRACTION`]), when the window is about
//! to reset for everyone anyway.
//!
//! A bucket whose window is unknown (first use, or its reset has passed) lets one request
//! through as a probe and holds the rest until the probe's headers arrive.
//!
//! A listing's pages can only be read one after another, so a listing that has many pages left
//! when the rest of the work is done makes the run wait for its round trips. While listings
//! are under way on a bucket ([`Governor::open_listing`]), requests that start something new
//! leave part of the window's budget ([`LISTING_HOLD_PER_OPEN_LISTING`]) to the next pages of those listings:
//! long listings advance many pages per window instead of one, and what is left for a run's
//! last window is many short listings that go at once.

use crate::clock::Clock;
use crate::metrics::Metrics;
use chrono::{DateTime, TimeDelta, Utc};
use http::HeaderMap;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

/// After the latest time a bucket's window can end, wait this long before probing the next
/// window (timer and scheduling slack).
const RESET_GRACE: Duration = Duration::from_millis(30);

/// If a probe comes back still reporting a window that should have ended, probe again after
/// this (doubling per stale probe, up to [`STALE_PROBE_MAX_DELAY`]).
const STALE_PROBE_DELAY: Duration = Duration::from_millis(25);
const STALE_PROBE_MAX_DELAY: Duration = Duration::from_secs(1);

/// The reserve is held back until this share of the window is left before its earliest
/// possible end, then spent: other integrations lose at most the window's last part, and the
/// client uses its whole share (the reserve of a small bucket, e.g. 3 of the apps bucket's 50,
/// is otherwise a whole extra window every 17 windows). Requests sent then either still count
/// in the ending window, which has room for them, or open the next one.
const RESERVE_RELEASE_FRACTION: f64 = 0.1;

/// Share of the reserve kept past the window's earliest end as probes: spread across the
/// interval in which the end lies, they find the next window soon after it opens, where
/// waiting for the latest possible end would lose the interval (up to a second of each window
/// until the length is known). A probe that lands after the end costs the ending window one
/// request of its share, so a small bucket keeps few (apps, 3 in reserve: 1).
const PROBE_SHARE_OF_RESERVE: f64 = 0.5;

/// How much of a window's budget requests that start something new leave to the next pages of
/// listings under way on the bucket: [`LISTING_HOLD_PER_OPEN_LISTING`] per open listing, at
/// most [`LISTING_HOLD_MAX_SHARE`] of the limit. The hold ends with the listings, and in the
/// window's last part with the reserve, so no budget is left unused while anything waits.
const LISTING_HOLD_PER_OPEN_LISTING: u64 = 8;
const LISTING_HOLD_MAX_SHARE: f64 = 0.5;

/// Whether a request continues a listing under way (its next page) or starts something new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    Start,
    NextPage,
}

/// Longest a waiting request sleeps before looking at the state again, in case a wake-up was
/// missed (a probe that never answers is bounded by the request timeout anyway).
const MAX_WAIT_STEP: Duration = Duration::from_millis(500);

/// Rate-limit headers as Okta sends them on every response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimitHeaders {
    pub limit: u64,
    pub remaining: u64,
    /// UTC epoch seconds.
    pub reset: i64,
}

impl RateLimitHeaders {
    pub(crate) fn parse(headers: &HeaderMap) -> Option<Self> {
        let num = |name: &str| -> Option<i64> {
            // a duplicated header (comma-joined or repeated) is ambiguous: ignore it
            let mut values = headers.get_all(name).iter();
            let first = values.next()?;
            if values.next().is_some() {
                return None;
            }
            first.to_str().ok()?.trim().parse().ok()
        };
        Some(Self {
            limit: u64::try_from(num("x-rate-limit-limit")?).ok()?,
            remaining: u64::try_from(num("x-rate-limit-remaining")?).ok()?,
            reset: num("x-rate-limit-reset")?,
        })
    }

    /// Okta reports concurrency 429s with limit and remaining both 0.
    pub(crate) fn is_concurrency_limit(&self) -> bool {
        self.limit == 0 && self.remaining == 0
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    limit: u64,
    remaining: u64,
    /// `X-Rate-Limit-Reset` as sent (whole epoch seconds, identifies the window).
    reset_epoch: i64,
    // The times below are on the local clock: the window's end is found from differences
    // of local times (when it opened, how long windows last), which need no estimate of the
    // server's clock; only the rounded reset does, through the bounds of that estimate.
    /// The latest time the window can end: the reset, or earlier when the window's length is
    /// known more precisely than whole seconds (see [`WindowLength`]). The window counts as
    /// over only after this.
    ends: DateTime<Utc>,
    /// The earliest time it can end (the reset is rounded up, so at least a second before it,
    /// or later when known more precisely). Budget held back as probes waits for this.
    ends_early: DateTime<Utc>,
    /// Bounds of when the window opened, if the client saw it open.
    opened: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// When the first request the client saw in this window was sent: the window was open
    /// by then (when `opened` is unknown, the window lasts at least from here to `ends`).
    first_sent: DateTime<Utc>,
}

impl Window {
    /// When the reserve may be spent: the window's last [`RESERVE_RELEASE_FRACTION`] before
    /// its earliest end, measured on the window's known (or least) length.
    fn reserve_release(&self, length: &WindowLength) -> DateTime<Utc> {
        let start = self.opened.map_or(self.first_sent, |(from, _)| from);
        let seen = (self.ends_early - start).max(TimeDelta::zero());
        let length = length.low.map_or(seen, |low| low.max(seen));
        let tail = length
            .to_std()
            .unwrap_or_default()
            .mul_f64(RESERVE_RELEASE_FRACTION);
        self.ends_early - TimeDelta::from_std(tail).unwrap_or_default()
    }
}

/// Bounds on a bucket's window length. Okta's reset is whole seconds, so it alone leaves up
/// to a second per window unused. When windows open at a client's first request (Okta: they
/// "aren't necessarily synchronized with wall clock minutes"), the client can see when a
/// window opened (the response with `remaining = limit - 1`), that it was still open when a
/// later request arrived, and that it had closed when a request opened the next one; each
/// such fact narrows the length. Facts that contradict each other (windows that work
/// differently) start the bounds over, and the plain reset is used meanwhile.
#[derive(Debug, Default, Clone, Copy)]
struct WindowLength {
    low: Option<TimeDelta>,
    high: Option<TimeDelta>,
}

impl WindowLength {
    fn at_least(&mut self, d: TimeDelta) {
        if self.high.is_some_and(|h| d > h) {
            *self = Self {
                low: Some(d),
                high: None,
            };
        } else {
            self.low = Some(self.low.map_or(d, |l| l.max(d)));
        }
    }

    fn at_most(&mut self, d: TimeDelta) {
        if self.low.is_some_and(|l| d < l) {
            *self = Self {
                low: None,
                high: Some(d),
            };
        } else {
            self.high = Some(self.high.map_or(d, |h| h.min(d)));
        }
    }

    /// The earliest and latest end of a window that opened between `opened.0` and `opened.1`
    /// and whose reset (its end rounded up to a whole second) says it ends between
    /// `by_reset.0` and `by_reset.1`.
    fn ends(
        &self,
        opened: (DateTime<Utc>, DateTime<Utc>),
        by_reset: (DateTime<Utc>, DateTime<Utc>),
    ) -> (DateTime<Utc>, DateTime<Utc>) {
        let early = self.low.map_or(by_reset.0, |l| opened.0 + l);
        let late = self.high.map_or(by_reset.1, |h| opened.1 + h);
        let clamp = |t: DateTime<Utc>| t.min(by_reset.1).max(by_reset.0);
        let (early, late) = (clamp(early), clamp(late));
        (early.min(late), late)
    }
}

#[derive(Debug, Default)]
struct Bucket {
    window: Option<Window>,
    in_flight: u64,
    /// Listings with a next page still to read.
    open_listings: u64,
    /// The last window that ended, to recognise late answers from it.
    previous: Option<Window>,
    /// In a window's uncertain end: no probe before this.
    next_probe: Option<Instant>,
    /// After stale probes: no new probe before this.
    probe_not_before: Option<Instant>,
    stale_probes: u32,
}

/// Bounds on (server clock − local clock), narrowed by every response's `Date` header.
#[derive(Debug, Default)]
struct Skew {
    low: Option<TimeDelta>,
    high: Option<TimeDelta>,
}

impl Skew {
    fn offset(&self) -> TimeDelta {
        match (self.low, self.high) {
            (Some(low), Some(high)) => low + (high - low) / 2,
            _ => TimeDelta::zero(),
        }
    }

    /// The bounds on (server clock − local clock); both the estimate while there are none.
    fn bounds(&self) -> (TimeDelta, TimeDelta) {
        match (self.low, self.high) {
            (Some(low), Some(high)) => (low, high),
            _ => (self.offset(), self.offset()),
        }
    }

    /// The local times between which a window that reports `reset` ends: Okta rounds the end
    /// up to a whole second, so it is in the second before the reset (server time).
    fn reset_ends(&self, reset_epoch: i64) -> (DateTime<Utc>, DateTime<Utc>) {
        let reset = DateTime::from_timestamp(reset_epoch, 0).unwrap_or_default();
        let (low, high) = self.bounds();
        (reset - TimeDelta::seconds(1) - high, reset - low)
    }

    /// The server stamped `date` (whole seconds, truncated) somewhere between `sent` and
    /// `received` local time.
    fn observe(&mut self, date: DateTime<Utc>, sent: DateTime<Utc>, received: DateTime<Utc>) {
        let low = date - received;
        let high = date + TimeDelta::seconds(1) - sent;
        let (new_low, new_high) = match (self.low, self.high) {
            (Some(l), Some(h)) => (l.max(low), h.min(high)),
            _ => (low, high),
        };
        if new_low > new_high {
            // the clocks moved: start over from this sample
            self.low = Some(low);
            self.high = Some(high);
        } else {
            self.low = Some(new_low);
            self.high = Some(new_high);
        }
    }
}

enum Decision {
    Go,
    Wait(Duration),
}

/// Decides when each request may start.
#[derive(Debug)]
pub(crate) struct Governor {
    state: Mutex<State>,
    changed: Notify,
    clock: Arc<dyn Clock>,
    reserve_fraction: f64,
    concurrency: Concurrency,
}

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<&'static str, Bucket>,
    skew: Skew,
    /// Okta's windows are all a minute long, whatever the bucket: what one bucket's windows
    /// tell about the length serves every bucket.
    window_length: WindowLength,
}

impl Governor {
    pub(crate) fn new(
        clock: Arc<dyn Clock>,
        reserve_fraction: f64,
        max_concurrency: usize,
    ) -> Self {
        Self {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            clock,
            reserve_fraction,
            concurrency: Concurrency::new(max_concurrency),
        }
    }

    /// The server's current time, estimated from `Date` headers seen so far.
    pub(crate) fn server_now(&self) -> DateTime<Utc> {
        self.clock.now() + self.state.lock().skew.offset()
    }

    /// The local clock's time (for timing requests).
    pub(crate) fn local_now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The current cap on requests in flight.
    pub(crate) fn concurrency_limit(&self) -> usize {
        self.concurrency.limit()
    }

    /// Waits until `bucket` has budget and a request slot is free, then reserves both.
    pub(crate) async fn admit<'a>(
        &'a self,
        bucket: &'static str,
        kind: RequestKind,
        metrics: &Metrics,
    ) -> Admission<'a> {
        // counted as waiting from the first time it has to
        let mut waiting = None;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let decision = self.decide(bucket, kind);
            match decision {
                Decision::Go => break,
                Decision::Wait(d) => {
                    waiting.get_or_insert_with(|| metrics.waiting());
                    let step = d.min(MAX_WAIT_STEP);
                    tokio::select! {
                        _ = tokio::time::sleep(step) => {}
                        _ = &mut notified => {}
                    }
                }
            }
        }
        drop(waiting);
        let bucket_slot = BucketSlot {
            governor: self,
            bucket,
            open: true,
        };
        let permit = self.concurrency.acquire().await;
        Admission {
            bucket_slot,
            permit,
        }
    }

    /// Counts a listing with more pages to read on `bucket`, until [`Governor::close_listing`].
    pub(crate) fn open_listing(&self, bucket: &'static str) {
        self.state
            .lock()
            .buckets
            .entry(bucket)
            .or_default()
            .open_listings += 1;
    }

    /// Ends what [`Governor::open_listing`] started.
    pub(crate) fn close_listing(&self, bucket: &'static str) {
        if let Some(b) = self.state.lock().buckets.get_mut(bucket) {
            b.open_listings = b.open_listings.saturating_sub(1);
        }
        self.changed.notify_waiters();
    }

    fn decide(&self, bucket: &'static str, kind: RequestKind) -> Decision {
        let mut state = self.state.lock();
        // window times are local (see `Window`)
        let local_now = self.clock.now();
        let now = Instant::now();
        let reserve_fraction = self.reserve_fraction;
        let State {
            buckets,
            window_length,
            skew,
        } = &mut *state;
        let b = buckets.entry(bucket).or_default();
        if let Some(w) = b.window.as_mut()
            && let Some(opened) = w.opened
        {
            // the length may have been narrowed since, by this bucket or another
            (w.ends_early, w.ends) = window_length.ends(opened, skew.reset_ends(w.reset_epoch));
        }
        if let Some(w) = b.window {
            let grace = TimeDelta::from_std(RESET_GRACE).unwrap_or_default();
            if local_now >= w.ends + grace {
                b.window = None;
                b.next_probe = None;
                b.previous = Some(w);
            }
        }
        let Some(w) = b.window else {
            // unknown window: one probe at a time
            if b.in_flight > 0 {
                return Decision::Wait(MAX_WAIT_STEP);
            }
            if let Some(not_before) = b.probe_not_before
                && now < not_before
            {
                return Decision::Wait(not_before - now);
            }
            b.in_flight += 1;
            return Decision::Go;
        };
        let reserve = (w.limit as f64 * reserve_fraction).ceil() as u64;
        let probes = (reserve as f64 * PROBE_SHARE_OF_RESERVE).floor() as u64;
        // what the window still allows, less what is on its way
        let free = w.remaining.saturating_sub(b.in_flight);
        let to_reset = (w.ends - local_now).to_std().unwrap_or_default() + RESET_GRACE;
        if free == 0 {
            return Decision::Wait(to_reset);
        }
        if local_now < w.ends_early {
            let release = w.reserve_release(window_length);
            let (held, until) = if local_now < release {
                let listing_hold = match kind {
                    RequestKind::NextPage => 0,
                    RequestKind::Start => (b.open_listings * LISTING_HOLD_PER_OPEN_LISTING)
                        .min((w.limit as f64 * LISTING_HOLD_MAX_SHARE).ceil() as u64),
                };
                (reserve + listing_hold, release)
            } else {
                (probes, w.ends_early)
            };
            if free > held {
                b.in_flight += 1;
                return Decision::Go;
            }
            // what is held goes later: the reserve (and what listings under way did not use)
            // in the window's last part, the probes across its uncertain end
            return Decision::Wait((until - local_now).to_std().unwrap_or_default());
        }
        // The window may have ended. Whatever is left goes: a request still counted in this
        // window has room in it, one that arrives after the end opens the next window. Only
        // the last few are spread across the interval in which the end lies, so that one of
        // them finds the new window soon after it opens (and each tells more about the length).
        if free > probes {
            b.in_flight += 1;
            return Decision::Go;
        }
        if let Some(next) = b.next_probe
            && next > now
        {
            return Decision::Wait((next - now).min(to_reset));
        }
        let interval = (w.ends - local_now).to_std().unwrap_or_default();
        b.next_probe = Some(now + interval.div_f64(free as f64));
        b.in_flight += 1;
        Decision::Go
    }

    /// Learns from a response's headers. Returns the rate-limit headers if present.
    fn observe(
        &self,
        bucket: &'static str,
        headers: &HeaderMap,
        sent: DateTime<Utc>,
        received: DateTime<Utc>,
    ) -> Option<RateLimitHeaders> {
        let limits = RateLimitHeaders::parse(headers);
        let date = headers
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| DateTime::parse_from_rfc2822(s).ok())
            .map(|d| d.with_timezone(&Utc));
        let mut state = self.state.lock();
        if let Some(date) = date {
            state.skew.observe(date, sent, received);
        }
        let offset = state.skew.offset();
        let server_now = self.clock.now() + offset;
        // The reset is server time; comparing it with local times goes through the bounds of
        // the server clock estimate (not the estimate between them, so that a fact learned
        // early with a rough estimate stays true later).
        let (skew_low, skew_high) = state.skew.bounds();
        let State {
            buckets,
            window_length,
            skew,
        } = &mut *state;
        let b = buckets.entry(bucket).or_default();
        b.in_flight = b.in_flight.saturating_sub(1);
        if let Some(l) = limits.filter(|l| !l.is_concurrency_limit()) {
            let reset = DateTime::from_timestamp(l.reset, 0).unwrap_or(server_now);
            let sent_at = sent + offset;
            let ended = b.window.is_none().then_some(b.previous).flatten();
            let from_ended_window = ended.is_some_and(|p| l.reset <= p.reset_epoch);
            // an answer to a request sent before the window ended says nothing new
            let late_answer = (from_ended_window && ended.is_some_and(|p| sent < p.ends))
                || (reset <= server_now && sent_at < reset);
            if late_answer {
                // nothing to learn
            } else if reset <= server_now || from_ended_window {
                // a window that should be over already: the server has not rolled yet
                b.stale_probes = b.stale_probes.saturating_add(1);
                *window_length = WindowLength::default();
                let delay = STALE_PROBE_DELAY
                    .saturating_mul(1 << b.stale_probes.min(8))
                    .min(STALE_PROBE_MAX_DELAY);
                b.probe_not_before = Some(Instant::now() + delay);
            } else {
                b.stale_probes = 0;
                b.probe_not_before = None;
                match &mut b.window {
                    Some(w) if w.reset_epoch == l.reset => {
                        w.remaining = w.remaining.min(l.remaining);
                        w.limit = l.limit;
                        // still open when this request arrived
                        if let Some((_, opened_by)) = w.opened {
                            window_length.at_least(sent - opened_by);
                        }
                    }
                    Some(w) if w.reset_epoch > l.reset => {} // a late answer from an older window
                    _ => {
                        // the previous window had closed when this request arrived
                        if let Some((opened_from, _)) = b
                            .window
                            .or(b.previous)
                            .filter(|p| p.reset_epoch < l.reset)
                            .and_then(|p| p.opened)
                        {
                            window_length.at_most(received - opened_from);
                        }
                        b.next_probe = None;
                        b.window = Some(Window {
                            limit: l.limit,
                            remaining: l.remaining,
                            reset_epoch: l.reset,
                            ends: skew.reset_ends(l.reset).1,
                            ends_early: skew.reset_ends(l.reset).0,
                            opened: None,
                            first_sent: sent,
                        });
                    }
                }
                if let Some(w) = b.window.as_mut().filter(|w| w.reset_epoch == l.reset) {
                    // this request opened the window if it is the window's only one so far
                    if l.remaining + 1 == l.limit && w.opened.is_none() {
                        w.opened = Some((sent, received));
                        // it opened between `sent` and `received` and ends in the second
                        // before the reset
                        window_length
                            .at_least(reset - TimeDelta::seconds(1) - (received + skew_high));
                        window_length.at_most(reset - (sent + skew_low));
                    }
                    if let Some(opened) = w.opened {
                        (w.ends_early, w.ends) =
                            window_length.ends(opened, skew.reset_ends(l.reset));
                    }
                }
            }
        }
        drop(state);
        self.changed.notify_waiters();
        limits
    }

    fn release(&self, bucket: &'static str) {
        let mut state = self.state.lock();
        if let Some(b) = state.buckets.get_mut(bucket) {
            b.in_flight = b.in_flight.saturating_sub(1);
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// Time until `bucket`'s window resets, if known (used to jitter 429 retries).
    pub(crate) fn time_to_reset(&self, bucket: &'static str) -> Option<Duration> {
        let state = self.state.lock();
        let w = state.buckets.get(bucket)?.window?;
        (w.ends - self.clock.now()).to_std().ok()
    }
}

/// Permission for one attempt: a reserved unit of bucket budget and a concurrency slot. Call
/// [`Admission::finish`] with the response headers; dropping it without (a network error, a
/// cancelled future) just gives the reservation back.
pub(crate) struct Admission<'a> {
    bucket_slot: BucketSlot<'a>,
    permit: ConcurrencyPermit<'a>,
}

impl Admission<'_> {
    /// Records the response: updates the bucket from its headers and the concurrency cap.
    pub(crate) fn finish(
        mut self,
        headers: &HeaderMap,
        status: u16,
        sent: DateTime<Utc>,
        received: DateTime<Utc>,
    ) -> Option<RateLimitHeaders> {
        self.bucket_slot.open = false;
        let governor = self.bucket_slot.governor;
        let limits = governor.observe(self.bucket_slot.bucket, headers, sent, received);
        match limits {
            Some(l) if status == 429 && l.is_concurrency_limit() => {
                self.permit.concurrency_limited()
            }
            _ if status < 500 && status != 429 => self.permit.succeeded(),
            _ => {}
        }
        limits
    }
}

struct BucketSlot<'a> {
    governor: &'a Governor,
    bucket: &'static str,
    open: bool,
}

impl Drop for BucketSlot<'_> {
    fn drop(&mut self) {
        if self.open {
            self.governor.release(self.bucket);
        }
    }
}

/// The adaptive cap on requests in flight (AIMD). Slots are handed out first come, first
/// served: requests admitted by their buckets queue here in the order they were admitted, so
/// a bucket's few time-critical requests (its reserve at the window's end, a probe of the next
/// window) never wait behind a stream of later requests of another bucket's burst.
#[derive(Debug)]
struct Concurrency {
    state: Mutex<ConcurrencyState>,
    /// One permit per free slot under the current cap (tokio's semaphore is fair).
    slots: Semaphore,
    max: usize,
}

#[derive(Debug)]
struct ConcurrencyState {
    limit: f64,
    /// Bumped on every decrease; a 429 from a request started before the last decrease does
    /// not decrease again (one cut per round of requests).
    epoch: u64,
    /// The cap at which the last concurrency 429 came; growth near it is slow.
    ceiling: f64,
    /// Slots to take out of use as their requests finish (the cap was lowered while they
    /// were in flight).
    owed: usize,
}

/// Multiplicative decrease factor on a concurrency 429.
const CONCURRENCY_DECREASE: f64 = 0.5;

/// Additive increase: the cap grows by this many slots per `cap` successful requests (a
/// quarter slot per round), so after a cut it creeps back towards the org's limit instead of
/// hitting it again at once.
const CONCURRENCY_INCREASE: f64 = 0.25;

/// Within one slot of the cap where the last concurrency 429 came, growth is this many times
/// slower: the org's limit is probably there, so it is approached carefully, yet still found
/// again when other integrations go quiet.
const CONCURRENCY_NEAR_CEILING_SLOWDOWN: f64 = 8.0;

/// Whole slots under a (fractional) cap.
fn whole_slots(limit: f64) -> usize {
    limit.floor().max(1.0) as usize
}

impl Concurrency {
    fn new(max: usize) -> Self {
        Self {
            state: Mutex::new(ConcurrencyState {
                limit: max as f64,
                epoch: 0,
                ceiling: f64::INFINITY,
                owed: 0,
            }),
            slots: Semaphore::new(whole_slots(max as f64)),
            max,
        }
    }

    fn limit(&self) -> usize {
        whole_slots(self.state.lock().limit)
    }

    /// Moves the cap, adding or withdrawing slots when its whole part changes.
    fn set_limit(&self, s: &mut ConcurrencyState, limit: f64) {
        let (before, after) = (whole_slots(s.limit), whole_slots(limit));
        s.limit = limit;
        if after > before {
            let more = after - before;
            let repaid = more.min(s.owed);
            s.owed -= repaid;
            self.slots.add_permits(more - repaid);
        } else if after < before {
            let fewer = before - after;
            let free_taken = self.slots.forget_permits(fewer);
            s.owed += fewer - free_taken;
        }
    }

    async fn acquire(&self) -> ConcurrencyPermit<'_> {
        // the semaphore is never closed
        if let Ok(permit) = self.slots.acquire().await {
            // given back by `ConcurrencyPermit::drop`, unless the cap was lowered meanwhile
            permit.forget();
        }
        ConcurrencyPermit {
            owner: self,
            epoch: self.state.lock().epoch,
        }
    }
}

struct ConcurrencyPermit<'a> {
    owner: &'a Concurrency,
    epoch: u64,
}

impl ConcurrencyPermit<'_> {
    fn succeeded(&self) {
        let mut s = self.owner.state.lock();
        let mut step = CONCURRENCY_INCREASE / s.limit.max(1.0);
        if s.limit + 1.0 > s.ceiling {
            step /= CONCURRENCY_NEAR_CEILING_SLOWDOWN;
        }
        let limit = (s.limit + step).min(self.owner.max as f64);
        self.owner.set_limit(&mut s, limit);
    }

    fn concurrency_limited(&self) {
        let mut s = self.owner.state.lock();
        if s.epoch == self.epoch {
            s.ceiling = s.limit.floor().max(1.0);
            let limit = (s.limit * CONCURRENCY_DECREASE).max(1.0);
            self.owner.set_limit(&mut s, limit);
            s.epoch += 1;
            tracing::debug!(
                limit = s.limit,
                "concurrency 429: lowering the in-flight cap"
            );
        }
    }
}

impl Drop for ConcurrencyPermit<'_> {
    fn drop(&mut self) {
        let mut s = self.owner.state.lock();
        if s.owed > 0 {
            s.owed -= 1;
        } else {
            self.owner.slots.add_permits(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// A clock that stands still, so that what a decision depends on (how long until a
    /// window ends) is exact however slowly the test runs.
    #[derive(Debug)]
    struct HeldClock(parking_lot::Mutex<DateTime<Utc>>);

    impl HeldClock {
        fn at(t: DateTime<Utc>) -> Arc<Self> {
            Arc::new(Self(parking_lot::Mutex::new(t)))
        }
    }

    impl Clock for HeldClock {
        fn now(&self) -> DateTime<Utc> {
            *self.0.lock()
        }
    }

    /// Where the held clocks start (a whole second, as `Date` headers are).
    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn headers(limit: u64, remaining: u64, reset: i64, date: DateTime<Utc>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit-limit", HeaderValue::from(limit));
        h.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
        h.insert("x-rate-limit-reset", HeaderValue::from(reset));
        h.insert(
            http::header::DATE,
            HeaderValue::from_str(&date.to_rfc2822().replace("+0000", "GMT")).unwrap(),
        );
        h
    }

    #[test]
    fn skew_bounds_narrow() {
        let mut skew = Skew::default();
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        // server is 100 s ahead; date truncated to the second
        skew.observe(
            t0 + TimeDelta::seconds(100),
            t0 - TimeDelta::milliseconds(300),
            t0 + TimeDelta::milliseconds(10),
        );
        skew.observe(
            t0 + TimeDelta::seconds(101),
            t0 + TimeDelta::milliseconds(990),
            t0 + TimeDelta::milliseconds(1010),
        );
        let off = skew.offset().num_milliseconds();
        assert!((99_000..=101_000).contains(&off), "{off}");
        assert!((skew.high.unwrap() - skew.low.unwrap()).num_milliseconds() <= 1_020);
    }

    #[test]
    fn window_length_narrows_to_the_true_length() {
        // 3 s windows that always open just after a whole second (so the rounded reset alone
        // never narrows them), with requests arriving every 100 ms
        let mut wl = WindowLength::default();
        let base = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let true_len = TimeDelta::milliseconds(3_000);
        let rtt = TimeDelta::milliseconds(2);
        let mut start = base + TimeDelta::milliseconds(30);
        let mut last = (base, base);
        for _ in 0..6 {
            let end = start + true_len;
            let rounded_up = end.timestamp() + i64::from(end.timestamp_subsec_millis() > 0);
            let reset = DateTime::from_timestamp(rounded_up, 0).unwrap();
            // the opener
            let opened = (start - rtt, start + rtt);
            wl.at_least(reset - TimeDelta::seconds(1) - opened.1);
            wl.at_most(reset - opened.0);
            // requests during the window
            let mut t = start + TimeDelta::milliseconds(100);
            while t < end {
                wl.at_least(t - rtt - opened.1);
                t += TimeDelta::milliseconds(100);
            }
            last = wl.ends(opened, (reset - TimeDelta::seconds(1), reset));
            assert!(
                last.1 >= end - rtt * 2,
                "late estimate not before the true end"
            );
            assert!(last.0 <= end + rtt * 2, "early estimate not after it");
            // the next window opens with the first request after the end
            let next_start = t;
            wl.at_most(next_start + rtt - opened.0);
            start = next_start;
        }
        let spread = (last.1 - last.0).num_milliseconds();
        assert!(
            spread <= 120,
            "bounds within about a request interval, got {spread} ms"
        );
    }

    #[tokio::test]
    async fn probe_then_bursts_and_waits_for_reset() {
        let clock = HeldClock::at(t0());
        let gov = Governor::new(clock.clone(), 0.0, 8);
        let metrics = Metrics::default();
        let first = gov.admit("users", RequestKind::Start, &metrics).await;
        // while the probe is out, nobody else goes
        assert!(matches!(
            gov.decide("users", RequestKind::Start),
            Decision::Wait(_)
        ));
        let now = clock.now();
        let reset = now.timestamp() + 3;
        first.finish(&headers(10, 2, reset, now), 200, now, now);
        // two left: both go at once (a fixed window is not spread), a third waits
        let a = gov.admit("users", RequestKind::Start, &metrics).await;
        let b = gov.admit("users", RequestKind::Start, &metrics).await;
        assert!(matches!(
            gov.decide("users", RequestKind::Start),
            Decision::Wait(_)
        ));
        drop((a, b));
        // exhausted: must wait for the reset
        let mut st = gov.state.lock();
        st.buckets
            .get_mut("users")
            .unwrap()
            .window
            .as_mut()
            .unwrap()
            .remaining = 0;
        drop(st);
        match gov.decide("users", RequestKind::Start) {
            Decision::Wait(d) => assert!(d > Duration::from_millis(500), "{d:?}"),
            Decision::Go => panic!("went with no budget"),
        }
    }

    #[tokio::test]
    async fn the_reserve_waits_for_the_last_part_of_the_window() {
        let clock = HeldClock::at(t0());
        let gov = Governor::new(clock.clone(), 0.1, 8);
        let metrics = Metrics::default();
        let first = gov.admit("users", RequestKind::Start, &metrics).await;
        let now = clock.now();
        first.finish(&headers(10, 3, now.timestamp() + 5, now), 200, now, now);
        // window times are local; with `opened` unknown, the window lasts from its first
        // request on and its ends stay as set here
        let set_window = |opened_ago_ms: i64, early_end_in_ms: i64| {
            let local_now = clock.now();
            let mut st = gov.state.lock();
            let w = st
                .buckets
                .get_mut("users")
                .unwrap()
                .window
                .as_mut()
                .unwrap();
            w.opened = None;
            w.first_sent = local_now - TimeDelta::milliseconds(opened_ago_ms);
            w.ends_early = local_now + TimeDelta::milliseconds(early_end_in_ms);
            w.ends = w.ends_early + TimeDelta::milliseconds(100);
        };
        // a 3 s window with 2 s to run: the reserve (1 of 10) is held until its last tenth,
        // 1.7 s from now
        set_window(1_000, 2_000);
        let a = gov.admit("users", RequestKind::Start, &metrics).await;
        let b = gov.admit("users", RequestKind::Start, &metrics).await;
        match gov.decide("users", RequestKind::Start) {
            Decision::Wait(d) => assert_eq!(d, Duration::from_millis(1_700)),
            Decision::Go => panic!("spent the reserve early"),
        }
        // its last tenth: the reserve goes too, then nothing is left until the reset (the
        // latest end, 100 ms after the earliest, and the grace)
        set_window(2_900, 100);
        let c = gov.admit("users", RequestKind::Start, &metrics).await;
        match gov.decide("users", RequestKind::Start) {
            Decision::Wait(d) => assert_eq!(d, Duration::from_millis(200) + RESET_GRACE),
            Decision::Go => panic!("went past the limit"),
        }
        drop((a, b, c));
    }

    #[tokio::test]
    async fn listings_under_way_keep_budget_from_new_starts() {
        let clock = HeldClock::at(t0());
        let gov = Governor::new(clock.clone(), 0.0, 64);
        let metrics = Metrics::default();
        let first = gov.admit("apps", RequestKind::Start, &metrics).await;
        let now = clock.now();
        // a long window with 20 of 50 left, and one listing with pages to read
        first.finish(&headers(50, 20, now.timestamp() + 30, now), 200, now, now);
        gov.open_listing("apps");
        // starts take what is above the listing's hold (8), next pages take the rest
        let mut admitted = Vec::new();
        for _ in 0..12 {
            admitted.push(gov.admit("apps", RequestKind::Start, &metrics).await);
        }
        assert!(
            matches!(gov.decide("apps", RequestKind::Start), Decision::Wait(_)),
            "a start took the listing's share"
        );
        for _ in 0..8 {
            admitted.push(gov.admit("apps", RequestKind::NextPage, &metrics).await);
        }
        assert!(matches!(
            gov.decide("apps", RequestKind::NextPage),
            Decision::Wait(_)
        ));
        // once the listing is over, what it held goes to starts
        drop(admitted.split_off(12));
        assert!(matches!(
            gov.decide("apps", RequestKind::Start),
            Decision::Wait(_)
        ));
        gov.close_listing("apps");
        assert!(matches!(
            gov.decide("apps", RequestKind::Start),
            Decision::Go
        ));
    }

    #[tokio::test]
    async fn concurrency_aimd() {
        let c = Concurrency::new(8);
        let p1 = c.acquire().await;
        let p2 = c.acquire().await;
        p1.concurrency_limited();
        p2.concurrency_limited(); // same round: only one cut
        assert_eq!(c.limit(), 4);
        drop((p1, p2));
        for _ in 0..100 {
            c.acquire().await.succeeded();
        }
        assert_eq!(c.limit(), 7, "back near the cap that failed");
        for _ in 0..100 {
            c.acquire().await.succeeded();
        }
        assert_eq!(c.limit(), 7, "slowly near it");
        for _ in 0..400 {
            c.acquire().await.succeeded();
        }
        assert_eq!(c.limit(), 8, "and back to the maximum in the end");
    }
}
