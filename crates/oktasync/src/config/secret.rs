//! Where a secret comes from: the value itself, a file (`K_file`), or the OS keyring
//! (`K_keyring`). A source is read only when its secret is used, so a layer that loses to a
//! higher one never touches its file or the keyring.

use anyhow::{Result, bail};
use secrecy::SecretString;
use std::fmt;
use std::path::PathBuf;

/// The keyring service every oktasync secret is stored under; the entry's user name is the
/// name given in `K_keyring`.
pub const KEYRING_SERVICE: &str = "oktasync";

/// One configured secret, not yet read. `Debug` never shows a value.
#[derive(Clone)]
pub enum SecretSource {
    /// Given as is (`api_token = "..."`, `OKTASYNC_API_TOKEN`).
    Inline(SecretString),
    /// A file holding the secret (`api_token_file`).
    File(PathBuf),
    /// An entry of the OS keyring: service [`KEYRING_SERVICE`], this user name
    /// (`api_token_keyring`).
    Keyring(String),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Inline(_) => f.write_str("Inline([REDACTED])"),
            SecretSource::File(path) => f.debug_tuple("File").field(path).finish(),
            SecretSource::Keyring(name) => f.debug_tuple("Keyring").field(name).finish(),
        }
    }
}

impl SecretSource {
    /// The key suffix this form is configured with: `""`, `"_file"` or `"_keyring"`.
    pub fn suffix(&self) -> &'static str {
        match self {
            SecretSource::Inline(_) => "",
            SecretSource::File(_) => "_file",
            SecretSource::Keyring(_) => "_keyring",
        }
    }

    /// The secret. `key` is the setting (`api_token`), `origin` where it was configured; both
    /// only for messages, which never hold the secret. Surrounding whitespace is dropped
    /// (editors add a final newline).
    pub fn read(&self, key: &str, origin: &str) -> Result<SecretString> {
        let text = match self {
            SecretSource::Inline(value) => return Ok(value.clone()),
            SecretSource::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) => bail!(
                    "cannot read {key}_file {} ({origin}): {}; check the path and its permissions",
                    path.display(),
                    io_cause(&e)
                ),
            },
            SecretSource::Keyring(name) => read_keyring(key, name, origin)?,
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            bail!("{key}{} ({origin}) is empty", self.described());
        }
        Ok(SecretString::from(trimmed.to_owned()))
    }

    /// `" file /path"`, `" entry \"name\" of the OS keyring"`, or `""`: after the key name.
    fn described(&self) -> String {
        match self {
            SecretSource::Inline(_) => String::new(),
            SecretSource::File(path) => format!("_file {}", path.display()),
            SecretSource::Keyring(name) => {
                format!("_keyring: the OS keyring entry {name:?} (service {KEYRING_SERVICE:?})")
            }
        }
    }
}

/// An I/O error's cause in words, without the "(os error N)" noise where a word says it.
pub fn io_cause(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "the file does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        std::io::ErrorKind::ReadOnlyFilesystem => "the file system is read-only".into(),
        std::io::ErrorKind::StorageFull => "no space left on the device".into(),
        _ => e.to_string(),
    }
}

/// The other ways to give `key`, for messages about a keyring that cannot help.
fn alternatives(key: &str) -> String {
    let env = format!("OKTASYNC_{}", key.to_ascii_uppercase());
    format!(
        "give {key} another way: the environment ({env}, or {env}_FILE=/path/to/file), or \
         {key}_file in oktasync.toml"
    )
}

#[cfg(any(target_os = "linux", target_os = "macos", windows))]
fn read_keyring(key: &str, name: &str, origin: &str) -> Result<String> {
    use keyring::Error as K;
    let unreachable = |e: &dyn fmt::Display| {
        anyhow::anyhow!(
            "{key}_keyring ({origin}): the OS keyring ({}) cannot be reached: {e}. {}",
            store_name(),
            alternatives(key)
        )
    };
    prepare_keyring();
    let entry = match keyring::Entry::new(KEYRING_SERVICE, name) {
        Ok(entry) => entry,
        Err(K::Invalid(what, why)) => bail!(
            "{key}_keyring ({origin}): {name:?} cannot name a keyring entry ({what} {why}); \
             use a short plain name such as \"okta-prod\""
        ),
        Err(e) => return Err(unreachable(&e)),
    };
    match entry.get_password() {
        Ok(secret) => Ok(secret),
        Err(K::NoEntry) => bail!(
            "{key}_keyring ({origin}): the OS keyring ({}) has no entry {name:?} for service \
             {KEYRING_SERVICE:?}. Store the secret there first ({}), or {}",
            store_name(),
            store_hint(name),
            alternatives(key)
        ),
        Err(K::BadEncoding(_)) => bail!(
            "{key}_keyring ({origin}): the OS keyring entry {name:?} (service \
             {KEYRING_SERVICE:?}) does not hold text; store the secret again as text"
        ),
        Err(e) => Err(unreachable(&e)),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn read_keyring(key: &str, _name: &str, origin: &str) -> Result<String> {
    bail!(
        "{key}_keyring ({origin}): this build of oktasync has no OS keyring on this platform \
         (it supports the Linux kernel keyring, the macOS Keychain and the Windows Credential \
         Manager). {}",
        alternatives(key)
    )
}

/// On Linux, gives this process a session keyring of its own when it has none (a service, a
/// container, CI: anything not started from a PAM login). Without one, the kernel hands out the
/// shared user-session keyring, and keyring's linux-native store then fails its first
/// operation in every process (it cannot link the key into the user's persistent keyring, and
/// reports that as "no entry"). With one, the store works as designed: entries live in the
/// user's persistent keyring, which every later process reaches through its own session.
#[cfg(target_os = "linux")]
pub fn prepare_keyring() {
    use linux_keyutils::{KeyRing, KeyRingIdentifier};
    let _ = KeyRing::from_special_id(KeyRingIdentifier::Session, true);
}

#[cfg(any(target_os = "macos", windows))]
fn prepare_keyring() {}

#[cfg(target_os = "linux")]
fn store_name() -> &'static str {
    "the Linux kernel keyring"
}
#[cfg(target_os = "macos")]
fn store_name() -> &'static str {
    "the macOS Keychain"
}
#[cfg(windows)]
fn store_name() -> &'static str {
    "the Windows Credential Manager"
}

/// How to store the secret for entry `name` with the platform's own tool.
#[cfg(target_os = "linux")]
fn store_hint(name: &str) -> String {
    format!(
        "keyctl session - sh -c 'keyctl padd user keyring-rs:{name}@{KEYRING_SERVICE} \
         \"$(keyctl get_persistent @s)\"' < /path/to/secret-file"
    )
}
#[cfg(target_os = "macos")]
fn store_hint(name: &str) -> String {
    format!("security add-generic-password -s {KEYRING_SERVICE} -a '{name}' -w")
}
#[cfg(windows)]
fn store_hint(name: &str) -> String {
    format!("cmdkey /generic:{name}.{KEYRING_SERVICE} /user:{name} /pass")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_an_inline_secret() {
        let source = SecretSource::Inline(SecretString::from("00hunter2".to_string()));
        assert!(!format!("{source:?}").contains("hunter2"));
    }

    #[test]
    fn files_are_trimmed_and_empty_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, "  00abc\n").unwrap();
        let source = SecretSource::File(path.clone());
        use secrecy::ExposeSecret;
        assert_eq!(
            source.read("api_token", "x").unwrap().expose_secret(),
            "00abc"
        );
        std::fs::write(&path, "\n").unwrap();
        let err = source.read("api_token", "x").unwrap_err().to_string();
        assert!(
            err.contains("api_token_file") && err.contains("empty"),
            "{err}"
        );
        let missing = SecretSource::File(dir.path().join("nope"));
        let err = missing.read("api_token", "x").unwrap_err().to_string();
        assert!(
            err.contains("nope") && err.contains("does not exist"),
            "{err}"
        );
    }
}
