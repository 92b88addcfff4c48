//! One device's session over snmp2, with timeouts, retries, backoff and pacing.
//!
//! snmp2 keeps a late reply queued and then reads it as the answer to the next request
//! (`RequestIdMismatch` for ever after): the session is recreated after any timeout or
//! mismatch, so a late answer can never be taken for another.
//!
//! The session learns how long the device takes to answer (a smoothed answer time and its
//! variation, as TCP does for its retransmission timer) and waits that long at the first
//! attempt: a busy printer that always answers after the configured first timeout costs that
//! timeout once per session, not once per request. The wait never drops below the configured
//! first timeout nor grows past the configuration's last attempt.

use std::time::{Duration, Instant};

use cartouche_schema::profiles::{Oid, Value};
use secrecy::ExposeSecret;
use snmp2::AsyncSession;
use snmp2::v3::AuthErrorKind;

use super::{Credential, EngineConfig, Snmp, SnmpError, Target, Varbind};

pub struct Session {
    target: Target,
    /// SNMPv3: the security state once the engine is discovered (engine id, boots, time and
    /// the keys localized to it), reused by every new session to this device.
    v3_security: Option<snmp2::v3::Security>,
    config: EngineConfig,
    inner: Option<AsyncSession>,
    last_request: Option<Instant>,
    next_request_id: i32,
    bulk_refused: bool,
    /// Requests sent, retries included (for reports and benchmarks).
    pub requests: u64,
    /// Requests that went unanswered before a retry (a sleeping or busy device).
    pub timeouts: u64,
    /// The smoothed answer time and its mean deviation, once the device has answered.
    answer_time: Option<(Duration, Duration)>,
}

enum Op<'a> {
    Get(&'a [Oid]),
    Next(&'a Oid),
    Bulk(&'a Oid, u32),
}

fn to_snmp2(oid: &Oid) -> Result<snmp2::Oid<'static>, SnmpError> {
    let arcs: Vec<u64> = oid.arcs().iter().map(|a| u64::from(*a)).collect();
    snmp2::Oid::from(&arcs).map_err(|_| SnmpError::Protocol(format!("{oid} cannot be encoded")))
}

pub(super) fn from_snmp2(oid: &snmp2::Oid<'_>) -> Option<Oid> {
    let arcs: Option<Vec<u32>> = oid.iter()?.map(|a| u32::try_from(a).ok()).collect();
    Some(Oid::new(arcs?))
}

pub(super) fn value(v: &snmp2::Value<'_>) -> Value {
    match v {
        snmp2::Value::Integer(n) => Value::Integer(*n),
        snmp2::Value::OctetString(b) => Value::OctetString(b.to_vec()),
        snmp2::Value::ObjectIdentifier(o) => from_snmp2(o).map_or(Value::Null, Value::ObjectId),
        snmp2::Value::IpAddress(ip) => Value::IpAddress(*ip),
        snmp2::Value::Counter32(n) => Value::Counter32(*n),
        snmp2::Value::Unsigned32(n) => Value::Gauge32(*n),
        snmp2::Value::Timeticks(n) => Value::TimeTicks(*n),
        snmp2::Value::Opaque(b) => Value::Opaque(b.to_vec()),
        snmp2::Value::Counter64(n) => Value::Counter64(*n),
        snmp2::Value::Boolean(b) => Value::Integer(i64::from(*b)),
        snmp2::Value::NoSuchObject | snmp2::Value::NoSuchInstance | snmp2::Value::EndOfMibView => Value::Missing,
        _ => Value::Null,
    }
}

/// True for the end-of-walk marker (as opposed to a missing object).
fn is_end_of_mib(v: &snmp2::Value<'_>) -> bool {
    matches!(v, snmp2::Value::EndOfMibView)
}

impl Session {
    pub fn new(target: Target, config: EngineConfig) -> Session {
        Session {
            target,
            v3_security: None,
            config,
            inner: None,
            last_request: None,
            next_request_id: rand_start(),
            bulk_refused: false,
            requests: 0,
            timeouts: 0,
            answer_time: None,
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    async fn connect(&mut self) -> Result<&mut AsyncSession, SnmpError> {
        if self.inner.is_none() {
            let address = self.target.address;
            let io = |e: std::io::Error| SnmpError::Io(address, e.to_string());
            self.next_request_id = self.next_request_id.wrapping_add(1000);
            let credential = self.target.credential.clone();
            let session = match &credential {
                Credential::V1 { community } => {
                    AsyncSession::new_v1(address, community.expose_secret().as_bytes(), self.next_request_id)
                        .await
                        .map_err(io)?
                }
                Credential::V2c { community } => {
                    AsyncSession::new_v2c(address, community.expose_secret().as_bytes(), self.next_request_id)
                        .await
                        .map_err(io)?
                }
                Credential::V3(v3) => {
                    if self.v3_security.is_none() {
                        self.v3_security = Some(self.discover_engine(v3).await?);
                    }
                    let cached = self.v3_security.clone().expect("invariant: discovered just above");
                    AsyncSession::new_v3(address, self.next_request_id, cached).await.map_err(io)?
                }
            };
            self.inner = Some(session);
        }
        Ok(self.inner.as_mut().expect("invariant: the session was just created"))
    }

    /// Engine discovery (RFC 3414): the device's engine id, boots and time, and the keys
    /// localized to that engine. Done once per device; a time-window report redoes it.
    async fn discover_engine(&mut self, v3: &super::V3Credential) -> Result<snmp2::v3::Security, SnmpError> {
        let address = self.target.address;
        let io = |e: std::io::Error| SnmpError::Io(address, e.to_string());
        let socket = tokio::net::UdpSocket::bind(("0.0.0.0", 0)).await.map_err(io)?;
        socket.connect(address).await.map_err(io)?;
        let mut buf = vec![0u8; 4096];
        let mut timeout = self.config.first_timeout;
        for _ in 0..=self.config.retries {
            self.next_request_id = self.next_request_id.wrapping_add(1);
            self.requests += 1;
            let request = super::ber::v3_discovery(self.next_request_id, self.next_request_id);
            socket.send(&request).await.map_err(io)?;
            if let Ok(Ok(len)) = tokio::time::timeout(timeout, socket.recv(&mut buf)).await {
                let (engine, boots, time) = super::ber::v3_engine(&buf[..len])
                    .ok_or_else(|| SnmpError::Protocol("the engine discovery answer is unreadable".into()))?;
                let security = security(v3)
                    .with_engine_id(&engine)
                    .map_err(|e| v3_error(&e))?
                    .with_engine_boots_and_time(boots, time);
                return Ok(security);
            }
            timeout = timeout.saturating_mul(self.config.backoff.max(1));
        }
        Err(SnmpError::Timeout { attempts: self.config.retries + 1 })
    }

    async fn pace(&mut self) {
        if let Some(last) = self.last_request {
            let wait = self.config.pacing.saturating_sub(last.elapsed());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        self.last_request = Some(Instant::now());
    }

    /// The longest wait the configuration gives one attempt (its last retry's).
    fn longest_wait(&self) -> Duration {
        let growth = self.config.backoff.max(1).saturating_pow(self.config.retries);
        self.config.first_timeout.saturating_mul(growth)
    }

    /// The first attempt's wait: the configured first timeout, or longer for a device known to
    /// answer slowly (twice its usual answer time, or that time and four deviations).
    pub fn first_wait(&self) -> Duration {
        let Some((smoothed, deviation)) = self.answer_time else { return self.config.first_timeout };
        let learned = smoothed.saturating_mul(2).max(smoothed.saturating_add(deviation.saturating_mul(4)));
        learned.clamp(self.config.first_timeout, self.longest_wait().max(self.config.first_timeout))
    }

    /// Takes one answer's time into the smoothed time and deviation (RFC 6298's gains).
    fn learn(&mut self, took: Duration) {
        self.answer_time = Some(match self.answer_time {
            None => (took, took / 2),
            Some((smoothed, deviation)) => {
                let error = smoothed.abs_diff(took);
                ((smoothed * 7 + took) / 8, (deviation * 3 + error) / 4)
            }
        });
    }

    /// Sends `op` with retries; each retry on a fresh session, waiting longer.
    async fn request(&mut self, op: Op<'_>) -> Result<(Vec<Varbind>, bool), SnmpError> {
        let mut timeout = self.first_wait();
        let longest = self.longest_wait().max(timeout);
        let attempts = self.config.retries + 1;
        let mut resynced = false;
        for _ in 0..attempts {
            self.pace().await;
            self.requests += 1;
            let session = self.connect().await?;
            let sent = Instant::now();
            let outcome = tokio::time::timeout(timeout, send(session, &op)).await;
            match outcome {
                Ok(Ok(answer)) => {
                    self.learn(sent.elapsed());
                    return answer;
                }
                // The device's clock moved (reboot, time window): the state is updated, ask again.
                Ok(Err(snmp2::Error::AuthUpdated)) => {
                    self.inner = None;
                    self.v3_security = None;
                    continue;
                }
                // The engine changed under us (a reboot that reset it, or another device on this
                // address): discover it again and ask once more.
                Ok(Err(snmp2::Error::AuthFailure(
                    AuthErrorKind::EngineIdMismatch
                    | AuthErrorKind::EngineBootsMismatch
                    | AuthErrorKind::EngineTimeMismatch,
                ))) if !resynced => {
                    resynced = true;
                    self.inner = None;
                    self.v3_security = None;
                    continue;
                }
                Ok(Err(err @ snmp2::Error::AuthFailure(_))) => {
                    self.inner = None;
                    self.v3_security = None;
                    return Err(v3_error(&err));
                }
                Ok(Err(snmp2::Error::RequestIdMismatch)) => {
                    // A late or stray answer may be queued: start afresh.
                    self.inner = None;
                }
                Err(_) => {
                    self.timeouts += 1;
                    self.inner = None;
                }
                Ok(Err(snmp2::Error::Receive | snmp2::Error::Send)) => {
                    // ICMP port unreachable on loopback and some networks: nobody there.
                    self.inner = None;
                    tokio::time::sleep(timeout.min(Duration::from_millis(200))).await;
                }
                Ok(Err(err)) => {
                    self.inner = None;
                    return Err(match err {
                        snmp2::Error::CommunityMismatch => {
                            SnmpError::Protocol("the answer names another community".into())
                        }
                        other => SnmpError::Protocol(format!("{other:?}")),
                    });
                }
            }
            timeout = timeout.saturating_mul(self.config.backoff.max(1)).min(longest);
        }
        Err(SnmpError::Timeout { attempts })
    }
}

fn security(v3: &super::V3Credential) -> snmp2::v3::Security {
    use snmp2::v3::{Auth, AuthProtocol as P, Cipher, Security};
    let password = v3.auth.as_ref().map(|(_, p)| p.expose_secret().as_bytes().to_vec()).unwrap_or_default();
    let mut security = Security::new(v3.user.as_bytes(), &password);
    if let Some((protocol, _)) = &v3.auth {
        security = security.with_auth_protocol(match protocol {
            super::AuthProtocol::Md5 => P::Md5,
            super::AuthProtocol::Sha1 => P::Sha1,
            super::AuthProtocol::Sha224 => P::Sha224,
            super::AuthProtocol::Sha256 => P::Sha256,
            super::AuthProtocol::Sha384 => P::Sha384,
            super::AuthProtocol::Sha512 => P::Sha512,
        });
    }
    let auth = match (&v3.auth, &v3.privacy) {
        (None, _) => Auth::NoAuthNoPriv,
        (Some(_), None) => Auth::AuthNoPriv,
        (Some(_), Some((cipher, password))) => Auth::AuthPriv {
            cipher: match cipher {
                super::Privacy::Des => Cipher::Des,
                super::Privacy::Aes128 => Cipher::Aes128,
                super::Privacy::Aes192 => Cipher::Aes192,
                super::Privacy::Aes256 => Cipher::Aes256,
            },
            privacy_password: password.expose_secret().as_bytes().to_vec(),
        },
    };
    security = security.with_auth(auth);
    if let Some(context) = &v3.context {
        security = security.with_context_name(context);
    }
    security
}

fn v3_error(err: &snmp2::Error) -> SnmpError {
    match err {
        snmp2::Error::AuthFailure(kind) => SnmpError::Auth(format!("{kind:?}")),
        other => SnmpError::Protocol(format!("{other:?}")),
    }
}

fn rand_start() -> i32 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    i32::try_from(nanos % 1_000_000_000 / 2).unwrap_or(1)
}

/// One exchange; the bool says whether the device ended the MIB view (or v1's noSuchName).
async fn send(
    session: &mut AsyncSession,
    op: &Op<'_>,
) -> Result<Result<(Vec<Varbind>, bool), SnmpError>, snmp2::Error> {
    let converted: Result<Vec<snmp2::Oid<'static>>, SnmpError> = match op {
        Op::Get(oids) => oids.iter().map(to_snmp2).collect(),
        Op::Next(oid) | Op::Bulk(oid, _) => to_snmp2(oid).map(|o| vec![o]),
    };
    let oids = match converted {
        Ok(oids) => oids,
        Err(e) => return Ok(Err(e)),
    };
    let refs: Vec<&snmp2::Oid<'_>> = oids.iter().collect();
    let pdu = match op {
        Op::Get(_) => session.get_many(&refs).await?,
        Op::Next(_) => session.getnext(refs[0]).await?,
        Op::Bulk(_, reps) => session.getbulk(&refs, 0, *reps).await?,
    };
    match pdu.error_status {
        0 => {}
        1 => return Ok(Err(SnmpError::TooBig)),
        // v1 noSuchName: the end of a walk, or a missing object in a GET.
        2 => return Ok(Ok((Vec::new(), true))),
        status => {
            return Ok(Err(SnmpError::Status { status, index: pdu.error_index }));
        }
    }
    let mut out = Vec::new();
    let mut ended = false;
    for (oid, v) in pdu.varbinds {
        let Some(oid) = from_snmp2(&oid) else { continue };
        if is_end_of_mib(&v) {
            ended = true;
        }
        out.push((oid, value(&v)));
    }
    Ok(Ok((out, ended)))
}

impl Snmp for Session {
    async fn get(&mut self, oids: &[Oid]) -> Result<Vec<Varbind>, SnmpError> {
        let mut out = Vec::with_capacity(oids.len());
        let mut pending: Vec<&[Oid]> = oids.chunks(self.config.get_batch.max(1)).rev().collect();
        while let Some(chunk) = pending.pop() {
            let (answer, no_such_name) = match self.request(Op::Get(chunk)).await {
                // The answer would not fit: ask for half as much at a time.
                Err(SnmpError::TooBig) if chunk.len() > 1 => {
                    let (a, b) = chunk.split_at(chunk.len() / 2);
                    pending.push(b);
                    pending.push(a);
                    continue;
                }
                other => other?,
            };
            if no_such_name && self.target.credential.is_v1() && chunk.len() > 1 {
                // v1 fails the whole request for one missing object: ask one by one.
                for oid in chunk {
                    let (one, missing) = self.request(Op::Get(std::slice::from_ref(oid))).await?;
                    if missing || one.is_empty() {
                        out.push((oid.clone(), Value::Missing));
                    } else {
                        out.extend(one);
                    }
                }
                continue;
            }
            if no_such_name {
                out.extend(chunk.iter().map(|o| (o.clone(), Value::Missing)));
            } else {
                out.extend(answer);
            }
        }
        Ok(out)
    }

    async fn get_next(&mut self, oid: &Oid) -> Result<Vec<Varbind>, SnmpError> {
        let (answer, ended) = self.request(Op::Next(oid)).await?;
        Ok(if ended && answer.iter().all(|(_, v)| matches!(v, Value::Missing)) { Vec::new() } else { answer })
    }

    async fn get_bulk(&mut self, oid: &Oid, max_repetitions: u32) -> Result<Vec<Varbind>, SnmpError> {
        let (answer, _) = self.request(Op::Bulk(oid, max_repetitions)).await?;
        Ok(answer)
    }

    fn supports_bulk(&self) -> bool {
        !self.target.credential.is_v1() && !self.bulk_refused
    }

    fn refuse_bulk(&mut self) {
        self.bulk_refused = true;
    }

    fn address(&self) -> std::net::SocketAddr {
        self.target.address
    }

    fn engine_id(&self) -> Option<String> {
        let security = self.v3_security.as_ref()?;
        let id = security.engine_id();
        (!id.is_empty()).then(|| id.iter().map(|b| format!("{b:02x}")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(first_ms: u64, retries: u32) -> Session {
        let config =
            EngineConfig { first_timeout: Duration::from_millis(first_ms), retries, ..EngineConfig::default() };
        let target = Target {
            address: "127.0.0.1:161".parse().unwrap(),
            credential: Credential::V2c { community: secrecy::SecretString::from("public".to_owned()) },
        };
        Session::new(target, config)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_first_wait_follows_a_slow_device_within_the_configured_bounds() {
        let mut busy = session(150, 2);
        assert_eq!(busy.first_wait(), ms(150), "nothing known: the configured first timeout");
        // A device that answers in 250 ms: waited for twice that, or its time and four
        // deviations, at most the last retry's 600 ms.
        busy.learn(ms(250));
        assert_eq!(busy.first_wait(), ms(600), "250 + 4 × 125, capped at 150 × 2²");
        for _ in 0..20 {
            busy.learn(ms(250));
        }
        assert_eq!(busy.first_wait(), ms(500), "steady at 250 ms: twice that");
        // It gets quick again: the wait comes back down, never under the configuration's.
        for _ in 0..40 {
            busy.learn(ms(2));
        }
        assert_eq!(busy.first_wait(), ms(150));

        let mut quick = session(3_000, 1);
        quick.learn(ms(4));
        assert_eq!(quick.first_wait(), ms(3_000), "a quick device keeps the configured wait");
        let mut sluggish = session(1_000, 1);
        sluggish.learn(ms(5_000));
        assert_eq!(sluggish.first_wait(), ms(2_000), "never past the last attempt's wait");
    }
}
