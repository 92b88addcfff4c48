//! A customer's bill for a month, from its page counts and price plans: the month cut where
//! plans start or end, each device under its most specific plan in force (device, then site,
//! then tenant), and beside the amounts what the month cost — the cartridges installed and the
//! repairs closed. The GraphQL bill and the reports both read it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::billing::{self, DevicePages, Micros, Plan};
use crate::db::billing::{MeterPages, PricePlan, tenant_pages};

/// One device's line of a plan's bill.
#[derive(Clone, Debug)]
pub struct DeviceLine {
    pub device_id: Uuid,
    pub site_id: Option<Uuid>,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub line: billing::Line,
}

/// One plan's bill over the days of a month it was in force.
#[derive(Clone, Debug)]
pub struct PlanBill {
    pub plan: PricePlan,
    pub from: NaiveDate,
    /// Excluded.
    pub to: NaiveDate,
    /// Included volumes and minimum in proportion of the days.
    pub prorated: bool,
    pub lines: Vec<DeviceLine>,
    pub bill: billing::Bill,
    pub supply_cost: Micros,
    pub service_cost: Micros,
    /// Some of the service cost is an estimate (a repair closed without its actuals).
    pub service_estimated: bool,
}

impl PlanBill {
    /// Supply and service cost.
    pub fn cost(&self) -> Micros {
        self.supply_cost + self.service_cost
    }

    /// Pages billed (mono and colour).
    pub fn pages(&self) -> i64 {
        self.bill.lines.iter().map(|l| l.pages.mono + l.pages.color).sum()
    }

    /// Cost over the pages billed, per page.
    pub fn cost_per_page(&self) -> Option<Micros> {
        let pages = self.pages();
        (pages > 0).then(|| self.cost() / pages)
    }

    pub fn margin(&self) -> Micros {
        self.bill.total - self.cost()
    }
}

/// A site's share of a month's bill (lines only: pooled volumes and minimums are the plan's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SiteShare {
    pub mono: i64,
    pub color: i64,
    pub held: i64,
    pub amount: Micros,
}

#[derive(Clone, Debug)]
pub struct MonthBill {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub plans: Vec<PlanBill>,
    /// Devices no plan covers (not billed).
    pub unpriced: Vec<Uuid>,
}

impl MonthBill {
    /// Per site (none: devices without a site), in site id order.
    pub fn sites(&self) -> BTreeMap<Option<Uuid>, SiteShare> {
        let mut out: BTreeMap<Option<Uuid>, SiteShare> = BTreeMap::new();
        for line in self.plans.iter().flat_map(|p| &p.lines) {
            let share = out.entry(line.site_id).or_default();
            share.mono += line.line.pages.mono;
            share.color += line.line.pages.color;
            share.held += line.line.pages.held;
            share.amount += line.line.amount;
        }
        out
    }
}

/// The bill of `tenant` for the month `from`..`to`.
pub async fn month_bill(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<MonthBill> {
    let mut cuts = PricePlan::changes_within(conn, tenant, from, to).await?;
    cuts.extend([from, to]);
    cuts.sort_unstable();
    cuts.dedup();
    let month_days = (to - from).num_days();
    let mut out = MonthBill { from, to, plans: Vec::new(), unpriced: Vec::new() };
    for stretch in cuts.windows(2) {
        stretch_bills(conn, tenant, (stretch[0], stretch[1]), month_days, &mut out).await?;
    }
    Ok(out)
}

/// Adds the bills of the plans in force over `from`..`to` (part of a `month_days`-day month)
/// and the devices none covers.
async fn stretch_bills(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    (from, to): (NaiveDate, NaiveDate),
    month_days: i64,
    out: &mut MonthBill,
) -> QueryResult<()> {
    let days = (to - from).num_days();
    let plans = PricePlan::in_force(conn, tenant, from).await?;
    let rows = tenant_pages(conn, tenant, from, to).await?;
    let mut by_plan: Vec<Vec<(&MeterPages, DevicePages)>> = vec![Vec::new(); plans.len()];
    for device in rows.chunk_by(|a, b| a.device_id == b.device_id) {
        let first = &device[0];
        let pages = DevicePages::from_meters(device.iter().filter_map(|m| Some((m.kind.as_deref()?, m.pages, m.held))));
        let best = plans
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.covers(first.device_id, first.site_id).map(|rank| (rank, i)))
            .max();
        match best {
            Some((_, i)) => by_plan[i].push((first, pages)),
            None if !out.unpriced.contains(&first.device_id) => out.unpriced.push(first.device_id),
            None => {}
        }
    }
    let costs = crate::db::shipments::supply_costs(conn, tenant, from, to).await?;
    let services = crate::db::work_orders::service_costs(conn, tenant, from, to).await?;
    for (plan, devices) in plans.into_iter().zip(by_plan) {
        let rules = Plan {
            mono_price: plan.mono_price,
            color_price: plan.color_price,
            included_mono: plan.included_mono,
            included_color: plan.included_color,
            pooled: plan.pooled,
            minimum_charge: plan.minimum_charge,
            large_format_factor: i64::from(plan.large_format_factor),
        }
        .prorated(days, month_days);
        let pages: Vec<DevicePages> = devices.iter().map(|(_, p)| p.clone()).collect();
        let bill = billing::bill(&rules, &pages);
        let lines = devices
            .iter()
            .zip(&bill.lines)
            .map(|((device, _), line)| DeviceLine {
                device_id: device.device_id,
                site_id: device.site_id,
                serial: device.serial.clone(),
                model: device.model.clone(),
                line: line.clone(),
            })
            .collect();
        let in_plan = |id: &Uuid| devices.iter().any(|(d, _)| d.device_id == *id);
        let supply_cost = costs.iter().filter(|(d, _)| in_plan(d)).map(|(_, c)| *c).sum();
        let service: Vec<&(Uuid, Micros, bool)> = services.iter().filter(|(d, _, _)| in_plan(d)).collect();
        out.plans.push(PlanBill {
            plan,
            from,
            to,
            prorated: days < month_days,
            lines,
            bill,
            supply_cost,
            service_cost: service.iter().map(|(_, c, _)| *c).sum(),
            service_estimated: service.iter().any(|(_, _, estimated)| *estimated),
        });
    }
    Ok(())
}
