//! Opening evidence files: read-only, and where the operating system allows, without updating
//! their access time.

use std::fs::File;
use std::io;
use std::path::Path;

/// Open an input file for reading. On Linux it is opened with `O_NOATIME`, so that reading the
/// evidence leaves its access time as it was; the kernel allows that flag only to the file's
/// owner (or a process with `CAP_FOWNER`), so where it is refused (`EPERM`) the file is opened
/// plainly.
pub fn open_input(path: &Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let noatime = rustix::fs::OFlags::NOATIME.bits() as i32;
        match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(noatime)
            .open(path)
        {
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error()) => {}
            r => return r,
        }
    }
    File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn reads_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.evtx");
        std::fs::write(&p, b"ElfFile\0").unwrap();
        let mut s = Vec::new();
        open_input(&p).unwrap().read_to_end(&mut s).unwrap();
        assert_eq!(s, b"ElfFile\0");
        assert!(open_input(&d.path().join("missing")).is_err());
    }
}
