//! Fixed tables the generator draws from (names, departments, countries,
//! partners), and small helpers to draw ids.

use rand::{Rng, RngExt};

/// Okta groups besides the `team-*` ones: Everyone, Employees, Contractors,
/// O365Guest, Break Glass Admins, VPN Users.
pub const FIXED_OKTA_GROUPS: usize = 6;

/// A department: its weight, its Microsoft 365 group and add-on licences.
#[derive(Debug)]
pub struct Department {
    /// As Okta spells it.
    pub name: &'static str,
    /// Relative size.
    pub weight: u32,
    /// Mail nickname of its group.
    pub group: &'static str,
    /// Display name of its group.
    pub group_display: &'static str,
    /// Add-on SKUs (part numbers) on top of the base licence.
    pub addons: &'static [&'static str],
    /// Titles with their relative frequency.
    pub titles: &'static [(&'static str, u32)],
}

/// The departments; Engineering's group is a Team.
pub static DEPARTMENTS: [Department; 7] = [
    Department {
        name: "Engineering",
        weight: 35,
        group: "engineering",
        group_display: "Engineering",
        addons: &[],
        titles: &[
            ("Software Engineer", 40),
            ("Senior Software Engineer", 30),
            ("Staff Engineer", 6),
            ("Senior Staff Engineer", 2),
            ("Engineering Manager", 6),
            ("QA Engineer", 8),
            ("Site Reliability Engineer", 8),
        ],
    },
    Department {
        name: "Sales",
        weight: 20,
        group: "sales",
        group_display: "Sales",
        addons: &[],
        titles: &[
            ("Account Executive", 50),
            ("Sales Development Representative", 30),
            ("Sales Manager", 10),
            ("Solutions Engineer", 10),
        ],
    },
    Department {
        name: "Support",
        weight: 15,
        group: "support",
        group_display: "Support",
        addons: &[],
        titles: &[
            ("Support Engineer", 60),
            ("Senior Support Engineer", 30),
            ("Support Manager", 10),
        ],
    },
    Department {
        name: "Marketing",
        weight: 10,
        group: "marketing",
        group_display: "Marketing",
        addons: &["POWER_BI_PRO"],
        titles: &[
            ("Marketing Specialist", 50),
            ("Content Strategist", 20),
            ("Marketing Manager", 15),
            ("Product Marketing Manager", 15),
        ],
    },
    Department {
        name: "Finance",
        weight: 8,
        group: "finance",
        group_display: "Finance",
        addons: &["POWER_BI_PRO"],
        titles: &[
            ("Financial Analyst", 50),
            ("Accountant", 30),
            ("Finance Manager", 12),
            ("Financial Controller", 8),
        ],
    },
    Department {
        name: "Human Resources",
        weight: 5,
        group: "people-team",
        group_display: "People Team",
        addons: &[],
        titles: &[
            ("People Partner", 50),
            ("Recruiter", 40),
            ("Head of People", 10),
        ],
    },
    Department {
        name: "Operations",
        weight: 7,
        group: "operations",
        group_display: "Operations",
        addons: &[],
        titles: &[
            ("Operations Analyst", 60),
            ("Office Manager", 20),
            ("IT Administrator", 20),
        ],
    },
];

/// A country: its Okta `countryCode` (also the usage location), weight, cities.
#[derive(Debug)]
pub struct Country {
    /// ISO 3166 alpha-2.
    pub code: &'static str,
    /// English name.
    pub name: &'static str,
    /// Relative size.
    pub weight: u32,
    /// Office cities.
    pub cities: &'static [&'static str],
    /// Phone prefix.
    pub phone: &'static str,
    /// `preferredLanguage`.
    pub language: &'static str,
    /// Okta `timezone`.
    pub timezone: &'static str,
}

/// The countries; each has a staff group `staff-<code>`.
pub static COUNTRIES: [Country; 9] = [
    Country {
        code: "US",
        name: "United States",
        weight: 40,
        cities: &["New York", "San Francisco", "Austin", "Seattle", "Chicago"],
        phone: "+1",
        language: "en-US",
        timezone: "America/New_York",
    },
    Country {
        code: "GB",
        name: "United Kingdom",
        weight: 12,
        cities: &["London", "Manchester", "Edinburgh"],
        phone: "+44",
        language: "en-GB",
        timezone: "Europe/London",
    },
    Country {
        code: "DE",
        name: "Germany",
        weight: 10,
        cities: &["Berlin", "München", "Hamburg"],
        phone: "+49",
        language: "de-DE",
        timezone: "Europe/Berlin",
    },
    Country {
        code: "FR",
        name: "France",
        weight: 7,
        cities: &["Paris", "Lyon"],
        phone: "+33",
        language: "fr-FR",
        timezone: "Europe/Paris",
    },
    Country {
        code: "IN",
        name: "India",
        weight: 12,
        cities: &["Bengaluru", "Pune", "Hyderabad"],
        phone: "+91",
        language: "en-IN",
        timezone: "Asia/Kolkata",
    },
    Country {
        code: "CA",
        name: "Canada",
        weight: 6,
        cities: &["Toronto", "Vancouver", "Montréal"],
        phone: "+1",
        language: "en-CA",
        timezone: "America/Toronto",
    },
    Country {
        code: "AU",
        name: "Australia",
        weight: 5,
        cities: &["Sydney", "Melbourne"],
        phone: "+61",
        language: "en-AU",
        timezone: "Australia/Sydney",
    },
    Country {
        code: "JP",
        name: "Japan",
        weight: 4,
        cities: &["Tokyo", "Osaka"],
        phone: "+81",
        language: "ja-JP",
        timezone: "Asia/Tokyo",
    },
    Country {
        code: "BR",
        name: "Brazil",
        weight: 4,
        cities: &["São Paulo", "Rio de Janeiro"],
        phone: "+55",
        language: "pt-BR",
        timezone: "America/Sao_Paulo",
    },
];

/// Given names (a few with accents and apostrophes, as real directories have).
pub const FIRST_NAMES: [&str; 48] = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Levi", "Harper", "Ethan", "Evelyn", "James", "Aarav", "Priya",
    "Ananya", "Rohan", "Yuki", "Haruto", "Sakura", "Hiroshi", "Léa", "Chloé", "Théo", "Zoé",
    "Jürgen", "Anna", "Lukas", "Greta", "Fatima", "Omar", "Aisha", "Kwame", "Amara", "Chen", "Wei",
    "Mei", "João", "Ana", "Gabriel", "Sofia", "Connor", "Siobhan",
];

/// Family names.
pub const LAST_NAMES: [&str; 48] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Martinez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Lee",
    "Clark",
    "Patel",
    "Sharma",
    "Iyer",
    "Rao",
    "Tanaka",
    "Suzuki",
    "Sato",
    "Dubois",
    "Lefèvre",
    "Moreau",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Hassan",
    "Ali",
    "Okafor",
    "Mensah",
    "Wang",
    "Zhang",
    "Li",
    "Silva",
    "Santos",
    "Oliveira",
    "Costa",
    "O'Connor",
    "Murphy",
    "Kelly",
    "Nguyen",
];

/// Partner organisations of guests.
pub const PARTNERS: [&str; 6] = [
    "Northwind Traders",
    "Fabrikam",
    "Tailspin Toys",
    "Contoso Consulting",
    "Litware",
    "Woodgrove Bank",
];

/// The mail domain of a partner (`northwind.example`).
pub fn partner_domain(org: &str) -> String {
    let first = org.split(' ').next().unwrap_or(org);
    format!("{}.example", first.to_lowercase())
}

/// A name as it appears in a login: lowercase ASCII, accents folded, no apostrophes.
pub fn ascii_handle(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'á' | 'à' | 'â' | 'ã' => Some('a'),
            'é' | 'è' | 'ê' => Some('e'),
            'í' => Some('i'),
            'ó' | 'ô' | 'õ' | 'ö' => Some('o'),
            'ú' | 'ü' => Some('u'),
            'ç' => Some('c'),
            '\'' => None,
            c => Some(c.to_ascii_lowercase()),
        })
        .collect()
}

/// Picks an index with probability proportional to its weight.
pub fn weighted(rng: &mut impl Rng, weights: impl Iterator<Item = u32> + Clone) -> usize {
    let total: u32 = weights.clone().sum();
    let mut pick = rng.random_range(0..total);
    for (i, w) in weights.enumerate() {
        if pick < w {
            return i;
        }
        pick -= w;
    }
    unreachable!("the pick is below the total")
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// An Okta-shaped id: `00` + `kind` (`u` user, `g` group) + 13 random characters + `4x7`.
pub fn okta_id(rng: &mut impl Rng, kind: char) -> String {
    let mut id = String::with_capacity(20);
    id.push_str("00");
    id.push(kind);
    for _ in 0..14 {
        id.push(BASE62[rng.random_range(0..BASE62.len())] as char);
    }
    id.push_str("4x7");
    id
}

/// A random (version 4) GUID, as Entra object ids look.
pub fn guid(rng: &mut impl Rng) -> String {
    let a: u128 = rng.random();
    let a = (a & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{a:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
