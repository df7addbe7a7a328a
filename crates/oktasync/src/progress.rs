//! Showing a sync's progress: a bar per resource on a terminal, plain lines elsewhere.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use oktasync_engine::{Progress, Resource};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Progress for the current process: bars when stderr is a terminal, log lines otherwise.
pub fn for_stderr() -> std::sync::Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        std::sync::Arc::new(Bars::new())
    } else {
        std::sync::Arc::new(Lines::default())
    }
}

/// One indicatif bar per resource, plus a status line for notes (rate-limit waits).
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<Resource, ProgressBar>>,
    status: ProgressBar,
}

/// How often bars redraw: often enough to look alive, rarely enough to cost nothing.
const REDRAW_HZ: u8 = 8;

impl Bars {
    fn new() -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(REDRAW_HZ));
        // Every bar is styled only once it belongs to `multi`: a bar still on its own target
        // draws straight to the terminal when its prefix or message is set, and that line
        // stays behind, outside the area `multi` redraws.
        let status = multi.add(ProgressBar::hidden());
        status.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        status.set_message("starting");
        status.enable_steady_tick(Duration::from_millis(120));
        Bars {
            multi,
            bars: Mutex::new(BTreeMap::new()),
            status,
        }
    }
}

impl Progress for Bars {
    fn started(&self, resource: Resource, total: Option<u64>) {
        let bar = self
            .multi
            .insert_before(&self.status, ProgressBar::hidden());
        match total {
            Some(total) => {
                bar.set_length(total);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:>12} [{bar:30}] {human_pos}/{human_len} {elapsed}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
            }
            None => {
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>12} {spinner} {human_pos} {elapsed}")
                        .expect("valid template"),
                );
            }
        }
        bar.set_prefix(resource.as_str());
        bar.enable_steady_tick(Duration::from_millis(250));
        self.bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(resource, bar);
        self.status.set_message("reading");
    }

    fn advanced(&self, resource: Resource, n: u64) {
        if let Some(bar) = self
            .bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&resource)
        {
            bar.inc(n);
        }
    }

    fn finished(&self, resource: Resource) {
        if let Some(bar) = self
            .bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&resource)
        {
            if bar.length().is_some() {
                bar.set_length(bar.position());
            }
            bar.finish();
        }
    }

    fn note(&self, message: &str) {
        self.status.set_message(message.to_owned());
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.status.finish_and_clear();
    }
}

/// Plain lines on stderr, for logs and pipes.
#[derive(Default)]
pub struct Lines {
    state: Mutex<LinesState>,
}

#[derive(Default)]
struct LinesState {
    counts: BTreeMap<Resource, u64>,
    started: BTreeMap<Resource, Instant>,
    last_note: String,
}

impl Progress for Lines {
    fn started(&self, resource: Resource, total: Option<u64>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.started.insert(resource, Instant::now());
        match total {
            Some(total) => eprintln!("oktasync: {resource}: reading ({total} expected)"),
            None => eprintln!("oktasync: {resource}: reading"),
        }
    }

    fn advanced(&self, resource: Resource, n: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state.counts.entry(resource).or_default() += n;
    }

    fn finished(&self, resource: Resource) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let count = state.counts.get(&resource).copied().unwrap_or(0);
        let secs = state
            .started
            .get(&resource)
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        eprintln!("oktasync: {resource}: {count} read in {secs:.1}s");
    }

    fn note(&self, message: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.last_note != message {
            eprintln!("oktasync: {message}");
            state.last_note = message.to_owned();
        }
    }
}
