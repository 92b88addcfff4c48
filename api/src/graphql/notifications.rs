//! Notifications in GraphQL: a tenant's webhooks (http or https only, their signing secret
//! shown once), each user's e-mail preferences, and the deliveries with their status and last
//! error — failed sends are visible and retried by the notification worker.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use cartouche_schema::db::notifications::{self as db, Preferences, TenantSettings, Webhook};
use cartouche_schema::domain::Role;
use chrono::{DateTime, Utc};
use rand::RngCore as _;

use crate::error::ApiError;
use crate::graphql::{actor, conn, parse_id};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// A device reported a critical alert.
    CriticalAlert,
    /// A supply fell to its re-order level.
    SupplyReorder,
    /// A work order was opened, moved, assigned, commented or followed.
    WorkOrder,
}

impl NotificationKind {
    fn word(self) -> &'static str {
        match self {
            NotificationKind::CriticalAlert => "critical_alert",
            NotificationKind::SupplyReorder => "supply_reorder",
            NotificationKind::WorkOrder => "work_order",
        }
    }

    fn of(word: &str) -> Option<NotificationKind> {
        Some(match word {
            "critical_alert" => NotificationKind::CriticalAlert,
            "supply_reorder" => NotificationKind::SupplyReorder,
            "work_order" => NotificationKind::WorkOrder,
            _ => return None,
        })
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Sent,
    Failed,
}

pub struct WebhookNode(Webhook);

#[Object(name = "Webhook")]
impl WebhookNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn tenant_id(&self) -> ID {
        ID(self.0.tenant_id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn events(&self) -> Vec<NotificationKind> {
        self.0.events.iter().flatten().filter_map(|e| NotificationKind::of(e)).collect()
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A new webhook and the secret its signatures are made with (shown this once).
#[derive(SimpleObject)]
pub struct CreatedWebhook {
    pub webhook: WebhookNode,
    /// Check `X-Cartouche-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with it.
    pub secret: String,
}

#[derive(InputObject)]
pub struct WebhookInput {
    /// Whose events (and its customers'); omitted: your own tenant.
    pub tenant_id: Option<ID>,
    /// An http or https URL.
    pub url: String,
    pub events: Vec<NotificationKind>,
}

/// What you receive by e-mail.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "NotificationPreferencesInput")]
pub struct NotificationPreferences {
    pub critical_alert: bool,
    pub supply_reorder: bool,
    pub work_order: bool,
}

#[derive(SimpleObject)]
pub struct Delivery {
    pub id: ID,
    pub kind: Option<NotificationKind>,
    pub subject: String,
    /// email or webhook.
    pub channel: String,
    /// The address or URL.
    pub target: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it is tried again (while pending).
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A webhook URL: http(s), a host, no credentials in it.
fn check_url(text: &str) -> Result<String, ApiError> {
    let url = text.trim();
    let bad = |why: &str| ApiError::validation("url", format!("{url:?}: {why}"));
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("a webhook URL starts with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad("no host"));
    }
    if host.contains('@') {
        return Err(bad("no user or password in the URL"));
    }
    if url.len() > 2000 {
        return Err(bad("at most 2,000 characters"));
    }
    Ok(url.to_owned())
}

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// Webhooks you may see. Managers and admins.
    async fn webhooks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookNode>> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "listing webhooks")?;
        let mut conn = conn(ctx).await?;
        let list = Webhook::list(&mut conn, &actor.scope).await.map_err(|e| ApiError::from_db("webhook", e))?;
        Ok(list.into_iter().map(WebhookNode).collect())
    }

    /// Your e-mail preferences.
    async fn notification_preferences(&self, ctx: &Context<'_>) -> async_graphql::Result<NotificationPreferences> {
        let actor = actor(ctx)?;
        let user =
            actor.user_id().ok_or_else(|| ApiError::Forbidden("an API token has no e-mail preferences".into()))?;
        let mut conn = conn(ctx).await?;
        let p = Preferences::of(&mut conn, user).await.map_err(|e| ApiError::from_db("user", e))?;
        Ok(NotificationPreferences {
            critical_alert: p.critical_alert,
            supply_reorder: p.supply_reorder,
            work_order: p.work_order,
        })
    }

    /// What a tenant (omitted: yours) e-mails its users about at all.
    async fn tenant_notification_settings(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
    ) -> async_graphql::Result<NotificationPreferences> {
        let actor = actor(ctx)?;
        let tenant = tenant_id.as_ref().map(|t| parse_id("tenantId", t)).transpose()?.unwrap_or(actor.tenant_id);
        let mut conn = conn(ctx).await?;
        let s =
            TenantSettings::of(&mut conn, &actor.scope, tenant).await.map_err(|e| ApiError::from_db("tenant", e))?;
        Ok(NotificationPreferences {
            critical_alert: s.critical_alert,
            supply_reorder: s.supply_reorder,
            work_order: s.work_order,
        })
    }

    /// Notification deliveries of your tenants (one status or all), newest first (at most
    /// 200). Managers and admins.
    async fn notification_deliveries(
        &self,
        ctx: &Context<'_>,
        status: Option<DeliveryStatus>,
    ) -> async_graphql::Result<Vec<Delivery>> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "reading notification deliveries")?;
        let status = status.map(|s| match s {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        });
        let mut conn = conn(ctx).await?;
        let rows =
            db::deliveries(&mut conn, &actor.scope, status, 200).await.map_err(|e| ApiError::from_db("delivery", e))?;
        Ok(rows
            .into_iter()
            .map(|d| Delivery {
                id: ID(d.id.to_string()),
                kind: NotificationKind::of(&d.kind),
                subject: d.subject,
                channel: d.channel,
                target: d.target,
                status: match d.status.as_str() {
                    "sent" => DeliveryStatus::Sent,
                    "failed" => DeliveryStatus::Failed,
                    _ => DeliveryStatus::Pending,
                },
                attempts: d.attempts,
                last_error: d.last_error,
                next_attempt_at: d.next_attempt_at,
                sent_at: d.sent_at,
                created_at: d.created_at,
            })
            .collect())
    }
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Adds a webhook. Managers and admins. Its secret is in the answer, and nowhere else later.
    async fn create_webhook(&self, ctx: &Context<'_>, input: WebhookInput) -> async_graphql::Result<CreatedWebhook> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "adding a webhook")?;
        let url = check_url(&input.url)?;
        if input.events.is_empty() {
            return Err(ApiError::validation("events", "choose at least one kind of event").into());
        }
        let mut events: Vec<String> = input.events.iter().map(|e| e.word().to_owned()).collect();
        events.sort();
        events.dedup();
        let tenant = input.tenant_id.as_ref().map(|t| parse_id("tenantId", t)).transpose()?.unwrap_or(actor.tenant_id);
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("whsec_{}", hex_lower(&bytes));
        let mut conn = conn(ctx).await?;
        let webhook = Webhook::create(&mut conn, &actor.scope, tenant, &url, &secret, &events)
            .await
            .map_err(|e| ApiError::from_db("tenant", e))?;
        Ok(CreatedWebhook { webhook: WebhookNode(webhook), secret })
    }

    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "deleting a webhook")?;
        let mut conn = conn(ctx).await?;
        let webhook = Webhook::delete(&mut conn, &actor.scope, parse_id("id", &id)?)
            .await
            .map_err(|e| ApiError::from_db("webhook", e))?;
        Ok(ID(webhook.id.to_string()))
    }

    /// Sets what a tenant (omitted: yours) e-mails its users about at all; each user chooses
    /// within it. Admins.
    async fn set_tenant_notification_settings(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
        input: NotificationPreferences,
    ) -> async_graphql::Result<NotificationPreferences> {
        let actor = actor(ctx)?;
        actor.require(Role::Admin, "setting a tenant's notifications")?;
        let tenant = tenant_id.as_ref().map(|t| parse_id("tenantId", t)).transpose()?.unwrap_or(actor.tenant_id);
        let mut conn = conn(ctx).await?;
        TenantSettings::set(
            &mut conn,
            &actor.scope,
            &TenantSettings {
                tenant_id: tenant,
                critical_alert: input.critical_alert,
                supply_reorder: input.supply_reorder,
                work_order: input.work_order,
            },
        )
        .await
        .map_err(|e| ApiError::from_db("tenant", e))?;
        Ok(input)
    }

    /// Sets what you receive by e-mail.
    async fn set_notification_preferences(
        &self,
        ctx: &Context<'_>,
        input: NotificationPreferences,
    ) -> async_graphql::Result<NotificationPreferences> {
        let actor = actor(ctx)?;
        let user =
            actor.user_id().ok_or_else(|| ApiError::Forbidden("an API token has no e-mail preferences".into()))?;
        let mut conn = conn(ctx).await?;
        Preferences::set(
            &mut conn,
            &Preferences {
                user_id: user,
                critical_alert: input.critical_alert,
                supply_reorder: input.supply_reorder,
                work_order: input.work_order,
            },
        )
        .await
        .map_err(|e| ApiError::from_db("user", e))?;
        Ok(input)
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn webhook_urls_are_http_or_https_with_a_host() {
        assert!(super::check_url("https://erp.example.test/hooks/cartouche").is_ok());
        assert!(super::check_url(" http://127.0.0.1:8080/x ").is_ok());
        for bad in ["ftp://x.test/", "javascript:alert(1)", "https://", "https://user:pw@x.test/", "x.test/hook"] {
            assert!(super::check_url(bad).is_err(), "{bad}");
        }
    }
}
