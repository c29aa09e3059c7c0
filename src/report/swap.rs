//! The report set as one unit: written into a temporary directory beside `DIR`, then swapped
//! into place, so that `DIR` always holds either the complete new set or, untouched, the old
//! one.
//!
//! On Linux the swap is one `renameat2(RENAME_EXCHANGE)`; where the file system does not offer
//! it, the old directory is renamed aside and the new one into place (two renames, a moment
//! without `DIR`). The temporary directory is `.DIRNAME.dcomhunt-PID` beside `DIR`; it is
//! removed when the run fails, and one left by a killed run is removed by the next run into
//! the same `DIR` once its process is gone.

use super::ReportError;
use std::path::{Path, PathBuf};

/// Marks a staging directory in its name: `.DIRNAME` + this + the process id.
const MARK: &str = ".dcomhunt-";

/// A report set being written beside its destination.
pub struct Staging {
    /// Where the set goes.
    dest: PathBuf,
    /// Where it is written meanwhile.
    tmp: PathBuf,
    /// Swapped into place (nothing left to remove).
    done: bool,
    /// What was cleaned up on the way, for the examiner.
    pub notes: Vec<String>,
}

/// `dir` made absolute, with its parent resolved (symlinks) — the directory the swap renames.
fn destination(dir: &Path) -> std::io::Result<PathBuf> {
    if let Ok(m) = dir.symlink_metadata()
        && m.file_type().is_symlink()
    {
        // `-o link` writes into what the link points to, as before; the link stays.
        return std::fs::canonicalize(dir);
    }
    let abs = std::path::absolute(dir)?;
    let name = abs
        .file_name()
        .ok_or_else(|| std::io::Error::other("the output directory has no name"))?
        .to_os_string();
    let parent = abs.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent)?;
    Ok(std::fs::canonicalize(parent)?.join(name))
}

/// The staging directories of `dest` that earlier runs left behind, with their process ids.
fn leftovers(dest: &Path) -> Vec<(PathBuf, Option<u32>)> {
    let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else {
        return Vec::new();
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(MARK);
    let prefix = prefix.as_encoded_bytes().to_vec();
    let Ok(rd) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Option<u32>)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name();
            let rest = n
                .as_encoded_bytes()
                .strip_prefix(prefix.as_slice())?
                .to_vec();
            let pid = std::str::from_utf8(&rest).ok()?.parse().ok();
            Some((e.path(), pid))
        })
        .collect();
    out.sort();
    out
}

/// A process with this id is running (on Linux; elsewhere it is assumed to be).
fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

impl Staging {
    /// Create the staging directory beside `dir` (removing those of earlier runs whose process
    /// is gone).
    pub fn begin(dir: &Path) -> Result<Staging, ReportError> {
        let dest = destination(dir).map_err(|e| ReportError::io(dir, e))?;
        // Swapped out, the directory a shell stands in would be removed under it.
        if std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .is_ok_and(|cwd| cwd.starts_with(&dest))
        {
            return Err(ReportError::io(
                dir,
                std::io::Error::other(
                    "it is or holds the current directory, which a swap would remove from under the shell",
                ),
            ));
        }
        let mut notes = Vec::new();
        for (p, pid) in leftovers(&dest) {
            let shown = crate::display::path_text(&p);
            match pid {
                Some(pid) if pid != std::process::id() && alive(pid) => notes.push(format!(
                    "{shown}: temporary report directory of a running process ({pid}), left alone"
                )),
                _ => match std::fs::remove_dir_all(&p) {
                    Ok(()) => notes.push(format!(
                        "{shown}: removed the temporary report directory of an interrupted run"
                    )),
                    Err(e) => notes.push(format!(
                        "{shown}: temporary report directory of an interrupted run, cannot remove: {e}"
                    )),
                },
            }
        }
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(dest.file_name().unwrap_or_default());
        tmp_name.push(format!("{MARK}{}", std::process::id()));
        let tmp = dest.with_file_name(tmp_name);
        std::fs::create_dir(&tmp).map_err(|e| ReportError::io(&tmp, e))?;
        Ok(Staging {
            dest,
            tmp,
            done: false,
            notes,
        })
    }

    /// The directory to write the set into.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Swap the written set into place. What an existing `DIR` held besides report files
    /// (`keep` says which names are report files) is carried into the new set first, as hard
    /// links (copies where the file system refuses links), and the new directory gets the old
    /// one's permissions.
    pub fn commit(mut self, is_report_file: impl Fn(&str) -> bool) -> Result<(), ReportError> {
        let old = match std::fs::metadata(&self.dest) {
            Ok(m) if m.is_dir() => Some(m),
            Ok(_) => {
                return Err(ReportError::NotADirectory {
                    path: self.dest.clone(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(ReportError::io(&self.dest, e)),
        };
        match old {
            None => {
                std::fs::rename(&self.tmp, &self.dest)
                    .map_err(|e| ReportError::io(&self.dest, e))?;
            }
            Some(m) => {
                self.carry_over(&is_report_file)?;
                std::fs::set_permissions(&self.tmp, m.permissions())
                    .map_err(|e| ReportError::io(&self.tmp, e))?;
                self.swap()?;
                // The old set, now under the temporary name.
                if let Err(e) = std::fs::remove_dir_all(&self.tmp) {
                    self.notes.push(format!(
                        "{}: the previous report set, cannot remove: {e}",
                        crate::display::path_text(&self.tmp)
                    ));
                }
            }
        }
        self.done = true;
        if let Some(parent) = self.dest.parent()
            && let Ok(d) = std::fs::File::open(parent)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Exchange the staging directory and `DIR`.
    fn swap(&mut self) -> Result<(), ReportError> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{CWD, RenameFlags, renameat_with};
            match renameat_with(CWD, &self.tmp, CWD, &self.dest, RenameFlags::EXCHANGE) {
                Ok(()) => return Ok(()),
                Err(e)
                    if e == rustix::io::Errno::INVAL
                        || e == rustix::io::Errno::NOSYS
                        || e == rustix::io::Errno::NOTSUP => {}
                Err(e) => return Err(ReportError::io(&self.dest, e.into())),
            }
        }
        // No atomic exchange here: the old set aside, the new one in, the old one back under
        // the temporary name (for removal).
        let mut aside = self.tmp.clone().into_os_string();
        aside.push(".old");
        let aside = PathBuf::from(aside);
        std::fs::rename(&self.dest, &aside).map_err(|e| ReportError::io(&self.dest, e))?;
        if let Err(e) = std::fs::rename(&self.tmp, &self.dest) {
            let _ = std::fs::rename(&aside, &self.dest);
            return Err(ReportError::io(&self.dest, e));
        }
        std::fs::rename(&aside, &self.tmp).map_err(|e| ReportError::io(&aside, e))
    }

    /// Link into the new set what the old `DIR` holds besides report files and temporary files
    /// of interrupted runs.
    fn carry_over(&mut self, is_report_file: &impl Fn(&str) -> bool) -> Result<(), ReportError> {
        let rd = std::fs::read_dir(&self.dest).map_err(|e| ReportError::io(&self.dest, e))?;
        for e in rd {
            let e = e.map_err(|e| ReportError::io(&self.dest, e))?;
            let name = e.file_name();
            let text = name.to_string_lossy();
            // A report file of the old set (a directory of that name is the examiner's: it is
            // carried over, and then clashes with the new file, failing the run).
            if name.to_str().is_some_and(is_report_file) && e.file_type().is_ok_and(|t| t.is_file())
            {
                continue;
            }
            if text.starts_with('.') && text.contains(".tmp-") {
                self.notes.push(format!(
                    "{}: temporary file of an interrupted run, not kept",
                    crate::display::path_text(&e.path())
                ));
                continue;
            }
            link_tree(&e.path(), &self.tmp.join(&name))?;
        }
        Ok(())
    }
}

/// Remove the temporary report files (`.NAME.tmp-PID`, `NAME` one of `names`) that runs killed
/// while writing into `dir` file by file left there, once their process is gone; returns notes.
pub fn sweep_tmp_files(dir: &Path, names: &[&str]) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    let mut stale: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name();
            let Some(n) = n.to_str() else { return false };
            names.iter().any(|k| {
                n.strip_prefix('.')
                    .and_then(|r| r.strip_prefix(k))
                    .and_then(|r| r.strip_prefix(".tmp-"))
                    .and_then(|pid| pid.parse::<u32>().ok())
                    .is_some_and(|pid| pid != std::process::id() && !alive(pid))
            })
        })
        .map(|e| e.path())
        .collect();
    stale.sort();
    for p in stale {
        let shown = crate::display::path_text(&p);
        notes.push(match std::fs::remove_file(&p) {
            Ok(()) => format!("{shown}: removed the temporary file of an interrupted run"),
            Err(e) => format!("{shown}: temporary file of an interrupted run, cannot remove: {e}"),
        });
    }
    notes
}

/// Hard-link `from` (recursively for a directory) to `to`; a file the file system refuses to
/// link is copied.
fn link_tree(from: &Path, to: &Path) -> Result<(), ReportError> {
    let m = from
        .symlink_metadata()
        .map_err(|e| ReportError::io(from, e))?;
    if m.is_dir() {
        std::fs::create_dir(to).map_err(|e| ReportError::io(to, e))?;
        std::fs::set_permissions(to, m.permissions()).map_err(|e| ReportError::io(to, e))?;
        for e in std::fs::read_dir(from).map_err(|e| ReportError::io(from, e))? {
            let e = e.map_err(|e| ReportError::io(from, e))?;
            link_tree(&e.path(), &to.join(e.file_name()))?;
        }
        return Ok(());
    }
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(_) if m.is_file() => std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| ReportError::io(to, e)),
        Err(e) => Err(ReportError::io(from, e)),
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn swaps_the_whole_set_and_keeps_other_files() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("findings.csv"), "old").unwrap();
        std::fs::write(out.join("timesketch.csv"), "old").unwrap();
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        std::fs::create_dir(out.join("case")).unwrap();
        std::fs::write(out.join("case/a.txt"), "a").unwrap();
        std::fs::write(out.join(".findings.csv.tmp-1"), "stale").unwrap();
        // A staging directory of a process that is gone.
        let stale = d.path().join(".out.dcomhunt-4294967295");
        std::fs::create_dir(&stale).unwrap();
        std::fs::write(stale.join("findings.csv"), "half").unwrap();

        let st = Staging::begin(&out).unwrap();
        assert!(!stale.exists(), "the leftover of a killed run is removed");
        assert!(st.notes.iter().any(|n| n.contains("interrupted run")));
        std::fs::write(st.path().join("findings.csv"), "new").unwrap();
        // Until the swap, the old set is untouched.
        assert_eq!(
            std::fs::read_to_string(out.join("findings.csv")).unwrap(),
            "old"
        );
        st.commit(|n| n.ends_with(".csv") || n == "manifest.json")
            .unwrap();
        assert_eq!(names(&out), ["case", "findings.csv", "notes.txt"]);
        assert_eq!(
            std::fs::read_to_string(out.join("findings.csv")).unwrap(),
            "new"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("case/a.txt")).unwrap(),
            "a"
        );
        assert_eq!(
            names(d.path()),
            ["out"],
            "nothing temporary is left beside DIR"
        );
    }

    #[test]
    fn stale_temporary_files_of_dead_processes_are_swept() {
        let d = tempfile::tempdir().unwrap();
        let dead = d.path().join(".findings.csv.tmp-4294967295");
        let mine = d
            .path()
            .join(format!(".findings.csv.tmp-{}", std::process::id()));
        let other = d.path().join(".notes.txt.tmp-4294967295");
        for p in [&dead, &mine, &other] {
            std::fs::write(p, "x").unwrap();
        }
        let notes = sweep_tmp_files(d.path(), &["findings.csv"]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(!dead.exists());
        assert!(mine.exists() && other.exists());
    }

    #[test]
    fn a_failed_run_leaves_the_old_set_and_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("findings.csv"), "old").unwrap();
        {
            let st = Staging::begin(&out).unwrap();
            std::fs::write(st.path().join("findings.csv"), "half").unwrap();
            // Dropped without commit: an error on the way.
        }
        assert_eq!(names(d.path()), ["out"]);
        assert_eq!(names(&out), ["findings.csv"]);
        assert_eq!(
            std::fs::read_to_string(out.join("findings.csv")).unwrap(),
            "old"
        );
        // A new directory appears whole.
        let new = d.path().join("sub/new");
        let st = Staging::begin(&new).unwrap();
        std::fs::write(st.path().join("manifest.json"), "{}").unwrap();
        assert!(!new.exists());
        st.commit(|_| true).unwrap();
        assert_eq!(names(&new), ["manifest.json"]);
        assert_eq!(names(&d.path().join("sub")), ["new"]);
    }
}
