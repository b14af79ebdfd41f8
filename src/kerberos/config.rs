//! `krb5.conf`: MIT's profile syntax, and the settings sspi-emu uses from it.
//!
//! The syntax is MIT's (`src/util/profile/prof_parse.c`, and the krb5.conf manual page):
//!
//! ```text
//! # comment            ; comment             (a line whose first non-blank is # or ;)
//! [libdefaults]        [realms]*             (a section; `*` marks it final)
//!     default_realm = EXAMPLE.TEST           (a relation; the value runs to the end of the
//!     name = "quoted \"value\"\n"             line, trailing blanks cut; or a quoted string)
//!     final_value* = x                       (`*` after the tag: final)
//! [realms]
//!     EXAMPLE.TEST = {                       (a subsection; `{` may also open the next line)
//!         kdc = kdc1.example.test:88
//!         kdc = tcp/[2001:db8::1]:88
//!     }                                      (`}*` marks the subsection final)
//! include /etc/krb5.conf.d/extra.conf        (at the very start of a line)
//! includedir /etc/krb5.conf.d/
//! ```
//!
//! As MIT: lines before the first section are ignored; sections and subsections of the same
//! name are merged; once a section or subsection was marked final, later ones of the same
//! name in the same file are ignored, and the files after it are not consulted for it.
//! Stricter than MIT: a file ending inside `{ ... }` is an error.
//!
//! `include FILE` and `includedir DIR` are supported (as MIT: in `DIR`, files named only with
//! letters, digits, `-` and `_`, or ending in `.conf` and not starting with `.`, in sorted
//! order), nested at most [`MAX_INCLUDE_DEPTH`] deep and at most [`MAX_FILES`] files in all;
//! a relative path is taken relative to the current directory, as MIT does. A `module`
//! directive (a profile served by a plugin) is refused.
//!
//! Several files (`KRB5_CONFIG=/a.conf:/b.conf`) are consulted in order: a single-valued
//! setting comes from the first file that has it; `kdc` lines are gathered from all of them.

use super::EncType;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// How deep `include`/`includedir` may nest.
pub const MAX_INCLUDE_DEPTH: usize = 8;
/// How deep subsections (`tag = {`) may nest inside a section. Real configurations use two or
/// three levels; the bound keeps a hostile file from costing time quadratic in its nesting
/// (each line walks the path from the root) and a stack as deep as its nesting (the tree is
/// recursive).
pub const MAX_NESTING: usize = 32;
/// How many files one configuration may read (the top files and everything they include).
pub const MAX_FILES: usize = 64;
/// The largest configuration file read.
pub const MAX_FILE_SIZE: u64 = 1 << 20;
/// MIT's default `udp_preference_limit`.
pub const DEFAULT_UDP_PREFERENCE_LIMIT: u32 = 1465;
/// MIT's cap on `udp_preference_limit`.
const HARD_UDP_LIMIT: u32 = 32700;
/// MIT's default `clockskew`, in seconds.
pub const DEFAULT_CLOCKSKEW: u32 = 300;
/// The KDC port when a `kdc` line names none.
pub const DEFAULT_KDC_PORT: u16 = 88;

/// MIT 1.20's `DEFAULT` enctype list (`init_ctx.c`): what `permitted_enctypes` and the others
/// mean when unset.
pub const DEFAULT_ENCTYPES: &[EncType] = &[
    EncType::AES256_CTS_HMAC_SHA1_96,
    EncType::AES128_CTS_HMAC_SHA1_96,
    EncType::AES256_CTS_HMAC_SHA384_192,
    EncType::AES128_CTS_HMAC_SHA256_128,
    EncType(16), // des3-cbc-sha1
    EncType::RC4_HMAC,
    EncType(25), // camellia128-cts-cmac
    EncType(26), // camellia256-cts-cmac
];

/// MIT's enctype names and aliases (`src/lib/crypto/krb/etypes.c`, 1.20), with whether the
/// type is "weak" (dropped from lists unless `allow_weak_crypto`).
const ENCTYPE_NAMES: &[(i32, &[&str], bool)] = &[
    (6, &["des3-cbc-raw"], true),
    (16, &["des3-cbc-sha1", "des3-hmac-sha1", "des3-cbc-sha1-kd"], false),
    (23, &["arcfour-hmac", "rc4-hmac", "arcfour-hmac-md5"], false),
    (24, &["arcfour-hmac-exp", "rc4-hmac-exp", "arcfour-hmac-md5-exp"], true),
    (17, &["aes128-cts-hmac-sha1-96", "aes128-cts", "aes128-sha1"], false),
    (18, &["aes256-cts-hmac-sha1-96", "aes256-cts", "aes256-sha1"], false),
    (25, &["camellia128-cts-cmac", "camellia128-cts"], false),
    (26, &["camellia256-cts-cmac", "camellia256-cts"], false),
    (19, &["aes128-cts-hmac-sha256-128", "aes128-sha2"], false),
    (20, &["aes256-cts-hmac-sha384-192", "aes256-sha2"], false),
];

/// How a `kdc` line says to reach the KDC.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum KdcTransport {
    /// No prefix: UDP or TCP, as `udp_preference_limit` says.
    Any,
    /// `tcp/host`: TCP only.
    Tcp,
    /// `udp/host`: UDP only.
    Udp,
    /// `https://host/path`: an MS-KKDCP proxy (sspi-emu does not speak it; listed so a caller
    /// can say why a realm has no usable KDC).
    Https {
        /// The URL path after the host (`/KdcProxy`), maybe empty.
        path: String,
    },
}

/// One `kdc` entry of a realm.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KdcAddress {
    /// How to reach it.
    pub transport: KdcTransport,
    /// A host name or an IP address (an IPv6 address without its brackets).
    pub host: String,
    /// The port (88 when the line names none; 443 for `https://`).
    pub port: u16,
}

/// `dns_canonicalize_hostname`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CanonicalizeHostname {
    /// `true` (MIT 1.20's default): resolve the host name through DNS first.
    Yes,
    /// `false`: use the name as given.
    No,
    /// `fallback`: as given, and canonicalized only if that fails.
    Fallback,
}

/// A parsed `krb5.conf` (one file with its includes, or several merged).
#[derive(Clone, Debug)]
pub struct Krb5Config {
    sources: Vec<String>,
    /// One tree per top-level file (includes merged into their file's tree).
    trees: Vec<Vec<Node>>,
    default_realm: Option<String>,
    kdcs: Vec<(String, Vec<KdcAddress>)>,
    udp_preference_limit: u32,
    permitted_enctypes: Vec<EncType>,
    default_tkt_enctypes: Vec<EncType>,
    default_tgs_enctypes: Vec<EncType>,
    clockskew: u32,
    dns_canonicalize_hostname: CanonicalizeHostname,
    rdns: bool,
    ticket_lifetime: Option<u32>,
    renew_lifetime: Option<u32>,
}

impl Default for Krb5Config {
    /// No file at all: every setting at MIT's default.
    fn default() -> Self {
        Self::from_trees(Vec::new(), Vec::new()).unwrap_or_else(|_| unreachable!("no values"))
    }
}

impl Krb5Config {
    /// Parses the text of one file; `source_name` (its path) is used in error messages.
    /// `include`/`includedir` lines read the files they name.
    ///
    /// # Errors
    /// [`Error::Krb5Config`] `"<source>:<line>: <what>"` for a syntax error, an included file
    /// that cannot be read or is malformed, too deep or too many includes, a `module`
    /// directive, or a malformed known setting (a `kdc` address, a boolean, a number, a
    /// duration).
    pub fn parse(text: &str, source_name: &str) -> Result<Self> {
        let mut files = 0;
        let tree = parse_tree(text, source_name, true, &mut files)?;
        Self::from_trees(vec![source_name.to_owned()], vec![tree])
    }

    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    /// [`Error::Krb5Config`] when the file cannot be read (or is over 1 MiB), and as
    /// [`Krb5Config::parse`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_files(&[path.as_ref().to_path_buf()], false)
    }

    /// Reads the files in order and merges them. With `skip_missing` (what MIT does with the
    /// files of `KRB5_CONFIG`), a file that does not exist is left out; none at all gives the
    /// defaults.
    ///
    /// # Errors
    /// As [`Krb5Config::load`].
    pub fn load_files(paths: &[PathBuf], skip_missing: bool) -> Result<Self> {
        let mut sources = Vec::new();
        let mut trees = Vec::new();
        let mut files = 0;
        for path in paths {
            let name = path.display().to_string();
            let text = match read_text(path) {
                Ok(text) => text,
                Err(e) if skip_missing && e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::Krb5Config(format!("{name}: cannot read: {e}"))),
            };
            trees.push(parse_tree(&text, &name, true, &mut files)?);
            sources.push(name);
        }
        Self::from_trees(sources, trees)
    }

    /// The configuration MIT would use: the files of [`default_config_paths`], the missing
    /// ones skipped.
    ///
    /// # Errors
    /// As [`Krb5Config::load_files`].
    pub fn load_default() -> Result<Self> {
        Self::load_files(&default_config_paths(), true)
    }

    /// Parses text without following `include`/`includedir` (an error if there is one): no
    /// file is read. For untrusted text, such as the fuzz target's.
    ///
    /// # Errors
    /// As [`Krb5Config::parse`], and an `include` line is an error.
    pub fn parse_no_includes(text: &str, source_name: &str) -> Result<Self> {
        let mut files = 0;
        let tree = parse_tree(text, source_name, false, &mut files)?;
        Self::from_trees(vec![source_name.to_owned()], vec![tree])
    }

    fn from_trees(sources: Vec<String>, trees: Vec<Vec<Node>>) -> Result<Self> {
        let get = |name: &str| lookup(&trees, &["libdefaults", name]).into_iter().next();
        let default_realm = get("default_realm").map(|v| v.value.to_owned());
        let udp_preference_limit = match get("udp_preference_limit") {
            Some(v) => integer(&v)?.min(HARD_UDP_LIMIT),
            None => DEFAULT_UDP_PREFERENCE_LIMIT,
        };
        let clockskew =
            get("clockskew").map(|v| duration(&v)).transpose()?.unwrap_or(DEFAULT_CLOCKSKEW);
        let ticket_lifetime = get("ticket_lifetime").map(|v| duration(&v)).transpose()?;
        let renew_lifetime = get("renew_lifetime").map(|v| duration(&v)).transpose()?;
        let rdns = get("rdns").map(|v| boolean(&v)).transpose()?.unwrap_or(true);
        let dns_canonicalize_hostname = match get("dns_canonicalize_hostname") {
            None => CanonicalizeHostname::Yes,
            Some(v) if v.value.trim().eq_ignore_ascii_case("fallback") => {
                CanonicalizeHostname::Fallback
            }
            Some(v) if boolean(&v)? => CanonicalizeHostname::Yes,
            Some(_) => CanonicalizeHostname::No,
        };
        let weak = get("allow_weak_crypto").map(|v| boolean(&v)).transpose()?.unwrap_or(false);
        // As MIT's krb5_get_default_in_tkt_ktypes: the tkt and tgs lists fall back to the
        // permitted list's text, which falls back to "DEFAULT".
        let permitted = get("permitted_enctypes").map(|v| v.value);
        let list =
            |own: Option<&str>| parse_enctype_list(own.or(permitted).unwrap_or("DEFAULT"), weak);
        let permitted_enctypes = list(None);
        let default_tkt_enctypes = list(get("default_tkt_enctypes").map(|v| v.value));
        let default_tgs_enctypes = list(get("default_tgs_enctypes").map(|v| v.value));

        let mut realm_names: Vec<&str> = Vec::new();
        for tree in &trees {
            for section in tree.iter().filter(|n| n.tag == "realms") {
                for realm in section.children() {
                    if matches!(realm.kind, Kind::Group(_))
                        && !realm_names.contains(&realm.tag.as_str())
                    {
                        realm_names.push(&realm.tag);
                    }
                }
            }
        }
        let mut kdcs = Vec::new();
        for realm in realm_names {
            let mut list = Vec::new();
            for v in lookup(&trees, &["realms", realm, "kdc"]) {
                list.push(parse_kdc(v.value).map_err(|e| error_at(&v, &e))?);
            }
            kdcs.push((realm.to_owned(), list));
        }
        Ok(Self {
            sources,
            trees,
            default_realm,
            kdcs,
            udp_preference_limit,
            permitted_enctypes,
            default_tkt_enctypes,
            default_tgs_enctypes,
            clockskew,
            dns_canonicalize_hostname,
            rdns,
            ticket_lifetime,
            renew_lifetime,
        })
    }

    /// `[libdefaults] default_realm`.
    pub fn default_realm(&self) -> Option<&str> {
        self.default_realm.as_deref()
    }

    /// The `kdc` entries of `[realms] realm = { ... }`, in order (empty when none: the caller
    /// has no KDC for the realm; sspi-emu does no DNS SRV lookups).
    pub fn kdcs(&self, realm: &str) -> &[KdcAddress] {
        self.kdcs.iter().find(|(name, _)| name == realm).map_or(&[], |(_, kdcs)| kdcs.as_slice())
    }

    /// The realm `[domain_realm]` maps `host` to, trying as MIT does the host itself, then
    /// each shorter suffix with and without its leading dot (`a.b.c`, `.b.c`, `b.c`, `.c`,
    /// `c`). The host is compared in lower case, without a trailing dot; an IP address maps to
    /// nothing. `None` when nothing matches (MIT then falls back to the default realm or a
    /// referral).
    pub fn realm_for_host(&self, host: &str) -> Option<&str> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() || host.parse::<std::net::IpAddr>().is_ok() {
            return None;
        }
        let mut suffix: &str = &host;
        loop {
            if let Some(v) = lookup(&self.trees, &["domain_realm", suffix]).first() {
                return Some(v.value);
            }
            suffix = match suffix.strip_prefix('.') {
                Some(rest) => rest,
                None => match suffix.find('.') {
                    Some(i) => &suffix[i..],
                    None => return None,
                },
            };
            if suffix.is_empty() {
                return None;
            }
        }
    }

    /// `udp_preference_limit`: messages larger than this go over TCP (1 means always TCP).
    /// MIT's default 1465; capped at 32700 as MIT does.
    pub fn udp_preference_limit(&self) -> u32 {
        self.udp_preference_limit
    }

    /// `permitted_enctypes` (default `DEFAULT`, MIT 1.20's list [`DEFAULT_ENCTYPES`]). The
    /// list holds every type MIT knows, including ones sspi-emu does not implement (des3,
    /// camellia): filter it by what the crypto supports. Weak types are left out unless
    /// `allow_weak_crypto`. Empty when the setting names no known type (MIT then fails with
    /// `KRB5_CONFIG_ETYPE_NOSUPP`).
    pub fn permitted_enctypes(&self) -> &[EncType] {
        &self.permitted_enctypes
    }

    /// `default_tkt_enctypes` (the AS-REQ's list), else `permitted_enctypes`; see
    /// [`Krb5Config::permitted_enctypes`].
    pub fn default_tkt_enctypes(&self) -> &[EncType] {
        &self.default_tkt_enctypes
    }

    /// `default_tgs_enctypes` (the TGS-REQ's list), else `permitted_enctypes`; see
    /// [`Krb5Config::permitted_enctypes`].
    pub fn default_tgs_enctypes(&self) -> &[EncType] {
        &self.default_tgs_enctypes
    }

    /// `clockskew`, in seconds (default 300).
    pub fn clockskew(&self) -> u32 {
        self.clockskew
    }

    /// `dns_canonicalize_hostname` (default `true`).
    pub fn dns_canonicalize_hostname(&self) -> CanonicalizeHostname {
        self.dns_canonicalize_hostname
    }

    /// `rdns` (default `true`).
    pub fn rdns(&self) -> bool {
        self.rdns
    }

    /// `ticket_lifetime` in seconds, if set.
    pub fn ticket_lifetime(&self) -> Option<u32> {
        self.ticket_lifetime
    }

    /// `renew_lifetime` in seconds, if set.
    pub fn renew_lifetime(&self) -> Option<u32> {
        self.renew_lifetime
    }

    /// Every value at `path` (`["libdefaults", "forwardable"]`, `["realms", "EXAMPLE.TEST",
    /// "admin_server"]`), from all files in order (stopping after a file where the path was
    /// final), for settings this type does not extract.
    pub fn values(&self, path: &[&str]) -> Vec<&str> {
        lookup(&self.trees, path).into_iter().map(|v| v.value).collect()
    }

    /// The first value at `path` (what MIT's `profile_get_string` returns).
    pub fn value(&self, path: &[&str]) -> Option<&str> {
        lookup(&self.trees, path).first().map(|v| v.value)
    }

    /// The files this configuration was read from (top-level files; included files are
    /// named in their own error messages).
    pub fn sources(&self) -> &[String] {
        &self.sources
    }
}

fn lookup<'a>(trees: &'a [Vec<Node>], path: &[&str]) -> Vec<Found<'a>> {
    let mut out = Vec::new();
    let Some((last, groups)) = path.split_last() else { return out };
    for tree in trees {
        let mut final_seen = false;
        let mut level: Vec<&Node> = tree.iter().collect();
        for name in groups {
            let next: Vec<&Node> = level
                .iter()
                .filter(|n| n.tag == *name && matches!(n.kind, Kind::Group(_)))
                .inspect(|n| final_seen |= n.final_)
                .flat_map(|n| n.children())
                .collect();
            level = next;
        }
        for node in level.iter().filter(|n| n.tag == *last) {
            if let Kind::Value(value) = &node.kind {
                final_seen |= node.final_;
                out.push(Found { value, source: node.source.as_str(), line: node.line });
            }
        }
        if final_seen {
            break;
        }
    }
    out
}

fn error_at(v: &Found<'_>, what: &str) -> Error {
    Error::Krb5Config(format!("{}:{}: {what}", v.source, v.line))
}

fn boolean(v: &Found<'_>) -> Result<bool> {
    parse_boolean(v.value).ok_or_else(|| error_at(v, &format!("not a boolean: {:?}", v.value)))
}

fn integer(v: &Found<'_>) -> Result<u32> {
    v.value.trim().parse().map_err(|_| error_at(v, &format!("not a number: {:?}", v.value)))
}

fn duration(v: &Found<'_>) -> Result<u32> {
    parse_duration(v.value).ok_or_else(|| error_at(v, &format!("not a duration: {:?}", v.value)))
}

/// The configuration files: `KRB5_CONFIG` as `lookup` gives it (a `:`-separated list, `;` on
/// Windows), else `/etc/krb5.conf`.
pub fn default_config_paths_from(lookup: impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let separator = if cfg!(windows) { ';' } else { ':' };
    match lookup("KRB5_CONFIG").filter(|v| !v.is_empty()) {
        Some(list) => list.split(separator).filter(|p| !p.is_empty()).map(PathBuf::from).collect(),
        None => vec![PathBuf::from("/etc/krb5.conf")],
    }
}

/// [`default_config_paths_from`] over the process environment.
pub fn default_config_paths() -> Vec<PathBuf> {
    default_config_paths_from(|name| std::env::var(name).ok())
}

// ---------------------------------------------------------------------------------------------
// The profile tree and its parser
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Node {
    tag: String,
    kind: Kind,
    final_: bool,
    /// The file (main or included) and line the node was (first) written at.
    source: std::sync::Arc<String>,
    line: usize,
}

#[derive(Clone, Debug)]
enum Kind {
    Value(String),
    Group(Vec<Node>),
}

impl Node {
    fn children(&self) -> &[Node] {
        match &self.kind {
            Kind::Group(children) => children,
            Kind::Value(_) => &[],
        }
    }
}

struct Found<'a> {
    value: &'a str,
    source: &'a str,
    line: usize,
}

#[derive(PartialEq, Eq)]
enum State {
    /// Before the first section: lines are ignored.
    Init,
    Std,
    /// A `tag =` line with no value: the next line must open the subsection with `{`.
    GetOpenBrace,
}

struct Parser<'t> {
    root: &'t mut Vec<Node>,
    source: std::sync::Arc<String>,
    state: State,
    /// The path of child indices from the root to the current group.
    path: Vec<usize>,
    /// 0 outside sections, 1 in a section, 2+ in subsections.
    level: usize,
    /// Nonzero while skipping a section or subsection that was already final.
    discard: usize,
    /// Where the open subsections began (for the unclosed-brace error).
    open_lines: Vec<usize>,
}

fn parse_tree(text: &str, source: &str, includes: bool, files: &mut usize) -> Result<Vec<Node>> {
    let mut root = Vec::new();
    parse_into(&mut root, text, source, includes, 0, files)?;
    Ok(root)
}

fn parse_into(
    root: &mut Vec<Node>,
    text: &str,
    source: &str,
    includes: bool,
    depth: usize,
    files: &mut usize,
) -> Result<()> {
    *files += 1;
    if *files > MAX_FILES {
        return Err(Error::Krb5Config(format!("{source}: more than {MAX_FILES} files included")));
    }
    let mut p = Parser {
        root,
        source: std::sync::Arc::new(source.to_owned()),
        state: State::Init,
        path: Vec::new(),
        level: 0,
        discard: 0,
        open_lines: Vec::new(),
    };
    let at = |line: usize, what: &str| Error::Krb5Config(format!("{source}:{line}: {what}"));
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(target) = directive(line, "include") {
            p.include(target, false, includes, depth, files).map_err(|e| at(n, &e))?;
            continue;
        }
        if let Some(target) = directive(line, "includedir") {
            p.include(target, true, includes, depth, files).map_err(|e| at(n, &e))?;
            continue;
        }
        match p.state {
            State::Init => {
                if directive(line, "module").is_some() {
                    return Err(at(
                        n,
                        "the `module` directive (a plugin profile) is not supported",
                    ));
                }
                if !line.starts_with('[') {
                    continue;
                }
                p.state = State::Std;
                p.std_line(line, n).map_err(|e| at(n, &e))?;
            }
            State::Std => p.std_line(line, n).map_err(|e| at(n, &e))?,
            State::GetOpenBrace => {
                if !line.trim_start().starts_with('{') {
                    return Err(at(
                        n,
                        "expected '{' to open the subsection named on the line before",
                    ));
                }
                p.state = State::Std;
            }
        }
    }
    if p.state == State::GetOpenBrace {
        return Err(at(text.lines().count(), "the file ends before the expected '{'"));
    }
    if let Some(line) = p.open_lines.last() {
        return Err(at(*line, "this '{' is never closed"));
    }
    Ok(())
}

/// The argument of `name ARG` at the very start of a line (`name` then a blank).
fn directive<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(name)?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some(rest.trim())
}

impl Parser<'_> {
    fn current(&mut self) -> &mut Vec<Node> {
        let mut group: &mut Vec<Node> = self.root;
        for &i in &self.path {
            group = match group.get_mut(i).map(|n| &mut n.kind) {
                Some(Kind::Group(children)) => children,
                // The path only ever points at groups this parser made.
                _ => unreachable!("parser path points at a group"),
            };
        }
        group
    }

    fn node_at_path(&mut self) -> Option<&mut Node> {
        let (last, parents) = self.path.split_last()?;
        let (last, parents) = (*last, parents.to_vec());
        let mut group: &mut Vec<Node> = self.root;
        for i in parents {
            group = match group.get_mut(i).map(|n| &mut n.kind) {
                Some(Kind::Group(children)) => children,
                _ => return None,
            };
        }
        group.get_mut(last)
    }

    /// Enters the group `tag` of the current group, merging with an existing one; returns
    /// whether it was already final.
    fn enter_group(&mut self, tag: &str, line: usize) -> bool {
        let source = self.source.clone();
        let group = self.current();
        let index =
            match group.iter().position(|n| n.tag == tag && matches!(n.kind, Kind::Group(_))) {
                Some(i) => i,
                None => {
                    group.push(Node {
                        tag: tag.to_owned(),
                        kind: Kind::Group(Vec::new()),
                        final_: false,
                        source,
                        line,
                    });
                    group.len() - 1
                }
            };
        let was_final = group.get(index).is_some_and(|n| n.final_);
        self.path.push(index);
        was_final
    }

    fn std_line(&mut self, line: &str, n: usize) -> core::result::Result<(), String> {
        let cp = line.trim_start_matches([' ', '\t']);
        if cp.is_empty() || cp.starts_with([';', '#']) {
            return Ok(());
        }
        if let Some(rest) = cp.strip_prefix('[') {
            if self.level > 1 {
                return Err("a section header inside a subsection (a '}' is missing)".to_owned());
            }
            let (name, after) = rest.split_once(']').ok_or("a section header without ']'")?;
            self.path.clear();
            let was_final = self.enter_group(name, n);
            self.level = 1;
            self.discard = usize::from(was_final);
            let after = match after.strip_prefix('*') {
                Some(after) => {
                    if let Some(node) = self.node_at_path() {
                        node.final_ = true;
                    }
                    after
                }
                None => after,
            };
            if !after.trim().is_empty() {
                return Err(format!("text after the section header: {:?}", after.trim()));
            }
            return Ok(());
        }
        if let Some(rest) = cp.strip_prefix('}') {
            if self.level < 2 {
                return Err("'}' without a subsection to close".to_owned());
            }
            self.open_lines.pop();
            if rest.starts_with('*')
                && self.discard == 0
                && let Some(node) = self.node_at_path()
            {
                node.final_ = true;
            }
            self.level -= 1;
            if self.level < self.discard {
                self.discard = 0;
            }
            if self.discard == 0 {
                self.path.pop();
            }
            return Ok(());
        }
        // A relation: `tag = value`, `tag = "quoted"`, `tag = {`, or `tag =` then `{`.
        let (tag, value) =
            cp.split_once('=').ok_or("expected 'name = value', '[section]' or '}'")?;
        let tag = tag.trim_end_matches([' ', '\t']);
        if tag.is_empty() {
            return Err("a relation without a name".to_owned());
        }
        if tag.contains([' ', '\t']) {
            return Err(format!("a relation name with blanks in it: {tag:?}"));
        }
        let value = value.trim_start_matches([' ', '\t']);
        let (tag, final_) = match tag.find('*') {
            Some(i) => (&tag[..i], true),
            None => (tag, false),
        };
        let subsection = if value.is_empty() {
            self.state = State::GetOpenBrace;
            true
        } else {
            value.strip_prefix('{').is_some_and(|rest| rest.trim().is_empty())
        };
        if subsection {
            if self.level > MAX_NESTING {
                return Err(format!("subsections nested more than {MAX_NESTING} deep"));
            }
            self.level += 1;
            self.open_lines.push(n);
            if self.discard == 0 {
                if self.enter_group(tag, n) {
                    self.discard = self.level;
                }
                if final_ && let Some(node) = self.node_at_path() {
                    node.final_ = true;
                }
            }
            return Ok(());
        }
        let value = match value.strip_prefix('"') {
            Some(quoted) => unquote(quoted),
            None => value.trim_end().to_owned(),
        };
        if self.discard == 0 {
            let source = self.source.clone();
            self.current().push(Node {
                tag: tag.to_owned(),
                kind: Kind::Value(value),
                final_,
                source,
                line: n,
            });
        }
        Ok(())
    }

    fn include(
        &mut self,
        target: &str,
        dir: bool,
        allowed: bool,
        depth: usize,
        files: &mut usize,
    ) -> core::result::Result<(), String> {
        if !allowed {
            return Err("include directives are not followed here".to_owned());
        }
        if depth + 1 > MAX_INCLUDE_DEPTH {
            return Err(format!("includes nested more than {MAX_INCLUDE_DEPTH} deep (a loop?)"));
        }
        if target.is_empty() {
            return Err("include of an empty path".to_owned());
        }
        let mut paths = Vec::new();
        if dir {
            let entries =
                std::fs::read_dir(target).map_err(|e| format!("includedir {target}: {e}"))?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("includedir {target}: {e}"))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if valid_include_name(&name) {
                    paths.push((name, entry.path()));
                }
            }
            paths.sort();
        } else {
            paths.push((String::new(), PathBuf::from(target)));
        }
        for (_, path) in paths {
            let text = read_text(&path).map_err(|e| format!("include {}: {e}", path.display()))?;
            let name = path.display().to_string();
            // A fresh parse state sharing this file's root: fragments are independent.
            parse_into(self.root, &text, &name, true, depth + 1, files).map_err(|e| match e {
                Error::Krb5Config(text) => format!("in the included file: {text}"),
                other => other.to_string(),
            })?;
        }
        Ok(())
    }
}

/// MIT's `valid_name` for `includedir`: not a dotfile, and either ending in `.conf` or made
/// only of letters, digits, `-` and `_`.
fn valid_include_name(name: &str) -> bool {
    !name.starts_with('.')
        && (name.ends_with(".conf")
            || (!name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')))
}

/// A quoted value (after its opening quote): `\n`, `\t`, `\b`, `\x` is `x`; it ends at the
/// next unescaped quote (what follows is ignored, as MIT does) or at the end of the line.
fn unquote(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('b') => out.push('\u{8}'),
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    out
}

fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    // Refused from its size before a byte is read; one that grows meanwhile is cut short.
    if file.metadata()?.len() > MAX_FILE_SIZE {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "larger than 1 MiB"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_FILE_SIZE) {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "larger than 1 MiB"));
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"))
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// MIT's booleans (`profile_parse_boolean`): y, yes, true, t, 1, on / n, no, false, nil, 0, off.
fn parse_boolean(s: &str) -> Option<bool> {
    let s = s.trim().to_ascii_lowercase();
    match s.as_str() {
        "y" | "yes" | "true" | "t" | "1" | "on" => Some(true),
        "n" | "no" | "false" | "nil" | "0" | "off" => Some(false),
        _ => None,
    }
}

/// A duration in seconds, in the forms of MIT's `krb5_string_to_deltat`: `300`, `5m`,
/// `1h30m`, `10h 0m 0s`, `1d`, `2d 3h`, `-5m` is refused; `h:m` and `h:m:s` (`10:00`,
/// `1:30:00`), optionally after `Nd `.
pub(crate) fn parse_duration(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let mut total: u64 = 0;
    let mut rest = s;
    // Unit forms, largest first, each at most once.
    let mut units = [('d', 86_400u64), ('h', 3_600), ('m', 60), ('s', 1)].into_iter();
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let (number, after) = rest.split_at(digits);
        let number: u64 = number.parse().ok()?;
        if after.starts_with(':') {
            // h:m[:s], the end of the string.
            let mut parts = rest.split(':');
            let h: u64 = parts.next()?.parse().ok()?;
            let m: u64 = parts.next()?.parse().ok()?;
            let sec: u64 = match parts.next() {
                Some(p) => p.parse().ok()?,
                None => 0,
            };
            if parts.next().is_some() || m >= 60 || sec >= 60 {
                return None;
            }
            let hms = h.checked_mul(3_600)?.checked_add(m * 60 + sec)?;
            total = total.checked_add(hms)?;
            return u32::try_from(total).ok();
        }
        let unit = after.chars().next()?;
        let factor = loop {
            let (u, f) = units.next()?;
            if u == unit {
                break f;
            }
        };
        total = total.checked_add(number.checked_mul(factor)?)?;
        rest = after.get(1..).unwrap_or("").trim_start();
    }
    u32::try_from(total).ok()
}

/// An enctype list as MIT's `krb5int_parse_enctype_list` reads it: words separated by blanks
/// or commas; `+name` or `name` adds, `-name` removes; `DEFAULT`, `aes`, `rc4`, `des3`,
/// `camellia` are families; names and aliases case-insensitive; unknown words ignored; weak
/// types skipped unless `allow_weak`.
pub(crate) fn parse_enctype_list(text: &str, allow_weak: bool) -> Vec<EncType> {
    let mut list: Vec<EncType> = Vec::new();
    let mut apply = |e: EncType, add: bool| {
        let weak = ENCTYPE_NAMES.iter().any(|(n, _, w)| *n == e.0 && *w);
        if add {
            if (allow_weak || !weak) && !list.contains(&e) {
                list.push(e);
            }
        } else {
            list.retain(|x| *x != e);
        }
    };
    for word in text.split([' ', '\t', '\r', '\n', ',']).filter(|w| !w.is_empty()) {
        let (add, name) = match word.as_bytes().first() {
            Some(b'+') => (true, &word[1..]),
            Some(b'-') => (false, &word[1..]),
            _ => (true, word),
        };
        let family: &[EncType] = match name.to_ascii_lowercase().as_str() {
            "default" => DEFAULT_ENCTYPES,
            "des3" => &[EncType(16)],
            "aes" => &[
                EncType::AES256_CTS_HMAC_SHA1_96,
                EncType::AES128_CTS_HMAC_SHA1_96,
                EncType::AES256_CTS_HMAC_SHA384_192,
                EncType::AES128_CTS_HMAC_SHA256_128,
            ],
            "rc4" => &[EncType::RC4_HMAC],
            "camellia" => &[EncType(26), EncType(25)],
            _ => {
                if let Some((n, _, _)) = ENCTYPE_NAMES
                    .iter()
                    .find(|(_, names, _)| names.iter().any(|x| x.eq_ignore_ascii_case(name)))
                {
                    apply(EncType(*n), add);
                }
                continue;
            }
        };
        for e in family {
            apply(*e, add);
        }
    }
    list
}

/// A `kdc` value: `[tcp/|udp/]host[:port]`, `[ipv6][:port]`, a bare IPv6 address, or
/// `https://host[:port][/path]`.
fn parse_kdc(value: &str) -> core::result::Result<KdcAddress, String> {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    let (transport, rest, default_port) = if lower.starts_with("tcp/") {
        (KdcTransport::Tcp, &v[4..], DEFAULT_KDC_PORT)
    } else if lower.starts_with("udp/") {
        (KdcTransport::Udp, &v[4..], DEFAULT_KDC_PORT)
    } else if lower.starts_with("https://") {
        let rest = &v[8..];
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) =
            parse_host_port(hostport, 443).map_err(|e| format!("kdc {value:?}: {e}"))?;
        return Ok(KdcAddress {
            transport: KdcTransport::Https { path: path.to_owned() },
            host,
            port,
        });
    } else if lower.contains("://") {
        return Err(format!("kdc {value:?}: unsupported URL scheme"));
    } else {
        (KdcTransport::Any, v, DEFAULT_KDC_PORT)
    };
    let (host, port) =
        parse_host_port(rest, default_port).map_err(|e| format!("kdc {value:?}: {e}"))?;
    Ok(KdcAddress { transport, host, port })
}

/// MIT's `k5_parse_host_string`: `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6
/// address (more than one colon, no port).
fn parse_host_port(s: &str, default_port: u16) -> core::result::Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("'[' without ']'")?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or("text after ']' that is not ':port'")?)),
        }
    } else {
        match s.matches(':').count() {
            0 => (s, None),
            1 => {
                let (h, p) = s.split_once(':').ok_or("unreachable")?;
                (h, Some(p))
            }
            _ => (s, None),
        }
    };
    if host.is_empty() {
        return Err("no host".to_owned());
    }
    if host.contains(|c: char| c.is_whitespace()) {
        return Err("blanks in the host".to_owned());
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(port) if port > 0 && p.bytes().all(|b| b.is_ascii_digit()) => port,
            _ => return Err(format!("bad port {p:?}")),
        },
    };
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Krb5Config {
        Krb5Config::parse_no_includes(text, "t.conf").unwrap()
    }

    fn err(text: &str) -> String {
        match Krb5Config::parse_no_includes(text, "t.conf") {
            Err(Error::Krb5Config(t)) => t,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn a_realistic_file() {
        let c = conf(
            "# a comment before any section\n\
             this line is ignored too\n\
             [libdefaults]\n\
             \tdefault_realm = EXAMPLE.TEST\n\
             \tdns_lookup_kdc = false\n\
             \trdns = false\n\
             \tdns_canonicalize_hostname = fallback\n\
             \tudp_preference_limit = 1\n\
             \tclockskew = 5m\n\
             \tticket_lifetime = 10h 0m 0s\n\
             \trenew_lifetime = 7d\n\
             \tpermitted_enctypes = aes256-cts-hmac-sha1-96, aes128-cts rc4-hmac\n\
             \tdefault_tgs_enctypes = DEFAULT -des3 -camellia\n\
             ; another comment\n\
             [realms]\n\
             \tEXAMPLE.TEST = {\n\
             \t\tkdc = kdc1.example.test\n\
             \t\tkdc = tcp/kdc2.example.test:8888\n\
             \t\tkdc = udp/[2001:db8::1]:750\n\
             \t\tkdc = 2001:db8::2\n\
             \t\tkdc = https://proxy.example.test/KdcProxy\n\
             \t\tadmin_server = kdc1.example.test\n\
             \t\tauth_to_local = RULE:[1:$1@$0](.*@OTHER)s/@.*//\n\
             \t}\n\
             \tOTHER.TEST =\n\
             \t{\n\
             \t\tkdc = 127.0.0.1:18888\n\
             \t}\n\
             [domain_realm]\n\
             \t.example.test = EXAMPLE.TEST\n\
             \texample.test = EXAMPLE.TEST\n\
             \thost.other.test = OTHER.TEST\n\
             [logging]\n\
             \tdefault = FILE:/var/log/krb5libs.log\n",
        );
        assert_eq!(c.default_realm(), Some("EXAMPLE.TEST"));
        assert!(!c.rdns());
        assert_eq!(c.dns_canonicalize_hostname(), CanonicalizeHostname::Fallback);
        assert_eq!(c.udp_preference_limit(), 1);
        assert_eq!(c.clockskew(), 300);
        assert_eq!(c.ticket_lifetime(), Some(36_000));
        assert_eq!(c.renew_lifetime(), Some(7 * 86_400));
        assert_eq!(
            c.permitted_enctypes(),
            [EncType::AES256_CTS_HMAC_SHA1_96, EncType::AES128_CTS_HMAC_SHA1_96, EncType::RC4_HMAC]
        );
        // default_tkt_enctypes is unset: the permitted list.
        assert_eq!(c.default_tkt_enctypes(), c.permitted_enctypes());
        assert_eq!(
            c.default_tgs_enctypes(),
            [
                EncType::AES256_CTS_HMAC_SHA1_96,
                EncType::AES128_CTS_HMAC_SHA1_96,
                EncType::AES256_CTS_HMAC_SHA384_192,
                EncType::AES128_CTS_HMAC_SHA256_128,
                EncType::RC4_HMAC
            ]
        );
        let kdcs = c.kdcs("EXAMPLE.TEST");
        let k = |transport, host: &str, port| KdcAddress { transport, host: host.to_owned(), port };
        assert_eq!(
            kdcs,
            [
                k(KdcTransport::Any, "kdc1.example.test", 88),
                k(KdcTransport::Tcp, "kdc2.example.test", 8888),
                k(KdcTransport::Udp, "2001:db8::1", 750),
                k(KdcTransport::Any, "2001:db8::2", 88),
                k(KdcTransport::Https { path: "/KdcProxy".to_owned() }, "proxy.example.test", 443),
            ]
        );
        assert_eq!(c.kdcs("OTHER.TEST"), [k(KdcTransport::Any, "127.0.0.1", 18888)]);
        assert!(c.kdcs("NONE.TEST").is_empty());
        assert_eq!(c.value(&["realms", "EXAMPLE.TEST", "admin_server"]), Some("kdc1.example.test"));
        assert_eq!(
            c.value(&["realms", "EXAMPLE.TEST", "auth_to_local"]),
            Some("RULE:[1:$1@$0](.*@OTHER)s/@.*//")
        );
        assert_eq!(c.value(&["logging", "default"]), Some("FILE:/var/log/krb5libs.log"));
        assert_eq!(c.realm_for_host("www.example.test"), Some("EXAMPLE.TEST"));
        assert_eq!(c.realm_for_host("a.b.Example.TEST."), Some("EXAMPLE.TEST"));
        assert_eq!(c.realm_for_host("example.test"), Some("EXAMPLE.TEST"));
        assert_eq!(c.realm_for_host("host.other.test"), Some("OTHER.TEST"));
        assert_eq!(c.realm_for_host("x.other.test"), None);
        assert_eq!(c.realm_for_host("127.0.0.1"), None);
        assert_eq!(c.realm_for_host(""), None);
    }

    #[test]
    fn auth_to_local_rules_are_relations() {
        // RULE lines do contain '=' normally: `auth_to_local = RULE:...`.
        let c =
            conf("[realms]\nR = {\n auth_to_local = RULE:[1:$1]\n auth_to_local = DEFAULT\n}\n");
        assert_eq!(c.values(&["realms", "R", "auth_to_local"]), ["RULE:[1:$1]", "DEFAULT"]);
    }

    #[test]
    fn defaults_when_unset() {
        let c = Krb5Config::default();
        assert_eq!(c.default_realm(), None);
        assert_eq!(c.udp_preference_limit(), 1465);
        assert_eq!(c.clockskew(), 300);
        assert!(c.rdns());
        assert_eq!(c.dns_canonicalize_hostname(), CanonicalizeHostname::Yes);
        assert_eq!(c.permitted_enctypes(), DEFAULT_ENCTYPES);
        assert_eq!(c.default_tkt_enctypes(), DEFAULT_ENCTYPES);
        assert_eq!((c.ticket_lifetime(), c.renew_lifetime()), (None, None));
        let c = conf("[libdefaults]\nudp_preference_limit = 99999\nclockskew = 60\n");
        assert_eq!(c.udp_preference_limit(), 32700);
        assert_eq!(c.clockskew(), 60);
    }

    #[test]
    fn quoting_finals_and_merging() {
        let c = conf(
            "[libdefaults]\n\
             a = \"two words \\\"quoted\\\"\\tand a tab\" trailing ignored\n\
             b = value with blanks   \n\
             c* = first\n\
             [libdefaults]\n\
             c = second\n\
             [realms]*\n\
             R = {\n kdc = one\n}\n\
             [realms]\n\
             R = {\n kdc = two\n}\n\
             [domain_realm]\n\
             x = {\n  y = 1\n }*\n\
             x = {\n  y = 2\n }\n",
        );
        assert_eq!(c.value(&["libdefaults", "a"]), Some("two words \"quoted\"\tand a tab"));
        assert_eq!(c.value(&["libdefaults", "b"]), Some("value with blanks"));
        // Two [libdefaults] merge; values keep their order.
        assert_eq!(c.values(&["libdefaults", "c"]), ["first", "second"]);
        // A final section: the later one of the same name is discarded.
        assert_eq!(c.kdcs("R").len(), 1);
        assert_eq!(c.kdcs("R")[0].host, "one");
        assert_eq!(c.values(&["domain_realm", "x", "y"]), ["1"]);
    }

    #[test]
    fn several_files_first_wins_and_final_stops() {
        let a = parse_tree(
            "[libdefaults]\ndefault_realm = A\n[realms]\nR = {\nkdc = a\n}\n",
            "a",
            false,
            &mut 0,
        )
        .unwrap();
        let b = parse_tree(
            "[libdefaults]\ndefault_realm = B\nclockskew = 10\n[realms]\nR = {\nkdc = b\n}\n",
            "b",
            false,
            &mut 0,
        )
        .unwrap();
        let c = Krb5Config::from_trees(vec!["a".into(), "b".into()], vec![a, b]).unwrap();
        assert_eq!(c.default_realm(), Some("A"));
        assert_eq!(c.clockskew(), 10);
        assert_eq!(c.kdcs("R").iter().map(|k| k.host.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        let a = parse_tree("[realms]\nR = {\nkdc = a\n}*\n", "a", false, &mut 0).unwrap();
        let b = parse_tree("[realms]\nR = {\nkdc = b\n}\n", "b", false, &mut 0).unwrap();
        let c = Krb5Config::from_trees(vec!["a".into(), "b".into()], vec![a, b]).unwrap();
        assert_eq!(c.kdcs("R").len(), 1, "the final subsection hides the later file's");
    }

    #[test]
    fn malformed_files_name_the_line() {
        assert_eq!(err("[libdefaults\n"), "t.conf:1: a section header without ']'");
        assert_eq!(err("[a]\nx\n"), "t.conf:2: expected 'name = value', '[section]' or '}'");
        assert_eq!(err("[a]\n = v\n"), "t.conf:2: a relation without a name");
        assert_eq!(err("[a]\nx y = v\n"), "t.conf:2: a relation name with blanks in it: \"x y\"");
        assert_eq!(err("[a]\n}\n"), "t.conf:2: '}' without a subsection to close");
        assert_eq!(
            err("[a]\nR = {\n[b]\n"),
            "t.conf:3: a section header inside a subsection (a '}' is missing)"
        );
        assert_eq!(err("[a]\nR = {\nx = 1\n"), "t.conf:2: this '{' is never closed");
        assert_eq!(
            err("[a]\nR =\nx = 1\n"),
            "t.conf:3: expected '{' to open the subsection named on the line before"
        );
        assert_eq!(err("[a] junk\n"), "t.conf:1: text after the section header: \"junk\"");
        assert_eq!(
            err("module /lib/x.so:res\n"),
            "t.conf:1: the `module` directive (a plugin profile) is not supported"
        );
        assert!(
            err("include /etc/krb5.conf\n")
                .starts_with("t.conf:1: include directives are not followed")
        );
        assert_eq!(err("[libdefaults]\nrdns = maybe\n"), "t.conf:2: not a boolean: \"maybe\"");
        assert_eq!(
            err("[libdefaults]\nudp_preference_limit = lots\n"),
            "t.conf:2: not a number: \"lots\""
        );
        assert_eq!(
            err("[libdefaults]\n\nclockskew = 5 minutes\n"),
            "t.conf:3: not a duration: \"5 minutes\""
        );
        assert_eq!(
            err("[realms]\nR = {\n kdc = host:0\n}\n"),
            "t.conf:3: kdc \"host:0\": bad port \"0\""
        );
        assert!(err("[realms]\nR = {\n kdc = host:99999\n}\n").contains("bad port"));
        assert!(err("[realms]\nR = {\n kdc = [::1\n}\n").contains("'[' without ']'"));
        assert!(err("[realms]\nR = {\n kdc = ftp://x\n}\n").contains("unsupported URL scheme"));
        assert!(err("[realms]\nR = {\n kdc = tcp/\n}\n").contains("no host"));
    }

    #[test]
    fn durations() {
        for (text, secs) in [
            ("300", 300),
            ("5m", 300),
            ("1h30m", 5400),
            ("10h 0m 0s", 36_000),
            ("1d", 86_400),
            ("2d 3h", 2 * 86_400 + 3 * 3_600),
            ("1:30", 5_400),
            ("1:30:15", 5_415),
            ("1d 1:00", 90_000),
            (" 45s ", 45),
        ] {
            assert_eq!(parse_duration(text), Some(secs), "{text}");
        }
        for bad in [
            "",
            "5 m",
            "m",
            "5x",
            "1m1h",
            "1h1h",
            "-5m",
            "1:60",
            "1:2:3:4",
            "99999999999",
            "5m junk",
            "99999999999999999999:00",
            "9999999999999999:00",
            "999999999999999999d",
            "1d 9999999999999999:00",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn enctype_lists() {
        let l = |s: &str| parse_enctype_list(s, false);
        assert_eq!(l("aes256-cts AES128-SHA1 aes256-sha2 aes128-sha2"), l("aes"));
        assert_eq!(l("rc4-hmac arcfour-hmac-md5 arcfour-hmac rc4"), [EncType::RC4_HMAC]);
        assert_eq!(l("DEFAULT -aes -rc4 -des3"), [EncType(25), EncType(26)]);
        assert_eq!(
            l("default -camellia -des3 -des"),
            [
                EncType::AES256_CTS_HMAC_SHA1_96,
                EncType::AES128_CTS_HMAC_SHA1_96,
                EncType::AES256_CTS_HMAC_SHA384_192,
                EncType::AES128_CTS_HMAC_SHA256_128,
                EncType::RC4_HMAC,
            ]
        );
        assert_eq!(l("des-cbc-crc nonsense +"), []);
        assert_eq!(l("+aes128-cts,-aes128-cts,aes256-cts"), [EncType::AES256_CTS_HMAC_SHA1_96]);
        // Weak types only with allow_weak_crypto.
        assert_eq!(l("rc4-hmac-exp aes128-cts"), [EncType::AES128_CTS_HMAC_SHA1_96]);
        assert_eq!(parse_enctype_list("rc4-hmac-exp", true), [EncType(24)]);
        let c =
            conf("[libdefaults]\nallow_weak_crypto = yes\npermitted_enctypes = arcfour-hmac-exp\n");
        assert_eq!(c.permitted_enctypes(), [EncType(24)]);
    }

    #[test]
    fn includes_and_includedir() {
        let dir = std::env::temp_dir().join(format!("sspi-emu-conf-{}", std::process::id()));
        let d = dir.join("conf.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("10-realm.conf"), "[realms]\nINC.TEST = {\n kdc = inc:1\n}\n")
            .unwrap();
        std::fs::write(d.join("20_plain"), "[domain_realm]\n.inc.test = INC.TEST\n").unwrap();
        std::fs::write(d.join("30.bak"), "broken [").unwrap(); // not a valid name: skipped
        std::fs::write(d.join(".hidden.conf"), "broken [").unwrap();
        let main = dir.join("krb5.conf");
        std::fs::write(dir.join("extra"), "[libdefaults]\nclockskew = 1m\n").unwrap();
        std::fs::write(
            &main,
            format!(
                "[libdefaults]\ndefault_realm = INC.TEST\ninclude {}\n rdns = false\nincludedir {}\n",
                dir.join("extra").display(),
                d.display()
            ),
        )
        .unwrap();
        let c = Krb5Config::load(&main).unwrap();
        assert_eq!(c.default_realm(), Some("INC.TEST"));
        assert_eq!(c.clockskew(), 60);
        // After the include, the outer file carries on in its own section.
        assert!(!c.rdns());
        assert_eq!(c.kdcs("INC.TEST")[0].port, 1);
        assert_eq!(c.realm_for_host("h.inc.test"), Some("INC.TEST"));
        // An include loop ends at the depth limit.
        let looped = dir.join("loop.conf");
        std::fs::write(&looped, format!("include {}\n", looped.display())).unwrap();
        let e = Krb5Config::load(&looped).unwrap_err().to_string();
        assert!(e.contains("nested more than 8"), "{e}");
        // A malformed included file names itself and its line.
        std::fs::write(d.join("40.conf"), "[x]\n}\n").unwrap();
        let e = Krb5Config::load(&main).unwrap_err().to_string();
        assert!(e.contains("40.conf:2: '}' without"), "{e}");
        let e = Krb5Config::load(dir.join("missing")).unwrap_err().to_string();
        assert!(e.contains("missing: cannot read"), "{e}");
        // KRB5_CONFIG lists: missing files skipped.
        let c = Krb5Config::load_files(&[dir.join("missing"), dir.join("extra")], true).unwrap();
        assert_eq!(c.clockskew(), 60);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn default_paths_from_the_environment() {
        let env = |v: Option<&'static str>| {
            move |name: &str| {
                assert_eq!(name, "KRB5_CONFIG");
                v.map(str::to_owned)
            }
        };
        assert_eq!(default_config_paths_from(env(None)), [PathBuf::from("/etc/krb5.conf")]);
        assert_eq!(
            default_config_paths_from(env(Some("/a:/b::"))),
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
    }
}
