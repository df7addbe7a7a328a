//! Where sign-ins come from: cities, the networks that serve them, browsers, and each user's
//! persona (home, office, devices), derived from the org apart from every other draw.
//!
//! A persona depends only on the org id, the user id and the user's profile city, so that the
//! same user signs in from the same place and browsers in activity and attack scenarios alike,
//! and computing one draws nothing from the org's generator.

use crate::model::{Agent, Asn, Client, Geo, Id, Org, User};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

const fn geo(
    city: &'static str,
    state: &'static str,
    country: &'static str,
    postal_code: &'static str,
    lat: f64,
    lon: f64,
) -> Geo {
    Geo {
        city,
        state,
        country,
        postal_code,
        lat,
        lon,
    }
}

const fn asn(number: u32, org: &'static str, isp: &'static str, domain: &'static str) -> Asn {
    Asn {
        number,
        org,
        isp,
        domain,
    }
}

/// An office city (the generator's profile cities), its residential network and the first
/// octet of that network's addresses.
pub struct City {
    pub profile_city: &'static str,
    pub geo: Geo,
    pub isp: Asn,
    pub isp_octet: u8,
}

pub const CITIES: &[City] = &[
    City {
        profile_city: "San Francisco",
        geo: geo(
            "San Francisco",
            "California",
            "United States",
            "94105",
            37.7852,
            -122.3874,
        ),
        isp: asn(
            7922,
            "comcast cable communications, llc",
            "comcast cable",
            "comcast.net",
        ),
        isp_octet: 73,
    },
    City {
        profile_city: "New York",
        geo: geo(
            "New York",
            "New York",
            "United States",
            "10001",
            40.7506,
            -73.9972,
        ),
        isp: asn(701, "verizon business", "verizon", "verizon.net"),
        isp_octet: 71,
    },
    City {
        profile_city: "London",
        geo: geo(
            "London",
            "England",
            "United Kingdom",
            "EC2A",
            51.5226,
            -0.0823,
        ),
        isp: asn(2856, "british telecommunications plc", "bt", "bt.com"),
        isp_octet: 86,
    },
    City {
        profile_city: "Berlin",
        geo: geo(
            "Berlin",
            "Land Berlin",
            "Germany",
            "10115",
            52.5321,
            13.3849,
        ),
        isp: asn(
            3320,
            "deutsche telekom ag",
            "deutsche telekom ag",
            "t-ipconnect.de",
        ),
        isp_octet: 79,
    },
    City {
        profile_city: "Tokyo",
        geo: geo("Tokyo", "Tokyo", "Japan", "100-0005", 35.6812, 139.7671),
        isp: asn(
            4713,
            "ntt communications corporation",
            "ntt ocn",
            "ocn.ne.jp",
        ),
        isp_octet: 153,
    },
    City {
        profile_city: "São Paulo",
        geo: geo(
            "Sao Paulo",
            "Sao Paulo",
            "Brazil",
            "01310-100",
            -23.5614,
            -46.6559,
        ),
        isp: asn(
            28573,
            "claro nxt telecomunicacoes ltda",
            "claro s.a.",
            "claro.com.br",
        ),
        isp_octet: 177,
    },
    City {
        profile_city: "Bengaluru",
        geo: geo(
            "Bengaluru",
            "Karnataka",
            "India",
            "560001",
            12.9716,
            77.5946,
        ),
        isp: asn(24560, "bharti airtel ltd.", "bharti airtel", "airtel.in"),
        isp_octet: 122,
    },
    City {
        profile_city: "Zürich",
        geo: geo("Zurich", "Zurich", "Switzerland", "8001", 47.3769, 8.5417),
        isp: asn(3303, "swisscom (schweiz) ag", "swisscom", "swisscom.ch"),
        isp_octet: 85,
    },
    City {
        profile_city: "Montréal",
        geo: geo("Montreal", "Quebec", "Canada", "H3B", 45.5019, -73.5674),
        isp: asn(577, "bell canada", "bell canada", "bell.ca"),
        isp_octet: 70,
    },
    City {
        profile_city: "Sydney",
        geo: geo(
            "Sydney",
            "New South Wales",
            "Australia",
            "2000",
            -33.8688,
            151.2093,
        ),
        isp: asn(1221, "telstra corporation ltd", "telstra", "bigpond.net.au"),
        isp_octet: 120,
    },
    // Homes of remote staff.
    City {
        profile_city: "",
        geo: geo(
            "Austin",
            "Texas",
            "United States",
            "78723",
            30.3023,
            -97.6914,
        ),
        isp: asn(7018, "at&t corp.", "att services inc", "sbcglobal.net"),
        isp_octet: 99,
    },
    City {
        profile_city: "",
        geo: geo(
            "Seattle",
            "Washington",
            "United States",
            "98101",
            47.6101,
            -122.3344,
        ),
        isp: asn(
            7922,
            "comcast cable communications, llc",
            "comcast cable",
            "comcast.net",
        ),
        isp_octet: 98,
    },
    City {
        profile_city: "",
        geo: geo(
            "Chicago",
            "Illinois",
            "United States",
            "60601",
            41.8864,
            -87.6186,
        ),
        isp: asn(7018, "at&t corp.", "att services inc", "sbcglobal.net"),
        isp_octet: 107,
    },
];

/// The offices' upstream: every office egress address is on it.
pub const OFFICE_NETWORK: Asn = asn(6461, "zayo bandwidth", "zayo bandwidth", "zayo.com");
/// Office egress addresses per office city, shared by everyone working there.
pub const OFFICE_IPS_PER_CITY: usize = 3;

/// Exits of a commercial VPN (anonymising proxies): `securityContext.isProxy` is true.
pub const VPN_NETWORK: Asn = asn(9009, "m247 europe srl", "m247 ltd", "m247.com");
pub const VPN_EXITS: &[(Geo, [u8; 2])] = &[
    (
        geo(
            "Stockholm",
            "Stockholm",
            "Sweden",
            "111 20",
            59.3293,
            18.0686,
        ),
        [45, 83],
    ),
    (
        geo(
            "Amsterdam",
            "North Holland",
            "Netherlands",
            "1012",
            52.3740,
            4.8897,
        ),
        [37, 120],
    ),
];

pub const CHROME_MAC: Agent = Agent {
    raw: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    os: "Mac OS X",
    browser: "CHROME",
    device: "Computer",
};

/// Browsers and devices people sign in with.
pub const AGENTS: &[Agent] = &[
    CHROME_MAC,
    Agent {
        raw: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        os: "Mac OS X",
        browser: "SAFARI",
        device: "Computer",
    },
    Agent {
        raw: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
        os: "Windows 10",
        browser: "CHROME",
        device: "Computer",
    },
    Agent {
        raw: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
        os: "Windows 10",
        browser: "EDGE",
        device: "Computer",
    },
    Agent {
        raw: "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
        os: "Linux",
        browser: "FIREFOX",
        device: "Computer",
    },
    Agent {
        raw: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        os: "iOS",
        browser: "SAFARI",
        device: "Mobile",
    },
    Agent {
        raw: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
        os: "Android",
        browser: "CHROME",
        device: "Mobile",
    },
];

/// A script replaying stolen cookies or spraying passwords.
pub const PYTHON_REQUESTS: Agent = Agent {
    raw: "python-requests/2.31.0",
    os: "Unknown",
    browser: "UNKNOWN",
    device: "Unknown",
};

/// One browser of a user: its device token hash never changes and it is always the same
/// OS and browser.
#[derive(Debug, Clone)]
pub struct Device {
    pub agent: &'static Agent,
    pub dt_hash: String,
}

/// A network location: address, place and network.
#[derive(Debug, Clone)]
pub struct Location {
    pub ip: String,
    pub geo: &'static Geo,
    pub asn: &'static Asn,
    pub is_proxy: bool,
}

impl Location {
    /// The client a device at this location is.
    pub fn client(&self, device: Option<&Device>, agent: &'static Agent) -> Arc<Client> {
        Arc::new(Client {
            ip: self.ip.clone(),
            geo: self.geo,
            asn: self.asn,
            is_proxy: self.is_proxy,
            agent: device.map_or(agent, |d| d.agent),
            dt_hash: device.map(|d| d.dt_hash.clone()),
        })
    }
}

/// How one user signs in.
#[derive(Debug, Clone)]
pub struct Persona {
    pub home: Location,
    /// The office egress of the user's office city (`None` for remote staff).
    pub office: Option<Location>,
    /// An anonymising VPN every sign-in goes through (about 1% of users).
    pub vpn: Option<Location>,
    /// Where a traveller (about 1% of users) is on the days they are abroad.
    pub abroad: Option<Location>,
    /// One or two browsers.
    pub devices: Vec<Device>,
}

/// Mixed into the org's persona seed.
const PERSONA_SALT: u64 = 0x0070_6572_736f_6e61;

/// FNV-1a: a stable hash of ids (std's hasher is randomly keyed).
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The seed of every draw about `user` in `org` that must not touch the org's generator.
pub fn user_seed(org: &Org, user: &Id, salt: u64) -> u64 {
    stable_hash(org.org_id.as_str().as_bytes()) ^ stable_hash(user.as_str().as_bytes()) ^ salt
}

/// `n` lower-case hex digits.
pub fn hex(rng: &mut impl Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

/// An Okta session id (`102…`, 25 characters).
pub fn session_id(rng: &mut impl Rng) -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut s = String::from("102");
    for _ in 0..22 {
        s.push(char::from(ALNUM[rng.random_range(0..ALNUM.len())]));
    }
    s
}

/// An address on `first.second.x.y`.
pub fn address(rng: &mut impl Rng, first: u8, second: u8) -> String {
    format!(
        "{first}.{second}.{}.{}",
        rng.random_range(0..=255u8),
        rng.random_range(1..=254u8)
    )
}

/// The first three octets of an office's egress addresses (`64.{20 + city}.10`).
fn office_prefix(city_index: usize) -> String {
    format!("64.{}.10", 20 + city_index)
}

/// Every office's egress network in CIDR form, in [`CITIES`] order (the cities with an
/// office, those staff profiles name): the gateways of the generated "Corporate offices"
/// network zone.
pub fn office_cidrs() -> Vec<String> {
    CITIES
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.profile_city.is_empty())
        .map(|(i, _)| format!("{}.0/24", office_prefix(i)))
        .collect()
}

fn office_location(city_index: usize, k: usize) -> Location {
    let city = &CITIES[city_index];
    Location {
        ip: format!("{}.{}", office_prefix(city_index), 10 + k),
        geo: &city.geo,
        asn: &OFFICE_NETWORK,
        is_proxy: false,
    }
}

fn home_location(rng: &mut ChaCha8Rng, city: &'static City) -> Location {
    let second = rng.random_range(1..=254);
    Location {
        ip: address(rng, city.isp_octet, second),
        geo: &city.geo,
        asn: &city.isp,
        is_proxy: false,
    }
}

/// The persona of `user`: deterministic in the org and the user, drawing from its own
/// generator.
pub fn persona(org: &Org, user: &User) -> Persona {
    let mut rng = ChaCha8Rng::seed_from_u64(user_seed(org, &user.id, PERSONA_SALT));
    let city_name = user
        .profile
        .get("city")
        .and_then(|c| c.as_str())
        .unwrap_or("");
    let office_city = CITIES
        .iter()
        .position(|c| !c.profile_city.is_empty() && c.profile_city == city_name);
    let home_city = match office_city {
        Some(i) => &CITIES[i],
        None => &CITIES[rng.random_range(0..CITIES.len())],
    };
    let home = home_location(&mut rng, home_city);
    let office = office_city.map(|i| office_location(i, rng.random_range(0..OFFICE_IPS_PER_CITY)));
    let device_count = if rng.random_bool(0.4) { 2 } else { 1 };
    let devices = (0..device_count)
        .map(|_| Device {
            agent: AGENTS.choose(&mut rng).unwrap_or(&CHROME_MAC),
            dt_hash: hex(&mut rng, 64),
        })
        .collect();
    let vpn = rng.random_bool(0.01).then(|| {
        let (geo, [a, b]) = &VPN_EXITS[rng.random_range(0..VPN_EXITS.len())];
        Location {
            ip: format!(
                "{a}.{b}.{}.{}",
                rng.random_range(0..=255u8),
                rng.random_range(1..=254u8)
            ),
            geo,
            asn: &VPN_NETWORK,
            is_proxy: true,
        }
    });
    let abroad = rng.random_bool(0.01).then(|| {
        let others: Vec<&'static City> = CITIES
            .iter()
            .filter(|c| c.geo.country != home_city.geo.country)
            .collect();
        let city = others.choose(&mut rng).copied().unwrap_or(&CITIES[0]);
        home_location(&mut rng, city)
    });
    Persona {
        home,
        office,
        vpn,
        abroad,
        devices,
    }
}
