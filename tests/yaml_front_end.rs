//! The YAML front end (`src/yaml.rs`, on saphyr-parser): what it reports, and where, for the
//! cases whose message it builds itself. The corpus in tests/invalid/ covers the rest.

use hapolicy::parse::{from_yaml_str, parse_yaml_text};
use hapolicy::Error;
use serde_json::json;

fn problems(text: &str) -> Vec<(String, String)> {
    match parse_yaml_text(text) {
        Err(Error::Invalid(ps)) => ps.into_iter().map(|p| (p.path, p.message)).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn scalars_resolve_as_the_yaml_core_schema() {
    let v = parse_yaml_text(
        "a: [~, null, '', true, False, 12, -3, 0x1F, 0o17, +5, 017, 1.5, 6.0, 1e3, '12', \"true\", !!str 7, !!int '8', 18446744073709551616]\n",
    )
    .unwrap();
    // 017: a leading zero keeps it text (YAML 1.2); 2^64 is beyond 64 bits: a float.
    assert_eq!(
        v,
        json!({"a": [null, null, "", true, false, 12, -3, 31, 15, 5, "017", 1.5, 6.0, 1000.0, "12", "true", "7", 8, 18446744073709551616.0]})
    );
}

#[test]
fn a_repeated_key_is_reported_where_it_repeats() {
    let ps = problems("hosts:\n  - id: h\n    cpu_mhz: 1\n    cpu_mhz: 2\n");
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].0, "<yaml>");
    assert_eq!(
        ps[0].1,
        "line 4, column 5: hosts[0]: duplicate entry with key \"cpu_mhz\" (in the mapping at line 2, column 5)"
    );
}

#[test]
fn block_nesting_past_128_levels_is_refused_with_its_position() {
    let text: String = (0..200).map(|i| format!("{}a:\n", "  ".repeat(i))).collect();
    let ps = problems(&text);
    assert_eq!(ps, vec![("<yaml>".to_string(), "line 129, column 257: nested more than 128 levels deep".to_string())]);
    // 128 levels are fine.
    let text: String = (0..128).map(|i| format!("{}a:\n", "  ".repeat(i))).collect();
    parse_yaml_text(&text).unwrap();
}

#[test]
fn syntax_errors_name_the_collection_being_read() {
    let ps = problems("hosts:\n  - id: h1\n   cpu_mhz: 3\n");
    assert_eq!(ps[0].0, "<yaml>");
    assert!(ps[0].1.starts_with("line 3, column 4: "), "{}", ps[0].1);
    assert!(ps[0].1.ends_with(", while parsing a block sequence (at line 2, column 3)"), "{}", ps[0].1);
    let ps = problems("a: {b: [1, 2}\n");
    assert!(ps[0].1.contains("while parsing a flow sequence (at line 1, column 8)"), "{}", ps[0].1);
}

#[test]
fn one_document_only() {
    let ps = problems("a: 1\n---\nb: 2\n");
    assert_eq!(ps[0].1, "line 2, column 1: the text holds more than one YAML document; an inventory is one document");
    assert_eq!(parse_yaml_text("").unwrap(), serde_json::Value::Null);
}

#[test]
fn what_json_cannot_hold_is_reported_by_path_once() {
    let ps = problems("hosts:\n  - x: !mhz [.nan]\n    y: -.inf\n    ? {k: 1}\n    : 2\n    z: !!int abc\n");
    assert_eq!(
        ps,
        vec![
            ("hosts[0]".to_string(), "a key must be text, got a mapping".to_string()),
            ("hosts[0].x".to_string(), "YAML tag !mhz is not supported".to_string()),
            ("hosts[0].y".to_string(), "-.inf is not a finite number".to_string()),
            ("hosts[0].z".to_string(), "\"abc\" is not an integer (tag !!int)".to_string()),
        ]
    );
}

#[test]
fn aliases_replay_their_anchor_and_count_against_the_limit() {
    let v = parse_yaml_text("a: &x {k: [1, 2]}\nb: *x\n").unwrap();
    assert_eq!(v, json!({"a": {"k": [1, 2]}, "b": {"k": [1, 2]}}));
    // 1,000 aliases of a 2,001-value list: ~2,000,000 values from ~7 KB, over 2 × 7 KB + 1,000,000.
    let text = format!("a: &a [{}]\nb: [{}]\n", vec!["x"; 2000].join(","), vec!["*a"; 1000].join(","));
    let err = from_yaml_str(&text).unwrap_err().to_string();
    assert!(err.contains("aliases expand the document to more than"), "{err}");
    assert!(err.contains("(the limit is 2 per byte of input + 1000000)"), "{err}");
}

#[test]
fn an_alias_inside_its_own_anchor_is_refused() {
    let ps = problems("a: &x [1, *x]\n");
    assert_eq!(ps[0].0, "<yaml>");
    assert!(ps[0].1.starts_with("line 1, column 11: "), "{}", ps[0].1);
}
