//! A blocking transport to the KDCs of a realm (RFC 4120 section 7.2), and [`KdcClient`], the
//! convenience API that runs the sans-IO exchanges of [`super::kdc`] over it.
//!
//! - The KDCs come from `krb5.conf` (`kdc = host[:port]` entries of the realm, port 88 by
//!   default; a `tcp/` or `udp/` prefix forces the protocol), tried in order.
//! - A request smaller than `udp_preference_limit` (MIT's default 1465 bytes) goes over UDP
//!   first; otherwise, and when a UDP reply is KRB_ERR_RESPONSE_TOO_BIG, over TCP with the
//!   4-byte big-endian length prefix (RFC 4120 section 7.2.2).
//! - One deadline covers the whole call (default 10 s): each KDC gets a share of what is
//!   left, connects and reads are bounded by it, so an unreachable or silent KDC ends in
//!   [`Error::NoAuthority`] naming the realm, the address and what happened, never a hang.

use super::ccache::{self, CredentialCache};
use super::config::{KdcAddress, KdcTransport, Krb5Config};
use super::kdc::{
    self, AsExchange, AsProgress, ClientKey, ClientSecret, RequestOptions, TgsExchange,
};
use super::keytab::Keytab;
use super::{Credential, Principal};
use crate::crypto::Password;
use crate::env::Environment;
use crate::error::{Error, Result};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

/// The default deadline of one request, all KDCs together.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// MIT's default `udp_preference_limit`: requests this long or longer go over TCP.
pub const DEFAULT_UDP_PREFERENCE_LIMIT: usize = 1465;
/// The Kerberos port (RFC 4120 section 7.2.3).
pub const KERBEROS_PORT: u16 = 88;

/// Parses a KDC entry as `krb5.conf` writes it: `host`, `host:port`, `[v6addr]:port`, with an
/// optional `tcp/` or `udp/` prefix (port 88 by default).
///
/// # Errors
/// [`Error::Krb5Config`] for an empty host or a bad port.
pub fn parse_kdc(entry: &str) -> Result<KdcAddress> {
    let entry = entry.trim();
    let (transport, rest) = if let Some(r) = entry.strip_prefix("tcp/") {
        (KdcTransport::Tcp, r)
    } else if let Some(r) = entry.strip_prefix("udp/") {
        (KdcTransport::Udp, r)
    } else {
        (KdcTransport::Any, entry)
    };
    let bad = || Error::Krb5Config(format!("bad kdc entry {entry:?}"));
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => return Err(bad()),
        }
    } else if rest.matches(':').count() == 1 {
        let (h, p) = rest.split_once(':').ok_or_else(bad)?;
        (h, Some(p))
    } else {
        (rest, None)
    };
    if host.is_empty() {
        return Err(bad());
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?,
        None => KERBEROS_PORT,
    };
    Ok(KdcAddress { host: host.to_owned(), port, transport })
}

/// The blocking transport: timeouts and the UDP/TCP choice.
#[derive(Clone, Debug)]
pub struct Transport {
    timeout: Duration,
    udp_preference_limit: usize,
}

impl Default for Transport {
    fn default() -> Self {
        Self { timeout: DEFAULT_TIMEOUT, udp_preference_limit: DEFAULT_UDP_PREFERENCE_LIMIT }
    }
}

/// Time left before `deadline`, or an error naming what was being waited for.
fn remaining(deadline: Instant) -> Option<Duration> {
    deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
}

fn describe(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => "timed out".to_owned(),
        ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        ErrorKind::ConnectionReset => "connection reset".to_owned(),
        ErrorKind::UnexpectedEof => "connection closed before a full reply".to_owned(),
        _ => e.to_string(),
    }
}

impl Transport {
    /// The default transport: 10 s, MIT's UDP limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// The deadline of one request, all KDCs together.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Requests of this many bytes or more go over TCP (1 means TCP always).
    pub fn udp_preference_limit(mut self, limit: usize) -> Self {
        self.udp_preference_limit = limit;
        self
    }

    /// Sends `request` to the KDCs of `realm` in turn until one answers; returns its reply
    /// (which may be a KRB-ERROR: the exchange reads it).
    ///
    /// # Errors
    /// [`Error::NoAuthority`] when there is no KDC, or none answered within the timeout; the
    /// text names the realm and, for each address, what happened.
    pub fn send(&self, realm: &str, kdcs: &[KdcAddress], request: &[u8]) -> Result<Vec<u8>> {
        if kdcs.is_empty() {
            return Err(Error::NoAuthority(format!("no KDC is configured for realm {realm}")));
        }
        let deadline = Instant::now() + self.timeout;
        let mut failures = Vec::new();
        for (i, kdc) in kdcs.iter().enumerate() {
            let Some(left) = remaining(deadline) else {
                failures.push(format!("{}:{}: not tried, time is up", kdc.host, kdc.port));
                break;
            };
            // An equal share of the time left for each KDC not yet tried (the last one gets
            // all of it).
            let share = left / u32::try_from(kdcs.len() - i).unwrap_or(u32::MAX);
            let kdc_deadline = Instant::now() + share.max(left.min(Duration::from_millis(500)));
            let addrs = match (kdc.host.as_str(), kdc.port).to_socket_addrs() {
                Ok(a) => a.collect::<Vec<_>>(),
                Err(e) => {
                    failures.push(format!("{}: cannot resolve: {e}", kdc.host));
                    continue;
                }
            };
            for addr in addrs {
                if let KdcTransport::Https { .. } = kdc.transport {
                    failures.push(format!("{addr}: MS-KKDCP (https) proxies are not supported"));
                    continue;
                }
                match self.send_to(addr, &kdc.transport, request, kdc_deadline.min(deadline)) {
                    Ok(reply) => return Ok(reply),
                    Err(what) => failures.push(format!("{addr}: {what}")),
                }
            }
        }
        Err(Error::NoAuthority(format!(
            "no KDC of realm {realm} answered within {:?}: {}",
            self.timeout,
            failures.join("; ")
        )))
    }

    /// One address: UDP first if allowed and the request is small, TCP otherwise or when the
    /// UDP reply says it is too big.
    fn send_to(
        &self,
        addr: SocketAddr,
        transport: &KdcTransport,
        request: &[u8],
        deadline: Instant,
    ) -> core::result::Result<Vec<u8>, String> {
        let udp = match transport {
            KdcTransport::Udp => true,
            KdcTransport::Any => request.len() < self.udp_preference_limit,
            KdcTransport::Tcp | KdcTransport::Https { .. } => false,
        };
        if udp {
            let reply = udp_exchange(addr, request, deadline).map_err(|e| format!("UDP: {e}"))?;
            if !kdc::is_response_too_big(&reply) {
                return Ok(reply);
            }
        }
        tcp_exchange(addr, request, deadline).map_err(|e| format!("TCP: {e}"))
    }
}

fn udp_exchange(
    addr: SocketAddr,
    request: &[u8],
    deadline: Instant,
) -> core::result::Result<Vec<u8>, String> {
    let local: SocketAddr = if addr.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = UdpSocket::bind(local).map_err(|e| describe(&e))?;
    // Connected: the OS drops datagrams from anyone else and reports ICMP "port unreachable"
    // as a refused connection.
    socket.connect(addr).map_err(|e| describe(&e))?;
    socket.send(request).map_err(|e| describe(&e))?;
    let mut buf = vec![0u8; 65_536];
    let left = remaining(deadline).ok_or("timed out")?;
    socket.set_read_timeout(Some(left)).map_err(|e| describe(&e))?;
    let n = socket.recv(&mut buf).map_err(|e| describe(&e))?;
    buf.truncate(n);
    Ok(buf)
}

fn tcp_exchange(
    addr: SocketAddr,
    request: &[u8],
    deadline: Instant,
) -> core::result::Result<Vec<u8>, String> {
    let left = remaining(deadline).ok_or("timed out")?;
    let mut stream = TcpStream::connect_timeout(&addr, left).map_err(|e| describe(&e))?;
    let len = u32::try_from(request.len()).map_err(|_| "request too long".to_owned())?;
    let mut framed = Vec::with_capacity(request.len() + 4);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(request);
    let left = remaining(deadline).ok_or("timed out")?;
    stream.set_write_timeout(Some(left)).map_err(|e| describe(&e))?;
    stream.write_all(&framed).map_err(|e| describe(&e))?;
    let mut prefix = [0u8; 4];
    read_exact_by(&mut stream, &mut prefix, deadline)?;
    let len = u32::from_be_bytes(prefix);
    if len & 0x8000_0000 != 0 {
        // RFC 4120 section 7.2.2: the high bit is reserved for extensions we do not use.
        return Err("the KDC answered with a reserved length prefix".to_owned());
    }
    let len = usize::try_from(len).map_err(|_| "reply too long".to_owned())?;
    if len > kdc::MAX_REPLY_LEN {
        return Err(format!("reply of {len} bytes is too long"));
    }
    let mut reply = vec![0u8; len];
    read_exact_by(&mut stream, &mut reply, deadline)?;
    Ok(reply)
}

/// `read_exact` that gives up at `deadline` (a KDC that drips bytes cannot hold us longer).
fn read_exact_by(
    stream: &mut TcpStream,
    mut buf: &mut [u8],
    deadline: Instant,
) -> core::result::Result<(), String> {
    while !buf.is_empty() {
        let left = remaining(deadline).ok_or("timed out waiting for the reply")?;
        stream.set_read_timeout(Some(left)).map_err(|e| describe(&e))?;
        match stream.read(buf) {
            Ok(0) => return Err("connection closed before a full reply".to_owned()),
            Ok(n) => buf = buf.get_mut(n..).unwrap_or_default(),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err("timed out waiting for the reply".to_owned());
            }
            Err(e) => return Err(describe(&e)),
        }
    }
    Ok(())
}

/// Gets tickets from the KDCs of the realms it knows: the AS and TGS exchanges of
/// [`super::kdc`] over a [`Transport`].
#[derive(Clone, Debug)]
pub struct KdcClient {
    /// krb5.conf, when the client was made from one.
    config: Option<Krb5Config>,
    /// KDCs given explicitly (looked at before the configuration's).
    realms: Vec<(String, Vec<KdcAddress>)>,
    /// The TGS-REQ's encryption types (`default_tgs_enctypes`), when they differ from the
    /// AS-REQ's.
    tgs_etypes: Option<Vec<super::EncType>>,
    default_realm: Option<String>,
    /// `[domain_realm]`: a host or a `.domain` suffix, and its realm.
    domain_realm: Vec<(String, String)>,
    transport: Transport,
    options: RequestOptions,
    env: Environment,
}

impl KdcClient {
    /// A client that knows the KDCs of one realm (which is also the default realm).
    ///
    /// # Errors
    /// [`Error::Krb5Config`] for a malformed KDC entry.
    pub fn with_kdcs(realm: &str, kdcs: &[&str]) -> Result<Self> {
        let kdcs = kdcs.iter().map(|k| parse_kdc(k)).collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config: None,
            tgs_etypes: None,
            realms: vec![(realm.to_owned(), kdcs)],
            default_realm: Some(realm.to_owned()),
            domain_realm: Vec::new(),
            transport: Transport::new(),
            options: RequestOptions::default(),
            env: Environment::system(),
        })
    }

    /// A client configured by `krb5.conf`: the KDCs of each realm, the default realm,
    /// `[domain_realm]`, `udp_preference_limit`, `default_tkt_enctypes` (AS) and
    /// `default_tgs_enctypes` (TGS), `ticket_lifetime`, `renew_lifetime` and `forwardable`.
    pub fn from_config(config: &Krb5Config) -> Self {
        let mut options = RequestOptions::default();
        if let Some(life) = config.ticket_lifetime() {
            options.lifetime = Duration::from_secs(u64::from(life));
        }
        options.renew_lifetime =
            config.renew_lifetime().filter(|r| *r > 0).map(|r| Duration::from_secs(u64::from(r)));
        options.forwardable = config.value(&["libdefaults", "forwardable"]).is_some_and(|v| {
            matches!(v.to_ascii_lowercase().as_str(), "y" | "yes" | "true" | "t" | "1" | "on")
        });
        if !config.default_tkt_enctypes().is_empty() {
            options.etypes = config.default_tkt_enctypes().to_vec();
        }
        let tgs = config.default_tgs_enctypes();
        Self {
            config: Some(config.clone()),
            realms: Vec::new(),
            tgs_etypes: (!tgs.is_empty()).then(|| tgs.to_vec()),
            default_realm: config.default_realm().map(str::to_owned),
            domain_realm: Vec::new(),
            transport: Transport::new().udp_preference_limit(
                usize::try_from(config.udp_preference_limit()).unwrap_or(usize::MAX),
            ),
            options,
            env: Environment::system(),
        }
    }

    /// [`KdcClient::from_config`] with the default configuration (`KRB5_CONFIG`, else
    /// `/etc/krb5.conf`).
    ///
    /// # Errors
    /// [`Error::Krb5Config`] when it cannot be read or parsed.
    pub fn from_default_config() -> Result<Self> {
        Ok(Self::from_config(&Krb5Config::load_default()?))
    }

    /// Adds a `[domain_realm]` mapping (`host` or `.suffix` to `realm`).
    pub fn domain_realm(mut self, domain: &str, realm: &str) -> Self {
        self.domain_realm.push((domain.to_ascii_lowercase(), realm.to_owned()));
        self
    }

    /// The transport's deadline per request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport = self.transport.timeout(timeout);
        self
    }

    /// The transport to use (timeout, UDP limit).
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The request options (lifetime, flags, encryption types), for the AS and TGS
    /// requests alike (replacing what krb5.conf said).
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self.tgs_etypes = None;
        self
    }

    /// The randomness and clock of the exchanges.
    pub fn environment(mut self, env: Environment) -> Self {
        self.env = env;
        self
    }

    /// The realm of a host: the longest `[domain_realm]` match, else the default realm.
    pub fn realm_of_host(&self, host: &str) -> Option<String> {
        let host = host.to_ascii_lowercase();
        let exact = self.domain_realm.iter().find(|(d, _)| *d == host);
        let suffix = self
            .domain_realm
            .iter()
            .filter(|(d, _)| d.starts_with('.') && host.ends_with(d.as_str()))
            .max_by_key(|(d, _)| d.len());
        exact
            .or(suffix)
            .map(|(_, r)| r.clone())
            .or_else(|| self.config.as_ref()?.realm_for_host(&host).map(str::to_owned))
            .or_else(|| self.default_realm.clone())
    }

    /// Sends one request to the KDCs of `realm`.
    ///
    /// # Errors
    /// [`Error::NoAuthority`] (see [`Transport::send`]).
    pub fn exchange(&self, realm: &str, request: &[u8]) -> Result<Vec<u8>> {
        let kdcs = self
            .realms
            .iter()
            .find(|(r, _)| r == realm)
            .map(|(_, k)| k.as_slice())
            .or_else(|| self.config.as_ref().map(|c| c.kdcs(realm)))
            .unwrap_or_default();
        self.transport.send(realm, kdcs, request)
    }

    fn as_exchange(&self, client: &Principal, secret: ClientSecret) -> Result<Credential> {
        let (mut state, mut request) = AsExchange::start(client, secret, &self.options, &self.env)?;
        // At most: the first request, and one with pre-authentication.
        for _ in 0..3 {
            let reply = self.exchange(&client.realm, &request)?;
            match state.handle_reply(&reply)? {
                AsProgress::Done(credential) => return Ok(*credential),
                AsProgress::Send(next, again) => (state, request) = (*next, again),
            }
        }
        Err(Error::InvalidToken("the KDC keeps asking for pre-authentication"))
    }

    /// A TGT for `client` with a password.
    ///
    /// # Errors
    /// [`Error::Kdc`] (code 24 "wrong password for alice@REALM", 6 unknown client, 37 clock
    /// skew, 14 no common encryption type, ...), [`Error::NoAuthority`],
    /// [`Error::InvalidToken`] / [`Error::MessageAltered`] for a bad reply.
    pub fn tgt_with_password(&self, client: &Principal, password: &Password) -> Result<Credential> {
        self.as_exchange(client, ClientSecret::Password(password.clone()))
    }

    /// A TGT for `client` with keys from a keytab (every key of the client, any kvno).
    ///
    /// # Errors
    /// As [`KdcClient::tgt_with_password`], and [`Error::Keytab`] when no key fits.
    pub fn tgt_with_keys(&self, client: &Principal, keys: Vec<ClientKey>) -> Result<Credential> {
        if keys.is_empty() {
            return Err(Error::Keytab(format!("no key for {client} in the keytab")));
        }
        self.as_exchange(client, ClientSecret::Keys(keys))
    }

    /// A TGT for `client` with its keys in `keytab` (every kvno and type: the exchange picks
    /// the one the KDC names).
    ///
    /// # Errors
    /// As [`KdcClient::tgt_with_password`]; [`Error::Keytab`] when the keytab has no key for
    /// `client`, or none of the type the KDC wants.
    pub fn tgt_with_keytab(&self, client: &Principal, keytab: &Keytab) -> Result<Credential> {
        let keys = keytab
            .entries
            .iter()
            .filter(|e| {
                e.principal.realm == client.realm
                    && e.principal.name.components == client.name.components
            })
            .map(|e| ClientKey { kvno: e.kvno, key: e.key.clone() })
            .collect();
        self.tgt_with_keys(client, keys)
    }

    /// The TGT of the cache's default principal for its own realm, valid now (by the
    /// client's clock): a user who ran `kinit` is signed in.
    ///
    /// # Errors
    /// [`Error::CredentialCache`] when the cache has no valid TGT.
    pub fn tgt_from_ccache(&self, cache: &CredentialCache) -> Result<Credential> {
        let now = u32::try_from(self.unix_now()).unwrap_or(u32::MAX);
        let realm = &cache.default_principal.realm;
        cache.tgt(realm, now).cloned().ok_or_else(|| {
            Error::CredentialCache(format!(
                "no valid ticket-granting ticket for {} (krbtgt/{realm}@{realm}) in the cache: \
                 expired or never obtained; run kinit",
                cache.default_principal
            ))
        })
    }

    /// [`KdcClient::tgt_from_ccache`] for the default cache (`KRB5CCNAME` as `lookup` gives
    /// it, else `/tmp/krb5cc_<uid>`). Returns the cache's path with the TGT.
    ///
    /// # Errors
    /// [`Error::CredentialCache`]: no usable default cache, unreadable, or no valid TGT.
    pub fn tgt_from_default_ccache_with(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(std::path::PathBuf, Credential)> {
        let path = ccache::default_ccache_path_from(lookup, ccache::current_uid())?;
        let cache = CredentialCache::read(&path)?;
        Ok((path, self.tgt_from_ccache(&cache)?))
    }

    /// [`KdcClient::tgt_from_default_ccache_with`] over the process environment.
    ///
    /// # Errors
    /// As [`KdcClient::tgt_from_default_ccache_with`].
    pub fn tgt_from_default_ccache(&self) -> Result<(std::path::PathBuf, Credential)> {
        self.tgt_from_default_ccache_with(|name| std::env::var(name).ok())
    }

    /// The default realm (`default_realm` of `krb5.conf`, or the realm given to
    /// [`KdcClient::with_kdcs`]).
    pub fn default_realm(&self) -> Option<&str> {
        self.default_realm.as_deref()
    }

    /// Now, by the client's clock, in seconds since the Unix epoch.
    pub fn unix_time(&self) -> i64 {
        self.unix_now()
    }

    /// The principal of `service` (`HTTP/web.example.test`, `HTTP@web.example.test` or a
    /// full principal): the realm of a host from `[domain_realm]`, else the default realm,
    /// else `fallback_realm`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a malformed name.
    pub fn service_principal(&self, service: &str, fallback_realm: &str) -> Result<Principal> {
        kdc::service_principal(service, |host| {
            self.realm_of_host(host).or_else(|| Some(fallback_realm.to_owned()))
        })
    }

    fn unix_now(&self) -> i64 {
        i64::try_from(self.env.now().0 / 10_000_000).unwrap_or(i64::MAX) - 11_644_473_600
    }

    /// A service ticket for `service` (`HTTP/web.example.test`, `HTTP@web.example.test` or
    /// `HTTP/web.example.test@REALM`) with the TGT `tgt`.
    ///
    /// # Errors
    /// [`Error::TargetUnknown`] if the KDC does not know the service, [`Error::Kdc`],
    /// [`Error::NoAuthority`], [`Error::InvalidParameter`] for a bad name,
    /// [`Error::InvalidToken`] / [`Error::MessageAltered`] for a bad reply.
    pub fn service_ticket(&self, tgt: &Credential, service: &str) -> Result<Credential> {
        let service = kdc::service_principal(service, |host| {
            self.realm_of_host(host).or_else(|| Some(tgt.client.realm.clone()))
        })?;
        self.service_ticket_for(tgt, &service)
    }

    /// A forwarded (and forwardable) TGT from `tgt`, which must be forwardable: the TGT an
    /// initiator delegates (RFC 4120 section 2.6).
    ///
    /// # Errors
    /// As [`KdcClient::service_ticket`].
    pub fn forwarded_tgt(&self, tgt: &Credential) -> Result<Credential> {
        let mut options = self.options.clone();
        if let Some(etypes) = &self.tgs_etypes {
            options.etypes.clone_from(etypes);
        }
        options.forwardable = true;
        options.forwarded = true;
        let krbtgt = Principal::krbtgt(&tgt.client.realm);
        let (state, request) = TgsExchange::start(tgt, &krbtgt, &options, &self.env)?;
        let reply = self.exchange(&tgt.server.realm.clone(), &request)?;
        state.handle_reply(&reply)
    }

    /// A service ticket for the principal `service`.
    ///
    /// # Errors
    /// As [`KdcClient::service_ticket`].
    pub fn service_ticket_for(&self, tgt: &Credential, service: &Principal) -> Result<Credential> {
        let mut options = self.options.clone();
        if let Some(etypes) = &self.tgs_etypes {
            options.etypes.clone_from(etypes);
        }
        let (state, request) = TgsExchange::start(tgt, service, &options, &self.env)?;
        // The TGS-REQ goes to the KDC of the TGT's realm.
        let reply = self.exchange(&tgt.server.realm.clone(), &request)?;
        state.handle_reply(&reply)
    }
}

/// Stores `credentials` into the FILE ccache at `path` (MIT's `klist` and `kvno` read it):
/// added to the existing cache if it belongs to the same client (replacing tickets for the
/// same services), else a new cache whose default principal is the first credential's
/// client. Written atomically, owner-only.
///
/// # Errors
/// [`Error::InvalidParameter`] for no credentials; [`Error::CredentialCache`] when the file
/// cannot be read or written.
pub fn store_in_ccache(path: &std::path::Path, credentials: &[Credential]) -> Result<()> {
    let first = credentials.first().ok_or(Error::InvalidParameter("no credentials to store"))?;
    let mut cache = match CredentialCache::read(path) {
        Ok(cache) if cache.default_principal == first.client => cache,
        _ => CredentialCache::new(first.client.clone()),
    };
    for c in credentials {
        cache.store(c.clone());
    }
    cache.write(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdc_entries_parse() {
        let a = parse_kdc("kdc.example.test").unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.transport),
            ("kdc.example.test", 88, KdcTransport::Any)
        );
        let a = parse_kdc("127.0.0.1:8888").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 8888));
        let a = parse_kdc("tcp/[::1]:750").unwrap();
        assert_eq!((a.host.as_str(), a.port, a.transport), ("::1", 750, KdcTransport::Tcp));
        let a = parse_kdc("udp/::1").unwrap();
        assert_eq!((a.host.as_str(), a.port, a.transport), ("::1", 88, KdcTransport::Udp));
        for bad in ["", ":88", "host:0", "host:x", "[::1", "[::1]x"] {
            assert!(parse_kdc(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn realms_of_hosts() {
        let c = KdcClient::with_kdcs("EXAMPLE.TEST", &["127.0.0.1"])
            .unwrap()
            .domain_realm(".other.test", "OTHER.TEST")
            .domain_realm("special.other.test", "SPECIAL.TEST");
        assert_eq!(c.realm_of_host("a.other.test").as_deref(), Some("OTHER.TEST"));
        assert_eq!(c.realm_of_host("Special.Other.Test").as_deref(), Some("SPECIAL.TEST"));
        assert_eq!(c.realm_of_host("web.example.test").as_deref(), Some("EXAMPLE.TEST"));
    }

    use std::net::{Ipv4Addr, TcpListener};
    use std::thread;

    /// A fake KDC on a loopback TCP port: answers one connection with `answer` (raw bytes,
    /// length prefix included), after reading the framed request. Returns the port and the
    /// request it read.
    fn tcp_kdc(answer: Vec<u8>) -> (u16, thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut len = [0u8; 4];
            s.read_exact(&mut len).unwrap();
            let mut request = vec![0u8; usize::try_from(u32::from_be_bytes(len)).unwrap()];
            s.read_exact(&mut request).unwrap();
            s.write_all(&answer).unwrap();
            request
        });
        (port, handle)
    }

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut v = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    fn addr(entry: &str) -> KdcAddress {
        parse_kdc(entry).unwrap()
    }

    /// A free loopback port nobody listens on (bound, then released).
    fn closed_port() -> u16 {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
    }

    // KRB-ERROR with error-code 52 (KRB_ERR_RESPONSE_TOO_BIG), RFC 4120 section 5.9.1.
    const TOO_BIG: &[u8] = b"\x7e\x1d\x30\x1b\xa0\x03\x02\x01\x05\xa1\x03\x02\x01\x1e\xa6\x03\x02\x01\x34\xa9\x0a\x1b\x08EXAMPLE.";

    #[test]
    fn tcp_frames_with_a_length_prefix() {
        // RFC 4120 section 7.2.2: four bytes of big-endian length, then the message.
        let (port, kdc) = tcp_kdc(framed(b"reply"));
        let reply = Transport::new()
            .udp_preference_limit(1)
            .send("R", &[addr(&format!("127.0.0.1:{port}"))], b"request")
            .unwrap();
        assert_eq!(reply, b"reply");
        assert_eq!(kdc.join().unwrap(), b"request");
    }

    #[test]
    fn udp_too_big_is_asked_again_over_tcp() {
        // The same port for both: a UDP KDC that says "too big", a TCP one that answers.
        let (udp, port, kdc) = loop {
            let (port, kdc) = tcp_kdc(framed(b"over tcp"));
            if let Ok(udp) = UdpSocket::bind((Ipv4Addr::LOCALHOST, port)) {
                break (udp, port, kdc);
            }
            // The UDP port was taken: release the TCP one by connecting, and try another.
            let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, port));
        };
        let udp_kdc = thread::spawn(move || {
            let mut buf = [0u8; 1500];
            let (n, from) = udp.recv_from(&mut buf).unwrap();
            udp.send_to(TOO_BIG, from).unwrap();
            buf[..n].to_vec()
        });
        let reply =
            Transport::new().send("R", &[addr(&format!("127.0.0.1:{port}"))], b"small").unwrap();
        assert_eq!(reply, b"over tcp");
        assert_eq!(udp_kdc.join().unwrap(), b"small", "UDP was tried first");
        assert_eq!(kdc.join().unwrap(), b"small");
    }

    #[test]
    fn the_next_kdc_is_tried_after_a_failure() {
        let dead = closed_port();
        let (port, kdc) = tcp_kdc(framed(b"second"));
        let kdcs = [addr(&format!("tcp/127.0.0.1:{dead}")), addr(&format!("tcp/127.0.0.1:{port}"))];
        assert_eq!(Transport::new().send("R", &kdcs, b"x").unwrap(), b"second");
        kdc.join().unwrap();
    }

    #[test]
    fn hostile_length_prefixes_are_refused() {
        for (answer, what) in [
            (vec![0x7f, 0xff, 0xff, 0xff], "too long"),
            (vec![0x80, 0, 0, 1, 0], "reserved length prefix"),
            (vec![0, 0, 0, 100, 1, 2, 3], "closed before a full reply"),
        ] {
            let (port, kdc) = tcp_kdc(answer);
            let err = Transport::new()
                .timeout(Duration::from_secs(5))
                .send("R", &[addr(&format!("tcp/127.0.0.1:{port}"))], b"x")
                .unwrap_err();
            assert!(matches!(err, Error::NoAuthority(ref m) if m.contains(what)), "{what}: {err}");
            kdc.join().unwrap();
        }
    }

    #[test]
    fn https_kdcs_are_named_as_unsupported() {
        let kdc = KdcAddress {
            transport: KdcTransport::Https { path: "/KdcProxy".into() },
            host: "127.0.0.1".into(),
            port: closed_port(),
        };
        let err = Transport::new().send("R", &[kdc], b"x").unwrap_err();
        assert!(matches!(err, Error::NoAuthority(ref m) if m.contains("MS-KKDCP")), "{err}");
    }

    #[test]
    fn no_kdc_is_no_authority() {
        let err = Transport::new().send("EMPTY.TEST", &[], b"x").unwrap_err();
        assert!(matches!(err, Error::NoAuthority(ref m) if m.contains("EMPTY.TEST")), "{err}");
    }
}
