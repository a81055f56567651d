//! A fake, hostile nix-daemon: scripted replies for every malformed-reply case (wrong magic, old
//! or absurd versions, truncated frames, absurd lengths, unknown message codes, error replies,
//! data requests out of place, daemons that fail or lie mid-upload). Each must end in an error,
//! never a panic or a hang. The timeouts only make a hang fail fast; they assert nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use evalbox_daemon::client::{ClientOptions, DaemonClient, WORKER_MAGIC_2};
use evalbox_daemon::stderr::{self, Message, RemoteError};
use evalbox_daemon::types::{BuildResult, BuildStatus, CaMethod, DerivedPath};
use evalbox_daemon::wire::Request;
use evalbox_daemon::{Error, ProtocolVersion, Transport};
use nix_formats::StorePath;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

const LIMIT: Duration = Duration::from_secs(20);

fn v(minor: u8) -> ProtocolVersion {
    ProtocolVersion::new(1, minor)
}

/// What a well-behaved daemon of version `version` sends during the handshake.
fn handshake(version: ProtocolVersion) -> Request {
    let mut r = Request::new();
    r.u64(WORKER_MAGIC_2).u64(version.to_wire());
    if version >= v(38) {
        r.strings(["some-future-feature"]);
    }
    if version >= v(33) {
        r.bytes("2.99.0");
    }
    if version >= v(35) {
        r.u64(1);
    }
    r.u64(stderr::STDERR_LAST);
    r
}

/// Plays `script` to the client, then closes its sending side, and swallows whatever the client
/// sends (so client writes never block).
fn serve(server: DuplexStream, script: Vec<u8>) {
    let (mut rd, mut wr) = tokio::io::split(server);
    tokio::spawn(async move {
        let _ = wr.write_all(&script).await;
        let _ = wr.shutdown().await;
        drop(wr);
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    });
}

async fn client(script: Vec<u8>) -> Result<DaemonClient, Error> {
    let (c, s) = tokio::io::duplex(1 << 20);
    serve(s, script);
    let (r, w) = tokio::io::split(c);
    tokio::time::timeout(
        LIMIT,
        DaemonClient::handshake(r, w, ClientOptions::default()),
    )
    .await
    .expect("handshake hung")
}

fn path() -> StorePath {
    StorePath::from_base_name("g1w7hy3qg1w7hy3qg1w7hy3qg1w7hy3q-foo").unwrap()
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f).await.expect("hung")
}

#[tokio::test]
async fn wrong_magic() {
    let mut r = Request::new();
    r.u64(0x1234).u64(v(34).to_wire());
    assert!(matches!(
        client(r.into_bytes()).await,
        Err(Error::BadMagic(0x1234))
    ));
}

#[tokio::test]
async fn refuses_old_and_absurd_versions() {
    for (wire_version, want_unsupported) in [
        (v(20).to_wire(), true),
        (v(10).to_wire(), true),
        (ProtocolVersion::new(2, 0).to_wire(), true),
        (0, true),
        (1 << 40, false),
    ] {
        let mut r = Request::new();
        r.u64(WORKER_MAGIC_2).u64(wire_version);
        let err = client(r.into_bytes()).await.unwrap_err();
        if want_unsupported {
            assert!(matches!(err, Error::UnsupportedVersion(_)), "{err}");
            assert!(err.to_string().contains("supports 1.21 to 1.38"), "{err}");
        } else {
            assert!(matches!(err, Error::BadValue { .. }), "{err}");
        }
    }
}

#[tokio::test]
async fn handshake_fields_per_version() {
    for minor in [21, 25, 33, 34, 35, 37, 38] {
        let c = client(handshake(v(minor)).into_bytes()).await.unwrap();
        let info = c.info();
        assert_eq!(info.version, v(minor));
        assert_eq!(
            info.daemon_nix_version.as_deref(),
            (minor >= 33).then_some("2.99.0")
        );
        assert_eq!(info.trusted, (minor >= 35).then_some(true));
        // We support no optional feature: the intersection is empty.
        assert!(info.features.is_empty());
    }
    // A newer daemon: we speak our maximum.
    let mut r = Request::new();
    r.u64(WORKER_MAGIC_2).u64(v(40).to_wire());
    r.strings(Vec::<&str>::new())
        .bytes("3.0")
        .u64(2)
        .u64(stderr::STDERR_LAST);
    let c = client(r.into_bytes()).await.unwrap();
    assert_eq!(c.version(), ProtocolVersion::MAX);
    assert_eq!(c.info().trusted, Some(false));
}

#[tokio::test]
async fn truncated_handshakes() {
    let full = handshake(v(38)).into_bytes();
    for cut in 0..full.len() {
        match client(full[..cut].to_vec()).await {
            Err(Error::Eof(_)) => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    let mut bad_trust = handshake(v(35)).into_bytes();
    let at = bad_trust.len() - 16;
    bad_trust[at] = 7;
    assert!(matches!(
        client(bad_trust).await,
        Err(Error::BadValue { .. })
    ));
}

/// A client after a clean 1.34 handshake whose next replies are `replies`.
async fn after_handshake(version: ProtocolVersion, replies: &Request) -> DaemonClient {
    let mut script = handshake(version).into_bytes();
    script.extend_from_slice(replies.as_bytes());
    client(script).await.unwrap()
}

#[tokio::test]
async fn unknown_stderr_code() {
    let mut r = Request::new();
    r.u64(0xdead_beef);
    let mut c = after_handshake(v(34), &r).await;
    assert!(matches!(
        within(c.is_valid_path(&path())).await,
        Err(Error::UnknownMessage(0xdead_beef))
    ));
    assert!(c.is_broken());
    // A broken connection refuses further use instead of reading garbage.
    assert!(within(c.is_valid_path(&path())).await.is_err());
}

#[tokio::test]
async fn error_replies_are_typed_and_keep_the_connection() {
    for minor in [21, 25, 26, 34, 38] {
        let mut r = Request::new();
        stderr::encode::message(
            &mut r,
            &Message::Error(RemoteError {
                msg: "\u{1b}[31;1merror:\u{1b}[0m path is bad".into(),
                status: 1,
                traces: vec!["while checking".into()],
            }),
            v(minor),
        );
        // The next request succeeds.
        r.u64(stderr::STDERR_NEXT).bytes("a log line");
        r.u64(stderr::STDERR_LAST).u64(1);
        let mut c = after_handshake(v(minor), &r).await;
        match within(c.is_valid_path(&path())).await {
            Err(Error::Remote { msg, traces, .. }) => {
                assert_eq!(msg, "error: path is bad");
                if minor >= 26 {
                    assert_eq!(traces, vec!["while checking".to_string()]);
                }
            }
            other => panic!("1.{minor}: {other:?}"),
        }
        assert!(!c.is_broken());
        assert!(within(c.is_valid_path(&path())).await.unwrap());
    }
}

#[tokio::test]
async fn absurd_lengths() {
    // A log line announcing 2^63 bytes.
    let mut r = Request::new();
    r.u64(stderr::STDERR_NEXT).u64(1 << 63);
    let mut c = after_handshake(v(34), &r).await;
    assert!(matches!(
        within(c.is_valid_path(&path())).await,
        Err(Error::TooLong { .. })
    ));
    // A path list announcing 2^40 elements.
    let mut r = Request::new();
    r.u64(stderr::STDERR_LAST).u64(1 << 40);
    let mut c = after_handshake(v(34), &r).await;
    assert!(matches!(
        within(c.query_valid_paths(&[path()].into())).await,
        Err(Error::TooLong { .. })
    ));
    // Within limits but truncated: EOF, not an allocation of the announced size.
    let mut r = Request::new();
    r.u64(stderr::STDERR_NEXT).u64(15 << 20).bytes("short");
    let mut c = after_handshake(v(34), &r).await;
    assert!(matches!(
        within(c.is_valid_path(&path())).await,
        Err(Error::Eof(_))
    ));
}

#[tokio::test]
async fn malformed_values() {
    // Validity flag 2.
    let mut r = Request::new();
    r.u64(stderr::STDERR_LAST).u64(2);
    let mut c = after_handshake(v(34), &r).await;
    assert!(matches!(
        within(c.is_valid_path(&path())).await,
        Err(Error::BadValue { .. })
    ));
    // A path outside the store.
    let mut r = Request::new();
    r.u64(stderr::STDERR_LAST)
        .u64(1)
        .bytes("/etc/ffffffffffffffffffffffffffffffff-x");
    let mut c = after_handshake(v(34), &r).await;
    assert!(matches!(
        within(c.query_referrers(&path())).await,
        Err(Error::BadValue { .. })
    ));
    // A path info with a bad hash.
    let mut r = Request::new();
    r.u64(stderr::STDERR_LAST).u64(1).bytes("").bytes("xyz");
    let mut c = after_handshake(v(34), &r).await;
    assert!(matches!(
        within(c.query_path_info(&path())).await,
        Err(Error::BadValue { .. })
    ));
    // A build result with an unknown status, and one with a broken realisation.
    let mut r = Request::new();
    r.u64(stderr::STDERR_LAST)
        .u64(1)
        .bytes(format!("/nix/store/{}", path()));
    r.u64(77).bytes("");
    let mut c = after_handshake(v(34), &r).await;
    assert!(matches!(
        within(c.build_paths_with_results(&[DerivedPath::Opaque(path())])).await,
        Err(Error::BadValue { .. })
    ));
    let mut r = Request::new();
    r.u64(stderr::STDERR_LAST)
        .u64(1)
        .bytes(format!("/nix/store/{}", path()));
    BuildResult {
        status: BuildStatus(0),
        error_msg: String::new(),
        times_built: 1,
        is_non_deterministic: false,
        start_time: 0,
        stop_time: 0,
        cpu_user: None,
        cpu_system: None,
        built_outputs: Default::default(),
    }
    .write(&mut r, v(28));
    r.u64(1).bytes("sha256:00!out").bytes("{not json");
    // Written as 1.28 (no timing fields), read as 1.34: the fields misalign and must fail.
    let mut c = after_handshake(v(34), &r).await;
    assert!(
        within(c.build_paths_with_results(&[DerivedPath::Opaque(path())]))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn data_messages_out_of_place() {
    let mut r = Request::new();
    r.u64(stderr::STDERR_READ).u64(100);
    let mut c = after_handshake(v(34), &r).await;
    assert!(matches!(
        within(c.is_valid_path(&path())).await,
        Err(Error::UnexpectedMessage("READ"))
    ));
    let mut r = Request::new();
    r.u64(stderr::STDERR_WRITE).bytes("data");
    let mut c = after_handshake(v(34), &r).await;
    assert!(matches!(
        within(c.is_valid_path(&path())).await,
        Err(Error::UnexpectedMessage("WRITE"))
    ));
}

#[tokio::test]
async fn malformed_nars() {
    let mut good = Request::new();
    good.bytes("nix-archive-1")
        .bytes("(")
        .bytes("type")
        .bytes("regular")
        .bytes("contents")
        .bytes("hi")
        .bytes(")");
    let good = good.into_bytes();
    let mut r = Request::new();
    r.u64(stderr::STDERR_LAST);
    let mut script = r.into_bytes();
    script.extend_from_slice(&good);
    // Then a second request's reply, to prove the NAR's end was found exactly.
    script.extend_from_slice(&{
        let mut r = Request::new();
        r.u64(stderr::STDERR_LAST).u64(1);
        r.into_bytes()
    });
    let mut full = handshake(v(34)).into_bytes();
    full.extend_from_slice(&script);
    let mut c = client(full).await.unwrap();
    let mut got = Vec::new();
    within(c.nar_from_path(&path(), &mut |b| {
        got.extend_from_slice(b);
        Ok(())
    }))
    .await
    .unwrap();
    assert_eq!(got, good);
    assert!(within(c.is_valid_path(&path())).await.unwrap());

    // Every truncation of the NAR is an error.
    for cut in 0..good.len() {
        let mut full = handshake(v(34)).into_bytes();
        full.extend_from_slice(&stderr::STDERR_LAST.to_le_bytes());
        full.extend_from_slice(&good[..cut]);
        let mut c = client(full).await.unwrap();
        assert!(
            within(c.nar_from_path(&path(), &mut |_| Ok(())))
                .await
                .is_err(),
            "cut at {cut}"
        );
    }
    // A file announcing 2^62 bytes.
    let mut bad = Request::new();
    bad.u64(stderr::STDERR_LAST)
        .bytes("nix-archive-1")
        .bytes("(")
        .bytes("type")
        .bytes("regular")
        .bytes("contents")
        .u64(1 << 62);
    let mut c = after_handshake(v(34), &bad).await;
    assert!(matches!(
        within(c.nar_from_path(&path(), &mut |_| Ok(()))).await,
        Err(Error::Eof(_))
    ));
}

#[tokio::test]
async fn daemon_fails_mid_upload() {
    // A daemon that reads a little of the upload, then reports an error and stops reading.
    let (c, s) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let (mut rd, mut wr) = tokio::io::split(s);
        wr.write_all(handshake(v(34)).as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = rd.read(&mut buf).await;
        let mut r = Request::new();
        stderr::encode::message(
            &mut r,
            &Message::Error(RemoteError {
                msg: "out of disk".into(),
                status: 1,
                traces: vec![],
            }),
            v(34),
        );
        wr.write_all(r.as_bytes()).await.unwrap();
        // Keep the connection open without reading: the client must not wait for us.
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop((rd, wr));
    });
    let (r, w) = tokio::io::split(c);
    let mut c = DaemonClient::handshake(r, w, ClientOptions::default())
        .await
        .unwrap();
    let big = vec![7u8; 8 << 20];
    let res = within(c.add_to_store(
        "big",
        CaMethod::Text,
        &BTreeSet::new(),
        false,
        &mut &big[..],
    ))
    .await;
    match res {
        Err(Error::Remote { msg, .. }) => assert_eq!(msg, "out of disk"),
        other => panic!("{other:?}"),
    }
    // Part of the upload is in flight: the connection is not reusable.
    assert!(c.is_broken());
}

#[tokio::test]
async fn daemon_replies_before_the_upload_ends() {
    let (c, s) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let (_rd, mut wr) = tokio::io::split(s);
        wr.write_all(handshake(v(34)).as_bytes()).await.unwrap();
        wr.write_all(&stderr::STDERR_LAST.to_le_bytes())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let (r, w) = tokio::io::split(c);
    let mut c = DaemonClient::handshake(r, w, ClientOptions::default())
        .await
        .unwrap();
    let big = vec![7u8; 8 << 20];
    let res = within(c.add_to_store(
        "big",
        CaMethod::Text,
        &BTreeSet::new(),
        false,
        &mut &big[..],
    ))
    .await;
    assert!(matches!(res, Err(Error::UnexpectedMessage(_))), "{res:?}");
}

#[tokio::test]
async fn over_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("evalbox-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("socket");
    let _ = std::fs::remove_file(&sock);
    let listener = tokio::net::UnixListener::bind(&sock).unwrap();
    tokio::spawn(async move {
        // First connection: a wrong magic; second: a good daemon.
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(&0u64.to_le_bytes()).await.unwrap();
        drop(s);
        let (mut s, _) = listener.accept().await.unwrap();
        let mut script = handshake(v(34)).into_bytes();
        script.extend_from_slice(&stderr::STDERR_LAST.to_le_bytes());
        script.extend_from_slice(&1u64.to_le_bytes());
        s.write_all(&script).await.unwrap();
        let mut buf = [0u8; 4096];
        while s.read(&mut buf).await.unwrap_or(0) > 0 {}
    });
    let t = Transport::Unix(sock.clone());
    assert!(matches!(
        within(t.connect(ClientOptions::default())).await,
        Err(Error::BadMagic(0))
    ));
    let mut c = within(t.connect(ClientOptions::default())).await.unwrap();
    assert!(within(c.is_valid_path(&path())).await.unwrap());
    let missing = Transport::Unix(dir.join("missing"));
    assert!(matches!(
        within(missing.connect(ClientOptions::default())).await,
        Err(Error::Connect { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    /// Random bytes after a valid handshake, as the reply to every kind of request.
    #[test]
    fn random_replies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), op in 0u8..6) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut script = handshake(v(34)).into_bytes();
            script.extend_from_slice(&bytes);
            let mut c = client(script).await.unwrap();
            let p = path();
            let _ = within(async {
                match op {
                    0 => c.is_valid_path(&p).await.map(drop),
                    1 => c.query_path_info(&p).await.map(drop),
                    2 => c.nar_from_path(&p, &mut |_| Ok(())).await.map(drop),
                    3 => c.build_paths_with_results(&[DerivedPath::Opaque(p.clone())]).await.map(drop),
                    4 => c.query_derivation_output_map(&p).await.map(drop),
                    _ => c.add_to_store("x", CaMethod::Text, &BTreeSet::new(), false, &mut &b"abc"[..]).await.map(drop),
                }
            }).await;
        });
    }

    /// Random bytes as the whole handshake.
    #[test]
    fn random_handshakes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let _ = client(bytes).await;
        });
    }
}
