//! Cases the real recordings do not show, on synthetic walks (written by hand, labelled as
//! such): alerts and their fault types, vendor sentinels, broken strings, look-alikes that are
//! not printers, garbage values, and profiles with mistakes.

use std::path::Path;

use cartouche_schema::profiles::snapshot::{CounterKind, SupplyState};
use cartouche_schema::profiles::{ProfileSet, Walk, interpret, read_plan_for};

fn profiles() -> ProfileSet {
    ProfileSet::builtin().expect("the shipped profiles load")
}

fn synthetic(name: &str) -> Walk {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/synthetic").join(name);
    Walk::from_snmprec(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn alerts_are_tagged_with_the_catalogue_fault_and_who_can_fix_it() {
    let snap = interpret(&synthetic("printer-with-alerts.snmprec"), &profiles());
    let fault = |index: u32| snap.alerts.iter().find(|a| a.index == index).unwrap();
    assert_eq!(fault(1).fault_type, "jam");
    assert_eq!(fault(1).severity, "critical");
    assert_eq!(fault(1).training_level.as_deref(), Some("untrained"));
    assert_eq!(fault(1).group.as_deref(), Some("media_path"));
    assert_eq!(fault(1).time, Some(99100));
    assert_eq!(fault(2).fault_type, "fuser_failure");
    assert_eq!(fault(2).training_level.as_deref(), Some("field_service"));
    assert_eq!(fault(2).code_name.as_deref(), Some("markerFuserOverTemperature"));
    assert_eq!(fault(3).fault_type, "waste_toner_full");
    // subunitLifeOver says little; the description says it is the drum.
    assert_eq!(fault(4).fault_type, "drum_end_of_life");
    let catalogue = &profiles().catalogue;
    let fuser = catalogue.get("fuser_failure").unwrap();
    assert_eq!(fuser.fixed_by, "field_technician");
    assert!(fuser.minutes > 0 && fuser.parts_cost > 0.0);
}

#[test]
fn status_bits_and_device_status_make_the_summary() {
    let snap = interpret(&synthetic("printer-with-alerts.snmprec"), &profiles());
    assert_eq!(snap.status.errors, vec!["low_toner", "jammed"]);
    assert_eq!(snap.status.device.as_deref(), Some("warning"));
    assert_eq!(snap.status.summary, "error", "a jam stops the device");
}

#[test]
fn sentinels_overflows_and_broken_strings_are_read_and_flagged() {
    let snap = interpret(&synthetic("printer-with-alerts.snmprec"), &profiles());
    assert_eq!(snap.vendor.as_deref(), Some("Ricoh"));
    assert_eq!(snap.serial.as_deref(), Some("E204M912345"), "padding trimmed");
    let supply = |index: u32| snap.supplies.iter().find(|s| s.index == index).unwrap();
    assert_eq!(supply(1).state, SupplyState::Empty, "Ricoh −100 is empty");
    assert_eq!(supply(1).percent, None);
    assert_eq!(supply(2).percent, Some(100.0), "a level above capacity is capped");
    assert_eq!(supply(2).color.as_deref(), Some("yellow"), "Latin-1 'jaune' decoded");
    assert_eq!(supply(2).description.as_deref(), Some("Cartouche jaune n\u{ba}2"));
    assert_eq!(supply(3).state, SupplyState::Full, "a receptacle with no space left is full");
    assert!(supply(3).receptacle);
    assert_eq!(supply(4).state, SupplyState::SomeRemaining);
    assert_eq!(supply(4).kind, "drum");
    let warnings = snap.warnings.join("\n");
    assert!(warnings.contains("above its capacity"), "{warnings}");
    assert!(warnings.contains("-100"), "{warnings}");
    assert!(warnings.contains("Latin-1"), "{warnings}");
}

fn walk(lines: &str) -> Walk {
    Walk::from_snmprec(lines).unwrap()
}

#[test]
fn look_alikes_are_not_printers() {
    let cases = [
        (
            "Windows print server",
            "1.3.6.1.2.1.1.1.0|4|Hardware: Intel64 Family 6 - Software: Windows Version 6.3\n\
             1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.311.1.1.3.1.2\n\
             1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.3\n\
             1.3.6.1.2.1.25.3.2.1.2.2|6|1.3.6.1.2.1.25.3.1.3\n\
             1.3.6.1.2.1.25.3.2.1.2.3|6|1.3.6.1.2.1.25.3.1.5\n\
             1.3.6.1.2.1.25.3.2.1.3.3|4|HP LaserJet 4250 PCL6\n",
        ),
        (
            "Linux host sharing CUPS queues",
            "1.3.6.1.2.1.1.1.0|4|Linux print01 6.1.0-18-amd64 #1 SMP x86_64\n\
             1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10\n\
             1.3.6.1.2.1.25.3.2.1.2.768|6|1.3.6.1.2.1.25.3.1.3\n\
             1.3.6.1.2.1.25.3.2.1.2.1025|6|1.3.6.1.2.1.25.3.1.5\n\
             1.3.6.1.2.1.25.3.2.1.3.1025|4|Brother_HL_L2350DW\n",
        ),
        (
            "UPS",
            "1.3.6.1.2.1.1.1.0|4|APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.5.6)\n\
             1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.318.1.3.27\n",
        ),
        (
            "HP switch",
            "1.3.6.1.2.1.1.1.0|4|HP J9773A 2530-24G-PoEP Switch, revision YA.16.02\n\
             1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.7.11.153\n",
        ),
        (
            "Axis camera",
            "1.3.6.1.2.1.1.1.0|4|AXIS P1435-LE Network Camera 10.12.165\n\
             1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.368.4\n",
        ),
    ];
    let set = profiles();
    for (name, lines) in cases {
        let snap = interpret(&walk(lines), &set);
        assert!(!snap.is_printer, "{name}: {:?}", snap.printer_evidence);
        assert!(!snap.printer_evidence.is_empty(), "{name}: the verdict is explained");
    }
}

#[test]
fn an_unknown_printer_falls_back_to_the_standard_mibs() {
    let snap = interpret(
        &walk(
            "1.3.6.1.2.1.1.1.0|4|Acme Imaging ColorJet 9000\n\
             1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1\n\
             1.3.6.1.2.1.2.2.1.6.2|4x|0a0b0c0d0e0f\n\
             1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.5\n\
             1.3.6.1.2.1.25.3.2.1.3.1|4|ColorJet 9000\n\
             1.3.6.1.2.1.43.5.1.1.17.1|4|CJ9-0001\n\
             1.3.6.1.2.1.43.10.2.1.4.1.1|65|4242\n\
             1.3.6.1.2.1.43.11.1.1.5.1.1|2|3\n\
             1.3.6.1.2.1.43.11.1.1.6.1.1|4|Black Toner\n\
             1.3.6.1.2.1.43.11.1.1.8.1.1|2|2000\n\
             1.3.6.1.2.1.43.11.1.1.9.1.1|2|500\n",
        ),
        &profiles(),
    );
    assert!(snap.is_printer);
    assert_eq!(snap.profile, vec!["base"]);
    assert_eq!(snap.vendor, None);
    assert_eq!(snap.model.as_deref(), Some("ColorJet 9000"));
    assert_eq!(snap.serial.as_deref(), Some("CJ9-0001"));
    assert_eq!(snap.mac.as_deref(), Some("0a:0b:0c:0d:0e:0f"));
    let total = snap.counters.iter().find(|c| c.kind == CounterKind::Total).unwrap();
    assert_eq!((total.value, total.source.oid.as_str()), (4242, "1.3.6.1.2.1.43.10.2.1.4.1"));
    assert_eq!(snap.supplies[0].percent, Some(25.0));
    assert_eq!(snap.supplies[0].color.as_deref(), Some("black"));
}

#[test]
fn garbage_values_never_fail_the_device() {
    let snap = interpret(
        &walk(
            "1.3.6.1.2.1.1.1.0|4x|ff00fe\n\
             1.3.6.1.2.1.1.2.0|4|not an oid\n\
             1.3.6.1.2.1.43.10.2.1.4.1.1|2|-5\n\
             1.3.6.1.2.1.43.11.1.1.9.1.1|4|lots\n\
             1.3.6.1.2.1.43.11.1.1.9.1.2|2|40\n\
             1.3.6.1.2.1.43.18.1.1.8.1.1|4|alert without a code\n",
        ),
        &profiles(),
    );
    let warnings = snap.warnings.join("\n");
    assert!(warnings.contains("negative value"), "{warnings}");
    assert!(warnings.contains("is not a number"), "{warnings}");
    assert!(warnings.contains("no code"), "{warnings}");
    assert_eq!(snap.supplies.len(), 1, "the readable supply is kept");
}

#[test]
fn a_model_profile_refines_the_vendor_profile() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/printers/bieniu-brother/mfc-j680dw.snmprec");
    let snap = interpret(&Walk::from_snmprec(&std::fs::read_to_string(path).unwrap()).unwrap(), &profiles());
    assert_eq!(snap.profile, vec!["base", "brother", "brother-inkjet"]);
    assert!(snap.supplies.iter().any(|s| s.kind == "ink" && s.color.as_deref() == Some("cyan")));
    assert!(!snap.supplies.iter().any(|s| s.kind == "toner"));
}

#[test]
fn read_plans_join_the_base_and_vendor_reads() {
    let plan = read_plan_for(
        &walk("1.3.6.1.2.1.1.1.0|4|HP ETHERNET MULTI-ENVIRONMENT\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1\n"),
        &profiles(),
    );
    let gets: Vec<String> = plan.discovery.get.iter().map(ToString::to_string).collect();
    assert!(gets.contains(&"1.3.6.1.2.1.1.1.0".to_owned()));
    assert!(gets.contains(&"1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.3.0".to_owned()), "HP serial");
    assert!(plan.counters.walk.iter().any(|o| o.to_string() == "1.3.6.1.2.1.43.10.2.1"));
    assert!(plan.counters.get.iter().any(|o| o.to_string() == "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0"));
    let total = plan.discovery.get.len() + plan.discovery.walk.len();
    assert!(total < 60, "a first inspection stays small ({total} reads)");
}

fn load_one(text: &str) -> Result<ProfileSet, cartouche_schema::profiles::ProfileError> {
    ProfileSet::builtin_with(vec![("acme.toml".to_owned(), text.to_owned())])
}

const GOOD: &str = "id = \"acme\"\nname = \"Acme\"\nvendor = \"Acme\"\n\n[match]\nenterprises = [99999]\n";

#[test]
fn a_correct_extra_profile_loads_and_applies() {
    let set = load_one(GOOD).unwrap();
    let snap = interpret(&walk("1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.7\n"), &set);
    assert_eq!(snap.vendor.as_deref(), Some("Acme"));
}

#[test]
fn profile_mistakes_name_the_file_line_and_reason() {
    let cases = [
        (format!("{GOOD}colour = \"red\"\n"), 7, "unknown field"),
        (GOOD.replace("enterprises = [99999]", "sys_object_id = [\"1.3.6.x\"]"), 6, "not an OID"),
        (
            format!("{GOOD}\n[[counters]]\nname = \"mono\"\nkind = \"mono\"\nformula = \"print_black + copy_black\"\n"),
            11,
            "missing counter \"print_black\"",
        ),
        (
            format!("{GOOD}\n[[counters]]\nname = \"x\"\nkind = \"pages\"\noid = \"1.3.6.1.2.1.1.1.0\"\n"),
            10,
            "unknown variant",
        ),
        (GOOD.replace("enterprises = [99999]", "sys_descr = [\"(unclosed\"]"), 6, "bad regex"),
        (GOOD.replace("vendor = \"Acme\"", "vendor = \"Acme\"\nextends = \"nobody\""), 4, "unknown profile"),
        (GOOD.replace("enterprises = [99999]", "priority = 1"), 5, "no rule"),
    ];
    for (text, line, reason) in cases {
        let err = load_one(&text).unwrap_err();
        assert_eq!(err.file, "acme.toml", "{err}");
        assert_eq!(err.line, Some(line), "{err}\n---\n{text}");
        assert!(err.reason.contains(reason), "{err}");
    }
}
