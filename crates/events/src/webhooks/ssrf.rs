//! The SSRF guard for tenant webhook URLs. A tenant chooses the URL, the platform makes the request: without
//! a guard, a webhook pointed at `http://169.254.169.254/` (cloud metadata), `http://10.0.0.5/admin` or
//! `http://localhost:5432/` would make the platform probe its own network on the tenant's behalf.
//!
//! [`check_destination`] resolves the host and refuses the URL if **any** address is not public (see
//! [`classify`]), unless the operator exempted the host or the address (`webhooks.allow_private_hosts`,
//! [`Allowlist`]). The delivery then connects only to the addresses checked here (reqwest's
//! `resolve_to_addrs`), so a DNS answer that changes between the check and the connection (DNS rebinding)
//! cannot redirect it.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

/// Longest webhook URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// Time allowed to resolve a host name.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Hosts and addresses the operator exempts from the guard (`webhooks.allow_private_hosts`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    hosts: BTreeSet<String>,
    addrs: BTreeSet<IpAddr>,
}

impl Allowlist {
    /// Host names (matched, case-insensitively, as written in the URL) and IP addresses (matching a literal
    /// address in the URL or any address a host resolves to; IPv6 may be bracketed).
    pub fn new<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> Self {
        let mut list = Self::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            let bare = entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')).unwrap_or(entry);
            match bare.parse::<IpAddr>() {
                Ok(ip) => {
                    list.addrs.insert(canonical(ip));
                }
                Err(_) if !entry.is_empty() => {
                    list.hosts.insert(entry.trim_end_matches('.').to_ascii_lowercase());
                }
                Err(_) => {}
            }
        }
        list
    }

    fn permits_host(&self, host: &str) -> bool {
        self.hosts.contains(&host.trim_end_matches('.').to_ascii_lowercase())
    }

    fn permits_addr(&self, ip: IpAddr) -> bool {
        self.addrs.contains(&canonical(ip))
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) as the IPv4 address they stand for.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Why a webhook destination was refused. The messages are shown to the tenant: they never include the
/// addresses a name resolved to (that would turn the check into a probe of internal DNS).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    /// Not `http` or `https`.
    #[error("only http and https URLs are allowed")]
    Scheme,
    /// The URL has no host (or no port can be derived).
    #[error("the URL has no host")]
    NoHost,
    /// The host name did not resolve (in time, or at all).
    #[error("the host name could not be resolved")]
    Unresolved,
    /// The host is, or resolves to, an address that is not public.
    #[error("the host resolves to a {kind} address, which webhooks may not reach")]
    Forbidden {
        /// The kind of address, e.g. `private` or `link-local`.
        kind: &'static str,
    },
}

/// Why a URL is not acceptable as a webhook URL (before any resolution).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Longer than [`MAX_URL_LEN`].
    #[error("must be at most 2048 characters")]
    TooLong,
    /// Not an absolute URL.
    #[error("must be an absolute http or https URL")]
    Invalid,
    /// Not `http` or `https`.
    #[error("must use http or https")]
    Scheme,
    /// Has a user name or password.
    #[error("must not contain credentials")]
    Credentials,
    /// Has no host.
    #[error("must have a host")]
    NoHost,
}

/// Parses a webhook URL: absolute, `http` or `https`, at most [`MAX_URL_LEN`] characters, a host and no
/// credentials. Returns it normalised (lower-case scheme and host, a path of at least `/`).
pub fn parse_url(text: &str) -> Result<Url, UrlError> {
    if text.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong);
    }
    let url = Url::parse(text.trim()).map_err(|_| UrlError::Invalid)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    if url.host().is_none() {
        return Err(UrlError::NoHost);
    }
    if url.as_str().len() > MAX_URL_LEN {
        return Err(UrlError::TooLong);
    }
    Ok(url)
}

/// The kind of a non-public address, `None` for a public one. Refused: unspecified (`0.0.0.0/8`, `::`),
/// loopback (`127/8`, `::1`), private (`10/8`, `172.16/12`, `192.168/16`, `fc00::/7`, `fec0::/10`),
/// link-local (`169.254/16` including the metadata address `169.254.169.254`, `fe80::/10`), carrier-grade
/// NAT (`100.64/10`), multicast (`224/4`, `ff00::/8`), broadcast, other reserved ranges (`240/4`,
/// `192.0.0/24`, IPv4-compatible and discard-only IPv6), and IPv4-mapped (`::ffff:0:0/96`) or NAT64
/// (`64:ff9b::/96`) IPv6 forms of any of these.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if a == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..=127).contains(&b) {
        Some("carrier-grade NAT")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if a >= 240 || (a, b, c) == (192, 0, 0) {
        Some("reserved")
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded_v4(segments));
    }
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if segments[..6] == [0; 6] || segments[..4] == [0x100, 0, 0, 0] {
        // IPv4-compatible (deprecated) and discard-only (`100::/64`)
        Some("reserved")
    } else if segments[0] & 0xfe00 == 0xfc00 || segments[0] & 0xffc0 == 0xfec0 {
        Some("private")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else {
        None
    }
}

fn embedded_v4(segments: [u16; 8]) -> Ipv4Addr {
    let [hi, lo] = [segments[6], segments[7]];
    Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))
}

/// Resolves `url`'s host and returns the addresses to connect to, or refuses the URL: not http(s), no host,
/// not resolvable, or any address not public ([`classify`]) unless the host or that address is in `allow`.
/// Connect only to the returned addresses.
pub async fn check_destination(url: &Url, allow: &Allowlist) -> Result<Vec<SocketAddr>, SsrfError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SsrfError::Scheme);
    }
    let port = url.port_or_known_default().ok_or(SsrfError::NoHost)?;
    let (host_allowed, mut addrs) = match url.host().ok_or(SsrfError::NoHost)? {
        Host::Ipv4(ip) => (false, vec![SocketAddr::new(IpAddr::V4(ip), port)]),
        Host::Ipv6(ip) => (false, vec![SocketAddr::new(IpAddr::V6(ip), port)]),
        Host::Domain(name) => {
            let resolved = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, port)))
                .await
                .map_err(|_| SsrfError::Unresolved)?
                .map_err(|_| SsrfError::Unresolved)?;
            (allow.permits_host(name), resolved.collect::<Vec<_>>())
        }
    };
    addrs.sort_unstable();
    addrs.dedup();
    if addrs.is_empty() {
        return Err(SsrfError::Unresolved);
    }
    if !host_allowed {
        for addr in &addrs {
            if let Some(kind) = classify(addr.ip())
                && !allow.permits_addr(addr.ip())
            {
                return Err(SsrfError::Forbidden { kind });
            }
        }
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<&'static str> {
        classify(text.parse().unwrap())
    }

    #[test]
    fn every_non_public_ipv4_range_is_refused() {
        let cases = [
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("127.0.0.1", "loopback"),
            ("127.255.255.254", "loopback"),
            ("10.0.0.1", "private"),
            ("10.255.255.255", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("169.254.0.1", "link-local"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.255", "carrier-grade NAT"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("240.0.0.1", "reserved"),
            ("192.0.0.8", "reserved"),
        ];
        for (ip, expected) in cases {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.1.1",
            "192.169.0.1",
            "203.0.113.10",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }

    #[test]
    fn every_non_public_ipv6_range_is_refused_including_mapped_ipv4() {
        let cases = [
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fc00::1", "private"),
            ("fd12:3456::1", "private"),
            ("fec0::1", "private"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::ffff:100.64.0.1", "carrier-grade NAT"),
            ("::ffff:0.0.0.0", "unspecified"),
            ("::ffff:255.255.255.255", "broadcast"),
            ("64:ff9b::a00:1", "private"),
            ("::10.0.0.1", "reserved"),
            ("::8.8.8.8", "reserved"),
            ("100::1", "reserved"),
        ];
        for (ip, expected) in cases {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert_eq!(parse_url("https://hooks.example.com/in").unwrap().as_str(), "https://hooks.example.com/in");
        assert_eq!(parse_url("HTTP://Example.COM").unwrap().as_str(), "http://example.com/");
        assert_eq!(parse_url("ftp://example.com/"), Err(UrlError::Scheme));
        assert_eq!(parse_url("javascript:alert(1)"), Err(UrlError::Scheme));
        assert_eq!(parse_url("/relative"), Err(UrlError::Invalid));
        assert_eq!(parse_url("https://user:pw@example.com/"), Err(UrlError::Credentials));
        assert_eq!(parse_url("https://user@example.com/"), Err(UrlError::Credentials));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(parse_url(&long), Err(UrlError::TooLong));
    }

    #[tokio::test]
    async fn literal_private_addresses_are_refused_unless_allowlisted() {
        let none = Allowlist::default();
        for (url, expected) in [
            ("http://10.0.0.1/x", "private"),
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            ("http://[::1]:8080/", "loopback"),
            ("http://[::ffff:192.168.0.1]/", "private"),
            ("http://0x7f000001/", "loopback"),
            ("http://2130706433/", "loopback"),
        ] {
            let url = Url::parse(url).unwrap();
            assert_eq!(check_destination(&url, &none).await, Err(SsrfError::Forbidden { kind: expected }), "{url}");
        }
        let public = Url::parse("https://203.0.113.10:8443/hook").unwrap();
        assert_eq!(check_destination(&public, &none).await.unwrap(), vec!["203.0.113.10:8443".parse().unwrap()]);
        let allow = Allowlist::new(["127.0.0.1", "[::1]"]);
        let local = Url::parse("http://127.0.0.1:9/x").unwrap();
        assert_eq!(check_destination(&local, &allow).await.unwrap(), vec!["127.0.0.1:9".parse().unwrap()]);
        assert!(check_destination(&Url::parse("http://[::1]/").unwrap(), &allow).await.is_ok());
        assert!(check_destination(&Url::parse("http://[::ffff:127.0.0.1]/").unwrap(), &allow).await.is_ok());
        assert!(check_destination(&Url::parse("http://127.0.0.2/").unwrap(), &allow).await.is_err());
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused_unless_the_name_is_allowlisted() {
        let url = Url::parse("http://localhost:1/").unwrap();
        assert_eq!(
            check_destination(&url, &Allowlist::default()).await,
            Err(SsrfError::Forbidden { kind: "loopback" })
        );
        let allowed = check_destination(&url, &Allowlist::new(["LOCALHOST"])).await.unwrap();
        assert!(allowed.iter().all(|addr| addr.ip().is_loopback() && addr.port() == 1), "{allowed:?}");
        let nowhere = Url::parse("http://no-such-host.invalid/").unwrap();
        assert_eq!(check_destination(&nowhere, &Allowlist::default()).await, Err(SsrfError::Unresolved));
        let ftp = Url::parse("ftp://203.0.113.10/").unwrap();
        assert_eq!(check_destination(&ftp, &Allowlist::default()).await, Err(SsrfError::Scheme));
    }
}
