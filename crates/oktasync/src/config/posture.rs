//! Posture: `[posture]` in the config file (see `oktasync_posture::PostureSettings`).
//!
//! ```toml
//! [posture]
//! disabled = ["okta.groups.orphaned"]
//!
//! [posture.params."okta.users.inactive"]
//! inactive_days = 35                 # the STIG's; 90 by default
//! ```

use super::Settings;
use anyhow::{Context, Result, bail};
use oktasync_posture::{Posture, PostureSettings};

/// The checks the config file `base` was loaded from asks for.
pub fn load(base: &Settings) -> Result<Posture> {
    let settings = match super::file_tables(base)? {
        None => PostureSettings::default(),
        Some((mut table, file_name)) => match table.remove("posture") {
            None => PostureSettings::default(),
            Some(value) => {
                if !value.is_table() {
                    bail!("posture in {file_name} must be a [posture] table");
                }
                value.try_into().with_context(|| {
                    format!(
                        "invalid [posture] in {file_name}: it takes disabled = [check ids] and \
                         [posture.params.\"check id\"] tables of numbers"
                    )
                })?
            }
        },
    };
    Posture::from_settings(&settings).map_err(anyhow::Error::new)
}
