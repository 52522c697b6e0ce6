//! A real DynamoDB-compatible server (`moto_server` from PyPI) for tests.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, Projection,
};
use aws_sdk_dynamodb::Client;

pub struct Server {
    pub endpoint: String,
    pub port: u16,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// A free loopback port (the OS picks it; we release it just before the server binds it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Spawns `command` so that it dies with this process. The kernel's parent-death signal
/// follows the spawning thread, so the spawn happens on a thread that lives as long as the
/// process.
pub fn spawn_tied(mut command: Command, program: &str) -> Child {
    let program = program.to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: prctl is async-signal-safe; it only sets this child's parent-death signal.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let spawned = command.spawn().map_err(|e| {
            format!(
                "cannot start {program}: {e}. Run the tests with `make test`, which installs it"
            )
        });
        tx.send(spawned).unwrap();
        loop {
            std::thread::park();
        }
    });
    rx.recv().unwrap().unwrap_or_else(|e| panic!("{e}"))
}

/// Starts moto_server (through scripts/dynamodb_local.py, which serialises requests as
/// DynamoDB's transactions need) on `port` and waits until it accepts connections.
pub fn start(port: u16) -> Child {
    start_with(port, &[])
}

/// [`start`] with more arguments for the script, such as `--tls-cert`/`--tls-key`.
pub fn start_with(port: u16, args: &[&str]) -> Child {
    let program = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let mut command = Command::new(&program);
    command
        .arg(crate::root().join("scripts/dynamodb_local.py"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    serve(command, &program, port, "moto (scripts/dynamodb_local.py)")
}

/// Spawns a server (tied to this process) with its stderr in a temporary file, and waits
/// until it accepts connections on `port`. If it exits first, fails with what it printed, so
/// a missing tool on a new machine says so instead of timing out.
pub fn serve(mut command: Command, program: &str, port: u16, name: &str) -> Child {
    let log = std::env::temp_dir()
        .join(format!("testkit-{name}-{port}.log").replace([' ', '/', '(', ')'], "_"));
    let file = std::fs::File::create(&log).unwrap();
    command.stderr(file);
    let mut child = spawn_tied(command, program);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            let printed = std::fs::read_to_string(&log).unwrap_or_default();
            panic!(
                "{name} exited ({status}) before serving on port {port}; run the tests with \
                 `make test`, which installs the tools:\n{printed}"
            );
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "server on port {port} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The moto server shared by the tests of this binary.
pub fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let port = free_port();
        std::mem::forget(start(port));
        Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        }
    })
}

/// A DynamoDB client for `endpoint` with dummy credentials, the same SDK setup as production
/// but for longer timeouts.
pub async fn client(endpoint: &str) -> Client {
    let config = builder(endpoint)
        .await
        // moto is one Python process serving every test of the binary one request at a time;
        // under a burst of parallel tests its queue, not a fault, can outlast production's
        // 2 s attempt timeout. Fault tests use `production_client`.
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(1))
                .operation_attempt_timeout(std::time::Duration::from_secs(20))
                .operation_timeout(std::time::Duration::from_secs(60))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// A client with production's retries and timeouts, for tests of what those do.
pub async fn production_client(endpoint: &str) -> Client {
    Client::from_conf(builder(endpoint).await.build())
}

async fn builder(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
    let aws = shared::config::aws().expect("AWS_CA_BUNDLE, if set, is usable");
    aws_sdk_dynamodb::config::Builder::from(&aws)
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testkit", "testkit", None, None, "testkit",
        ))
}

/// A Secrets Manager client for `endpoint` (moto serves every service on one port), with
/// production's retries and timeouts.
pub async fn secrets_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let aws = shared::config::aws().expect("AWS_CA_BUNDLE, if set, is usable");
    let config = aws_sdk_secretsmanager::config::Builder::from(&aws)
        .endpoint_url(endpoint)
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "testkit", "testkit", None, None, "testkit",
        ))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// The signing key set's two secrets as template.yaml creates them (both `{"keys":[]}`), with
/// rotation enabled on the first as its RotationSchedule does; returns their ARNs. Without a
/// rotation Lambda and with RotateImmediately off, moto only copies the value into a new
/// current version and marks rotation enabled: the caller runs the four steps.
pub async fn key_secrets(
    client: &aws_sdk_secretsmanager::Client,
    prefix: &str,
) -> (String, String) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut arns = Vec::new();
    for name in [
        format!("{prefix}keys-{id}"),
        format!("{prefix}public-keys-{id}"),
    ] {
        let created = client
            .create_secret()
            .name(name)
            .secret_string(r#"{"keys":[]}"#)
            .send()
            .await
            .expect("moto creates a secret");
        arns.push(created.arn.expect("moto names the secret's ARN"));
    }
    client
        .rotate_secret()
        .secret_id(&arns[0])
        .rotation_rules(
            aws_sdk_secretsmanager::types::RotationRulesType::builder()
                .automatically_after_days(90)
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .expect("moto enables rotation");
    let public = arns.pop().unwrap_or_default();
    (arns.pop().unwrap_or_default(), public)
}

/// The key schema of template.yaml, read through the same script `make dev` uses.
fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let output = Command::new(python)
            .arg(crate::root().join("scripts/create_table.py"))
            .arg("--print-schema")
            .output()
            .expect("python3 with PyYAML (make test installs it)");
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    })
}

/// Creates a table named `table` with template.yaml's key schema.
pub async fn create_table(client: &Client, table: &str) {
    let schema = schema();
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest);
    for key in schema["KeySchema"].as_array().unwrap() {
        request = request.key_schema(
            KeySchemaElement::builder()
                .attribute_name(key["AttributeName"].as_str().unwrap())
                .key_type(key["KeyType"].as_str().unwrap().into())
                .build()
                .unwrap(),
        );
    }
    for attribute in schema["AttributeDefinitions"].as_array().unwrap() {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute["AttributeName"].as_str().unwrap())
                .attribute_type(attribute["AttributeType"].as_str().unwrap().into())
                .build()
                .unwrap(),
        );
    }
    for index in schema["GlobalSecondaryIndexes"].as_array().unwrap() {
        let mut built = GlobalSecondaryIndex::builder()
            .index_name(index["IndexName"].as_str().unwrap())
            .projection(
                Projection::builder()
                    .projection_type(
                        index["Projection"]["ProjectionType"]
                            .as_str()
                            .unwrap()
                            .into(),
                    )
                    .build(),
            );
        for key in index["KeySchema"].as_array().unwrap() {
            built = built.key_schema(
                KeySchemaElement::builder()
                    .attribute_name(key["AttributeName"].as_str().unwrap())
                    .key_type(key["KeyType"].as_str().unwrap().into())
                    .build()
                    .unwrap(),
            );
        }
        request = request.global_secondary_indexes(built.build().unwrap());
    }
    request.send().await.unwrap();
}

/// A client and a new, empty table on the shared server.
pub async fn fresh_table() -> (Client, String) {
    let client = client(&server().endpoint).await;
    let table = format!("users-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await;
    (client, table)
}

/// Arms the local server to cancel `table`'s next `conflicts` transactions with
/// TransactionConflict, as DynamoDB does when another transaction writes the same item
/// (`None`: only asks). Returns how many are still to come.
pub fn transaction_conflicts(table: &str, conflicts: Option<u32>) -> u32 {
    use std::io::{Read, Write};
    let mut body = serde_json::json!({ "table": table });
    if let Some(n) = conflicts {
        body["conflicts"] = n.into();
    }
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server().port)).unwrap();
    write!(
        stream,
        "POST /_emulation/transaction-conflicts HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let json = answer.split("\r\n\r\n").nth(1).unwrap();
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    u32::try_from(value["remaining"].as_u64().unwrap()).unwrap()
}

/// An SES v2 client for `endpoint`, with production's retries and timeouts.
pub async fn ses_client(endpoint: &str) -> aws_sdk_sesv2::Client {
    let aws = shared::config::aws().expect("AWS_CA_BUNDLE, if set, is usable");
    let config = aws_sdk_sesv2::config::Builder::from(&aws)
        .endpoint_url(endpoint)
        .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "testkit", "testkit", None, None, "testkit",
        ))
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}

/// A sender moto's SES accepts: an identity created for a fresh address.
pub async fn verified_sender(ses: &aws_sdk_sesv2::Client) -> String {
    let sender = format!("no-reply-{}@example.com", uuid::Uuid::new_v4().simple());
    ses.create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .expect("moto creates an e-mail identity");
    sender
}

/// What moto's SES sent to `to`, oldest first: (subject, body) pairs, read from
/// scripts/dynamodb_local.py's `GET /_emulation/sent-mail`.
pub fn sent_to(port: u16, to: &str) -> Vec<(String, String)> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /_emulation/sent-mail HTTP/1.1\r\nHost: moto\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    let sent: serde_json::Value = serde_json::from_str(body).unwrap();
    sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"].as_array().unwrap().iter().any(|t| t == to))
        .map(|m| {
            (
                m["subject"].as_str().unwrap().to_owned(),
                m["body"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The table's new `MAIL#` items as the DynamoDB stream delivers them (INSERT records with
/// the new image), each once: `seen` remembers what was handed over already.
pub async fn mail_requests(
    client: &Client,
    table: &str,
    seen: &mut std::collections::BTreeSet<String>,
) -> serde_json::Value {
    use aws_sdk_dynamodb::types::AttributeValue;
    let items = client
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let mut records = Vec::new();
    for item in items {
        let Some(AttributeValue::S(pk)) = item.get("pk") else {
            continue;
        };
        if !pk.starts_with("MAIL#") || !seen.insert(pk.clone()) {
            continue;
        }
        let image: serde_json::Map<String, serde_json::Value> = item
            .iter()
            .filter_map(|(name, value)| match value {
                AttributeValue::S(s) => Some((name.clone(), serde_json::json!({ "S": s }))),
                AttributeValue::N(n) => Some((name.clone(), serde_json::json!({ "N": n }))),
                _ => None,
            })
            .collect();
        records.push(serde_json::json!({
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": {"pk": {"S": pk}}, "NewImage": image, "StreamViewType": "NEW_IMAGE"},
        }));
    }
    serde_json::json!({ "Records": records })
}

/// The last 6-or-more-digit run in `text`: the code of a message.
pub fn code_in(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .rfind(|run| run.len() >= 6)
        .map(str::to_owned)
}
