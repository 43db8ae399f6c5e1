//! A throwaway PostgreSQL server for one test: `initdb` into a temporary
//! directory, `pg_ctl start` on a free loopback port with its socket in that
//! directory, and `pg_ctl stop -m immediate` plus removal of the directory
//! when the guard drops, also when the test panics.
//!
//! `initdb` refuses to run as root, so when the tests run as root every
//! PostgreSQL program runs as the `postgres` user (`runuser -u postgres
//! --`), and the directory is given to that user first. The cluster's
//! superuser is `rest`, with trust authentication on loopback; the tests
//! use its `postgres` database.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use super::peers::peer;
use super::TempDir;

/// A running (or stopped) PostgreSQL server; stopped and removed on drop.
pub struct PgServer {
    dir: TempDir,
    port: u16,
    as_postgres: bool,
    /// Outlives the test process by design; never waited for.
    watchdog: Option<Child>,
}

impl PgServer {
    /// Makes a cluster and starts it.
    ///
    /// # Panics
    ///
    /// If the programs are missing (run `cargo xtask peers`), or `initdb`
    /// or `pg_ctl start` fail; the message has their output and the
    /// server's log.
    pub fn start() -> PgServer {
        let dir = TempDir::new("pg");
        let as_postgres = running_as_root();
        if as_postgres {
            let out = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .stdin(Stdio::null())
                .output()
                .expect("run chown");
            assert!(
                out.status.success(),
                "cannot give {} to the postgres user (initdb refuses root; is there a \
                 postgres user? `cargo xtask peers` installs PostgreSQL, which makes it): {}",
                dir.path().display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut server = PgServer {
            dir,
            port: 0,
            as_postgres,
            watchdog: None,
        };
        let data = server.data();
        server.watchdog = Some(server.watchdog());
        let out = server.pg(peer("INITDB"), |cmd| {
            cmd.arg("-D")
                .arg(&data)
                .args(["-U", "rest", "-A", "trust", "-E", "UTF8", "-N"]);
        });
        assert!(out.status.success(), "initdb failed: {}", describe(&out));
        // A port picked by the OS may be taken again before PostgreSQL
        // binds it: try a few.
        let mut last = String::new();
        for _ in 0..3 {
            server.port = free_port();
            match server.try_start() {
                Ok(()) => return server,
                Err(e) => last = e,
            }
        }
        panic!("PostgreSQL did not start: {last}");
    }

    /// `postgres://rest@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://rest@127.0.0.1:{}/postgres", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops it at once (`pg_ctl stop -m immediate`: a crash, as far as
    /// clients can tell; committed transactions survive).
    ///
    /// # Panics
    ///
    /// If `pg_ctl stop` fails.
    pub fn stop(&self) {
        let out = self.pg_ctl_stop();
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            describe(&out)
        );
    }

    /// Starts it again on the same port.
    ///
    /// # Panics
    ///
    /// If `pg_ctl start` fails.
    pub fn restart(&self) {
        if let Err(e) = self.try_start() {
            panic!("PostgreSQL did not start again: {e}");
        }
    }

    fn try_start(&self) -> Result<(), String> {
        let data = self.data();
        let log = self.dir.path().join("log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let out = self.pg(peer("PG_CTL"), |cmd| {
            cmd.arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "30", "-o", &options, "start"]);
        });
        if out.status.success() {
            Ok(())
        } else {
            // It may be half up: make sure nothing is left running.
            let _ = self.pg_ctl_stop();
            Err(format!(
                "{}\nserver log:\n{}",
                describe(&out),
                std::fs::read_to_string(&log).unwrap_or_default()
            ))
        }
    }

    /// Starts the shell loop that cleans up after a test process that
    /// dies without unwinding; it is not waited for.
    fn watchdog(&self) -> Child {
        let script = format!(
            "while [ -d /proc/{pid} ]; do sleep 1; done; \
             '{pg_ctl}' -D '{data}' -m immediate stop; rm -rf '{dir}'",
            pid = std::process::id(),
            pg_ctl = peer("PG_CTL").display(),
            data = self.data().display(),
            dir = self.dir.path().display(),
        );
        let mut cmd = self.command(Path::new("sh"));
        cmd.args(["-c", &script])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd.spawn().expect("start the PostgreSQL watchdog")
    }

    fn pg_ctl_stop(&self) -> Output {
        let data = self.data();
        self.pg(peer("PG_CTL"), |cmd| {
            cmd.arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "-t", "30", "stop"]);
        })
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `program` (as the postgres user when we are root), output
    /// captured.
    fn pg(&self, program: PathBuf, args: impl FnOnce(&mut Command)) -> Output {
        let mut cmd = self.command(&program);
        args(&mut cmd);
        // The cluster directory is postgres's; start there so no program
        // trips over a working directory it may not read.
        cmd.current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
    }
}

impl PgServer {
    /// `program`, to run as the postgres user when we are root.
    fn command(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut cmd = Command::new(runuser());
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let pid_file = self.data().join("postmaster.pid");
        if !pid_file.exists() {
            return;
        }
        if self.pg_ctl_stop().status.success() {
            return;
        }
        // pg_ctl failed: kill the postmaster by its pid.
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.lines().next().map(str::to_owned))
        {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    }
}

fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn runuser() -> PathBuf {
    ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
        .iter()
        .map(Path::new)
        .find(|path| path.is_file())
        .map_or_else(|| PathBuf::from("runuser"), Path::to_path_buf)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
