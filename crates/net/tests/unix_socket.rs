//! Unix domain sockets: listener/stream, pair, halves, datagrams, std
//! conversions.

use std::io;
use std::path::PathBuf;

use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
use tulipa_net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tulipa_net::{UnixDatagram, UnixListener, UnixStream};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tulipa-net-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn unix_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<UnixListener>();
    check::<UnixStream>();
    check::<UnixDatagram>();
    check::<OwnedReadHalf>();
    check::<OwnedWriteHalf>();
}

#[test]
fn listener_accepts_and_echoes() {
    let dir = temp_dir("echo");
    let path = dir.join("s");
    tulipa::run(async {
        let listener = UnixListener::bind(&path)?;
        assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
        let server = tulipa::spawn(async move {
            let mut incoming = listener.incoming();
            for _ in 0..3 {
                let s = incoming.next().await.unwrap()?;
                let (mut rd, mut wr) = s.into_split();
                futures_lite::io::copy(&mut rd, &mut wr).await?;
            }
            io::Result::Ok(())
        });
        for i in 0..3u8 {
            let mut c = UnixStream::connect(&path).await?;
            c.write_all(&[i; 1000]).await?;
            c.close().await?; // half-close
            let mut back = Vec::new();
            c.read_to_end(&mut back).await?;
            assert_eq!(back, vec![i; 1000]);
        }
        server.await.unwrap()
    })
    .unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn connect_to_missing_path_fails() {
    let dir = temp_dir("missing");
    tulipa::run(async {
        let err = UnixStream::connect(dir.join("nope")).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn pair_split_and_reunite() {
    tulipa::run(async {
        let (a, mut b) = UnixStream::pair()?;
        let (mut rd, mut wr) = a.into_split();
        wr.write_all(b"abc").await?;
        let mut buf = [0; 3];
        b.read_exact(&mut buf).await?;
        b.write_all(b"xyz").await?;
        rd.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"xyz");
        let a = rd.reunite(wr).unwrap();
        let (mut r, mut w) = a.split();
        w.write_all(b"1").await?;
        b.read_exact(&mut buf[..1]).await?;
        b.write_all(b"2").await?;
        r.read_exact(&mut buf[..1]).await?;
        assert_eq!(buf[0], b'2');
        let std = a.into_std()?;
        let again = UnixStream::try_from(std)?;
        drop(again);
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await?;
        assert!(rest.is_empty());
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn datagrams_pair_bound_and_unbound() {
    let dir = temp_dir("dgram");
    tulipa::run(async {
        let (a, b) = UnixDatagram::pair()?;
        a.send(b"one").await?;
        a.send(b"two").await?;
        let mut buf = [0; 8];
        let n = b.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"one");
        let n = b.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"two");

        let server_path = dir.join("server");
        let server = UnixDatagram::bind(&server_path)?;
        let client_path = dir.join("client");
        let client = UnixDatagram::bind(&client_path)?;
        client.send_to(b"hello", &server_path).await?;
        let (n, from) = server.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(from.as_pathname(), Some(client_path.as_path()));
        server.send_to(b"back", from.as_pathname().unwrap()).await?;
        let n = client.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"back");

        let anon = UnixDatagram::unbound()?;
        anon.send_to(b"anon", &server_path).await?;
        let (n, from) = server.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"anon");
        assert!(from.is_unnamed());
        anon.connect(&server_path)?;
        anon.send(b"c").await?;
        assert_eq!(server.recv(&mut buf).await?, 1);

        let err = anon.send_to(b"x", dir.join("nobody")).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let std: std::os::unix::net::UnixDatagram = server.try_into()?;
        assert!(std.local_addr()?.as_pathname().is_some());
        io::Result::Ok(())
    })
    .unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
