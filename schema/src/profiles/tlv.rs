//! Brother's maintenance blobs: an OCTET STRING of records `code, 0x01, length, value…`
//! (length 4 on current firmware), closed by 0xFF. Older firmware uses 5-byte records
//! `code, 0x01, 0x02, value, denominator` for life percentages.

/// The value of record `code`, as the device wrote it (or a percentage for old firmware).
pub fn find(blob: &[u8], code: u8) -> Option<f64> {
    let blob = blob.strip_suffix(&[0xff]).unwrap_or(blob);
    if is_legacy(blob) { legacy(blob, code) } else { modern(blob, code) }
}

/// Old firmware: every record is 5 bytes with a 1-byte value and a denominator.
fn is_legacy(blob: &[u8]) -> bool {
    !blob.is_empty() && blob.len().is_multiple_of(5) && blob.chunks_exact(5).all(|r| r[1] == 0x01 && r[2] == 0x02)
}

fn modern(blob: &[u8], code: u8) -> Option<f64> {
    let mut rest = blob;
    while rest.len() >= 3 {
        let (record_code, marker, length) = (rest[0], rest[1], usize::from(rest[2]));
        if marker != 0x01 || length == 0 || length > 8 || rest.len() < 3 + length {
            return None;
        }
        if record_code == code {
            let value = rest[3..3 + length].iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            #[allow(clippy::cast_precision_loss)]
            return Some(value as f64);
        }
        rest = &rest[3 + length..];
    }
    None
}

fn legacy(blob: &[u8], code: u8) -> Option<f64> {
    blob.chunks_exact(5)
        .find(|r| r[0] == code && r[1] == 0x01 && r[2] == 0x02 && r[4] != 0)
        .map(|r| f64::from(r[3]) / f64::from(r[4]) * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_modern_records_and_the_legacy_form() {
        // 0x6f = 2600 (26.00 %), 0x81 = 30, then the 0xFF terminator.
        let blob = [0x6f, 0x01, 0x04, 0, 0, 0x0a, 0x28, 0x81, 0x01, 0x04, 0, 0, 0, 0x1e, 0xff];
        assert_eq!(find(&blob, 0x6f), Some(2600.0));
        assert_eq!(find(&blob, 0x81), Some(30.0));
        assert_eq!(find(&blob, 0x82), None);
        let legacy = [0xa1, 0x01, 0x02, 0x04, 0x14, 0xa2, 0x01, 0x02, 0x0c, 0x14, 0xff];
        assert_eq!(find(&legacy, 0xa2), Some(60.0));
        assert_eq!(find(&[0x01, 0x02], 0x01), None, "garbage is nothing, not a panic");
    }
}
