//! SNMP credentials: checked field by field, secrets sealed and never returned.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use cartouche_schema::db::Keyset;
use cartouche_schema::db::agent_config::{CredentialInUse, SnmpCredentialRow, SnmpCredentialValues};
use cartouche_schema::domain::{DisplayName, Role};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use uuid::Uuid;

use crate::agent_config::{SecretParts, seal};
use crate::error::ApiError;
use crate::events::{ChangeKind, Entity, Event};
use crate::graphql::connection::{connection, page_request};
use crate::graphql::tenants::{TenantNode, load_tenant};
use crate::graphql::{actor, conn, parse_id, state, visible_tenant};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SnmpVersion {
    V1,
    V2C,
    V3,
}

impl SnmpVersion {
    fn name(self) -> &'static str {
        match self {
            SnmpVersion::V1 => "v1",
            SnmpVersion::V2C => "v2c",
            SnmpVersion::V3 => "v3",
        }
    }
    fn from_name(name: &str) -> SnmpVersion {
        match name {
            "v1" => SnmpVersion::V1,
            "v2c" => SnmpVersion::V2C,
            _ => SnmpVersion::V3,
        }
    }
}

/// SNMPv3 authentication protocols (USM and RFC 7860).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SnmpAuthProtocol {
    #[graphql(name = "MD5")]
    Md5,
    #[graphql(name = "SHA1")]
    Sha1,
    #[graphql(name = "SHA224")]
    Sha224,
    #[graphql(name = "SHA256")]
    Sha256,
    #[graphql(name = "SHA384")]
    Sha384,
    #[graphql(name = "SHA512")]
    Sha512,
}

/// SNMPv3 privacy protocols.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SnmpPrivProtocol {
    Des,
    #[graphql(name = "AES128")]
    Aes128,
    #[graphql(name = "AES192")]
    Aes192,
    #[graphql(name = "AES256")]
    Aes256,
}

// Stored under the names net-snmp uses, which the agent parses.
const AUTH_NAMES: [(SnmpAuthProtocol, &str); 6] = [
    (SnmpAuthProtocol::Md5, "MD5"),
    (SnmpAuthProtocol::Sha1, "SHA"),
    (SnmpAuthProtocol::Sha224, "SHA-224"),
    (SnmpAuthProtocol::Sha256, "SHA-256"),
    (SnmpAuthProtocol::Sha384, "SHA-384"),
    (SnmpAuthProtocol::Sha512, "SHA-512"),
];
const PRIV_NAMES: [(SnmpPrivProtocol, &str); 4] = [
    (SnmpPrivProtocol::Des, "DES"),
    (SnmpPrivProtocol::Aes128, "AES"),
    (SnmpPrivProtocol::Aes192, "AES-192"),
    (SnmpPrivProtocol::Aes256, "AES-256"),
];

fn name_of<T: PartialEq + Copy>(table: &[(T, &'static str)], value: T) -> &'static str {
    table.iter().find(|(v, _)| *v == value).map_or("", |(_, n)| n)
}
fn value_of<T: Copy>(table: &[(T, &'static str)], name: &str) -> Option<T> {
    table.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
}

pub struct SnmpCredentialNode(pub SnmpCredentialRow);

/// SNMP credentials: what agents try, in order, on a range. Secrets are write-only.
#[Object(name = "SnmpCredential")]
impl SnmpCredentialNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn version(&self) -> SnmpVersion {
        SnmpVersion::from_name(&self.0.version)
    }
    /// SNMPv3 user name.
    async fn user(&self) -> Option<&str> {
        self.0.v3_user.as_deref()
    }
    async fn auth_protocol(&self) -> Option<SnmpAuthProtocol> {
        self.0.auth_protocol.as_deref().and_then(|n| value_of(&AUTH_NAMES, n))
    }
    async fn priv_protocol(&self) -> Option<SnmpPrivProtocol> {
        self.0.priv_protocol.as_deref().and_then(|n| value_of(&PRIV_NAMES, n))
    }
    /// SNMPv3 context name.
    async fn context(&self) -> Option<&str> {
        self.0.context.as_deref()
    }
    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<TenantNode> {
        load_tenant(ctx, self.0.tenant_id).await?.ok_or_else(|| ApiError::NotFound("tenant").into())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject)]
pub struct SnmpCredentialInput {
    /// Defaults to your own tenant (only on creation; a credential never moves).
    pub tenant_id: Option<ID>,
    pub name: String,
    pub version: SnmpVersion,
    /// v1 and v2c. On update, omit it to keep the stored one.
    pub community: Option<String>,
    /// v3: the USM user name.
    pub user: Option<String>,
    pub auth_protocol: Option<SnmpAuthProtocol>,
    /// v3, at least 8 characters. On update, omit it to keep the stored one.
    pub auth_password: Option<String>,
    pub priv_protocol: Option<SnmpPrivProtocol>,
    /// v3, at least 8 characters. On update, omit it to keep the stored one.
    pub priv_password: Option<String>,
    pub context: Option<String>,
}

/// A credential checked field by field; `kept` supplies secrets an update leaves out.
struct CheckedCredential {
    name: DisplayName,
    version: SnmpVersion,
    user: Option<String>,
    auth_protocol: Option<&'static str>,
    priv_protocol: Option<&'static str>,
    context: Option<String>,
    secrets: SecretParts,
}

fn check_secret(field: &str, value: &str, min: usize) -> Result<(), ApiError> {
    let len = value.chars().count();
    if len < min || len > 255 {
        return Err(ApiError::validation(field, format!("{min} to 255 characters, not {len}")));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::validation(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_credential(input: SnmpCredentialInput, kept: Option<SecretParts>) -> Result<CheckedCredential, ApiError> {
    let name = DisplayName::parse(&input.name).map_err(|e| ApiError::validation("name", e))?;
    let kept = kept.unwrap_or_default();
    let v3_only = |field: &str, present: bool| {
        if present && input.version != SnmpVersion::V3 {
            Err(ApiError::validation(field, "only SNMPv3 credentials have this"))
        } else {
            Ok(())
        }
    };
    v3_only("user", input.user.is_some())?;
    v3_only("authProtocol", input.auth_protocol.is_some())?;
    v3_only("authPassword", input.auth_password.is_some())?;
    v3_only("privProtocol", input.priv_protocol.is_some())?;
    v3_only("privPassword", input.priv_password.is_some())?;
    v3_only("context", input.context.is_some())?;
    if input.version == SnmpVersion::V3 {
        if input.community.is_some() {
            return Err(ApiError::validation("community", "SNMPv3 has no community; give a user"));
        }
        let user = input.user.as_deref().map(str::trim).unwrap_or_default();
        if user.is_empty() || user.len() > 32 {
            return Err(ApiError::validation("user", "an SNMPv3 user name of 1 to 32 characters is required"));
        }
        let auth_password = input.auth_password.or(kept.auth_password);
        let priv_password = input.priv_password.or(kept.priv_password);
        match (input.auth_protocol, &auth_password) {
            (Some(_), Some(p)) => check_secret("authPassword", p, 8)?,
            (Some(_), None) => {
                return Err(ApiError::validation("authPassword", "the authentication protocol needs a password"));
            }
            (None, Some(_)) => {
                return Err(ApiError::validation("authProtocol", "a password needs its authentication protocol"));
            }
            (None, None) => {}
        }
        match (input.priv_protocol, &priv_password) {
            (Some(_), _) if input.auth_protocol.is_none() => {
                return Err(ApiError::validation(
                    "privProtocol",
                    "privacy without authentication is not allowed by SNMPv3",
                ));
            }
            (Some(_), Some(p)) => check_secret("privPassword", p, 8)?,
            (Some(_), None) => {
                return Err(ApiError::validation("privPassword", "the privacy protocol needs a password"));
            }
            (None, Some(_)) => {
                return Err(ApiError::validation("privProtocol", "a password needs its privacy protocol"));
            }
            (None, None) => {}
        }
        let context = input.context.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        if context.as_ref().is_some_and(|c| c.len() > 32) {
            return Err(ApiError::validation("context", "at most 32 characters"));
        }
        return Ok(CheckedCredential {
            name,
            version: input.version,
            user: Some(user.to_owned()),
            auth_protocol: input.auth_protocol.map(|p| name_of(&AUTH_NAMES, p)),
            priv_protocol: input.priv_protocol.map(|p| name_of(&PRIV_NAMES, p)),
            context,
            // A password whose protocol was removed is forgotten, not kept.
            secrets: SecretParts {
                community: None,
                auth_password: auth_password.filter(|_| input.auth_protocol.is_some()),
                priv_password: priv_password.filter(|_| input.priv_protocol.is_some()),
            },
        });
    }
    let community = input
        .community
        .or(kept.community)
        .ok_or_else(|| ApiError::validation("community", "SNMPv1 and v2c credentials need a community"))?;
    check_secret("community", &community, 1)?;
    Ok(CheckedCredential {
        name,
        version: input.version,
        user: None,
        auth_protocol: None,
        priv_protocol: None,
        context: None,
        secrets: SecretParts { community: Some(community), auth_password: None, priv_password: None },
    })
}

fn credential_write_error(err: diesel::result::Error) -> ApiError {
    if cartouche_schema::db::is_unique_violation(&err) {
        return ApiError::Conflict("an SNMP credential with this name already exists in this tenant".into());
    }
    ApiError::from_db("SNMP credential", err)
}

#[derive(Default)]
pub struct CredentialQuery;

#[Object]
impl CredentialQuery {
    /// SNMP credentials you may see, by name (secrets are never returned).
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn snmp_credentials(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, SnmpCredentialNode>> {
        let actor = actor(ctx)?;
        let tenant = visible_tenant(actor, "tenantId", tenant_id.as_ref())?;
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        let (rows, more) = SnmpCredentialRow::page(&mut conn, &actor.scope, tenant, &request)
            .await
            .map_err(|e| ApiError::from_db("SNMP credential", e))?;
        Ok(connection(
            rows,
            more,
            request.after.is_some(),
            |c| Keyset { key: c.name.to_lowercase(), id: c.id },
            SnmpCredentialNode,
        ))
    }
}

#[derive(Default)]
pub struct CredentialMutation;

#[Object]
impl CredentialMutation {
    /// Stores an SNMP credential, its secrets sealed. Managers and admins.
    async fn create_snmp_credential(
        &self,
        ctx: &Context<'_>,
        input: SnmpCredentialInput,
    ) -> async_graphql::Result<SnmpCredentialNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "creating an SNMP credential")?;
        let tenant_id = visible_tenant(actor, "tenantId", input.tenant_id.as_ref())?.unwrap_or(actor.tenant_id);
        let checked = check_credential(input, None)?;
        let id = Uuid::new_v4();
        let (sealed, key_id) = seal(&state(ctx).config.secret_keys, tenant_id, id, &checked.secrets);
        let mut conn = conn(ctx).await?;
        let row = conn
            .transaction(async |conn| {
                let row =
                    SnmpCredentialRow::create(conn, &actor.scope, values(id, tenant_id, &checked, &sealed, &key_id))
                        .await?;
                crate::events::publish(conn, &Event::new(Entity::Credential, ChangeKind::Created, tenant_id, id))
                    .await?;
                Ok::<_, diesel::result::Error>(row)
            })
            .await
            .map_err(credential_write_error)?;
        tracing::info!(credential.id = %row.id, "SNMP credential created");
        Ok(SnmpCredentialNode(row))
    }

    /// Changes an SNMP credential; secrets left out are kept. Managers and admins. Agents
    /// using it get their new configuration at once.
    async fn update_snmp_credential(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: SnmpCredentialInput,
    ) -> async_graphql::Result<SnmpCredentialNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "changing an SNMP credential")?;
        let id = parse_id("id", &id)?;
        if input.tenant_id.is_some() {
            return Err(ApiError::validation("tenantId", "a credential cannot move to another tenant").into());
        }
        let keys = &state(ctx).config.secret_keys;
        let mut conn = conn(ctx).await?;
        let current = SnmpCredentialRow::find(&mut conn, &actor.scope, id)
            .await
            .map_err(|e| ApiError::from_db("SNMP credential", e))?;
        // A secret sealed with a key no longer configured cannot be kept: it must be given.
        let kept = crate::agent_config::open(keys, &current).ok();
        let checked = check_credential(input, kept)?;
        let (sealed, key_id) = seal(keys, current.tenant_id, id, &checked.secrets);
        let row = conn
            .transaction(async |conn| {
                let row = SnmpCredentialRow::replace(
                    conn,
                    &actor.scope,
                    values(id, current.tenant_id, &checked, &sealed, &key_id),
                )
                .await?;
                crate::events::publish(conn, &Event::new(Entity::Credential, ChangeKind::Updated, row.tenant_id, id))
                    .await?;
                Ok::<_, diesel::result::Error>(row)
            })
            .await
            .map_err(credential_write_error)?;
        Ok(SnmpCredentialNode(row))
    }

    /// Deletes an SNMP credential no range uses. Managers and admins.
    async fn delete_snmp_credential(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "deleting an SNMP credential")?;
        let credential_id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        let outcome = conn
            .transaction(async |conn| {
                let outcome = SnmpCredentialRow::delete(conn, &actor.scope, credential_id).await?;
                if let Ok(row) = &outcome {
                    crate::events::publish(
                        conn,
                        &Event::new(Entity::Credential, ChangeKind::Deleted, row.tenant_id, row.id),
                    )
                    .await?;
                }
                Ok::<_, diesel::result::Error>(outcome)
            })
            .await
            .map_err(|e| ApiError::from_db("SNMP credential", e))?;
        match outcome {
            Ok(_) => Ok(id),
            Err(CredentialInUse::Ranges(names)) => Err(ApiError::Conflict(format!(
                "the credential is still used by discovery ranges: {}; remove it from them first",
                names.join(", ")
            ))
            .into()),
        }
    }
}

fn values<'a>(
    id: Uuid,
    tenant_id: Uuid,
    checked: &'a CheckedCredential,
    sealed: &'a [u8],
    key_id: &'a str,
) -> SnmpCredentialValues<'a> {
    SnmpCredentialValues {
        id,
        tenant_id,
        name: checked.name.as_str(),
        version: checked.version.name(),
        v3_user: checked.user.as_deref(),
        auth_protocol: checked.auth_protocol,
        priv_protocol: checked.priv_protocol,
        context: checked.context.as_deref(),
        sealed,
        key_id,
    }
}
