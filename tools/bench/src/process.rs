//! A function process started as Lambda starts it, and what Linux says it used.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Function {
    child: Child,
    log: std::path::PathBuf,
}

/// How a bootstrap is started: as is, or (an arm64 one from `sam build`, on another machine)
/// under qemu-user, with Debian's arm64 glibc (`libc6-arm64-cross`) as the root its loader
/// and libraries come from.
#[derive(Clone, Copy, PartialEq)]
pub enum Launch {
    Native,
    Qemu,
}

const QEMU: &str = "qemu-aarch64-static";
const QEMU_LD_PREFIX: &str = "/usr/aarch64-linux-gnu";

impl Launch {
    fn command(self, binary: &Path) -> Command {
        match self {
            Launch::Native => Command::new(binary),
            Launch::Qemu => {
                let mut command = Command::new(QEMU);
                command.arg("-L").arg(QEMU_LD_PREFIX).arg(binary);
                command
            }
        }
    }
}

impl Function {
    pub fn spawn(
        binary: &Path,
        launch: Launch,
        vars: &[(String, String)],
        api_port: u16,
    ) -> Result<Self, String> {
        let name = binary.file_name().unwrap_or_default().to_string_lossy();
        let log = std::env::temp_dir().join(format!("bench-{name}.log"));
        let stderr = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let child = launch
            .command(binary)
            .env_clear()
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{api_port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                let hint = match launch {
                    Launch::Native => "build it first: make bench does",
                    Launch::Qemu => "arm64 runs need qemu-user-static and libc6-arm64-cross",
                };
                format!("cannot start {}: {e} ({hint})", binary.display())
            })?;
        Ok(Self { child, log })
    }

    /// The end of what the process wrote to stderr, for a failure message.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(2000);
        text.get(start..).unwrap_or_default().to_owned()
    }

    /// CPU time of all the process's threads so far (scheduler statistics, nanoseconds).
    pub fn cpu_time(&self) -> Duration {
        let tasks = format!("/proc/{}/task", self.child.id());
        let nanos: u64 = std::fs::read_dir(tasks)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
            .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        Duration::from_nanos(nanos)
    }

    /// The high-water mark of resident memory (VmHWM), in KiB.
    pub fn peak_rss_kb(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
