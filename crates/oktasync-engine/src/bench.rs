//! Benchmark helpers. `oktasync bench` composes them with [`crate::full_sync`]:
//!
//! 1. start (or point at) an emulator with a seeded org, build an `OktaClient` for it;
//! 2. `let summary = full_sync(&client, &store, &opts, progress).await?;`
//! 3. `let report = BenchReport::new(&summary, peak_memory_bytes());` and print it.
//!
//! Peak memory is the process's high-water resident set size (`VmHWM`), so it is only
//! meaningful when the emulator runs in another process.

use crate::options::Resource;
use crate::summary::RunSummary;
use serde::Serialize;

/// The process's peak resident set size in bytes (`VmHWM` in `/proc/self/status`), where
/// the OS reports it (Linux).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// What `oktasync bench` prints for one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
    pub api_calls: u64,
    pub fewest_calls: u64,
    pub http_429: u64,
    pub wall_s: f64,
    /// Objects read across resources per wall second.
    pub rows_per_s: f64,
    pub peak_memory_mb: Option<f64>,
}

impl BenchReport {
    pub fn new(summary: &RunSummary, peak_memory_bytes: Option<u64>) -> Self {
        let wall_s = summary.duration_s;
        Self {
            users: summary.count(Resource::Users).unwrap_or(0),
            groups: summary.count(Resource::Groups).unwrap_or(0),
            memberships: summary.count(Resource::Memberships).unwrap_or(0),
            api_calls: summary.api_calls,
            fewest_calls: summary.fewest_calls,
            http_429: summary.http_429,
            wall_s,
            rows_per_s: if wall_s > 0.0 {
                summary.objects() as f64 / wall_s
            } else {
                0.0
            },
            peak_memory_mb: peak_memory_bytes.map(|b| b as f64 / (1024.0 * 1024.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_hwm() {
        let status =
            "Name:\toktasync\nVmPeak:\t  200000 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(12345 * 1024));
        assert_eq!(parse_vm_hwm("Name: x\n"), None);
        #[cfg(target_os = "linux")]
        assert!(peak_memory_bytes().unwrap() > 0);
    }
}
