//! Bad input: every path-taking function returns the OS error with the
//! path (or both paths) in its message, keeping the error kind, and the OS
//! error stays reachable through `PathError`.

mod common;

use std::io::{self, ErrorKind};
use std::path::Path;

use common::TempDir;
use futures_lite::future::block_on;
use tulipa_fs::{File, OpenOptions, PathError};

fn expect(err: io::Error, kind: ErrorKind, prefix: &str) {
    assert_eq!(err.kind(), kind, "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(prefix),
        "`{msg}` should start with `{prefix}`"
    );
    let inner = err.get_ref().unwrap().downcast_ref::<PathError>().unwrap();
    assert!(inner.io_error().raw_os_error().is_some());
    assert!(msg.ends_with(&format!(
        "(os error {})",
        inner.io_error().raw_os_error().unwrap()
    )));
}

#[test]
fn missing_file_names_the_path_for_every_function() {
    let dir = TempDir::new("errors");
    let missing = dir.join("missing");
    let m = missing.display().to_string();
    let other = dir.join("other");
    let o = other.display().to_string();
    block_on(async {
        let nf = ErrorKind::NotFound;
        expect(
            File::open(&missing).await.unwrap_err(),
            nf,
            &format!("failed to open `{m}`: "),
        );
        let e = File::open(&missing).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("failed to open `{m}`: No such file or directory (os error 2)")
        );
        expect(
            tulipa_fs::read(&missing).await.unwrap_err(),
            nf,
            &format!("failed to read `{m}`"),
        );
        expect(
            tulipa_fs::read_to_string(&missing).await.unwrap_err(),
            nf,
            &format!("failed to read `{m}`"),
        );
        expect(
            tulipa_fs::write(dir.join("no/such/f"), b"x")
                .await
                .unwrap_err(),
            nf,
            &format!("failed to write `{}`", dir.join("no/such/f").display()),
        );
        expect(
            tulipa_fs::copy(&missing, &other).await.unwrap_err(),
            nf,
            &format!("failed to copy `{m}` to `{o}`"),
        );
        expect(
            tulipa_fs::rename(&missing, &other).await.unwrap_err(),
            nf,
            &format!("failed to rename `{m}` to `{o}`"),
        );
        expect(
            tulipa_fs::hard_link(&missing, &other).await.unwrap_err(),
            nf,
            &format!("failed to hard-link `{m}` to `{o}`"),
        );
        expect(
            tulipa_fs::remove_file(&missing).await.unwrap_err(),
            nf,
            &format!("failed to remove file `{m}`"),
        );
        expect(
            tulipa_fs::remove_dir(&missing).await.unwrap_err(),
            nf,
            &format!("failed to remove directory `{m}`"),
        );
        expect(
            tulipa_fs::remove_dir_all(&missing).await.unwrap_err(),
            nf,
            &format!("failed to remove directory `{m}`"),
        );
        expect(
            tulipa_fs::create_dir(dir.join("a/b")).await.unwrap_err(),
            nf,
            &format!("failed to create directory `{}`", dir.join("a/b").display()),
        );
        expect(
            tulipa_fs::metadata(&missing).await.unwrap_err(),
            nf,
            &format!("failed to read metadata of `{m}`"),
        );
        expect(
            tulipa_fs::symlink_metadata(&missing).await.unwrap_err(),
            nf,
            &format!("failed to read metadata of `{m}`"),
        );
        expect(
            tulipa_fs::read_dir(&missing).await.unwrap_err(),
            nf,
            &format!("failed to read directory `{m}`"),
        );
        expect(
            tulipa_fs::canonicalize(&missing).await.unwrap_err(),
            nf,
            &format!("failed to canonicalize `{m}`"),
        );
        expect(
            tulipa_fs::read_link(&missing).await.unwrap_err(),
            nf,
            &format!("failed to read link `{m}`"),
        );
        let perm = std::fs::metadata(dir.path()).unwrap().permissions();
        expect(
            tulipa_fs::set_permissions(&missing, perm)
                .await
                .unwrap_err(),
            nf,
            &format!("failed to set permissions of `{m}`"),
        );
        // try_exists: a missing file is not an error.
        assert!(!tulipa_fs::try_exists(&missing).await.unwrap());
        assert!(tulipa_fs::try_exists(dir.path()).await.unwrap());
    });
}

#[test]
fn other_kinds_are_kept() {
    let dir = TempDir::new("errors-kinds");
    let f = dir.join("f");
    std::fs::write(&f, b"x").unwrap();
    let p = f.display().to_string();
    block_on(async {
        expect(
            File::create_new(&f).await.unwrap_err(),
            ErrorKind::AlreadyExists,
            &format!("failed to open `{p}`"),
        );
        expect(
            tulipa_fs::create_dir(&f).await.unwrap_err(),
            ErrorKind::AlreadyExists,
            &format!("failed to create directory `{p}`"),
        );
        expect(
            tulipa_fs::read_dir(&f).await.unwrap_err(),
            ErrorKind::NotADirectory,
            &format!("failed to read directory `{p}`"),
        );
        expect(
            tulipa_fs::read_link(&f).await.unwrap_err(),
            ErrorKind::InvalidInput,
            &format!("failed to read link `{p}`"),
        );
        expect(
            tulipa_fs::remove_dir(dir.path()).await.unwrap_err(),
            ErrorKind::DirectoryNotEmpty,
            "failed to remove directory `",
        );
        // A directory opens, but does not read: the OS error names it.
        let d = dir.path().display().to_string();
        expect(
            tulipa_fs::read(dir.path()).await.unwrap_err(),
            ErrorKind::IsADirectory,
            &format!("failed to read `{d}`: Is a directory (os error 21)"),
        );
        expect(
            OpenOptions::new()
                .write(true)
                .open(dir.path())
                .await
                .unwrap_err(),
            ErrorKind::IsADirectory,
            &format!("failed to open `{d}`"),
        );
        // No access mode at all.
        let e = OpenOptions::new().open(&f).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().starts_with(&format!("failed to open `{p}`")));
        // Not UTF-8.
        std::fs::write(&f, [0xff, 0xfe]).unwrap();
        let e = tulipa_fs::read_to_string(&f).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert!(e.to_string().starts_with(&format!("failed to read `{p}`")));
    });
}

#[test]
fn unreadable_file_is_permission_denied_with_the_path() {
    // Root reads anything: the check means nothing then.
    let probe = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&probe.stdout).trim() == "0" {
        eprintln!("running as root: permission bits are not enforced; test skipped");
        return;
    }
    let dir = TempDir::new("errors-perm");
    let f = dir.join("secret");
    std::fs::write(&f, b"x").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
    block_on(async {
        expect(
            File::open(&f).await.unwrap_err(),
            ErrorKind::PermissionDenied,
            &format!("failed to open `{}`", f.display()),
        );
    });
}

#[test]
fn successful_path_functions_work() {
    let dir = TempDir::new("paths-ok");
    let a = dir.join("a");
    block_on(async {
        tulipa_fs::write(&a, "alpha").await.unwrap();
        assert_eq!(tulipa_fs::copy(&a, dir.join("b")).await.unwrap(), 5);
        tulipa_fs::rename(dir.join("b"), dir.join("c"))
            .await
            .unwrap();
        assert_eq!(
            tulipa_fs::read_to_string(dir.join("c")).await.unwrap(),
            "alpha"
        );
        tulipa_fs::hard_link(&a, dir.join("h")).await.unwrap();
        tulipa_fs::symlink(&a, dir.join("s")).await.unwrap();
        assert_eq!(tulipa_fs::read_link(dir.join("s")).await.unwrap(), a);
        assert!(tulipa_fs::symlink_metadata(dir.join("s"))
            .await
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(tulipa_fs::metadata(dir.join("s")).await.unwrap().len(), 5);
        let canon = tulipa_fs::canonicalize(dir.join("s")).await.unwrap();
        assert_eq!(canon, std::fs::canonicalize(&a).unwrap());
        tulipa_fs::create_dir_all(dir.join("x/y/z")).await.unwrap();
        tulipa_fs::create_dir_all(dir.join("x/y/z")).await.unwrap();
        tulipa_fs::create_dir(dir.join("x/y/z/w")).await.unwrap();
        tulipa_fs::remove_dir(dir.join("x/y/z/w")).await.unwrap();
        tulipa_fs::remove_dir_all(dir.join("x")).await.unwrap();
        assert!(!tulipa_fs::try_exists(dir.join("x")).await.unwrap());
        tulipa_fs::remove_file(dir.join("h")).await.unwrap();
        assert!(!Path::new(&dir.join("h")).exists());
        let mut perm = tulipa_fs::metadata(&a).await.unwrap().permissions();
        perm.set_readonly(true);
        tulipa_fs::set_permissions(&a, perm).await.unwrap();
        assert!(std::fs::metadata(&a).unwrap().permissions().readonly());
    });
}
