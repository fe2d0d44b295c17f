//! [`config_properties!`](crate::config_properties): the property tests every vendor
//! configuration table of the workspace runs (feature `proptest`).

/// Generates the property tests of a configuration table read from TOML: the base table is
/// valid; arbitrary text, TOML mutations and byte mutations of it are read or refused with
/// a reason and never show `secret` ([`fuzz::check_config`](crate::fuzz::check_config));
/// an unknown key in any of the listed tables is refused by name
/// ([`fuzz::check_unknown_key`](crate::fuzz::check_unknown_key)).
///
/// The type needs `validate(&self) -> itsm_core::Result<()>`, `Deserialize` and `Debug`;
/// the calling test crate needs `proptest` and `toml`. `tables` are headers as they stand on a line
/// of the base table (`""` is the top level).
///
/// ```text
/// itsm_testkit::config_properties!(JiraConfig, TABLE, "S3CR3T", tables = ["", "[incident]"]);
/// ```
#[macro_export]
macro_rules! config_properties {
    ($config:ty, $table:expr, $secret:expr, tables = [$($section:expr),* $(,)?]) => {
        #[test]
        fn the_base_table_is_valid() {
            let config: $config = ::toml::from_str($table).unwrap();
            config.validate().unwrap();
        }

        ::proptest::proptest! {
            #![proptest_config($crate::fuzz::config(256))]

            #[test]
            fn arbitrary_text_never_panics(text in ".{0,300}") {
                $crate::fuzz::check_config::<$config>(&text, $secret, <$config>::validate)?;
            }

            #[test]
            fn mutated_tables_are_read_or_refused_with_a_reason(
                text in $crate::fuzz::mutated_toml($table),
            ) {
                $crate::fuzz::check_config::<$config>(&text, $secret, <$config>::validate)?;
            }

            #[test]
            fn byte_mutations_never_panic(
                bytes in $crate::fuzz::mutated_bytes($table.as_bytes().to_vec()),
            ) {
                let text = String::from_utf8_lossy(&bytes);
                $crate::fuzz::check_config::<$config>(&text, $secret, <$config>::validate)?;
            }

            #[test]
            fn an_unknown_key_is_refused_by_name(
                key in $crate::fuzz::unknown_field_name(),
                section in ::proptest::sample::select(vec![$($section),*]),
            ) {
                $crate::fuzz::check_unknown_key::<$config>($table, section, &key)?;
            }
        }
    };
}
