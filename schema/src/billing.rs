//! Cost accounting: a price plan applied to the pages of a billing period. Pure; money in
//! millionths of the currency unit (a page costs fractions of a cent), rounded to cents only
//! on the totals a customer sees.
//!
//! A plan prices mono and colour pages, includes volumes (pooled across its devices or per
//! device), and may have a minimum charge for the period. Held pages (page accounting's
//! review) are never billed; they are shown beside the lines.

/// Money in millionths of the currency unit.
pub type Micros = i64;

const MICROS: i64 = 1_000_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("{0:?} is not an amount (digits, one dot, at most 6 decimals)")]
    NotAnAmount(String),
    #[error("{0:?}: an amount is not negative")]
    Negative(String),
    #[error("{0:?}: at most 1,000,000,000")]
    TooLarge(String),
}

/// `"0.0075"` → 7,500 micros.
pub fn parse_money(text: &str) -> Result<Micros, MoneyError> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(MoneyError::Negative(text.to_owned()));
    }
    let bad = || MoneyError::NotAnAmount(text.to_owned());
    let (units, decimals) = t.split_once('.').unwrap_or((t, ""));
    if units.is_empty() && decimals.is_empty()
        || !units.chars().all(|c| c.is_ascii_digit())
        || !decimals.chars().all(|c| c.is_ascii_digit())
        || decimals.len() > 6
    {
        return Err(bad());
    }
    if units.len() > 10 {
        return Err(MoneyError::TooLarge(text.to_owned()));
    }
    let units: i64 = if units.is_empty() { 0 } else { units.parse().map_err(|_| bad())? };
    if units > 1_000_000_000 {
        return Err(MoneyError::TooLarge(text.to_owned()));
    }
    let fraction: i64 = format!("{decimals:0<6}").parse().map_err(|_| bad())?;
    Ok(units * MICROS + fraction)
}

/// Micros as a decimal with `decimals` places (rounded half away from zero).
pub fn format_money(amount: Micros, decimals: u32) -> String {
    let decimals = decimals.min(6);
    let step = 10i64.pow(6 - decimals);
    let rounded = (amount + amount.signum() * step / 2) / step;
    let scale = 10i64.pow(decimals);
    let sign = if rounded < 0 { "-" } else { "" };
    let (units, fraction) = (rounded.abs() / scale, rounded.abs() % scale);
    if decimals == 0 {
        format!("{sign}{units}")
    } else {
        format!("{sign}{units}.{fraction:0w$}", w = decimals as usize)
    }
}

/// A per-page price as people write it: every significant decimal, at least two ("0.012",
/// "0.10").
pub fn format_price(amount: Micros) -> String {
    let full = format_money(amount, 6);
    let (units, decimals) = full.split_once('.').unwrap_or((&full, ""));
    let kept = decimals.trim_end_matches('0');
    format!("{units}.{kept:0<2}")
}

/// What a plan charges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub mono_price: Micros,
    pub color_price: Micros,
    pub included_mono: i64,
    pub included_color: i64,
    /// Included volumes shared by every device of the plan (else each device has its own).
    pub pooled: bool,
    pub minimum_charge: Micros,
    /// What a large-format page counts for (2: an A3 page is two).
    pub large_format_factor: i64,
}

impl Plan {
    /// The plan over `days` of a `month_days`-day month (a plan starting or ending mid-month):
    /// included volumes and the minimum charge in proportion, rounded half up; prices as they
    /// are.
    pub fn prorated(&self, days: i64, month_days: i64) -> Plan {
        if days >= month_days || month_days <= 0 {
            return self.clone();
        }
        let share = |v: i64| (v * days * 2 + month_days) / (month_days * 2);
        Plan {
            included_mono: share(self.included_mono),
            included_color: share(self.included_color),
            minimum_charge: share(self.minimum_charge),
            ..self.clone()
        }
    }
}

/// One device's pages of the period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DevicePages {
    pub mono: i64,
    pub color: i64,
    /// Held for review: not billed.
    pub held: i64,
    /// Of the pages, large-format ones (the `large_format` meter; counted again by the plan's
    /// factor, at the mono price: the meter does not say their colour).
    pub large: i64,
}

impl DevicePages {
    /// From the period's pages per meter: colour is the `color` meter (else print plus copy
    /// colour); mono is the `mono` meter (else the total less colour).
    pub fn from_meters<'a>(meters: impl IntoIterator<Item = (&'a str, i64, i64)>) -> DevicePages {
        let mut by_kind = std::collections::BTreeMap::new();
        let mut held = 0;
        for (kind, pages, held_pages) in meters {
            *by_kind.entry(kind).or_insert(0) += pages;
            held += held_pages;
        }
        let get = |k: &str| by_kind.get(k).copied();
        let color = get("color").or_else(|| {
            let parts = [get("print_color"), get("copy_color")];
            parts.iter().any(Option::is_some).then(|| parts.iter().flatten().sum())
        });
        let color = color.unwrap_or(0);
        let mono = get("mono").unwrap_or_else(|| (get("total").unwrap_or(0) - color).max(0));
        DevicePages { mono, color, held, large: get("large_format").unwrap_or(0) }
    }
}

/// One device's line of a bill.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Line {
    pub pages: DevicePages,
    /// Pages charged after this device's own included volume (per-device plans), else all.
    pub charged_mono: i64,
    pub charged_color: i64,
    pub amount: Micros,
}

/// A bill of one plan over one period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bill {
    pub lines: Vec<Line>,
    /// Pages the pooled included volume covered (0 for per-device plans: see the lines).
    pub pooled_mono: i64,
    pub pooled_color: i64,
    /// Lines less the pooled volume.
    pub subtotal: Micros,
    /// What the minimum charge adds.
    pub minimum_top_up: Micros,
    pub total: Micros,
    pub held: i64,
}

/// The bill of `devices` under `plan`.
pub fn bill(plan: &Plan, devices: &[DevicePages]) -> Bill {
    let mut out = Bill::default();
    for pages in devices {
        let mono = pages.mono + pages.large * (plan.large_format_factor - 1).max(0);
        let (charged_mono, charged_color) = if plan.pooled {
            (mono, pages.color)
        } else {
            ((mono - plan.included_mono).max(0), (pages.color - plan.included_color).max(0))
        };
        let amount = charged_mono * plan.mono_price + charged_color * plan.color_price;
        out.held += pages.held;
        out.lines.push(Line { pages: pages.clone(), charged_mono, charged_color, amount });
    }
    let gross: Micros = out.lines.iter().map(|l| l.amount).sum();
    let credit = if plan.pooled {
        let (mono, color): (i64, i64) =
            out.lines.iter().fold((0, 0), |(m, c), l| (m + l.charged_mono, c + l.charged_color));
        out.pooled_mono = mono.min(plan.included_mono);
        out.pooled_color = color.min(plan.included_color);
        out.pooled_mono * plan.mono_price + out.pooled_color * plan.color_price
    } else {
        0
    };
    out.subtotal = gross - credit;
    out.minimum_top_up = (plan.minimum_charge - out.subtotal).max(0);
    out.total = out.subtotal + out.minimum_top_up;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_over_part_of_a_month_includes_and_charges_its_share() {
        let plan = Plan {
            mono_price: 10_000,
            color_price: 80_000,
            included_mono: 3_000,
            included_color: 301,
            pooled: true,
            minimum_charge: 30_000_000,
            large_format_factor: 2,
        };
        // 10 days of 30: a third of the volumes and the minimum (100.33 colour pages round to 100).
        let part = plan.prorated(10, 30);
        assert_eq!((part.included_mono, part.included_color, part.minimum_charge), (1_000, 100, 10_000_000));
        assert_eq!((part.mono_price, part.color_price, part.pooled), (10_000, 80_000, true));
        assert_eq!(plan.prorated(30, 30), plan);
        assert_eq!(plan.prorated(15, 30).included_color, 151, "150.5 rounds half up");
    }

    #[test]
    fn amounts_parse_and_print_exactly() {
        assert_eq!(parse_money("0.0075"), Ok(7_500));
        assert_eq!(parse_money("12"), Ok(12_000_000));
        assert_eq!(parse_money(".5"), Ok(500_000));
        assert!(matches!(parse_money("0.0000001"), Err(MoneyError::NotAnAmount(_))));
        assert!(matches!(parse_money("-1"), Err(MoneyError::Negative(_))));
        assert!(matches!(parse_money("1,5"), Err(MoneyError::NotAnAmount(_))));
        assert!(matches!(parse_money(""), Err(MoneyError::NotAnAmount(_))));
        assert_eq!(format_money(7_500, 4), "0.0075");
        assert_eq!(format_money(12_345_678, 2), "12.35");
        assert_eq!(format_money(-5_000, 2), "-0.01");
        assert_eq!(
            (format_price(12_000), format_price(100_000), format_price(7_500)),
            ("0.012".into(), "0.10".into(), "0.0075".into())
        );
    }

    #[test]
    fn meters_make_mono_and_colour_pages() {
        assert_eq!(
            DevicePages::from_meters([("total", 1000, 0), ("color", 300, 5)]),
            DevicePages { mono: 700, color: 300, held: 5, large: 0 }
        );
        assert_eq!(
            DevicePages::from_meters([("total", 1000, 0), ("print_color", 200, 0), ("copy_color", 50, 0)]),
            DevicePages { mono: 750, color: 250, held: 0, large: 0 }
        );
        assert_eq!(DevicePages::from_meters([("mono", 40, 0), ("total", 90, 0)]).mono, 40);
    }

    #[test]
    fn pooled_and_per_device_volumes_and_a_minimum() {
        let plan = Plan {
            mono_price: parse_money("0.01").unwrap(),
            color_price: parse_money("0.08").unwrap(),
            included_mono: 1000,
            included_color: 100,
            pooled: true,
            minimum_charge: parse_money("5").unwrap(),
            large_format_factor: 2,
        };
        let devices = [
            DevicePages { mono: 800, color: 50, held: 0, large: 0 },
            DevicePages { mono: 700, color: 100, held: 9, large: 0 },
        ];
        // Pooled: 1,500 mono less 1,000 included = 500 × 0.01 = 5.00; 150 colour less 100 = 50 × 0.08 = 4.00.
        let pooled = bill(&plan, &devices);
        assert_eq!(format_money(pooled.total, 2), "9.00");
        assert_eq!((pooled.pooled_mono, pooled.pooled_color, pooled.held), (1000, 100, 9));
        // Per device: mono 0 + 0, colour 0 + 0: nothing charged, so the minimum applies.
        let per_device = bill(&Plan { pooled: false, ..plan.clone() }, &devices);
        assert_eq!((per_device.subtotal, format_money(per_device.minimum_top_up, 2)), (0, "5.00".to_owned()));
        assert_eq!(format_money(per_device.total, 2), "5.00");
    }

    #[test]
    fn a_large_format_page_counts_as_two() {
        let plan = Plan {
            mono_price: parse_money("0.01").unwrap(),
            color_price: parse_money("0.08").unwrap(),
            included_mono: 100,
            included_color: 0,
            pooled: false,
            minimum_charge: 0,
            large_format_factor: 2,
        };
        let pages = DevicePages::from_meters([("total", 1000, 0), ("color", 200, 0), ("large_format", 50, 0)]);
        assert_eq!(pages, DevicePages { mono: 800, color: 200, held: 0, large: 50 });
        // By hand: 800 + 50 more for the large pages = 850 mono, 100 included: 750 × 0.01 +
        // 200 × 0.08 = 23.50. Counted once (factor 1): 700 × 0.01 + 16.00 = 23.00.
        let twice = bill(&plan, std::slice::from_ref(&pages));
        assert_eq!((twice.lines[0].charged_mono, format_money(twice.total, 2)), (750, "23.50".to_owned()));
        let once = bill(&Plan { large_format_factor: 1, ..plan }, &[pages]);
        assert_eq!(format_money(once.total, 2), "23.00");
    }
}
