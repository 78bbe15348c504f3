//! The bundled examples load without problems.

#[test]
fn bundled_examples_load() {
    for name in ["lab.json", "availability_guide.json"] {
        let path = format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let inv = hapolicy::parse::from_json_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(inv.warnings.is_empty(), "{name}: {:?}", inv.warnings);
        // Round trip through the document form.
        let again = hapolicy::parse::from_value(&hapolicy::serialize::to_value(&inv)).unwrap();
        assert_eq!(inv, again);
    }
}
