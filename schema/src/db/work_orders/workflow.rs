//! A person's step in a work order's workflow: its status, who has it, a comment, and what
//! the repair took when it closes; each part an event.

use super::*;

/// A person's change of a work order; every part is optional.
#[derive(Clone, Debug, Default)]
pub struct Change {
    pub status: Option<Status>,
    /// `Some(None)` takes the assignee off.
    pub assignee: Option<Option<Uuid>>,
    pub comment: Option<String>,
    /// What the repair took (only when closing).
    pub labour_minutes: Option<i32>,
    pub parts_cost: Option<Micros>,
}

#[derive(Debug)]
pub enum ChangeError {
    Status(maintenance::StatusError),
    Assignee(AssigneeError),
    ActualsBeforeClosing,
    Nothing,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for ChangeError {
    fn from(err: diesel::result::Error) -> ChangeError {
        ChangeError::Db(err)
    }
}

impl WorkOrder {
    /// Applies a person's change (status, assignee, comment, what the repair took) in one
    /// transaction, the work order locked; each part is an event. Assigning someone to an
    /// open work order makes it assigned; taking the assignee off an assigned one reopens it.
    pub async fn change(
        conn: &mut AsyncPgConnection,
        scope: &Scope,
        id: Uuid,
        actor: Option<Uuid>,
        change: Change,
    ) -> Result<WorkOrder, ChangeError> {
        conn.transaction(async |conn| {
            let order: WorkOrder = work_orders::table
                .find(id)
                .filter(work_orders::tenant_id.eq_any(scope.tenant_ids()))
                .select(WorkOrder::as_select())
                .for_update()
                .get_result(conn)
                .await?;
            let mut events: Vec<NewEvent<'_>> = Vec::new();
            let mut assignee = order.assignee_id;
            if let Some(new) = change.assignee
                && new != order.assignee_id
            {
                if let Some(user) = new {
                    check_assignee(conn, order.tenant_id, user).await.map_err(|e| match e {
                        OpenError::Assignee(e) => ChangeError::Assignee(e),
                        OpenError::Db(e) => ChangeError::Db(e),
                        _ => ChangeError::Db(diesel::result::Error::NotFound),
                    })?;
                }
                assignee = new;
                events.push(NewEvent { assignee_id: new, ..NewEvent::new(id, actor, "assigned") });
            }
            let from = order.status();
            let to = match change.status {
                Some(to) => {
                    from.check_move(to, assignee.is_some()).map_err(ChangeError::Status)?;
                    to
                }
                None if from == Status::Open && assignee.is_some() && order.assignee_id.is_none() => Status::Assigned,
                None if from == Status::Assigned && assignee.is_none() => Status::Open,
                None => from,
            };
            if to != from {
                events.push(NewEvent {
                    from_status: Some(from.name()),
                    to_status: Some(to.name()),
                    ..NewEvent::new(id, actor, "status")
                });
            }
            if (change.labour_minutes.is_some() || change.parts_cost.is_some()) && to != Status::Closed {
                return Err(ChangeError::ActualsBeforeClosing);
            }
            if let Some(text) = change.comment.as_deref() {
                events.push(NewEvent { body: Some(text), ..NewEvent::new(id, actor, "comment") });
            }
            if events.is_empty() && change.labour_minutes.is_none() && change.parts_cost.is_none() {
                return Err(ChangeError::Nothing);
            }
            let now = Utc::now();
            let closed_at =
                if to.is_final() { order.closed_at.filter(|_| from.is_final()).or(Some(now)) } else { None };
            let updated = diesel::update(work_orders::table.find(id))
                .set((
                    work_orders::status.eq(to.name()),
                    work_orders::assignee_id.eq(assignee),
                    work_orders::closed_at.eq(closed_at),
                    work_orders::close_proposed.eq(order.close_proposed && !from.is_final() && !to.is_final()),
                    work_orders::labour_minutes.eq(change.labour_minutes.or(order.labour_minutes)),
                    work_orders::parts_cost.eq(change.parts_cost.or(order.parts_cost)),
                    work_orders::updated_at.eq(now),
                ))
                .returning(WorkOrder::as_returning())
                .get_result(conn)
                .await?;
            record(conn, &updated, "updated", &events).await?;
            Ok(updated)
        })
        .await
    }
}
