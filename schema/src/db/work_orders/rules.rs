//! The rules that open work orders by themselves and the labour rates that price them, each
//! found up the tenant tree (a customer inherits its dealer's).

use super::*;

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = work_order_rules)]
pub struct WorkOrderRule {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub fault_type: Option<String>,
    pub min_severity: String,
    pub min_skill: Option<String>,
    pub close_when_cleared: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = work_order_rules)]
pub struct NewWorkOrderRule {
    pub tenant_id: Uuid,
    pub name: String,
    pub fault_type: Option<String>,
    pub min_severity: String,
    pub min_skill: Option<String>,
    pub close_when_cleared: bool,
}

impl WorkOrderRule {
    pub(super) fn rule(&self) -> Rule {
        Rule {
            fault_type: self.fault_type.clone(),
            min_severity: self.min_severity.clone(),
            min_skill: self.min_skill.as_deref().and_then(Skill::parse),
        }
    }

    pub async fn create(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        new: NewWorkOrderRule,
    ) -> QueryResult<WorkOrderRule> {
        scope.require(new.tenant_id)?;
        diesel::insert_into(work_order_rules::table)
            .values(&new)
            .returning(WorkOrderRule::as_returning())
            .get_result(conn)
            .await
    }

    /// Visible rules, oldest first.
    pub async fn list(conn: &mut AsyncPgConnection, scope: &Scope) -> QueryResult<Vec<WorkOrderRule>> {
        work_order_rules::table
            .filter(work_order_rules::tenant_id.eq_any(scope.tenant_ids()))
            .select(WorkOrderRule::as_select())
            .order_by((work_order_rules::created_at, work_order_rules::id))
            .load(conn)
            .await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, scope: &Scope, id: Uuid) -> QueryResult<WorkOrderRule> {
        diesel::delete(work_order_rules::table.find(id).filter(work_order_rules::tenant_id.eq_any(scope.tenant_ids())))
            .returning(WorkOrderRule::as_returning())
            .get_result(conn)
            .await
    }
}

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = labour_rates)]
pub struct LabourRate {
    pub tenant_id: Uuid,
    pub skill: String,
    pub hourly_rate: i64,
    pub currency: String,
}

impl LabourRate {
    /// Sets (or with `None` removes) a tenant's rate for a skill.
    pub async fn set(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        tenant: Uuid,
        skill: Skill,
        rate: Option<(Micros, String)>,
    ) -> QueryResult<()> {
        scope.require(tenant)?;
        let target =
            labour_rates::table.filter(labour_rates::tenant_id.eq(tenant)).filter(labour_rates::skill.eq(skill.name()));
        match rate {
            None => diesel::delete(target).execute(conn).await.map(drop),
            Some((hourly_rate, currency)) => diesel::insert_into(labour_rates::table)
                .values((
                    labour_rates::tenant_id.eq(tenant),
                    labour_rates::skill.eq(skill.name()),
                    labour_rates::hourly_rate.eq(hourly_rate),
                    labour_rates::currency.eq(&currency),
                ))
                .on_conflict((labour_rates::tenant_id, labour_rates::skill))
                .do_update()
                .set((labour_rates::hourly_rate.eq(hourly_rate), labour_rates::currency.eq(&currency)))
                .execute(conn)
                .await
                .map(drop),
        }
    }

    /// The rates a tenant set itself.
    pub async fn of_tenant(conn: &mut AsyncPgConnection, scope: &Scope, tenant: Uuid) -> QueryResult<Vec<LabourRate>> {
        scope.require(tenant)?;
        labour_rates::table
            .filter(labour_rates::tenant_id.eq(tenant))
            .select(LabourRate::as_select())
            .order_by(labour_rates::skill)
            .load(conn)
            .await
    }
}

/// The rate each of `tenants` pays per skill: its own, else the nearest up the tree.
pub async fn rates_for(conn: &mut AsyncPgConnection, tenants: &[Uuid]) -> QueryResult<HashMap<(Uuid, Skill), Micros>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        tenant_id: Uuid,
        #[diesel(sql_type = Text)]
        skill: String,
        #[diesel(sql_type = BigInt)]
        hourly_rate: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "{UP} SELECT DISTINCT ON (up.tenant_id, r.skill) up.tenant_id, r.skill, r.hourly_rate \
         FROM up JOIN labour_rates r ON r.tenant_id = up.ancestor_id \
         ORDER BY up.tenant_id, r.skill, up.depth"
    ))
    .bind::<Array<SqlUuid>, _>(tenants)
    .load(conn)
    .await?;
    Ok(rows.into_iter().filter_map(|r| Some(((r.tenant_id, Skill::parse(&r.skill)?), r.hourly_rate))).collect())
}

/// Each tenant of `$1` with itself and its ancestors (`depth` 0 for itself).
pub(super) const UP: &str = "WITH RECURSIVE up(tenant_id, ancestor_id, depth) AS ( \
        SELECT id, id, 0 FROM tenants WHERE id = ANY($1) \
        UNION ALL \
        SELECT up.tenant_id, t.parent_id, up.depth + 1 FROM up JOIN tenants t ON t.id = up.ancestor_id \
        WHERE t.parent_id IS NOT NULL)";

/// The rules that apply to each of `tenants` (their own and their ancestors'), nearest first.
pub(super) async fn rules_for(
    conn: &mut AsyncPgConnection,
    tenants: &[Uuid],
) -> QueryResult<Vec<(Uuid, WorkOrderRule)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        applies_to: Uuid,
        #[diesel(embed)]
        rule: WorkOrderRuleByName,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "{UP} SELECT up.tenant_id AS applies_to, r.* FROM up JOIN work_order_rules r ON r.tenant_id = up.ancestor_id \
         ORDER BY up.tenant_id, up.depth, r.created_at, r.id"
    ))
    .bind::<Array<SqlUuid>, _>(tenants)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.applies_to, r.rule.into())).collect())
}

#[derive(QueryableByName)]
#[diesel(table_name = work_order_rules)]
struct WorkOrderRuleByName {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    fault_type: Option<String>,
    min_severity: String,
    min_skill: Option<String>,
    close_when_cleared: bool,
    created_at: DateTime<Utc>,
}

impl From<WorkOrderRuleByName> for WorkOrderRule {
    fn from(r: WorkOrderRuleByName) -> WorkOrderRule {
        WorkOrderRule {
            id: r.id,
            tenant_id: r.tenant_id,
            name: r.name,
            fault_type: r.fault_type,
            min_severity: r.min_severity,
            min_skill: r.min_skill,
            close_when_cleared: r.close_when_cleared,
            created_at: r.created_at,
        }
    }
}
