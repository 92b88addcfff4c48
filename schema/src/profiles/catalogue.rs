//! The fault catalogue: what an alert or an error bit means for whoever must fix it.
//! Data lives in `profiles/faults.toml`; this module reads it and looks faults up.

use serde::{Deserialize, Serialize};

use super::profile::ProfileError;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Stable identifier (`jam`, `toner_empty`, `fuser_failure`, …).
    #[serde(rename = "type")]
    pub fault_type: String,
    pub title: String,
    /// critical or warning, when the device does not say.
    pub severity: String,
    /// user, trained_user or field_technician, when the device does not say.
    pub fixed_by: String,
    /// A repair (a work order's business), as opposed to a consumable running out or
    /// informational state, which the supplies side handles.
    #[serde(default = "yes")]
    pub maintenance: bool,
    /// Estimated minutes to fix, for the person who can.
    pub minutes: u32,
    /// Typical parts cost in euros (0 when nothing is replaced).
    pub parts_cost: f64,
    /// RFC 3805 prtAlertCode values, optionally limited to alert groups.
    #[serde(default)]
    pub alerts: Vec<AlertMatch>,
    /// hrPrinterDetectedErrorState bits (`jammed`, `door_open`, …).
    #[serde(default)]
    pub error_bits: Vec<String>,
    /// Words in the alert description that pick this fault when the code is generic.
    #[serde(default)]
    pub description_words: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Who can clear a fault, least trained first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Skill {
    /// Anyone at the printer (load paper, clear a jam the panel shows).
    User,
    /// A key operator trained on the model (a drum, a waste toner box).
    TrainedUser,
    /// A service technician: a specialist call-out.
    FieldTechnician,
}

impl Skill {
    pub const ALL: [Skill; 3] = [Skill::User, Skill::TrainedUser, Skill::FieldTechnician];

    /// The catalogue's word (`fixed_by`).
    pub fn name(self) -> &'static str {
        match self {
            Skill::User => "user",
            Skill::TrainedUser => "trained_user",
            Skill::FieldTechnician => "field_technician",
        }
    }

    pub fn parse(word: &str) -> Option<Skill> {
        Skill::ALL.into_iter().find(|s| s.name() == word)
    }

    /// A device's prtAlertTrainingLevel (RFC 3805) as a skill; none when it does not say
    /// (other, unknown, no intervention required). Management means a decision, not a
    /// specialist: a trained user acts on it.
    pub fn of_training_level(level: &str) -> Option<Skill> {
        match level {
            "untrained" => Some(Skill::User),
            "trained" | "management" => Some(Skill::TrainedUser),
            "field_service" => Some(Skill::FieldTechnician),
            _ => None,
        }
    }
}

impl Fault {
    /// Who the catalogue says can fix it (checked at load).
    pub fn skill(&self) -> Skill {
        Skill::parse(&self.fixed_by).unwrap_or(Skill::FieldTechnician)
    }

    /// Who can fix this fault as a device reported it: the more demanding of the device's
    /// training level and the catalogue's entry (a device calling a fuser failure "trained"
    /// still needs a technician; one calling a jam "field service" knows its own mechanism).
    pub fn who_fixes(&self, training_level: Option<&str>) -> Skill {
        let device = training_level.and_then(Skill::of_training_level);
        device.map_or(self.skill(), |d| d.max(self.skill()))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertMatch {
    pub code: i64,
    /// prtAlertGroup values; empty means any group.
    #[serde(default)]
    pub groups: Vec<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    fault: Vec<Fault>,
}

#[derive(Debug, Clone)]
pub struct FaultCatalogue {
    faults: Vec<Fault>,
}

impl FaultCatalogue {
    pub fn parse(file: &str, text: &str) -> Result<FaultCatalogue, ProfileError> {
        let parsed: CatalogueFile = toml::from_str(text).map_err(|err| ProfileError {
            file: file.to_owned(),
            line: err.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
            reason: err.message().trim().to_owned(),
        })?;
        for fault in &parsed.fault {
            let bad = |what: &str| ProfileError {
                file: file.to_owned(),
                line: text.lines().position(|l| l.contains(&fault.fault_type)).map(|i| i + 1),
                reason: format!("fault {:?}: {what}", fault.fault_type),
            };
            if !["critical", "warning"].contains(&fault.severity.as_str()) {
                return Err(bad("severity must be critical or warning"));
            }
            if Skill::parse(&fault.fixed_by).is_none() {
                return Err(bad("fixed_by must be user, trained_user or field_technician"));
            }
        }
        if !parsed.fault.iter().any(|f| f.fault_type == "other") {
            return Err(ProfileError {
                file: file.to_owned(),
                line: None,
                reason: "the catalogue needs a fault of type \"other\" (the fallback)".into(),
            });
        }
        Ok(FaultCatalogue { faults: parsed.fault })
    }

    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    pub fn get(&self, fault_type: &str) -> Option<&Fault> {
        self.faults.iter().find(|f| f.fault_type == fault_type)
    }

    /// The fault of a type, `other` for a type the catalogue no longer has (an alert
    /// stored under an older catalogue).
    pub fn of_type(&self, fault_type: &str) -> &Fault {
        self.get(fault_type).unwrap_or_else(|| self.other())
    }

    /// The fault of an alert: by code and group, then by words of its description, then `other`.
    /// Generic "subunit" codes (below 100) say little, so for them the description's words
    /// come first ("Drum end of life" with subunitLifeOver is a drum, not a toner).
    pub fn for_alert(&self, code: i64, group: Option<i64>, description: Option<&str>) -> &Fault {
        let by_words = || {
            let text = description?.to_lowercase();
            self.faults.iter().find(|f| f.description_words.iter().any(|w| text.contains(&w.to_lowercase())))
        };
        if code < 100
            && let Some(fault) = by_words()
        {
            return fault;
        }
        let by_code = self.faults.iter().find(|f| {
            f.alerts
                .iter()
                .any(|a| a.code == code && (a.groups.is_empty() || group.is_some_and(|g| a.groups.contains(&g))))
        });
        if let Some(fault) = by_code {
            return fault;
        }
        by_words().unwrap_or_else(|| self.other())
    }

    /// The fault of an hrPrinterDetectedErrorState bit.
    pub fn for_error_bit(&self, bit: &str) -> &Fault {
        self.faults.iter().find(|f| f.error_bits.iter().any(|b| b == bit)).unwrap_or_else(|| self.other())
    }

    fn other(&self) -> &Fault {
        self.faults
            .iter()
            .find(|f| f.fault_type == "other")
            .expect("invariant: parse() checked that the catalogue has an \"other\" fault")
    }
}

/// RFC 3805 PrtAlertCodeTC names.
pub fn alert_code_name(code: i64) -> Option<&'static str> {
    Some(match code {
        1 => "other",
        2 => "unknown",
        3 => "coverOpen",
        4 => "coverClosed",
        5 => "interlockOpen",
        6 => "interlockClosed",
        7 => "configurationChange",
        8 => "jam",
        9 => "subunitMissing",
        10 => "subunitLifeAlmostOver",
        11 => "subunitLifeOver",
        12 => "subunitAlmostEmpty",
        13 => "subunitEmpty",
        14 => "subunitAlmostFull",
        15 => "subunitFull",
        16 => "subunitNearLimit",
        17 => "subunitAtLimit",
        18 => "subunitOpened",
        19 => "subunitClosed",
        20 => "subunitTurnedOn",
        21 => "subunitTurnedOff",
        22 => "subunitOffline",
        23 => "subunitPowerSaver",
        24 => "subunitWarmingUp",
        25 => "subunitAdded",
        26 => "subunitRemoved",
        27 => "subunitResourceAdded",
        28 => "subunitResourceRemoved",
        29 => "subunitRecoverableFailure",
        30 => "subunitUnrecoverableFailure",
        31 => "subunitRecoverableStorageError",
        32 => "subunitUnrecoverableStorageError",
        33 => "subunitMotorFailure",
        34 => "subunitMemoryExhausted",
        35 => "subunitUnderTemperature",
        36 => "subunitOverTemperature",
        37 => "subunitTimingFailure",
        38 => "subunitThermistorFailure",
        501 => "doorOpen",
        502 => "doorClosed",
        503 => "poweredUp",
        504 => "poweredDown",
        505 => "printerNMSReset",
        506 => "printerManualReset",
        507 => "printerReadyToPrint",
        801 => "inputMediaTrayMissing",
        802 => "inputMediaSizeChange",
        803 => "inputMediaWeightChange",
        804 => "inputMediaTypeChange",
        805 => "inputMediaColorChange",
        806 => "inputMediaFormPartsChange",
        807 => "inputMediaSupplyLow",
        808 => "inputMediaSupplyEmpty",
        809 => "inputManualInputRequest",
        810 => "inputTrayPositionFailure",
        811 => "inputTrayElevationFailure",
        812 => "inputCannotFeedSizeSelected",
        901 => "outputMediaTrayMissing",
        902 => "outputMediaTrayAlmostFull",
        903 => "outputMediaTrayFull",
        904 => "outputMailboxSelectFailure",
        1001 => "markerFuserUnderTemperature",
        1002 => "markerFuserOverTemperature",
        1003 => "markerFuserTimingFailure",
        1004 => "markerFuserThermistorFailure",
        1005 => "markerAdjustingPrintQuality",
        1101 => "markerTonerEmpty",
        1102 => "markerInkEmpty",
        1103 => "markerPrintRibbonEmpty",
        1104 => "markerTonerAlmostEmpty",
        1105 => "markerInkAlmostEmpty",
        1106 => "markerPrintRibbonAlmostEmpty",
        1107 => "markerWasteTonerReceptacleAlmostFull",
        1108 => "markerWasteInkReceptacleAlmostFull",
        1109 => "markerWasteTonerReceptacleFull",
        1110 => "markerWasteInkReceptacleFull",
        1111 => "markerOpcLifeAlmostOver",
        1112 => "markerOpcLifeOver",
        1113 => "markerDeveloperAlmostEmpty",
        1114 => "markerDeveloperEmpty",
        1115 => "markerTonerCartridgeMissing",
        1301 => "mediaPathMediaTrayMissing",
        1302 => "mediaPathMediaTrayAlmostFull",
        1303 => "mediaPathMediaTrayFull",
        1304 => "mediaPathCannotDuplexMediaSelected",
        1501 => "interpreterMemoryIncrease",
        1502 => "interpreterMemoryDecrease",
        1503 => "interpreterCartridgeAdded",
        1504 => "interpreterCartridgeDeleted",
        1505 => "interpreterResourceAdded",
        1506 => "interpreterResourceDeleted",
        1507 => "interpreterResourceUnavailable",
        1509 => "interpreterComplexPageEncountered",
        1801 => "alertRemovalOfBinaryChangeEntry",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_fixes_a_fault_is_the_more_demanding_of_the_device_and_the_catalogue() {
        let set = crate::profiles::ProfileSet::builtin().unwrap();
        let faults = set.catalogue.faults();
        let specialist = faults.iter().find(|f| f.skill() == Skill::FieldTechnician).unwrap();
        let simple = faults.iter().find(|f| f.skill() == Skill::User).unwrap();
        assert_eq!(specialist.who_fixes(Some("trained")), Skill::FieldTechnician);
        assert_eq!(specialist.who_fixes(None), Skill::FieldTechnician);
        assert_eq!(simple.who_fixes(Some("field_service")), Skill::FieldTechnician);
        assert_eq!(simple.who_fixes(Some("untrained")), Skill::User);
        assert_eq!(simple.who_fixes(Some("no_intervention_required")), Skill::User);
        assert_eq!(simple.who_fixes(Some("management")), Skill::TrainedUser);
    }
}
