//! Who may say where a request came from: `KEYCARD_TRUSTED_PROXIES` and the header they write
//! the client's address into (`KEYCARD_CLIENT_IP_HEADER`).

use super::ConfigError;

/// The header a trusted proxy writes the client address into (`KEYCARD_CLIENT_IP_HEADER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientIpHeader {
    /// `X-Forwarded-For: client, proxy1, …`
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`
    Forwarded,
    /// `X-Real-IP: client` (a single address)
    XRealIp,
}

impl ClientIpHeader {
    /// The header's name, lower case.
    pub fn name(self) -> &'static str {
        match self {
            ClientIpHeader::XForwardedFor => "x-forwarded-for",
            ClientIpHeader::Forwarded => "forwarded",
            ClientIpHeader::XRealIp => "x-real-ip",
        }
    }
}

impl std::str::FromStr for ClientIpHeader {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ClientIpHeader::XForwardedFor),
            "forwarded" => Ok(ClientIpHeader::Forwarded),
            "x-real-ip" => Ok(ClientIpHeader::XRealIp),
            _ => Err(format!("{raw:?} is not one of x-forwarded-for, forwarded, x-real-ip")),
        }
    }
}

pub(super) fn client_ip_header(raw: Option<&str>) -> Result<Option<ClientIpHeader>, ConfigError> {
    raw.map(|raw| raw.parse().map_err(|problem| ConfigError { name: "KEYCARD_CLIENT_IP_HEADER", problem })).transpose()
}

pub(super) fn trusted_proxies(raw: Option<&str>) -> Result<Vec<ProxyRange>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|problem| ConfigError { name: "KEYCARD_TRUSTED_PROXIES", problem }))
        .collect()
}

/// One entry of `KEYCARD_TRUSTED_PROXIES`: an address (`10.0.0.7`, `2001:db8::7`) or a range in
/// CIDR notation (`172.28.0.0/24`, `2001:db8::/64`), for proxies whose address is not fixed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ProxyRange {
    network: std::net::IpAddr,
    prefix: u8,
}

impl ProxyRange {
    /// Whether `ip` is in the range (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl From<std::net::IpAddr> for ProxyRange {
    /// Just this address.
    fn from(ip: std::net::IpAddr) -> ProxyRange {
        let network = ip.to_canonical();
        ProxyRange { network, prefix: if network.is_ipv4() { 32 } else { 128 } }
    }
}

impl std::str::FromStr for ProxyRange {
    type Err = String;

    fn from_str(text: &str) -> Result<ProxyRange, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: std::net::IpAddr =
            address.parse().map_err(|_| format!("{text:?} is not an IP address or a range like 10.0.0.0/24"))?;
        let network = network.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(ProxyRange { network, prefix })
    }
}

impl std::fmt::Debug for ProxyRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}
