use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wiremock::matchers::{bearer_token, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const TOKEN: &str = "EAAGmediaTOKEN";
const MEDIA_ID: &str = "987654321";

fn client(server: &MockServer) -> GraphClient {
    GraphClient::new(&server.uri(), DEFAULT_API_VERSION).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(<[u8; 32]>::from(Sha256::digest(bytes)))
}

/// Mounts the metadata answer for [`MEDIA_ID`].
async fn mount_info(server: &MockServer, info: Value) {
    Mock::given(method("GET"))
        .and(path(format!("/v23.0/{MEDIA_ID}")))
        .and(bearer_token(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(info))
        .expect(1)
        .mount(server)
        .await;
}

/// Mounts the file itself at `/lookaside/file`, expected `times` times.
async fn mount_file(server: &MockServer, bytes: Vec<u8>, times: u64) {
    Mock::given(method("GET"))
        .and(path("/lookaside/file"))
        .and(bearer_token(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_raw(bytes, "image/jpeg"))
        .expect(times)
        .mount(server)
        .await;
}

fn info(server: &MockServer, bytes: &[u8], file_size: usize) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "url": format!("{}/lookaside/file?mid={MEDIA_ID}&ext=1", server.uri()),
        "mime_type": "image/jpeg",
        "sha256": sha256_hex(bytes),
        "file_size": file_size,
        "id": MEDIA_ID,
    })
}

#[tokio::test]
async fn downloads_media_with_the_bearer_token() {
    let server = MockServer::start().await;
    let bytes = b"\xff\xd8\xff\xe0 jpeg bytes".to_vec();
    mount_info(&server, info(&server, &bytes, bytes.len())).await;
    mount_file(&server, bytes.clone(), 1).await;
    let media = client(&server).whatsapp_media(TOKEN, MEDIA_ID, 1024).await.unwrap();
    assert_eq!(media.bytes, bytes);
    assert_eq!(media.mime_type, "image/jpeg");
    assert_eq!(media.sha256_hex, sha256_hex(&bytes));
}

#[tokio::test]
async fn a_declared_size_over_the_cap_is_refused_before_downloading() {
    let server = MockServer::start().await;
    let bytes = vec![7_u8; 2048];
    // Meta's examples sometimes give file_size as a string.
    let mut declared = info(&server, &bytes, 0);
    declared["file_size"] = json!("2048");
    mount_info(&server, declared).await;
    mount_file(&server, bytes, 0).await;
    let error = client(&server).whatsapp_media(TOKEN, MEDIA_ID, 1024).await.unwrap_err();
    assert_eq!(error.kind, SendErrorKind::Permanent);
    assert!(error.message.contains("larger than the 1024 byte limit"), "{}", error.message);
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_whatever_file_size_claimed() {
    let server = MockServer::start().await;
    let bytes = vec![7_u8; 4096];
    mount_info(&server, info(&server, &bytes, 100)).await;
    mount_file(&server, bytes, 1).await;
    let error = client(&server).whatsapp_media(TOKEN, MEDIA_ID, 1024).await.unwrap_err();
    assert_eq!(error.kind, SendErrorKind::Permanent);
    assert!(error.message.contains("larger than the 1024 byte limit"), "{}", error.message);
}

#[tokio::test]
async fn an_endless_chunked_body_is_cut_off_at_the_cap() {
    // No Content-Length here: only the streaming cap can stop it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let file_server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0_u8; 4096];
        let _ = socket.read(&mut request).await.unwrap();
        let head = "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        let chunk = [b"400\r\n".as_slice(), &[1_u8; 1024], b"\r\n"].concat();
        let mut sent = 0_usize;
        // Stops when the client hangs up; the bound keeps a broken client from hanging the test.
        while sent < 64 * 1024 * 1024 && socket.write_all(&chunk).await.is_ok() {
            sent += 1024;
        }
        sent
    });
    let server = MockServer::start().await;
    mount_info(&server, json!({ "url": format!("http://{address}/file"), "mime_type": "image/jpeg", "file_size": 10 }))
        .await;
    let error = client(&server).whatsapp_media(TOKEN, MEDIA_ID, 4096).await.unwrap_err();
    assert_eq!(error.kind, SendErrorKind::Permanent);
    assert!(error.message.contains("larger than the 4096 byte limit"));
    let sent = file_server.await.unwrap();
    assert!(sent < 64 * 1024 * 1024, "the client kept reading");
}

#[tokio::test]
async fn a_checksum_mismatch_is_transient() {
    let server = MockServer::start().await;
    let bytes = b"real bytes".to_vec();
    mount_info(&server, info(&server, b"other bytes", bytes.len())).await;
    mount_file(&server, bytes, 1).await;
    let error = client(&server).whatsapp_media(TOKEN, MEDIA_ID, 1024).await.unwrap_err();
    assert_eq!(error.kind, SendErrorKind::Transient);
}

#[tokio::test]
async fn metadata_without_a_url_or_an_expired_download_fails() {
    let server = MockServer::start().await;
    mount_info(&server, json!({ "id": MEDIA_ID, "mime_type": "image/jpeg" })).await;
    let error = client(&server).whatsapp_media(TOKEN, MEDIA_ID, 1024).await.unwrap_err();
    assert_eq!(error.kind, SendErrorKind::Permanent);

    let server = MockServer::start().await;
    mount_info(&server, info(&server, b"x", 1)).await;
    Mock::given(method("GET"))
        .and(path("/lookaside/file"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let error = client(&server).whatsapp_media(TOKEN, MEDIA_ID, 1024).await.unwrap_err();
    assert_eq!(error.kind, SendErrorKind::Permanent);
}
