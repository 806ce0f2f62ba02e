//! Who is on the other end of the connection: its address, or, behind a reverse proxy Herald is
//! told to trust, the address that proxy forwarded. A forwarded address from anyone else is ignored.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::AppState;
use crate::error::ApiError;

/// The proxies whose `X-Forwarded-For` Herald believes: addresses and networks (`10.0.0.0/8`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR networks.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, bits) = match item.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (item, None),
            };
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| format!("`{item}` is not an IP address or network"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("`{item}`: the prefix length must be 0 to {max}"))?,
            };
            nets.push((ip.to_canonical(), bits));
        }
        Ok(Self(nets))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|(net, bits)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), *bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), *bits),
            _ => false,
        })
    }

    /// The client: the peer, or when the peer is a trusted proxy, the nearest address in
    /// `X-Forwarded-For` that is not itself a trusted proxy.
    fn client(&self, peer: IpAddr, forwarded: &[&str]) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) if self.contains(ip) => client = ip,
                Some(ip) => return ip.to_canonical(),
                None => {
                    // `unknown`, an obfuscated name: nothing to tell this client from others by.
                    tracing::warn!(
                        hop = *hop,
                        "a trusted proxy forwarded a client address Herald cannot read; counting it as the proxy's"
                    );
                    return client;
                }
            }
        }
        client
    }
}

/// A forwarded address: `203.0.113.9`, `2001:db8::1`, or with a port (`203.0.113.9:51234`,
/// `[2001:db8::1]:443`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(sa) = hop.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse().ok())
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xFFu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

/// The client's address, for throttling and the sessions list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip().to_canonical());
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(Self(state.config.trusted_proxies.client(peer, &forwarded)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_forwarded_address_counts_only_from_a_trusted_proxy() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1, ::1").unwrap();
        assert!(t.contains(ip("10.200.3.4")) && t.contains(ip("::ffff:10.0.0.1")));
        assert!(!t.contains(ip("11.0.0.1")) && !t.contains(ip("192.168.1.2")));
        let xff = ["203.0.113.9, 10.1.1.1"];
        assert_eq!(t.client(ip("10.0.0.2"), &xff), ip("203.0.113.9"));
        assert_eq!(
            t.client(ip("198.51.100.1"), &xff),
            ip("198.51.100.1"),
            "not a proxy"
        );
        assert_eq!(
            t.client(ip("10.0.0.2"), &["6.6.6.6, 203.0.113.9"]),
            ip("203.0.113.9"),
            "the nearest untrusted hop, not what the client claims before it"
        );
        assert_eq!(t.client(ip("10.0.0.2"), &[]), ip("10.0.0.2"));
        assert_eq!(
            t.client(ip("10.0.0.2"), &["203.0.113.9:51234"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            t.client(ip("10.0.0.2"), &["[2001:db8::1]:443"]),
            ip("2001:db8::1")
        );
        assert_eq!(t.client(ip("10.0.0.2"), &["[2001:db8::1]"]), ip("2001:db8::1"));
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("127.0.0.1"), &xff),
            ip("127.0.0.1"),
            "no exemption for loopback"
        );
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.example").is_err());
    }
}
