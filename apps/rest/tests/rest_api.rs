//! The API's answers, the same on both stores: 201 then 200 for PUT, the
//! document or 404 for GET, 400 for bad ids and bodies, JSON errors for
//! unknown routes and methods, 413 past the body limit, exactly one 201
//! among concurrent creations, and documents that outlive the service.

mod support;

use rest::postgres::PgOptions;
use rest::store::Put;
use serde_json::{json, Value};
use support::pg::PgServer;
use support::{get, put, Service, TempDir};

/// Everything both stores must answer alike.
fn check_api(service: &Service) {
    let client = service.client.clone();
    let url = |id: &str| service.url(id);
    let (missing, stuff7, big, neg) = (
        url("404404"),
        url("7"),
        url("9223372036854775807"),
        url("-3"),
    );
    let (not_a_number, too_big, nope) =
        (url("abc"), url("9223372036854775808"), service.at("/nope"));
    let bare = service.at("/stuff/");
    let client2 = client.clone();
    service.rt.block_on(async move {
        let client = client2;
        // Nothing there yet.
        let (status, body) = get(&client, &missing).await.unwrap();
        assert_eq!(status, 404, "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("no document with id 404404"),
            "{body}"
        );

        // Created, then replaced; GET gives the latest.
        let first = json!({"name": "tulipa", "n": [1, 2, 3], "nested": {"ok": true}});
        let response = client.put(&stuff7).json(&first).send().await.unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(
            response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap()),
            Some("/stuff/7")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"id": 7, "created": true}));
        assert_eq!(get(&client, &stuff7).await.unwrap(), (200, first));

        let second = json!(["a", "list", "is", "JSON", "too", 1.5, null]);
        assert_eq!(
            put(&client, &stuff7, &second).await.unwrap(),
            (200, json!({"id": 7, "created": false}))
        );
        assert_eq!(get(&client, &stuff7).await.unwrap(), (200, second));

        // A scalar document, and the ends of the id range.
        assert_eq!(put(&client, &big, &json!("max")).await.unwrap().0, 201);
        assert_eq!(get(&client, &big).await.unwrap(), (200, json!("max")));
        assert_eq!(put(&client, &neg, &json!(-3)).await.unwrap().0, 201);
        assert_eq!(get(&client, &neg).await.unwrap(), (200, json!(-3)));

        // Ids that are not 64-bit integers.
        for bad in [&not_a_number, &too_big] {
            let (status, body) = get(&client, bad).await.unwrap();
            assert_eq!(status, 400, "{bad}: {body}");
            assert!(
                body["error"]
                    .as_str()
                    .unwrap()
                    .contains("not a whole number"),
                "{body}"
            );
            let (status, _) = put(&client, bad, &json!(1)).await.unwrap();
            assert_eq!(status, 400);
        }

        // Bodies that are not JSON, whatever their content type says.
        for (content_type, text) in [
            ("application/json", "{not json"),
            ("application/x-www-form-urlencoded", "name=tulipa"),
            ("text/plain", "[1, 2"),
        ] {
            let response = client
                .put(&stuff7)
                .header("content-type", content_type)
                .body(text)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{content_type} {text}");
            let body: Value = response.json().await.unwrap();
            assert!(
                body["error"].as_str().unwrap().contains("not JSON"),
                "{body}"
            );
        }
        let response = client.put(&stuff7).send().await.unwrap();
        assert_eq!(response.status(), 400, "an empty body");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("empty"), "{body}");
        // JSON sent as a form (curl -d): stored.
        let response = client
            .put(&stuff7)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(r#"{"from": "curl -d"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            get(&client, &stuff7).await.unwrap(),
            (200, json!({"from": "curl -d"}))
        );

        // Unknown routes and methods.
        for path in [&nope, &bare] {
            let (status, body) = get(&client, path).await.unwrap();
            assert_eq!(status, 404, "{path}");
            assert!(
                body["error"]
                    .as_str()
                    .unwrap()
                    .contains("GET and PUT /stuff/{id}"),
                "{body}"
            );
        }
        let response = client.post(&stuff7).body("{}").send().await.unwrap();
        assert_eq!(response.status(), 405);
        let allow = response
            .headers()
            .get("allow")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(allow.contains("GET") && allow.contains("PUT"), "{allow}");
        let response = client.delete(&stuff7).send().await.unwrap();
        assert_eq!(response.status(), 405);

        // Past the server's 1 MiB body limit: 413 before the body is read,
        // nothing stored. (A raw request: the server answers and closes
        // without reading the body, and hyper's client, still writing it,
        // reports the broken pipe instead of the answer.)
        let addr = stuff7
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let answer = tulipa::unblock(move || {
            use std::io::{Read, Write};
            let mut raw = std::net::TcpStream::connect(addr).unwrap();
            raw.set_read_timeout(Some(support::REQUEST_TIMEOUT))
                .unwrap();
            raw.write_all(b"PUT /stuff/8 HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n[")
                .unwrap();
            let mut answer = String::new();
            let _ = raw.read_to_string(&mut answer);
            answer
        })
        .await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert_eq!(get(&client, &url_of(&stuff7, 8)).await.unwrap().0, 404);
    });
    drop(client);
}

/// `.../stuff/7` with another id.
fn url_of(stuff7: &str, id: i64) -> String {
    format!("{}/{id}", stuff7.rsplit_once('/').unwrap().0)
}

/// 32 concurrent PUTs of one new id: exactly one 201, 31 200s, and the
/// document left is one of theirs.
fn check_concurrent_creation(service: &Service) {
    let client = service.client.clone();
    let url = service.url(5150);
    service.rt.block_on(async move {
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let client = client.clone();
                let url = url.clone();
                tulipa::spawn(async move { put(&client, &url, &json!({"writer": i})).await })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap().unwrap().0);
        }
        assert_eq!(
            statuses.iter().filter(|&&s| s == 201).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|&&s| s == 200).count(),
            31,
            "{statuses:?}"
        );
        let (status, doc) = get(&client, &url).await.unwrap();
        assert_eq!(status, 200);
        assert!(
            doc["writer"].as_i64().is_some_and(|w| (0..32).contains(&w)),
            "{doc}"
        );
    });
}

#[test]
fn api_on_sqlite() {
    let dir = TempDir::new("api");
    let service = Service::sqlite(&dir.path().join("rest.db"));
    check_api(&service);
    check_concurrent_creation(&service);
}

#[test]
fn api_on_postgres() {
    let pg = PgServer::start();
    let service = Service::postgres(&pg.url(), PgOptions::default());
    check_api(&service);
    check_concurrent_creation(&service);
    // jsonb takes no NUL in strings: PostgreSQL's refusal is a 400 that
    // says so, not a 500.
    let url = service.url(99);
    let client = service.client.clone();
    service.rt.block_on(async move {
        let (status, body) = put(&client, &url, &json!({"nul": "a\u{0}b"}))
            .await
            .unwrap();
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("refused"),
            "{body}"
        );
        assert_eq!(get(&client, &url).await.unwrap().0, 404);
    });
}

#[test]
fn sqlite_documents_outlive_the_service_and_report_created_then_replaced() {
    let dir = TempDir::new("reopen");
    let path = dir.path().join("rest.db");
    let rt = tulipa::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        use rest::store::Store;
        let store = rest::sqlite::SqliteStore::open(&path).await.unwrap();
        assert_eq!(store.put(1, json!({"v": 1})).await.unwrap(), Put::Created);
        assert_eq!(store.put(1, json!({"v": 2})).await.unwrap(), Put::Replaced);
        store.close().await;
        let err = store.put(2, json!(0)).await.unwrap_err();
        assert!(
            matches!(err, rest::store::StoreError::Unavailable(_)),
            "{err}"
        );

        let store = rest::sqlite::SqliteStore::open(&path).await.unwrap();
        assert_eq!(store.get(1).await.unwrap(), Some(json!({"v": 2})));
        assert_eq!(store.put(1, json!({"v": 3})).await.unwrap(), Put::Replaced);
        assert_eq!(store.get(2).await.unwrap(), None);
        store.close().await;
    });
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn sqlite_in_a_missing_directory_fails_with_the_path() {
    let dir = TempDir::new("missing");
    let path = dir.path().join("no/such/dir/rest.db");
    let err = tulipa::run(rest::sqlite::SqliteStore::open(&path))
        .err()
        .expect("no directory, no database");
    let message = err.to_string();
    assert!(message.contains("no/such/dir/rest.db"), "{message}");
    assert!(message.contains("does its directory exist"), "{message}");
}

#[test]
fn postgres_unreachable_at_start_fails_with_a_clear_error() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://rest@127.0.0.1:{port}/postgres");
    let err = tulipa::run(rest::postgres::PgStore::connect(&url))
        .err()
        .expect("nothing listens there");
    let message = err.to_string();
    assert!(message.contains("is it running?"), "{message}");
    assert!(message.contains(&port.to_string()), "{message}");

    let err = tulipa::run(rest::postgres::PgStore::connect(
        "postgres://rest@127.0.0.1:notaport/db",
    ))
    .err()
    .expect("not a URL");
    assert!(
        err.to_string()
            .contains("not a PostgreSQL connection string"),
        "{err}"
    );
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<rest::sqlite::SqliteStore>();
    send_sync::<rest::postgres::PgStore>();
    send_sync::<rest::store::StoreError>();
    send_sync::<rest::config::Config>();
}
