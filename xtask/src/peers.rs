//! `cargo xtask peers`: installs the programs the HTTP tests and the REST
//! service's tests run against, programs nobody here wrote: curl, nginx,
//! h2load, wrk, a Python venv with aiohttp, and PostgreSQL's server.
//! `cargo xtask ci` runs it first.
//!
//! Each peer is checked first and installed only when missing, so a run
//! that finds everything in place starts no package manager and takes a
//! fraction of a second:
//!
//! - the Debian packages `curl`, `nginx`, `nghttp2-client` (for `h2load`),
//!   `wrk` and `postgresql`, and `python3-venv` when the venv must be made
//!   and `python3 -m venv` fails, all in one `apt-get install -y
//!   --no-install-recommends`, through `sudo -n` when not root. Only if that
//!   install fails (stale or absent package lists) does `apt-get update`
//!   run, and the install is tried once more;
//! - a venv at `<target>/peers/venv`, made with `python3 -m venv`, with
//!   `aiohttp` pip-installed into it; kept when its python imports aiohttp.
//!
//! PostgreSQL's server programs are not in `$PATH` on Debian: they live in
//! `/usr/lib/postgresql/VERSION/bin`. The newest version there with both
//! `initdb` and `pg_ctl` is used; failing that, a directory of `$PATH`
//! that has both (other systems).
//!
//! Then it writes `<target>/peers/env`, one `NAME=/abs/path` a line, for
//! CURL, NGINX, H2LOAD, WRK, PYTHON (the venv's python), INITDB and PG_CTL,
//! which the tests read (`crates/http/tests/support/peers.rs`,
//! `apps/rest/tests/support/peers.rs`). `<target>` is `$CARGO_TARGET_DIR`
//! (a relative one taken from the workspace root, as xtask's own cargo
//! commands do) or `target` in the workspace root.
//!
//! `cargo xtask peers --bench` does all that and then [`bench_python`]:
//! `uvloop` pip-installed into the same venv, for the bench's Python echo
//! servers (`benches/echo_asyncio.py`, run by `tulipa-benches --external`).
//! `cargo xtask bench` calls [`bench_python`] itself when its arguments hold
//! `--external`. Plain `peers`, and so `ci`, never installs uvloop: no test
//! needs it.
//!
//! A failure names what could not be installed and the command to install
//! it by hand, and exits non-zero.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A peer that is one program from one Debian package.
struct Program {
    /// Its name in the env file.
    var: &'static str,
    /// The program, looked up in `$PATH` and the usual system directories.
    program: &'static str,
    /// The Debian package that installs it.
    package: &'static str,
}

const PROGRAMS: [Program; 4] = [
    Program {
        var: "CURL",
        program: "curl",
        package: "curl",
    },
    Program {
        var: "NGINX",
        program: "nginx",
        package: "nginx",
    },
    Program {
        var: "H2LOAD",
        program: "h2load",
        package: "nghttp2-client",
    },
    Program {
        var: "WRK",
        program: "wrk",
        package: "wrk",
    },
];

/// PostgreSQL's server programs the REST tests run, by their env file
/// names; they come from one Debian package.
const PG_PROGRAMS: [(&str, &str); 2] = [("INITDB", "initdb"), ("PG_CTL", "pg_ctl")];
const PG_PACKAGE: &str = "postgresql";
/// Where Debian installs each PostgreSQL version's `bin` directory.
const PG_LIB: &str = "/usr/lib/postgresql";

/// The Python package the venv must be able to import, and its pip spec.
const PY_MODULE: &str = "aiohttp";
const PIP_SPEC: &str = "aiohttp>=3.9,<4";

/// The same for the bench's `uvloop` echo server ([`bench_python`]).
const BENCH_PY_MODULE: &str = "uvloop";
const BENCH_PIP_SPEC: &str = "uvloop>=0.19,<1";

/// Searched after `$PATH`: nginx lives in `/usr/sbin`, which a non-root
/// `$PATH` often leaves out.
const SYSTEM_DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

pub(crate) fn run(root: &Path) -> Result<(), String> {
    let dir = super::target_dir(root).join("peers");
    let venv = dir.join("venv");
    let python = venv_python(&venv);

    let mut packages: Vec<&str> = Vec::new();
    for p in &PROGRAMS {
        match find_program(p.program) {
            Some(path) => println!("peers: {:<8} {} (present)", p.program, path.display()),
            None => packages.push(p.package),
        }
    }
    match find_postgres() {
        Some(bin) => println!("peers: postgres {} (present)", bin.display()),
        None => packages.push(PG_PACKAGE),
    }

    // The venv: kept when it imports aiohttp; otherwise made now, before
    // apt, so that a `python3 -m venv` that does not work adds
    // `python3-venv` to the one apt-get install.
    let venv_ready = succeeds(Command::new(&python).args(["-c", &format!("import {PY_MODULE}")]));
    let mut venv_made = venv_ready || succeeds(Command::new(&python).args(["-c", "pass"]));
    if venv_ready {
        println!("peers: venv     {} (imports {PY_MODULE})", venv.display());
    } else if !venv_made {
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        venv_made = make_venv(&venv).is_ok();
        if !venv_made {
            println!(
                "peers: `python3 -m venv` does not work; python3-venv goes with the apt install"
            );
            packages.push("python3-venv");
        }
    }

    if !packages.is_empty() {
        apt_install(&packages)?;
    }
    if !venv_made {
        make_venv(&venv).map_err(|e| {
            format!(
                "could not make the venv: {e}; make it by hand: `apt-get install python3-venv && python3 -m venv {}`",
                venv.display()
            )
        })?;
    }
    if !venv_ready {
        pip_install(&venv, PY_MODULE, PIP_SPEC)?;
    }

    // Everything is in place: name it in the env file.
    let mut text = String::new();
    for p in &PROGRAMS {
        let path = find_program(p.program).ok_or_else(|| {
            format!(
                "{} is still missing after installing {}; install it by hand: `apt-get install {}`",
                p.program, p.package, p.package
            )
        })?;
        text.push_str(&format!("{}={}\n", p.var, utf8(&path)?));
    }
    text.push_str(&format!("PYTHON={}\n", utf8(&python)?));
    let pg_bin = find_postgres().ok_or_else(|| {
        format!(
            "PostgreSQL's initdb and pg_ctl are still missing after installing {PG_PACKAGE} \
             (looked in {PG_LIB}/*/bin and $PATH); install it by hand: `apt-get install {PG_PACKAGE}`"
        )
    })?;
    for (var, program) in PG_PROGRAMS {
        text.push_str(&format!("{var}={}\n", utf8(&pg_bin.join(program))?));
    }
    write_env(&dir.join("env"), &text)?;
    Ok(())
}

/// The venv's python, with `uvloop` importable, for the bench's Python
/// echo servers: the venv of [`run`] (`<target>/peers/venv`), made first
/// if it does not run, and `uvloop` pip-installed when it does not import.
/// Nothing else: no apt, no aiohttp, no env file.
pub(crate) fn bench_python(root: &Path) -> Result<PathBuf, String> {
    let dir = super::target_dir(root).join("peers");
    let venv = dir.join("venv");
    let python = venv_python(&venv);
    let import = format!("import {BENCH_PY_MODULE}");
    if succeeds(Command::new(&python).args(["-c", &import])) {
        println!(
            "peers: venv     {} (imports {BENCH_PY_MODULE})",
            venv.display()
        );
        return Ok(python);
    }
    if !succeeds(Command::new(&python).args(["-c", "pass"])) {
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        make_venv(&venv).map_err(|e| {
            format!(
                "could not make the venv for {BENCH_PY_MODULE}: {e}; run `cargo xtask peers` \
                 (it installs python3-venv when missing), or by hand: `apt-get install \
                 python3-venv && python3 -m venv {}`",
                venv.display()
            )
        })?;
    }
    pip_install(&venv, BENCH_PY_MODULE, BENCH_PIP_SPEC)?;
    Ok(python)
}

/// The python of the venv at `venv`.
fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// `pip install SPEC` into the venv at `venv`, so that it imports `module`.
fn pip_install(venv: &Path, module: &str, spec: &str) -> Result<(), String> {
    let python = venv_python(venv);
    println!("peers: installing {spec} into {}", venv.display());
    let mut pip = Command::new(&python);
    pip.args(["-m", "pip", "install", "--disable-pip-version-check"])
        .args(["--no-input", "--progress-bar", "off", spec]);
    super::run("peers", pip).map_err(|e| {
        format!(
            "could not install {module}: {e}; install it by hand: `{} -m pip install '{spec}'`",
            python.display()
        )
    })
}

/// `python3 -m venv --clear VENV` (`--clear`: a failed attempt may have
/// left half a venv behind).
fn make_venv(venv: &Path) -> Result<(), String> {
    let python3 = find_program("python3").ok_or("python3 not found")?;
    let mut cmd = Command::new(python3);
    cmd.args(["-m", "venv", "--clear"]).arg(venv);
    super::run("peers", cmd)
}

/// `apt-get install` of `packages`, as root or through `sudo -n`; on
/// failure `apt-get update`, then the install once more.
fn apt_install(packages: &[&str]) -> Result<(), String> {
    let names = packages.join(" ");
    let by_hand = format!("install them by hand: `apt-get install {names}`");
    let Some(apt_get) = find_program("apt-get") else {
        return Err(format!(
            "cannot install {names}: apt-get not found (not Debian or Ubuntu?); {by_hand} or with your system's package manager"
        ));
    };
    let root = Command::new("id")
        .arg("-u")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
    let sudo = if root {
        None
    } else if let Some(sudo) = find_program("sudo") {
        Some(sudo)
    } else {
        return Err(format!(
            "cannot install {names}: not root and sudo is not available; as root, {by_hand}"
        ));
    };
    let apt = |args: &[&str]| {
        let mut cmd = Command::new(sudo.as_ref().unwrap_or(&apt_get));
        if sudo.is_some() {
            cmd.arg("-n").arg(&apt_get);
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend_from_slice(packages);

    println!("peers: installing {names}");
    if super::run("peers", apt(&install)).is_ok() {
        return Ok(());
    }
    println!("peers: the install failed; updating the package lists and trying once more");
    super::run("peers", apt(&["update"]))
        .and_then(|()| super::run("peers", apt(&install)))
        .map_err(|e| format!("could not install {names}: {e}; {by_hand}"))
}

/// Runs `cmd` quietly, with no stdin; true when it started and exited 0.
fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The absolute path of `program`: the first executable file of that name
/// in `$PATH`, then in [`SYSTEM_DIRS`].
fn find_program(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .chain(SYSTEM_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// The directory with PostgreSQL's server programs ([`PG_PROGRAMS`]): the
/// newest `/usr/lib/postgresql/VERSION/bin` that has them all, else the
/// first directory of `$PATH` that does.
fn find_postgres() -> Option<PathBuf> {
    let has_all = |dir: &Path| {
        PG_PROGRAMS
            .iter()
            .all(|(_, program)| is_executable(&dir.join(program)))
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(PG_LIB)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            // "15", "16", "9.6": compared as numbers, so 16 beats 9.6.
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
                .ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_all(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .find(|dir| has_all(dir))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

fn utf8(path: &Path) -> Result<&str, String> {
    path.to_str().ok_or_else(|| {
        format!(
            "{} is not UTF-8; the env file cannot name it",
            path.display()
        )
    })
}

/// Writes the env file whole (a temporary file renamed over it), so a test
/// never reads half of it, and prints it.
fn write_env(path: &Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("peers: wrote {}:", path.display());
    for line in text.lines() {
        println!("  {line}");
    }
    Ok(())
}
