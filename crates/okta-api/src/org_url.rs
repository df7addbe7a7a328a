//! The org's base URL: what people type (`acme.okta.com`, `https://acme.okta.com/`, a custom
//! domain) normalised to `https://host[:port]`, with the mistakes people make refused early.

use crate::error::{Error, Result};
use std::fmt;
use std::net::IpAddr;
use url::{Host, Url};

/// Okta's own domains, where `<org>-admin.<domain>` is the Admin Console, not the API.
const OKTA_DOMAINS: &[&str] = &[
    "okta.com",
    "oktapreview.com",
    "okta-emea.com",
    "okta-gov.com",
];

/// An Okta org's base URL, e.g. `https://acme.okta.com`. Only the origin is kept.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OrgUrl {
    base: Url,
}

impl OrgUrl {
    /// Accepts `acme.okta.com`, `https://acme.okta.com/`, custom domains and, for tests and
    /// local emulators, `http://` on loopback hosts (127.0.0.0/8, `localhost`, `::1`).
    pub fn parse(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        let refuse = |reason: String| Error::InvalidOrgUrl {
            input: without_userinfo(input),
            reason,
        };
        if trimmed.is_empty() {
            return Err(refuse(
                "it is empty; give the org URL, e.g. https://acme.okta.com".into(),
            ));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_string()
        } else {
            format!("https://{trimmed}")
        };
        let url = Url::parse(&with_scheme)
            .map_err(|e| refuse(format!("{e}; give it like https://acme.okta.com")))?;
        let host = url
            .host()
            .ok_or_else(|| refuse("it has no host; give it like https://acme.okta.com".into()))?
            .to_owned();
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse(
                "it contains a user name or password; give only https://host and pass the \
                 credentials separately"
                    .into(),
            ));
        }
        let host_str = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if let Host::Domain(domain) = &host
            && let Some(fixed) = admin_console_fix(&domain.to_ascii_lowercase())
        {
            return Err(refuse(format!(
                "{host_str} is the Admin Console, not the API; use https://{fixed}"
            )));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(refuse(format!(
                    "plain http is only allowed for loopback hosts; use https://{host_str}"
                )));
            }
            other => {
                return Err(refuse(format!(
                    "scheme {other:?} is not http(s); use https://{host_str}"
                )));
            }
        }
        let mut base = url.clone();
        base.set_path("/");
        base.set_query(None);
        base.set_fragment(None);
        if (url.path() != "/" && !url.path().is_empty()) || url.query().is_some() {
            let origin = base.as_str().trim_end_matches('/').to_string();
            return Err(refuse(format!(
                "it has a path or query; use the org's base URL only: {origin}"
            )));
        }
        Ok(Self { base })
    }

    /// The base URL, ending in `/`.
    pub fn as_url(&self) -> &Url {
        &self.base
    }

    /// `scheme://host[:port]`, no trailing slash.
    pub fn origin(&self) -> String {
        self.base.origin().ascii_serialization()
    }

    /// Whether `url` is on this org's origin (scheme, host and port all equal).
    pub fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
    }

    /// An absolute URL for a path such as `/api/v1/users?limit=200`.
    pub fn join(&self, path_and_query: &str) -> Result<Url> {
        let url = self.base.join(path_and_query).map_err(|e| {
            Error::InvalidConfig(format!("cannot build a URL from {path_and_query:?}: {e}"))
        })?;
        if !self.same_origin(&url) {
            return Err(Error::ForeignNextLink {
                link_origin: url.origin().ascii_serialization(),
                org_origin: self.origin(),
            });
        }
        Ok(url)
    }
}

impl fmt::Display for OrgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin())
    }
}

impl fmt::Debug for OrgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgUrl({})", self.origin())
    }
}

impl std::str::FromStr for OrgUrl {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// The input as errors may show it: anything before an `@` (a user name and password, which an
/// Okta org URL never carries) replaced by `***`. Everything up to the last `@` goes, since a
/// password may itself hold `/`, `?`, `#` or `@`.
fn without_userinfo(input: &str) -> String {
    let Some(at) = input.rfind('@') else {
        return input.to_string();
    };
    let start = input.find("://").map_or(0, |i| i + 3).min(at);
    format!("{}***{}", &input[..start], &input[at..])
}

/// `acme-admin.okta.com` → `Some("acme.okta.com")`.
fn admin_console_fix(domain: &str) -> Option<String> {
    let (first, rest) = domain.split_once('.')?;
    let org = first.strip_suffix("-admin")?;
    if org.is_empty() || !OKTA_DOMAINS.contains(&rest) {
        return None;
    }
    Some(format!("{org}.{rest}"))
}

fn is_loopback(host: &Host<String>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_forms() {
        for input in [
            "acme.okta.com",
            "https://acme.okta.com/",
            " https://acme.okta.com ",
            "ACME.okta.com",
        ] {
            assert_eq!(
                OrgUrl::parse(input).unwrap().to_string(),
                "https://acme.okta.com",
                "{input}"
            );
        }
        assert_eq!(
            OrgUrl::parse("login.example.org").unwrap().to_string(),
            "https://login.example.org"
        );
        assert_eq!(
            OrgUrl::parse("https://sso.example.org:8443")
                .unwrap()
                .to_string(),
            "https://sso.example.org:8443"
        );
        assert_eq!(
            OrgUrl::parse("http://127.0.0.1:8080").unwrap().to_string(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            OrgUrl::parse("http://127.1.2.3:1").unwrap().to_string(),
            "http://127.1.2.3:1"
        );
        assert_eq!(
            OrgUrl::parse("http://localhost:9").unwrap().to_string(),
            "http://localhost:9"
        );
        assert_eq!(
            OrgUrl::parse("http://[::1]:9").unwrap().to_string(),
            "http://[::1]:9"
        );
    }

    #[test]
    fn refuses_admin_console_naming_the_right_url() {
        let err = OrgUrl::parse("acme-admin.okta.com")
            .unwrap_err()
            .to_string();
        assert!(err.contains("use https://acme.okta.com"), "{err}");
        let err = OrgUrl::parse("https://acme-admin.oktapreview.com/admin/dashboard")
            .unwrap_err()
            .to_string();
        assert!(err.contains("use https://acme.oktapreview.com"), "{err}");
        // a custom domain that merely ends in -admin is someone's own naming
        assert!(OrgUrl::parse("corp-admin.example.com").is_ok());
    }

    #[test]
    fn refuses_plain_http_except_loopback_and_other_mistakes() {
        let err = OrgUrl::parse("http://acme.okta.com")
            .unwrap_err()
            .to_string();
        assert!(err.contains("use https://acme.okta.com"), "{err}");
        assert!(OrgUrl::parse("http://10.0.0.1").is_err());
        assert!(OrgUrl::parse("ftp://acme.okta.com").is_err());
        assert!(OrgUrl::parse("").is_err());
        assert!(OrgUrl::parse("https://user:pw@acme.okta.com").is_err());
        let err = OrgUrl::parse("https://acme.okta.com/app/UserHome")
            .unwrap_err()
            .to_string();
        assert!(err.contains("https://acme.okta.com"), "{err}");
    }

    #[test]
    fn user_info_is_refused_and_never_echoed() {
        for input in [
            "https://admin:hunter2@acme.okta.com",
            "admin:hunter2@acme.okta.com",
            "https://admin:hunter2@acme-admin.okta.com/admin",
            "https://admin:hun ter2@acme.okta.com",
            "https://admin:hu/nt?er#2@acme.okta.com",
            "ftp://admin:hunter2@acme.okta.com",
        ] {
            let err = OrgUrl::parse(input).unwrap_err();
            let (text, debug) = (err.to_string(), format!("{err:?}"));
            for shown in [&text, &debug] {
                assert!(
                    !shown.contains("hunter2")
                        && !shown.contains("ter2")
                        && !shown.contains("admin:"),
                    "{input}: {shown}"
                );
            }
            assert!(text.contains("***@"), "{text}");
        }
        let err = OrgUrl::parse("https://admin:hunter2@acme.okta.com")
            .unwrap_err()
            .to_string();
        assert!(err.contains("user name or password"), "{err}");
        assert_eq!(without_userinfo("acme.okta.com"), "acme.okta.com");
    }

    #[test]
    fn join_stays_on_origin() {
        let org = OrgUrl::parse("acme.okta.com").unwrap();
        assert_eq!(
            org.join("/api/v1/users?limit=200").unwrap().as_str(),
            "https://acme.okta.com/api/v1/users?limit=200"
        );
        assert!(matches!(
            org.join("https://evil.example/api"),
            Err(Error::ForeignNextLink { .. })
        ));
        assert!(matches!(
            org.join("//evil.example/api"),
            Err(Error::ForeignNextLink { .. })
        ));
    }
}
