//! Checks on `-o DIR` made before any evidence is read.

use super::ReportError;
use std::path::{Component, Path, PathBuf};

/// Refuse an output directory that is a file, is not empty (unless `force`), or lies inside a
/// directory given as input (the reports would be read as evidence by the next run). Paths are
/// compared canonicalized (symlinks resolved); a directory that does not exist yet is compared
/// through its nearest existing ancestor.
pub fn check_output_dir(dir: &Path, inputs: &[PathBuf], force: bool) -> Result<(), ReportError> {
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => {
            return Err(ReportError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        Ok(_) => {
            let mut rd = std::fs::read_dir(dir).map_err(|e| ReportError::io(dir, e))?;
            if !force && rd.next().is_some() {
                return Err(ReportError::NotEmpty {
                    path: dir.to_path_buf(),
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ReportError::io(dir, e)),
    }
    let out = resolve(dir).map_err(|e| ReportError::io(dir, e))?;
    for arg in inputs {
        let input = &walked_dir(arg);
        let Ok(m) = std::fs::metadata(input) else {
            continue;
        };
        if !m.is_dir() {
            continue;
        }
        let Ok(inp) = std::fs::canonicalize(input) else {
            continue;
        };
        if out.starts_with(&inp) {
            return Err(ReportError::InsideInput {
                output: dir.to_path_buf(),
                input: arg.clone(),
            });
        }
    }
    Ok(())
}

/// The directory an argument makes the run walk: the argument itself, or for a recursive glob
/// (`logs/**/*.evtx`) the directory before its first wildcard. A plain glob (`logs/*.evtx`)
/// reads no subdirectory and so covers none.
fn walked_dir(arg: &Path) -> PathBuf {
    let s = arg.to_string_lossy();
    if arg.exists() || !s.contains("**") {
        return arg.to_path_buf();
    }
    let mut base = PathBuf::new();
    for c in arg.components() {
        if c.as_os_str().to_string_lossy().contains(['*', '?', '[']) {
            break;
        }
        base.push(c.as_os_str());
    }
    if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    }
}

/// [`check_output_dir`], then create the directory and make sure a file can be created in it
/// (and where possible a directory beside it), so that an unusable output directory is reported
/// before any evidence is read. Returns notes for the examiner: temporary directories of interrupted runs
/// that were removed.
pub fn prepare_output_dir(
    dir: &Path,
    inputs: &[PathBuf],
    force: bool,
) -> Result<Vec<String>, ReportError> {
    check_output_dir(dir, inputs, force)?;
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    let probe = super::atomic::AtomicFile::create(dir, "write-probe")?;
    drop(probe); // removes its temporary file
    // Removes earlier runs' leftovers; the staging directory itself goes again when dropped.
    // Where no staging directory can be made, the reports are written into DIR file by file
    // and the report stage says so.
    Ok(super::swap::Staging::begin(dir)
        .map(|s| s.notes.clone())
        .unwrap_or_default())
}

/// Canonical form of a path that may not exist yet.
fn resolve(p: &Path) -> std::io::Result<PathBuf> {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    };
    // Lexical clean-up first, so that `new/../x` does not depend on `new` existing.
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other.as_os_str()),
        }
    }
    let mut existing = clean.as_path();
    let mut rest = Vec::new();
    loop {
        if existing.exists() {
            let mut r = std::fs::canonicalize(existing)?;
            for part in rest.iter().rev() {
                r.push(part);
            }
            return Ok(r);
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return Ok(clean),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_empty_and_nested_dirs() {
        let d = tempfile::tempdir().unwrap();
        let ev = d.path().join("evidence");
        std::fs::create_dir(&ev).unwrap();
        std::fs::write(ev.join("a.evtx"), b"x").unwrap();
        let inputs = vec![ev.clone()];
        // Inside the input, even when it does not exist yet and is named through `..`.
        let nested = ev.join("sub/../out");
        assert!(matches!(
            check_output_dir(&nested, &inputs, false),
            Err(ReportError::InsideInput { .. })
        ));
        assert!(matches!(
            check_output_dir(&ev, &inputs, true),
            Err(ReportError::InsideInput { .. })
        ));
        // Not empty.
        assert!(matches!(
            check_output_dir(&ev, &[], false),
            Err(ReportError::NotEmpty { .. })
        ));
        assert!(check_output_dir(&ev, &[], true).is_ok());
        // A file.
        let f = ev.join("a.evtx");
        assert!(matches!(
            check_output_dir(&f, &[], true),
            Err(ReportError::NotADirectory { .. })
        ));
        // A recursive glob covers its base directory; a plain one does not.
        let glob = vec![ev.join("**/*.evtx")];
        assert!(matches!(
            check_output_dir(&ev.join("out"), &glob, false),
            Err(ReportError::InsideInput { .. })
        ));
        assert!(check_output_dir(&ev.join("out"), &[ev.join("*.evtx")], false).is_ok());
        // Beside the input: fine.
        assert!(check_output_dir(&d.path().join("out"), &inputs, false).is_ok());
        let e = check_output_dir(&nested, &inputs, false).unwrap_err();
        assert!(e.is_usage());
        assert!(e.to_string().contains("inside the input directory"));
    }
}
