//! Exact web origins, as a browser sends them in the `Origin` header: `scheme://host[:port]`, lowercase,
//! no default port, no path, query, fragment or credentials. Anything else could never match a real
//! `Origin` header, so it is refused instead of silently never working.

use std::net::{Ipv4Addr, Ipv6Addr};

const MAX_LEN: usize = 300;
const SHAPE: &str = "must be an origin such as https://example.com (scheme and host, no path)";

/// Checks one allowed origin; the error says what is wrong without echoing the value.
pub(super) fn check(origin: &str) -> Result<(), &'static str> {
    if origin.len() > MAX_LEN {
        return Err("must be at most 300 characters long");
    }
    let Some((scheme, authority)) = origin.split_once("://") else {
        return Err(SHAPE);
    };
    if authority.is_empty() {
        return Err(SHAPE);
    }
    if authority.contains(['/', '?', '#']) {
        return Err("must not contain a path, query or fragment (not even a trailing slash)");
    }
    if authority.contains(['@', '\\']) || authority.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(SHAPE);
    }
    let (host, port) = split_host_port(authority)?;
    let default_port = match scheme {
        "https" => 443,
        "http" if is_loopback(host) => 80,
        "http" => return Err("must use https (http is allowed only for localhost)"),
        _ => return Err("must use the https scheme (or http for localhost)"),
    };
    if port == Some(default_port) {
        return Err("must not name the scheme's default port");
    }
    check_host(host)
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if authority.starts_with('[') {
        // IPv6 literal: `[addr]` or `[addr]:port`
        let end = authority.find(']').ok_or(SHAPE)?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':').ok_or(SHAPE)?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(text) => Some(parse_port(text)?),
    };
    Ok((host, port))
}

fn parse_port(text: &str) -> Result<u16, &'static str> {
    const BAD_PORT: &str = "must have a port between 1 and 65535, without leading zeros";
    if text.is_empty() || text.len() > 5 || text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD_PORT);
    }
    text.parse::<u16>().map_err(|_| BAD_PORT)
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

fn check_host(host: &str) -> Result<(), &'static str> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let addr: Ipv6Addr = inner.parse().map_err(|_| "must have a valid IPv6 address in brackets")?;
        // browsers serialise IPv6 hosts in their canonical compressed, lowercase form
        return if addr.to_string() == inner { Ok(()) } else { Err("must write the IPv6 address in canonical form") };
    }
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("must be lowercase (browsers send the host in lowercase)");
    }
    if host.len() > 253 || host.ends_with('.') {
        return Err("must have a valid host name");
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host.parse::<Ipv4Addr>().map(drop).map_err(|_| "must have a valid IPv4 address");
    }
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if host.split('.').all(label_ok) {
        Ok(())
    } else {
        Err("must have a valid host name (punycode for non-ASCII names)")
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_exact_origins() {
        for ok in [
            "https://example.com",
            "https://shop.example.co.uk",
            "https://example.com:8443",
            "https://xn--bcher-kva.example",
            "https://203.0.113.7",
            "http://localhost",
            "http://localhost:3000",
            "http://127.0.0.1:5173",
            "http://[::1]:8080",
            "https://[2001:db8::1]",
            "https://a-b.example",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_what_no_browser_sends() {
        for bad in [
            "",
            "example.com",
            "https://",
            "https://example.com/",
            "https://example.com/path",
            "https://example.com?q=1",
            "https://example.com#top",
            "https://user@example.com",
            "https://Example.com",
            "HTTPS://example.com",
            "http://example.com",
            "http://localhost.example.com",
            "ftp://example.com",
            "javascript://example.com",
            "https://example.com:443",
            "http://localhost:80",
            "https://example.com:0",
            "https://example.com:65536",
            "https://example.com:08443",
            "https://example.com:",
            "https://example.com.",
            "https://-example.com",
            "https://exa mple.com",
            "https://bücher.example",
            "https://*.example.com",
            "https://a..b",
            "https://999.1.1.1",
            "https://[::1",
            "https://[2001:DB8::1]",
            "https://[not-v6]",
            "https://[::1]x",
        ] {
            assert!(check(bad).is_err(), "{bad} accepted");
        }
        assert!(check(&format!("https://{}.com", "a".repeat(300))).is_err());
        assert!(check(&format!("https://{}.com", "a".repeat(64))).is_err(), "label over 63");
    }
}
