//! Detection: `[detection]` in the config file (see `oktasync_detect::DetectionSettings`).
//!
//! ```toml
//! [detection]
//! enabled = true                     # run the rules after each sync and watch poll (default)
//! rules_dir = "rules"                # Sigma and Okta filter rules; relative to this file
//! disabled = ["okta.user.created"]
//!
//! [detection.params."okta.mfa.push_bombing"]
//! min_denials = 3
//! window_minutes = 15
//! ```

use super::Settings;
use anyhow::{Context, Result, bail};
use oktasync_detect::{DetectionSettings, Detector};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetectionTable {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    rules_dir: Option<std::path::PathBuf>,
    #[serde(default)]
    disabled: Vec<String>,
    #[serde(default)]
    params: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>,
}

fn yes() -> bool {
    true
}

/// The detection settings of the config file `base` was loaded from.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Run the rules after each sync and watch poll.
    pub enabled: bool,
    pub settings: DetectionSettings,
}

impl Default for Detection {
    fn default() -> Self {
        Detection {
            enabled: true,
            settings: DetectionSettings::default(),
        }
    }
}

impl Detection {
    /// The rules these settings run (built-in, plus `rules_dir`'s, less the disabled ones).
    pub fn detector(&self) -> Result<Detector> {
        Detector::from_settings(&self.settings).map_err(anyhow::Error::new)
    }
}

pub fn load(base: &Settings) -> Result<Detection> {
    let Some((mut table, file_name)) = super::file_tables(base)? else {
        return Ok(Detection::default());
    };
    let Some(value) = table.remove("detection") else {
        return Ok(Detection::default());
    };
    if !value.is_table() {
        bail!("detection in {file_name} must be a [detection] table");
    }
    let parsed: DetectionTable = value.try_into().with_context(|| {
        format!(
            "invalid [detection] in {file_name}: it takes enabled, rules_dir, disabled = [rule \
             ids] and [detection.params.\"rule id\"] tables of numbers"
        )
    })?;
    let mut settings = DetectionSettings {
        rules_dir: parsed.rules_dir,
        disabled: parsed.disabled,
        params: parsed.params,
    };
    if let Some(dir) = &mut settings.rules_dir
        && dir.is_relative()
    {
        let base = Path::new(&file_name).parent().unwrap_or(Path::new("."));
        *dir = base.join(&*dir);
    }
    Ok(Detection {
        enabled: parsed.enabled,
        settings,
    })
}
