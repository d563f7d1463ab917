//! Runs the RFC 7208 suite's tables: one test per section of the suite,
//! each listing every case that went wrong.

use super::suite1::*;
use super::suite2::*;
use super::suite3::*;
use super::zone::{DEFAULT, Scenario, check, request};
use crate::mail_auth::spf::Identity;

fn run(scenario: &Scenario) {
    let mut failures = Vec::new();
    for case in scenario.cases {
        let (verdict, _) = check(
            scenario.zone,
            request(case.ip, case.mailfrom, case.helo),
            Identity::MailFrom,
        );
        let result = verdict.result.as_str();
        if !case.results.contains(&result) {
            failures.push(format!(
                "{} ({}): {result}, expected {:?}; {:?}",
                case.name, case.spec, case.results, verdict.problem
            ));
            continue;
        }
        let expected = case.explanation.map(|e| (e != DEFAULT).then_some(e));
        if let Some(expected) = expected
            && verdict.explanation.as_deref() != expected
        {
            failures.push(format!(
                "{} ({}): explanation {:?}, expected {expected:?}",
                case.name, case.spec, verdict.explanation
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}: {} of {} cases failed:\n{}",
        scenario.section,
        failures.len(),
        scenario.cases.len(),
        failures.join("\n")
    );
}

#[test]
fn suite_initial_processing() {
    run(&INITIAL_PROCESSING);
}

#[test]
fn suite_record_lookup() {
    run(&RECORD_LOOKUP);
}

#[test]
fn suite_selecting_records() {
    run(&SELECTING_RECORDS);
}

#[test]
fn suite_record_evaluation() {
    run(&RECORD_EVALUATION);
}

#[test]
fn suite_all_mechanism() {
    run(&ALL_MECHANISM_SYNTAX);
}

#[test]
fn suite_ptr_mechanism() {
    run(&PTR_MECHANISM_SYNTAX);
}

#[test]
fn suite_a_mechanism() {
    run(&A_MECHANISM_SYNTAX);
}

#[test]
fn suite_include_mechanism() {
    run(&INCLUDE_MECHANISM_SEMANTICS_AND_SYNTAX);
}

#[test]
fn suite_mx_mechanism() {
    run(&MX_MECHANISM_SYNTAX);
}

#[test]
fn suite_exists_mechanism() {
    run(&EXISTS_MECHANISM_SYNTAX);
}

#[test]
fn suite_ip4_mechanism() {
    run(&IP4_MECHANISM_SYNTAX);
}

#[test]
fn suite_ip6_mechanism() {
    run(&IP6_MECHANISM_SYNTAX);
}

#[test]
fn suite_exp_and_other_modifiers() {
    run(&SEMANTICS_OF_EXP_AND_OTHER_MODIFIERS);
}

#[test]
fn suite_macro_expansion() {
    run(&MACRO_EXPANSION_RULES);
}

#[test]
fn suite_processing_limits() {
    run(&PROCESSING_LIMITS);
}

#[test]
fn suite_implementation_bugs() {
    run(&TEST_CASES_FROM_IMPLEMENTATION_BUGS);
}

/// Every case of the suite is in the tables: the count is the suite's.
#[test]
fn suite_holds_every_case() {
    let scenarios = [
        &INITIAL_PROCESSING,
        &RECORD_LOOKUP,
        &SELECTING_RECORDS,
        &RECORD_EVALUATION,
        &ALL_MECHANISM_SYNTAX,
        &PTR_MECHANISM_SYNTAX,
        &A_MECHANISM_SYNTAX,
        &INCLUDE_MECHANISM_SEMANTICS_AND_SYNTAX,
        &MX_MECHANISM_SYNTAX,
        &EXISTS_MECHANISM_SYNTAX,
        &IP4_MECHANISM_SYNTAX,
        &IP6_MECHANISM_SYNTAX,
        &SEMANTICS_OF_EXP_AND_OTHER_MODIFIERS,
        &MACRO_EXPANSION_RULES,
        &PROCESSING_LIMITS,
        &TEST_CASES_FROM_IMPLEMENTATION_BUGS,
    ];
    let cases: usize = scenarios.iter().map(|s| s.cases.len()).sum();
    assert_eq!(cases, 198);
}
