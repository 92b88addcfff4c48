//! Faults to repairs, the pure part: a work order's status workflow, the estimate of a repair
//! (the fault catalogue's time and parts, priced at the labour rate of the skill it needs),
//! which rule opens a work order for an alert, and fault durations. The database side is
//! `db::work_orders`.

use crate::billing::Micros;
use crate::profiles::catalogue::{Fault, Skill};

/// Where a work order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Nobody has it yet.
    Open,
    /// A technician has it.
    Assigned,
    /// Being worked on.
    InProgress,
    /// Stopped until parts arrive.
    WaitingParts,
    /// Repaired.
    Closed,
    /// Not needed after all (a duplicate, fixed by the customer, …).
    Cancelled,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatusError {
    #[error("unknown status {0:?}: expected open, assigned, in_progress, waiting_parts, closed or cancelled")]
    Unknown(String),
    #[error("the work order is already {0}")]
    Unchanged(&'static str),
    #[error("the work order is {0}: reopen it first")]
    Ended(&'static str),
    #[error("a work order is assigned to someone: give an assignee")]
    NoAssignee,
}

impl Status {
    pub const ALL: [Status; 6] =
        [Status::Open, Status::Assigned, Status::InProgress, Status::WaitingParts, Status::Closed, Status::Cancelled];

    pub fn name(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Assigned => "assigned",
            Status::InProgress => "in_progress",
            Status::WaitingParts => "waiting_parts",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(word: &str) -> Result<Status, StatusError> {
        Status::ALL.into_iter().find(|s| s.name() == word).ok_or_else(|| StatusError::Unknown(word.to_owned()))
    }

    /// Closed or cancelled: nothing more happens until it is reopened.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Cancelled)
    }

    /// Whether a work order may go from `self` to `to`. An ended one only reopens (to open, or
    /// to assigned when it has an assignee); assigned needs an assignee; anything open may
    /// move to any other state, since real repairs skip steps.
    pub fn check_move(self, to: Status, has_assignee: bool) -> Result<(), StatusError> {
        if self == to {
            return Err(StatusError::Unchanged(self.name()));
        }
        if self.is_final() && !matches!(to, Status::Open | Status::Assigned) {
            return Err(StatusError::Ended(self.name()));
        }
        if to == Status::Assigned && !has_assignee {
            return Err(StatusError::NoAssignee);
        }
        Ok(())
    }
}

/// What a repair should take and cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Estimate {
    pub skill: Skill,
    /// A field technician's call-out.
    pub specialist: bool,
    pub minutes: u32,
    /// Minutes at the skill's hourly rate; none when no rate is set.
    pub labour: Option<Micros>,
    pub parts: Micros,
}

/// The estimate of a fault as a device reported it (`training_level`: its prtAlertTrainingLevel),
/// with `hourly_rate` the rate of each skill (none: not set).
pub fn estimate(
    fault: &Fault,
    training_level: Option<&str>,
    hourly_rate: impl Fn(Skill) -> Option<Micros>,
) -> Estimate {
    let skill = fault.who_fixes(training_level);
    Estimate {
        skill,
        specialist: skill == Skill::FieldTechnician,
        minutes: fault.minutes,
        labour: hourly_rate(skill).map(|rate| labour_cost(rate, fault.minutes)),
        parts: (fault.parts_cost.max(0.0) * 1_000_000.0).round() as Micros,
    }
}

/// `minutes` of work at `hourly_rate`, rounded to the micro.
pub fn labour_cost(hourly_rate: Micros, minutes: u32) -> Micros {
    (hourly_rate * i64::from(minutes) + 30) / 60
}

/// A tenant's rule: which new alerts open a work order by themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Only this fault type (none: any repair fault).
    pub fault_type: Option<String>,
    /// critical, or warning (warning and critical).
    pub min_severity: String,
    pub min_skill: Option<Skill>,
}

impl Rule {
    /// Whether an alert of `fault` reported with `severity` and needing `skill` opens a work
    /// order. Consumables and informational faults (not `maintenance`) never do: the
    /// supplies side handles them.
    pub fn matches(&self, fault: &Fault, severity: &str, skill: Skill) -> bool {
        fault.maintenance
            && self.fault_type.as_deref().is_none_or(|t| t == fault.fault_type)
            && (self.min_severity == "warning" || severity == "critical")
            && self.min_skill.is_none_or(|min| skill >= min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::ProfileSet;

    fn fault(kind: &str) -> Fault {
        ProfileSet::builtin().unwrap().catalogue.get(kind).unwrap().clone()
    }

    #[test]
    fn ended_work_orders_only_reopen_and_assignment_needs_someone() {
        assert_eq!(Status::Open.check_move(Status::Open, false), Err(StatusError::Unchanged("open")));
        assert_eq!(Status::Open.check_move(Status::Assigned, false), Err(StatusError::NoAssignee));
        assert!(Status::Open.check_move(Status::Assigned, true).is_ok());
        assert!(Status::Open.check_move(Status::Closed, false).is_ok());
        assert!(Status::WaitingParts.check_move(Status::InProgress, true).is_ok());
        assert_eq!(Status::Closed.check_move(Status::InProgress, true), Err(StatusError::Ended("closed")));
        assert!(Status::Cancelled.check_move(Status::Open, false).is_ok());
        assert!(Status::Closed.check_move(Status::Assigned, true).is_ok());
        assert_eq!(Status::parse("in_progress"), Ok(Status::InProgress));
        assert!(matches!(Status::parse("done"), Err(StatusError::Unknown(_))));
        for status in Status::ALL {
            assert_eq!(Status::parse(status.name()), Ok(status));
        }
    }

    #[test]
    fn a_fuser_needs_a_specialist_whatever_the_device_says_and_is_priced_at_the_technicians_rate() {
        let fuser = fault("fuser_failure");
        let rate = |skill| match skill {
            Skill::FieldTechnician => Some(90_000_000),
            Skill::TrainedUser => Some(40_000_000),
            Skill::User => None,
        };
        let estimate = estimate(&fuser, Some("trained"), rate);
        assert_eq!(estimate.skill, Skill::FieldTechnician);
        assert!(estimate.specialist);
        assert_eq!(estimate.minutes, fuser.minutes);
        assert_eq!(estimate.labour, Some(90_000_000 * i64::from(fuser.minutes) / 60));
        assert_eq!(estimate.parts, (fuser.parts_cost * 1e6) as i64);
        // A jam the device calls a field-service matter needs one; without a rate, no labour.
        let jam = super::estimate(&fault("jam"), Some("field_service"), |_| None);
        assert_eq!((jam.skill, jam.specialist, jam.labour), (Skill::FieldTechnician, true, None));
        let jam = super::estimate(&fault("jam"), None, rate);
        assert_eq!((jam.skill, jam.specialist, jam.labour), (Skill::User, false, None));
        assert_eq!(labour_cost(60_000_000, 1), 1_000_000);
        assert_eq!(labour_cost(1, 1), 0);
    }

    #[test]
    fn rules_open_work_orders_for_repairs_not_for_consumables() {
        let any_critical = Rule { fault_type: None, min_severity: "critical".into(), min_skill: None };
        assert!(any_critical.matches(&fault("jam"), "critical", Skill::User));
        assert!(!any_critical.matches(&fault("jam"), "warning", Skill::User));
        assert!(!any_critical.matches(&fault("toner_empty"), "critical", Skill::User));
        assert!(!any_critical.matches(&fault("paper_empty"), "critical", Skill::User));
        let specialists =
            Rule { fault_type: None, min_severity: "warning".into(), min_skill: Some(Skill::TrainedUser) };
        assert!(specialists.matches(&fault("maintenance_due"), "warning", Skill::FieldTechnician));
        assert!(!specialists.matches(&fault("jam"), "critical", Skill::User));
        let fusers = Rule { fault_type: Some("fuser_failure".into()), min_severity: "warning".into(), min_skill: None };
        assert!(fusers.matches(&fault("fuser_failure"), "critical", Skill::FieldTechnician));
        assert!(!fusers.matches(&fault("service_call"), "critical", Skill::FieldTechnician));
    }
}
