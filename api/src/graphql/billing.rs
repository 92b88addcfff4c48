//! Price plans and bills in GraphQL. Money is given and read as decimal strings ("0.0075"),
//! never floats.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use cartouche_schema::billing::{format_money, format_price, parse_money};
use cartouche_schema::db::billing::{CreateError, NewPricePlan, PricePlan};
use cartouche_schema::db::bills;
use cartouche_schema::domain::{DisplayName, Role};
use chrono::{Datelike, NaiveDate};

use crate::error::ApiError;
use crate::graphql::{actor, conn, parse_id};

/// What a customer pays per page, for a scope (tenant, site or device) and a validity.
pub struct PricePlanNode(pub PricePlan);

#[Object(name = "PricePlan")]
impl PricePlanNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The customer billed.
    async fn tenant_id(&self) -> ID {
        ID(self.0.tenant_id.to_string())
    }
    /// Only this site's devices (null: every device of the tenant without a narrower plan).
    async fn site_id(&self) -> Option<ID> {
        self.0.site_id.map(|s| ID(s.to_string()))
    }
    /// Only this device.
    async fn device_id(&self) -> Option<ID> {
        self.0.device_id.map(|d| ID(d.to_string()))
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Per mono page, e.g. "0.0075".
    async fn mono_price(&self) -> String {
        format_price(self.0.mono_price)
    }
    /// Per colour page.
    async fn color_price(&self) -> String {
        format_price(self.0.color_price)
    }
    async fn included_mono(&self) -> i64 {
        self.0.included_mono
    }
    async fn included_color(&self) -> i64 {
        self.0.included_color
    }
    /// Included volumes shared by the plan's devices (else each device has its own).
    async fn pooled(&self) -> bool {
        self.0.pooled
    }
    /// Per billing month.
    async fn minimum_charge(&self) -> String {
        format_money(self.0.minimum_charge, 2)
    }
    async fn valid_from(&self) -> NaiveDate {
        self.0.valid_from
    }
    /// Excluded; null: open-ended.
    async fn valid_to(&self) -> Option<NaiveDate> {
        self.0.valid_to
    }
    /// What a large-format page (the `large_format` meter: A3, ledger) counts for.
    async fn large_format_factor(&self) -> i32 {
        self.0.large_format_factor
    }
}

#[derive(InputObject)]
pub struct PricePlanInput {
    /// The customer billed; omitted: your own tenant.
    pub tenant_id: Option<ID>,
    pub site_id: Option<ID>,
    pub device_id: Option<ID>,
    pub name: String,
    /// ISO 4217 (EUR, USD, …).
    #[graphql(default_with = "\"EUR\".to_owned()")]
    pub currency: String,
    /// Per mono page, a decimal string with at most 6 decimals ("0.0075").
    pub mono_price: String,
    pub color_price: String,
    #[graphql(default)]
    pub included_mono: i64,
    #[graphql(default)]
    pub included_color: i64,
    #[graphql(default = true)]
    pub pooled: bool,
    #[graphql(default_with = "\"0\".to_owned()")]
    pub minimum_charge: String,
    pub valid_from: NaiveDate,
    /// Excluded; omitted: open-ended.
    pub valid_to: Option<NaiveDate>,
    /// What a large-format page counts for, 1 to 4 (omitted or null: 2, an A3 page is two).
    pub large_format_factor: Option<i32>,
}

/// One device's line of a bill.
#[derive(SimpleObject)]
pub struct BillLine {
    pub device_id: ID,
    pub site_id: Option<ID>,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub mono_pages: i64,
    pub color_pages: i64,
    /// Pages charged after the device's own included volume (per-device plans).
    pub charged_mono: i64,
    pub charged_color: i64,
    /// Held for review, not billed.
    pub held_pages: i64,
    /// Of the pages, large-format ones (counted again by the plan's factor, at the mono price).
    pub large_pages: i64,
    pub amount: String,
}

/// The bill of one plan over one month, or over the part of it the plan was in force (a plan
/// that starts or ends mid-month, its included volumes and minimum in proportion).
#[derive(SimpleObject)]
pub struct PlanBill {
    pub plan: PricePlanNode,
    /// The days billed: the month, or the part of it this plan was in force.
    pub from: NaiveDate,
    /// Excluded.
    pub to: NaiveDate,
    /// Included volumes and minimum charge were taken in proportion of the days.
    pub prorated: bool,
    pub lines: Vec<BillLine>,
    /// Pages the pooled included volume covered.
    pub pooled_mono: i64,
    pub pooled_color: i64,
    pub subtotal: String,
    pub minimum_top_up: String,
    pub total: String,
    pub held_pages: i64,
    /// What the cartridges installed in the plan's devices this month cost (shipments with a
    /// model's unit cost).
    pub supply_cost: String,
    /// What the repairs of the plan's devices closed this month cost: labour at the skill's
    /// rate and parts, as recorded at closing (or estimated where nothing was recorded).
    pub service_cost: String,
    /// Some of the service cost is an estimate (a work order closed without its actuals).
    pub service_cost_estimated: bool,
    /// Supply and service cost over the pages billed (mono and colour), per page.
    pub cost_per_page: Option<String>,
    /// Total less supply and service costs.
    pub margin: String,
}

/// A month's bills of a customer: one per plan in force on the month's first day, each device
/// under its most specific plan (device, then site, then tenant).
#[derive(SimpleObject)]
pub struct MonthBill {
    pub month: String,
    pub plans: Vec<PlanBill>,
    /// Devices no plan covers (not billed).
    pub unpriced_device_ids: Vec<ID>,
    /// Pages and line amounts per site (before a plan's pooled volume and minimum, which are
    /// the plan's, not a site's).
    pub sites: Vec<SiteTotal>,
}

/// A site's share of a month's bill.
#[derive(SimpleObject)]
pub struct SiteTotal {
    /// Null: devices without a site.
    pub site_id: Option<ID>,
    pub mono_pages: i64,
    pub color_pages: i64,
    pub held_pages: i64,
    pub amount: String,
}

fn money(field: &str, text: &str) -> Result<i64, ApiError> {
    parse_money(text).map_err(|e| ApiError::validation(field, e))
}

/// `YYYY-MM` as its first day and the next month's.
fn month_of(text: &str) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let bad = || ApiError::validation("month", format!("{text:?} is not a month (YYYY-MM)"));
    let first = NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d").map_err(|_| bad())?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    Ok((first, next.ok_or_else(bad)?))
}

#[derive(Default)]
pub struct BillingQuery;

#[Object]
impl BillingQuery {
    /// Price plans you may see (or one tenant's), newest validity first.
    async fn price_plans(&self, ctx: &Context<'_>, tenant_id: Option<ID>) -> async_graphql::Result<Vec<PricePlanNode>> {
        let actor = actor(ctx)?;
        let tenant = tenant_id.as_ref().map(|t| parse_id("tenantId", t)).transpose()?;
        let mut conn = conn(ctx).await?;
        let plans =
            PricePlan::list(&mut conn, &actor.scope, tenant).await.map_err(|e| ApiError::from_db("price plan", e))?;
        Ok(plans.into_iter().map(PricePlanNode).collect())
    }

    /// A customer's bill for a month (`YYYY-MM`), from its page counts.
    async fn bill(&self, ctx: &Context<'_>, tenant_id: Option<ID>, month: String) -> async_graphql::Result<MonthBill> {
        let actor = actor(ctx)?;
        let (from, to) = month_of(&month)?;
        let tenant = billed_tenant(actor, tenant_id.as_ref())?;
        let mut conn = conn(ctx).await?;
        Ok(month_bill(&mut conn, tenant, from, to).await?)
    }

    /// A customer's bills month by month, from `fromMonth` to `toMonth` included (at most 24).
    async fn bills(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
        from_month: String,
        to_month: String,
    ) -> async_graphql::Result<Vec<MonthBill>> {
        let actor = actor(ctx)?;
        let (mut from, _) =
            month_of(&from_month).map_err(|_| ApiError::validation("fromMonth", "a month (YYYY-MM)"))?;
        let (_, end) = month_of(&to_month).map_err(|_| ApiError::validation("toMonth", "a month (YYYY-MM)"))?;
        if end <= from {
            return Err(ApiError::validation("toMonth", "the period ends before it starts").into());
        }
        let tenant = billed_tenant(actor, tenant_id.as_ref())?;
        let mut conn = conn(ctx).await?;
        let mut out = Vec::new();
        while from < end {
            if out.len() == 24 {
                return Err(ApiError::validation("toMonth", "at most 24 months at once").into());
            }
            let (_, next) = month_of(&from.format("%Y-%m").to_string())?;
            out.push(month_bill(&mut conn, tenant, from, next).await?);
            from = next;
        }
        Ok(out)
    }
}

/// The customer a bill is for: the one named (visible to the caller), else the caller's own.
fn billed_tenant(actor: &crate::auth::Actor, tenant_id: Option<&ID>) -> Result<uuid::Uuid, ApiError> {
    let tenant = match tenant_id {
        Some(t) => parse_id("tenantId", t)?,
        None => actor.tenant_id,
    };
    actor.scope.require(tenant).map_err(|_| ApiError::NotFound("tenant"))?;
    Ok(tenant)
}

/// A customer's bill for the month `from`..`to`.
async fn month_bill(
    conn: &mut cartouche_schema::db::PooledConn,
    tenant: uuid::Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<MonthBill, ApiError> {
    let month = bills::month_bill(conn, tenant, from, to).await.map_err(|e| ApiError::from_db("bill", e))?;
    let sites = month
        .sites()
        .into_iter()
        .map(|(site, share)| SiteTotal {
            site_id: site.map(|s| ID(s.to_string())),
            mono_pages: share.mono,
            color_pages: share.color,
            held_pages: share.held,
            amount: format_money(share.amount, 2),
        })
        .collect();
    let unpriced = month.unpriced.iter().map(|d| ID(d.to_string())).collect();
    let plans = month
        .plans
        .into_iter()
        .map(|p| PlanBill {
            supply_cost: format_money(p.supply_cost, 2),
            service_cost: format_money(p.service_cost, 2),
            service_cost_estimated: p.service_estimated,
            cost_per_page: p.cost_per_page().map(format_price),
            margin: format_money(p.margin(), 2),
            from: p.from,
            to: p.to,
            prorated: p.prorated,
            lines: p
                .lines
                .iter()
                .map(|l| BillLine {
                    device_id: ID(l.device_id.to_string()),
                    site_id: l.site_id.map(|s| ID(s.to_string())),
                    serial: l.serial.clone(),
                    model: l.model.clone(),
                    mono_pages: l.line.pages.mono,
                    color_pages: l.line.pages.color,
                    charged_mono: l.line.charged_mono,
                    charged_color: l.line.charged_color,
                    held_pages: l.line.pages.held,
                    large_pages: l.line.pages.large,
                    amount: format_money(l.line.amount, 2),
                })
                .collect(),
            pooled_mono: p.bill.pooled_mono,
            pooled_color: p.bill.pooled_color,
            subtotal: format_money(p.bill.subtotal, 2),
            minimum_top_up: format_money(p.bill.minimum_top_up, 2),
            total: format_money(p.bill.total, 2),
            held_pages: p.bill.held,
            plan: PricePlanNode(p.plan),
        })
        .collect();
    Ok(MonthBill { month: from.format("%Y-%m").to_string(), plans, unpriced_device_ids: unpriced, sites })
}

#[derive(Default)]
pub struct BillingMutation;

#[Object]
impl BillingMutation {
    /// Creates a price plan. Managers and admins. A plan of the same scope whose validity
    /// overlaps is refused (VALIDATION on `validFrom`, naming it).
    async fn create_price_plan(
        &self,
        ctx: &Context<'_>,
        input: PricePlanInput,
    ) -> async_graphql::Result<PricePlanNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "creating a price plan")?;
        let name = DisplayName::parse(&input.name).map_err(|e| ApiError::validation("name", e))?;
        let currency = input.currency.trim().to_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(ApiError::validation(
                "currency",
                format!("{:?} is not an ISO 4217 code (EUR)", input.currency),
            )
            .into());
        }
        if let Some(to) = input.valid_to
            && to <= input.valid_from
        {
            return Err(ApiError::validation(
                "validTo",
                format!("the plan ends ({to}) before it starts ({})", input.valid_from),
            )
            .into());
        }
        let large_format_factor = input.large_format_factor.unwrap_or(2);
        if !(1..=4).contains(&large_format_factor) {
            return Err(ApiError::validation("largeFormatFactor", "a large-format page counts for 1 to 4 pages").into());
        }
        for (field, value) in [("includedMono", input.included_mono), ("includedColor", input.included_color)] {
            if value < 0 {
                return Err(ApiError::validation(field, "pages included are not negative").into());
            }
        }
        let tenant = match &input.tenant_id {
            Some(t) => parse_id("tenantId", t)?,
            None => actor.tenant_id,
        };
        let mut conn = conn(ctx).await?;
        let site = match &input.site_id {
            Some(s) => {
                let site = cartouche_schema::db::sites::Site::find(&mut conn, &actor.scope, parse_id("siteId", s)?)
                    .await
                    .map_err(|e| ApiError::from_db("site", e))?;
                if site.tenant_id != tenant {
                    return Err(ApiError::validation("siteId", "the site belongs to another tenant").into());
                }
                Some(site.id)
            }
            None => None,
        };
        let device = match &input.device_id {
            Some(d) => {
                let device =
                    cartouche_schema::db::fleet::Device::find(&mut conn, &actor.scope, parse_id("deviceId", d)?)
                        .await
                        .map_err(|e| ApiError::from_db("device", e))?;
                if device.tenant_id != tenant {
                    return Err(ApiError::validation("deviceId", "the device belongs to another tenant").into());
                }
                Some(device.id)
            }
            None => None,
        };
        if site.is_some() && device.is_some() {
            return Err(ApiError::validation("deviceId", "a plan is for a site or a device, not both").into());
        }
        let new = NewPricePlan {
            tenant_id: tenant,
            site_id: site,
            device_id: device,
            name: name.into_inner(),
            currency,
            mono_price: money("monoPrice", &input.mono_price)?,
            color_price: money("colorPrice", &input.color_price)?,
            included_mono: input.included_mono,
            included_color: input.included_color,
            pooled: input.pooled,
            minimum_charge: money("minimumCharge", &input.minimum_charge)?,
            valid_from: input.valid_from,
            valid_to: input.valid_to,
            large_format_factor,
        };
        match PricePlan::create(&mut conn, &actor.scope, new).await {
            Ok(plan) => Ok(PricePlanNode(plan)),
            Err(CreateError::Overlaps(other)) => Err(ApiError::validation(
                "validFrom",
                format!("the plan {other:?} of the same scope is in force on some of these days"),
            )
            .into()),
            Err(CreateError::Db(e)) => Err(ApiError::from_db("price plan", e).into()),
        }
    }

    /// Deletes a price plan. Managers and admins.
    async fn delete_price_plan(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "deleting a price plan")?;
        let mut conn = conn(ctx).await?;
        PricePlan::delete(&mut conn, &actor.scope, parse_id("id", &id)?)
            .await
            .map_err(|e| ApiError::from_db("price plan", e))?;
        Ok(id)
    }
}
