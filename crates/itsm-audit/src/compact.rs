//! The compact binary form of a deployment, as the SQLite ledger stores it (format 1).
//!
//! A JSON body repeats every field name and spells each timestamp as text: about 450 bytes
//! for a typical deployment, most of the bytes a 100,000-record batch writes to the log.
//! This form keeps the same content in about 200 bytes: a format byte (`1`; a JSON body
//! starts with `{`, so the two are told apart by their first byte), then the fields in
//! their declaration order:
//!
//! - text: its length in bytes as a LEB128 varint, then its UTF-8 bytes;
//! - instant: Unix seconds (zigzag varint), nanoseconds (varint), UTC offset in seconds
//!   (zigzag varint), so the offset it was recorded with is kept;
//! - optional value: `0` for none, `1` then the value;
//! - outcome: `0` succeeded, `1` failed; flag: `0` or `1`.
//!
//! Decoding checks every value as the JSON form does (identifiers, URLs, lengths) and
//! refuses trailing bytes, so a damaged body is reported, never misread.

use itsm_core::url::Url;
use itsm_core::{CommitId, Environment, ExternalRef, Person, PipelineRunId, ServiceId, Version};
use time::{OffsetDateTime, UtcOffset};

use crate::model::{ChangeEvidence, NewDeployment, Outcome};

/// The first byte of a body in this format.
pub(crate) const FORMAT: u8 = 1;

/// Appends `deployment` in the compact form to `out`.
pub(crate) fn encode_into(out: &mut Vec<u8>, deployment: &NewDeployment) {
    let d = deployment;
    out.push(FORMAT);
    text(out, d.service.as_str());
    text(out, d.version.as_str());
    text(out, d.environment.as_str());
    instant(out, d.started_at);
    instant(out, d.finished_at);
    text(out, &d.deployer.name);
    option(out, d.deployer.email.as_deref(), text);
    option(out, d.deployer.handle.as_deref(), text);
    out.push(match d.outcome {
        Outcome::Succeeded => 0,
        Outcome::Failed => 1,
    });
    text(out, d.commit.as_str());
    text(out, &d.artifact_digest);
    text(out, d.pipeline_run.as_str());
    option(out, d.pipeline_url.as_ref(), |out, u| text(out, u.as_str()));
    option(out, d.first_commit_at, instant);
    option(out, d.change.as_ref(), |out, c| {
        text(out, &c.reference.system);
        text(out, &c.reference.id);
        option(out, c.reference.url.as_ref(), |out, u| {
            text(out, u.as_str())
        });
        out.push(u8::from(c.approved));
        text(out, c.version.as_str());
        option(out, c.window_start, instant);
        option(out, c.window_end, instant);
    });
}

/// Reads a body written by [`encode_into`]; the error says what is wrong with it.
pub(crate) fn decode(bytes: &[u8]) -> Result<NewDeployment, String> {
    let mut r = Reader { bytes, at: 0 };
    let format = r.byte("format")?;
    if format != FORMAT {
        return Err(format!(
            "it is in body format {format}, which this version of itsm does not know"
        ));
    }
    let deployment = NewDeployment {
        service: r.id("service", ServiceId::new)?,
        version: r.id("version", Version::new)?,
        environment: r.id("environment", Environment::new)?,
        started_at: r.instant("started_at")?,
        finished_at: r.instant("finished_at")?,
        deployer: Person {
            name: r.text("deployer")?.to_owned(),
            email: r.option(|r| r.text("deployer email").map(str::to_owned))?,
            handle: r.option(|r| r.text("deployer handle").map(str::to_owned))?,
        },
        outcome: match r.byte("outcome")? {
            0 => Outcome::Succeeded,
            1 => Outcome::Failed,
            other => return Err(format!("its outcome is {other}, not 0 or 1")),
        },
        commit: r.id("commit", CommitId::new)?,
        artifact_digest: r.text("artifact_digest")?.to_owned(),
        pipeline_run: r.id("pipeline_run", PipelineRunId::new)?,
        pipeline_url: r.option(|r| r.url("pipeline_url"))?,
        first_commit_at: r.option(|r| r.instant("first_commit_at"))?,
        change: r.option(|r| {
            Ok(ChangeEvidence {
                reference: ExternalRef {
                    system: r.text("change system")?.to_owned(),
                    id: r.text("change id")?.to_owned(),
                    url: r.option(|r| r.url("change url"))?,
                },
                approved: r.flag("change approved")?,
                version: r.id("change version", Version::new)?,
                window_start: r.option(|r| r.instant("change window_start"))?,
                window_end: r.option(|r| r.instant("change window_end"))?,
            })
        })?,
    };
    if r.at != bytes.len() {
        return Err(format!(
            "it has {} bytes after the deployment",
            bytes.len() - r.at
        ));
    }
    Ok(deployment)
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        // Truncation intended: the low seven bits, with the continuation bit.
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn zigzag(out: &mut Vec<u8>, n: i64) {
    varint(out, ((n << 1) ^ (n >> 63)) as u64);
}

fn text(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn instant(out: &mut Vec<u8>, at: OffsetDateTime) {
    zigzag(out, at.unix_timestamp());
    varint(out, u64::from(at.nanosecond()));
    zigzag(out, i64::from(at.offset().whole_seconds()));
}

fn option<T>(out: &mut Vec<u8>, value: Option<T>, write: impl FnOnce(&mut Vec<u8>, T)) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            write(out, v);
        }
    }
}

/// Reads a body front to back; every read names the field it was for when it fails.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self, what: &str) -> Result<u8, String> {
        let b = self
            .bytes
            .get(self.at)
            .copied()
            .ok_or_else(|| format!("it ends before its {what}"))?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self, what: &str) -> Result<u64, String> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte(what)?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(format!("its {what} has a number longer than 64 bits"))
    }

    fn zigzag(&mut self, what: &str) -> Result<i64, String> {
        let n = self.varint(what)?;
        Ok((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    fn text(&mut self, what: &str) -> Result<&'a str, String> {
        let len = usize::try_from(self.varint(what)?).unwrap_or(usize::MAX);
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| format!("its {what} is cut short"))?;
        let s = std::str::from_utf8(&self.bytes[self.at..end])
            .map_err(|e| format!("its {what} is not UTF-8: {e}"))?;
        self.at = end;
        Ok(s)
    }

    fn id<T>(
        &mut self,
        what: &str,
        make: impl FnOnce(&'a str) -> itsm_core::Result<T>,
    ) -> Result<T, String> {
        let s = self.text(what)?;
        make(s).map_err(|e| format!("its {what} is invalid: {e}"))
    }

    fn url(&mut self, what: &str) -> Result<Url, String> {
        let s = self.text(what)?;
        Url::parse(s).map_err(|e| format!("its {what} {s:?} is not a URL: {e}"))
    }

    fn flag(&mut self, what: &str) -> Result<bool, String> {
        match self.byte(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("its {what} is {other}, not 0 or 1")),
        }
    }

    fn instant(&mut self, what: &str) -> Result<OffsetDateTime, String> {
        let secs = self.zigzag(what)?;
        let nanos = self.varint(what)?;
        let offset = self.zigzag(what)?;
        let bad = |why: String| format!("its {what} is not an instant: {why}");
        let nanos = u32::try_from(nanos)
            .ok()
            .filter(|n| *n < 1_000_000_000)
            .ok_or_else(|| bad(format!("{nanos} nanoseconds")))?;
        let offset = i32::try_from(offset)
            .map_err(|e| e.to_string())
            .and_then(|o| UtcOffset::from_whole_seconds(o).map_err(|e| e.to_string()))
            .map_err(bad)?;
        OffsetDateTime::from_unix_timestamp(secs)
            .and_then(|t| t.replace_nanosecond(nanos))
            .map(|t| t.to_offset(offset))
            .map_err(|e| bad(e.to_string()))
    }

    fn option<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        match self.byte("option tag")? {
            0 => Ok(None),
            1 => read(self).map(Some),
            other => Err(format!("it has option tag {other}, not 0 or 1")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn full() -> NewDeployment {
        NewDeployment {
            service: ServiceId::new("checkout").unwrap(),
            version: Version::new("2.3.1").unwrap(),
            environment: Environment::production(),
            started_at: datetime!(2026-05-01 09:54:07.123456789 +02:00),
            finished_at: datetime!(2026-05-01 10:00:00 UTC),
            deployer: Person::named("Ana Lima").with_email("ana@example.com"),
            outcome: Outcome::Failed,
            commit: CommitId::new("0123456789abcdef0123456789abcdef01234567").unwrap(),
            artifact_digest: "sha256:ab".into(),
            pipeline_run: PipelineRunId::new("gh-7").unwrap(),
            pipeline_url: Some(Url::parse("https://ci.example.com/runs/7").unwrap()),
            first_commit_at: Some(datetime!(1969-12-31 23:59:59.5 -05:30)),
            change: Some(ChangeEvidence {
                reference: ExternalRef::new("servicenow", "CHG0001"),
                approved: true,
                version: Version::new("2.3.1").unwrap(),
                window_start: Some(datetime!(2026-05-01 09:00 UTC)),
                window_end: None,
            }),
        }
    }

    fn bare() -> NewDeployment {
        NewDeployment {
            deployer: Person {
                name: "pipeline".into(),
                email: None,
                handle: Some("bot".into()),
            },
            outcome: Outcome::Succeeded,
            pipeline_url: None,
            first_commit_at: None,
            change: None,
            ..full()
        }
    }

    fn encoded(d: &NewDeployment) -> Vec<u8> {
        let mut out = Vec::new();
        encode_into(&mut out, d);
        out
    }

    #[test]
    fn every_field_round_trips_with_its_offset() {
        for d in [full(), bare()] {
            let back = decode(&encoded(&d)).unwrap();
            assert_eq!(back, d);
            assert_eq!(back.started_at.offset(), d.started_at.offset());
            assert_eq!(
                back.first_commit_at.map(|t| t.offset()),
                d.first_commit_at.map(|t| t.offset())
            );
        }
    }

    #[test]
    fn it_is_less_than_half_the_json() {
        let d = full();
        let json = serde_json::to_vec(&d).unwrap();
        let compact = encoded(&d);
        assert_eq!(compact[0], FORMAT);
        assert!(
            compact.len() * 2 < json.len(),
            "{} bytes compact, {} JSON",
            compact.len(),
            json.len()
        );
    }

    #[test]
    fn every_truncation_is_refused_with_a_reason() {
        let bytes = encoded(&full());
        for len in 0..bytes.len() {
            let err = decode(&bytes[..len]).unwrap_err();
            assert!(err.starts_with("it") && err.len() > 10, "{len}: {err}");
        }
    }

    #[test]
    fn damaged_bodies_are_refused_not_misread() {
        let bytes = encoded(&full());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode(&trailing).unwrap_err().contains("1 bytes after"));

        let mut future = bytes.clone();
        future[0] = 2;
        assert!(decode(&future).unwrap_err().contains("body format 2"));

        // The service's length byte pointing past the end.
        let mut long = bytes.clone();
        long[1] = 0x7f;
        assert!(decode(&long).is_err());

        // A service that is not a valid identifier (empty).
        let mut empty = vec![FORMAT, 0];
        empty.extend_from_slice(&bytes[2 + "checkout".len()..]);
        assert!(decode(&empty).unwrap_err().contains("service is invalid"));

        // Every single-byte corruption either fails or decodes to a valid deployment:
        // never a panic.
        for i in 0..bytes.len() {
            for b in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[i] = b;
                if let Ok(d) = decode(&damaged) {
                    assert_eq!(decode(&encoded(&d)), Ok(d), "byte {i} = {b:#x}");
                }
            }
        }
    }

    #[test]
    fn varints_cover_the_whole_range() {
        for n in [0, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1 << 40] {
            let mut out = Vec::new();
            zigzag(&mut out, n);
            let mut r = Reader { bytes: &out, at: 0 };
            assert_eq!(r.zigzag("n").unwrap(), n);
            assert_eq!(r.at, out.len());
        }
        let overlong = [0xffu8; 11];
        let mut r = Reader {
            bytes: &overlong,
            at: 0,
        };
        assert!(r.varint("n").unwrap_err().contains("longer than 64 bits"));
    }
}
