//! `--host`: which of the hosts in the evidence a name given on the command line selects.
//!
//! A name selects the hosts whose name equals it, ignoring case (`fs01.corp.example` selects
//! `FS01.corp.example`). When none does, a short name selects the host whose first label it is
//! (`FS01` selects `FS01.corp.example`), and a full name the host logged under its first label
//! alone (`FS01.corp.example` selects `FS01`). A name that selects no host, or short names of
//! two different hosts, is a usage error naming the hosts seen: a mistyped filter must never
//! look like a clean host.

use super::UsageError;

/// The first label of a DNS name (`FS01` of `FS01.corp.example`).
fn first_label(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

/// The host names in `known` that `given` selects (in `known`'s order), or a usage error
/// listing the hosts.
pub fn match_host<'a>(given: &str, known: &[&'a str]) -> Result<Vec<&'a str>, UsageError> {
    let given_t = given.trim();
    let exact: Vec<&str> = known.iter().copied().filter(|h| same(h, given_t)).collect();
    if !exact.is_empty() {
        return Ok(exact);
    }
    let short: Vec<&str> = known
        .iter()
        .copied()
        .filter(|h| {
            (!given_t.contains('.') && same(first_label(h), given_t))
                || (!h.contains('.') && same(h, first_label(given_t)))
        })
        .collect();
    let mut sorted: Vec<&str> = known.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let list = if sorted.is_empty() {
        "none".to_string()
    } else {
        sorted.join(", ")
    };
    if short.is_empty() {
        return Err(UsageError(format!(
            "--host: no host named {given:?} in the input (hosts: {list})"
        )));
    }
    let distinct = short.iter().any(|h| !same(h, short[0]));
    if distinct {
        return Err(UsageError(format!(
            "--host {given:?}: names more than one host ({}); give the full name",
            short.join(", ")
        )));
    }
    Ok(short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_short_names_case_insensitive() {
        let known = [
            "FS01.corp.example",
            "WKS7.corp.example",
            "fs01.corp.example",
            "DC1",
        ];
        assert_eq!(
            match_host("FS01.CORP.example", &known).unwrap(),
            ["FS01.corp.example", "fs01.corp.example"]
        );
        assert_eq!(match_host("wks7", &known).unwrap(), ["WKS7.corp.example"]);
        assert_eq!(match_host("dc1.corp.example", &known).unwrap(), ["DC1"]);
        let e = match_host("FS02", &known).unwrap_err().0;
        assert_eq!(
            e,
            "--host: no host named \"FS02\" in the input (hosts: DC1, FS01.corp.example, WKS7.corp.example, fs01.corp.example)"
        );
        // A short name of two different hosts.
        let two = ["FS01.corp.example", "FS01.lab.example"];
        let e = match_host("fs01", &two).unwrap_err().0;
        assert!(e.contains("names more than one host"), "{e}");
        // A full name does not select a different domain's host.
        assert!(match_host("FS01.other.example", &two).is_err());
        assert!(match_host("FS01.corp", &two).is_err());
    }
}
