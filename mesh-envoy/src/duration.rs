//! protobuf JSON `Duration`: `"1s"`, `"0.050s"`, `"60s"` (seconds with up to 9 fraction digits).
//!
//! Use as `#[serde(with = "mesh_envoy::duration")]` on a [`Duration`] field.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Formats a duration the way protojson does (`1s`, `0.500s`, `1.000000001s`).
pub fn format(d: Duration) -> String {
    let (s, n) = (d.as_secs(), d.subsec_nanos());
    if n == 0 {
        format!("{s}s")
    } else if n % 1_000_000 == 0 {
        format!("{s}.{:03}s", n / 1_000_000)
    } else if n % 1_000 == 0 {
        format!("{s}.{:06}s", n / 1_000)
    } else {
        format!("{s}.{n:09}s")
    }
}

/// Parses `"<seconds>[.<fraction>]s"`.
pub fn parse(s: &str) -> Result<Duration, String> {
    let body = s
        .strip_suffix('s')
        .ok_or_else(|| format!("duration {s:?} must end in 's'"))?;
    let (secs, frac) = body.split_once('.').unwrap_or((body, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("duration {s:?}: bad seconds"));
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("duration {s:?}: bad fraction"));
    }
    let secs: u64 = secs
        .parse()
        .map_err(|_| format!("duration {s:?}: seconds out of range"))?;
    let nanos = if frac.is_empty() {
        0
    } else {
        frac.parse::<u32>().expect("digits") * 10u32.pow(9 - frac.len() as u32)
    };
    Ok(Duration::new(secs, nanos))
}

pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        for (text, d) in [
            ("1s", Duration::from_secs(1)),
            ("60s", Duration::from_secs(60)),
            ("0.050s", Duration::from_millis(50)),
            ("1.000001s", Duration::new(1, 1_000)),
            ("0.000000001s", Duration::new(0, 1)),
        ] {
            assert_eq!(parse(text).unwrap(), d);
            assert_eq!(format(d), text);
        }
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse("60").is_err());
        assert!(parse("-1s").is_err());
        assert!(parse("1.0000000001s").is_err());
    }
}
