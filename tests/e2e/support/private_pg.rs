//! A private Postgres for tests that stop and restart the database: its own data directory and
//! port, run with the machine's Postgres binaries as the `postgres` user. The shared server at
//! 5432 is never touched.

use std::path::PathBuf;
use std::process::Command;

/// A Postgres server of this test's own.
pub struct PrivatePostgres {
    dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
}

/// The newest installed Postgres' binaries.
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("Postgres is installed under /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop().expect("a Postgres with pg_ctl")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl PrivatePostgres {
    /// Creates a data directory (trust auth, user `postgres`) and starts the server.
    pub fn start() -> PrivatePostgres {
        let dir = std::env::temp_dir().join(format!("sb-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let pg = PrivatePostgres { dir, port: free_port(), bin: postgres_bin() };
        pg.as_postgres(&["chown", "-R", "postgres:postgres"], true);
        let data = pg.data();
        pg.run("initdb", &["-D", &data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
        pg.start_again();
        pg
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Runs one of Postgres' programs as the `postgres` user (initdb and the server refuse root).
    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program).display().to_string();
        let mut all = vec![program.as_str()];
        all.extend_from_slice(args);
        self.as_postgres(&all, false);
    }

    fn as_postgres(&self, args: &[&str], on_dir: bool) {
        let root = unsafe { libc::geteuid() } == 0;
        let mut cmd = if on_dir {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]).arg(&self.dir);
            c
        } else if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).args(args);
            c
        } else {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        };
        let out = cmd.output().expect("run a Postgres program");
        assert!(out.status.success(), "{args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }

    /// Starts (again) and waits until it accepts connections.
    pub fn start_again(&self) {
        let opts = format!("-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off", self.port, self.dir.display());
        let log = self.dir.join("log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "-t", "30", "start"]);
    }

    /// Stops at once (fast shutdown: open connections are cut).
    pub fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// A URL for `database` on this server (the server creates it when it starts).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let program = self.bin.join("pg_ctl").display().to_string();
        let root = unsafe { libc::geteuid() } == 0;
        let mut cmd = if root { Command::new("runuser") } else { Command::new(&program) };
        if root {
            cmd.args(["-u", "postgres", "--", &program]);
        }
        let _ = cmd.args(["-D", &data, "-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
