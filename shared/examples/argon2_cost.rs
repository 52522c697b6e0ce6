//! Prints what one argon2id hash and verify cost on this machine at production parameters:
//! `cargo run --release -p shared --example argon2_cost`. Sign-up pays one hash, sign-in one
//! verify; this is the figure the Lambda memory sizes in template.yaml are chosen around.

use std::time::{Duration, Instant};

use shared::domain::Password;
use shared::password::{PasswordHasher, ITERATIONS, MEMORY_KIB, PARALLELISM};

const ROUNDS: usize = 20;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::ApiError> {
    let hasher = PasswordHasher::new();
    let password = || Password::for_signin("correct horse battery staple");
    let mut hashes = Vec::with_capacity(ROUNDS);
    let mut verifies = Vec::with_capacity(ROUNDS);
    let mut digest = None;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let new = hasher
            .hash(password().map_err(|_| shared::ApiError::MalformedBody)?)
            .await?;
        hashes.push(start.elapsed());
        let start = Instant::now();
        hasher
            .verify(
                password().map_err(|_| shared::ApiError::MalformedBody)?,
                Some(new.clone()),
            )
            .await?;
        verifies.push(start.elapsed());
        digest = Some(new);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "argon2id m={MEMORY_KIB} KiB t={ITERATIONS} p={PARALLELISM}, {ROUNDS} rounds on {} ({cores} cores):",
        std::env::consts::ARCH
    );
    println!("  hash   median {:?}", median(hashes));
    println!("  verify median {:?}", median(verifies));
    println!(
        "  digest length {} bytes",
        digest.map_or(0, |d| d.as_str().len())
    );
    Ok(())
}
