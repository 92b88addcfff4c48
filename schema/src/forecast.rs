//! When a supply runs out: days to empty as a P50/P90 range, from the cartridge's own level
//! history and the device's page rate. Pure.
//!
//! The level falls with pages, not with days: each day's pages (page accounting) are turned
//! into level used with the cartridge's own "percent per page" — measured over its level
//! history since it went in (each level it reported with the page counter then: the median of
//! the slopes between every two points, so one odd reading does not move it, and a sensor
//! reporting in steps is measured between its steps), or from its level at install and now
//! when there is no history — or, while it has not visibly moved yet (a new cartridge,
//! a coarse sensor that reports in steps of 10 or 25 %), with its rated yield (100 % over the
//! rated pages). The daily usage's median gives P50; its 90th percentile (a busy day, every
//! day) gives P90, the earlier date a careful order is placed by.

/// What a forecast is based on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// The cartridge's measured fall against the pages it printed.
    Measured,
    /// The rated yield (the level has not moved enough to measure).
    RatedYield,
}

impl Basis {
    pub fn name(self) -> &'static str {
        match self {
            Basis::Measured => "measured",
            Basis::RatedYield => "rated_yield",
        }
    }
}

/// Days to empty.
#[derive(Clone, Debug, PartialEq)]
pub struct Forecast {
    pub p50_days: f64,
    pub p90_days: f64,
    pub basis: Basis,
    /// Percent of level one page uses.
    pub percent_per_page: f64,
}

/// What the forecast needs.
#[derive(Clone, Debug, Default)]
pub struct Inputs<'a> {
    /// The level now, percent.
    pub level: f64,
    /// The level when the cartridge went in (or was first seen), and the pages printed since.
    pub level_at_install: Option<f64>,
    pub pages_since_install: i64,
    /// Pages the device printed on each recent day (zeros included).
    pub daily_pages: &'a [i64],
    /// The cartridge's levels since it went in, oldest first: (the device's total page counter,
    /// percent), one point each time the level changed.
    pub history: &'a [(i64, f64)],
    /// The model's rated yield, pages.
    pub rated_yield: Option<i64>,
}

/// Levels must fall by this much before the cartridge's own rate is trusted.
const MIN_MEASURED_FALL: f64 = 5.0;
/// Pages over which a fall is measured, at the least.
const MIN_MEASURED_PAGES: i64 = 50;

/// The forecast, or none when nothing is known of the use (no pages printed recently) or of
/// the rate (neither a measured fall nor a rated yield).
pub fn days_to_empty(inputs: &Inputs<'_>) -> Option<Forecast> {
    let measured = measured_rate(inputs.history).or_else(|| {
        let fall = inputs.level_at_install? - inputs.level;
        (fall >= MIN_MEASURED_FALL && inputs.pages_since_install >= MIN_MEASURED_PAGES)
            .then(|| fall / inputs.pages_since_install as f64)
    });
    let (percent_per_page, basis) = match (measured, inputs.rated_yield.filter(|y| *y > 0)) {
        (Some(rate), _) => (rate, Basis::Measured),
        (None, Some(rated)) => (100.0 / rated as f64, Basis::RatedYield),
        (None, None) => return None,
    };
    let mut days: Vec<i64> = inputs.daily_pages.to_vec();
    if days.is_empty() || days.iter().all(|d| *d <= 0) {
        return None;
    }
    days.sort_unstable();
    let quantile = |q: f64| {
        let rank = q * (days.len() - 1) as f64;
        let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
        let weight = rank - low as f64;
        days[low] as f64 * (1.0 - weight) + days[high] as f64 * weight
    };
    // A median day of zero pages (an office closed half the week) would say "never": the
    // mean of the days stands in for it then.
    let mean = days.iter().sum::<i64>() as f64 / days.len() as f64;
    let typical = if quantile(0.5) > 0.0 { quantile(0.5) } else { mean };
    let busy = quantile(0.9).max(typical);
    let level = inputs.level.max(0.0);
    Some(Forecast {
        p50_days: level / (typical * percent_per_page),
        p90_days: level / (busy * percent_per_page),
        basis,
        percent_per_page,
    })
}

/// Percent per page from a level history (oldest first): the median of the slopes between every
/// two points of the last stretch where the counter only rose (a board swap or a wrap starts a
/// new stretch) — Theil and Sen's estimator. None while that stretch has not fallen enough
/// over enough pages, or when the median says the level does not fall.
pub fn measured_rate(history: &[(i64, f64)]) -> Option<f64> {
    let start = history.windows(2).rposition(|w| w[1].0 < w[0].0).map_or(0, |i| i + 1);
    let stretch = &history[start..];
    let (first, last) = (stretch.first()?, stretch.last()?);
    let max_level = stretch.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    if max_level - last.1 < MIN_MEASURED_FALL || last.0 - first.0 < MIN_MEASURED_PAGES {
        return None;
    }
    let mut slopes: Vec<f64> = Vec::new();
    for (i, a) in stretch.iter().enumerate() {
        for b in &stretch[i + 1..] {
            if b.0 > a.0 {
                slopes.push((a.1 - b.1) / (b.0 - a.0) as f64);
            }
        }
    }
    slopes.sort_by(f64::total_cmp);
    let median = match slopes.len() {
        0 => return None,
        n if n % 2 == 1 => slopes[n / 2],
        n => (slopes[n / 2 - 1] + slopes[n / 2]) / 2.0,
    };
    (median > 0.0).then_some(median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measured_fall_and_a_steady_rate_give_an_exact_date() {
        // 40 % used by 2,000 pages: 0.02 % a page; 100 pages a day: 2 % a day; 60 % left: 30 days.
        let days = [100; 30];
        let f = days_to_empty(&Inputs {
            level: 60.0,
            level_at_install: Some(100.0),
            pages_since_install: 2000,
            daily_pages: &days,
            rated_yield: Some(3000),
            history: &[],
        })
        .unwrap();
        assert_eq!(f.basis, Basis::Measured);
        assert!((f.p50_days - 30.0).abs() < 1e-9 && (f.p90_days - 30.0).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn busy_days_bring_p90_forward() {
        // Nine quiet days of 50 pages and a busy one of 500, repeated.
        let days: Vec<i64> = (0..30).map(|i| if i % 10 == 9 { 500 } else { 50 }).collect();
        let f = days_to_empty(&Inputs {
            level: 50.0,
            level_at_install: Some(100.0),
            pages_since_install: 5000,
            daily_pages: &days,
            rated_yield: None,
            history: &[],
        })
        .unwrap();
        // 0.01 % a page: P50 at 50 pages a day is 100 days; P90 at the 90th percentile of the
        // days (95 pages, between the 27th quiet day and the first busy one): 52.6 days.
        assert!((f.p50_days - 100.0).abs() < 1e-9, "{f:?}");
        assert!((f.p90_days - 50.0 / 0.95).abs() < 1e-6, "{f:?}");
    }

    #[test]
    fn a_new_cartridge_or_a_coarse_sensor_falls_back_on_the_rated_yield() {
        // Still at 100 % after 300 pages (a sensor in steps of 25 %): the rated 10,000 pages.
        let days = [200; 14];
        let f = days_to_empty(&Inputs {
            level: 100.0,
            level_at_install: Some(100.0),
            pages_since_install: 300,
            daily_pages: &days,
            rated_yield: Some(10_000),
            history: &[],
        })
        .unwrap();
        assert_eq!(f.basis, Basis::RatedYield);
        assert!((f.p50_days - 50.0).abs() < 1e-9, "{f:?}");
        // Nothing printed lately, or nothing known of the rate: no forecast.
        assert!(
            days_to_empty(&Inputs {
                level: 50.0,
                daily_pages: &[0, 0, 0],
                rated_yield: Some(1000),
                ..Inputs::default()
            })
            .is_none()
        );
        assert!(days_to_empty(&Inputs { level: 50.0, daily_pages: &days, ..Inputs::default() }).is_none());
    }

    #[test]
    fn the_level_history_is_measured_between_its_points_and_one_odd_reading_does_not_move_it() {
        // 1 % per 50 pages, read every 500 pages, one reading 30 points off.
        let mut history: Vec<(i64, f64)> = (0..10).map(|i| (10_000 + i * 500, 100.0 - i as f64 * 10.0)).collect();
        history[4].1 = 30.0;
        let rate = measured_rate(&history).unwrap();
        assert!((rate - 0.02).abs() < 1e-9, "{rate}");
        // The endpoints alone would be the same here; a glitch at the end is not.
        history[4].1 = 60.0;
        history.push((15_000, 0.0));
        history.push((15_050, 49.0));
        let rate = measured_rate(&history).unwrap();
        assert!((rate - 0.02).abs() < 0.002, "{rate}");
        // A sensor in steps of 25 %: points only where the level changed.
        let steps = [(0, 100.0), (1250, 75.0), (2500, 50.0)];
        assert!((measured_rate(&steps).unwrap() - 0.02).abs() < 1e-9);
        // A board swap (the counter back near zero) starts a new stretch, too short to measure.
        let swapped = [(0, 100.0), (2500, 50.0), (10, 49.0), (20, 48.5)];
        assert_eq!(measured_rate(&swapped), None);
        // Not enough fall, or no history: the install level and the rated yield stand in.
        assert_eq!(measured_rate(&[(0, 100.0), (1000, 97.0)]), None);
        assert_eq!(measured_rate(&[]), None);
        let days = [100; 30];
        let f = days_to_empty(&Inputs {
            level: 50.0,
            history: &steps,
            daily_pages: &days,
            rated_yield: Some(1_000_000),
            ..Inputs::default()
        })
        .unwrap();
        assert_eq!(f.basis, Basis::Measured);
        assert!((f.p50_days - 25.0).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn an_office_closed_half_the_week_is_not_forecast_as_never() {
        // Open three days a week: the median day prints nothing.
        let days: Vec<i64> = (0..28).map(|i| if i % 7 >= 4 { 300 } else { 0 }).collect();
        let f =
            days_to_empty(&Inputs { level: 30.0, daily_pages: &days, rated_yield: Some(6000), ..Inputs::default() })
                .unwrap();
        assert!(f.p50_days.is_finite() && f.p50_days > 0.0, "{f:?}");
    }
}
