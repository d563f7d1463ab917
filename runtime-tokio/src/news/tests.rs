//! The news store on a real data directory.

use super::*;
use postern_core::nntp::PostingStatus;

fn group(name: &str) -> GroupName {
    GroupName::new(name).unwrap()
}

fn store(dir: &Path) -> NewsStore {
    let mail = MaildirStore::new(dir, "news.test");
    let news = NewsStore::new(dir, "news.test", mail);
    news.set_groups(vec![
        GroupSource {
            name: group("local.general"),
            description: "Anything".to_owned(),
            status: PostingStatus::Allowed,
            expire: Some(Duration::from_secs(3600)),
            location: Location::Local,
            gateway: None,
            send_to: Vec::new(),
        },
        GroupSource {
            name: group("local.announce"),
            description: String::new(),
            status: PostingStatus::Refused,
            expire: None,
            location: Location::Local,
            gateway: None,
            send_to: Vec::new(),
        },
        GroupSource {
            name: group("lists.team"),
            description: "The team list".to_owned(),
            status: PostingStatus::Moderated,
            expire: None,
            location: Location::Archive(LocalMailbox {
                domain: "example.test".to_owned(),
                user: "team".to_owned(),
            }),
            gateway: None,
            send_to: Vec::new(),
        },
    ]);
    news
}

fn article(id: &str, subject: &str) -> Vec<u8> {
    format!("From: a@example.test\r\nNewsgroups: local.general\r\nSubject: {subject}\r\nMessage-ID: {id}\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n").into_bytes()
}

#[tokio::test]
async fn posts_get_increasing_numbers_and_overviews() {
    let dir = tempfile::tempdir().unwrap();
    let news = store(dir.path());
    let empty = news.select(&group("local.general")).await.unwrap().unwrap();
    assert_eq!((empty.0.count, empty.0.low, empty.0.high), (0, 1, 0));
    assert!(empty.1.is_empty());
    let now = UnixTime(1_796_000_000);
    let first = news
        .post(&article("<1@x>", "One"), &[group("local.general")], now)
        .await
        .unwrap();
    let second = news
        .post(
            &article("<2@x>", "Two"),
            &[group("local.general"), group("nope.none")],
            now,
        )
        .await
        .unwrap();
    assert_eq!(first.stored, [(group("local.general"), 1)]);
    assert_eq!(second.stored, [(group("local.general"), 2)]);
    assert!(second.to_lists.is_empty() && second.send_to.is_empty());
    let (summary, numbers) = news.select(&group("local.general")).await.unwrap().unwrap();
    assert_eq!((summary.count, summary.low, summary.high), (2, 1, 2));
    assert_eq!(numbers, [1, 2]);
    let records = news
        .overview(
            &group("local.general"),
            ArticleRange {
                first: 2,
                last: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].number, records[0].subject.as_str()), (2, "Two"));
    assert_eq!(
        news.find("<2@x>").await.unwrap(),
        Some((group("local.general"), 2))
    );
    assert_eq!(
        news.header(
            &group("local.general"),
            ArticleRange {
                first: 1,
                last: Some(1)
            },
            "subject"
        )
        .await
        .unwrap(),
        [(1, "One".to_owned())]
    );
    assert_eq!(
        news.article(&group("local.general"), 1)
            .await
            .unwrap()
            .unwrap(),
        article("<1@x>", "One")
    );
    assert!(
        news.article(&group("local.general"), 9)
            .await
            .unwrap()
            .is_none()
    );
    let fresh = news.new_news(now).await.unwrap();
    assert_eq!(fresh.len(), 2);
    // The group lives in its own Maildir, with no user folders.
    let dir_of_group = dir.path().join("news/groups/local.general");
    assert!(dir_of_group.join("cur").is_dir() || dir_of_group.join("new").is_dir());
    assert!(!dir_of_group.join(".Sent").exists());
}

#[tokio::test]
async fn duplicates_read_only_groups_and_unknown_groups_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let news = store(dir.path());
    let now = UnixTime(1_796_000_000);
    news.post(&article("<1@x>", "One"), &[group("local.general")], now)
        .await
        .unwrap();
    let again = news
        .post(&article("<1@x>", "Again"), &[group("local.general")], now)
        .await;
    assert!(matches!(again, Err(PostError::Duplicate(id)) if id == "<1@x>"));
    let closed = news
        .post(&article("<3@x>", "x"), &[group("local.announce")], now)
        .await;
    assert!(matches!(closed, Err(PostError::ReadOnly(_))));
    let nowhere = news
        .post(&article("<4@x>", "x"), &[group("nope.none")], now)
        .await;
    assert!(matches!(nowhere, Err(PostError::NoSuchGroup(_))));
}

#[tokio::test]
async fn an_archive_group_reads_the_list_mailbox_and_expiry_keeps_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let news = store(dir.path());
    // A post to an archive goes to its list, which archives what it
    // distributes in its own mailbox.
    let archived = article("<a@x>", "Archived");
    let posted = news
        .post(&archived, &[group("lists.team")], UnixTime(1_796_000_000))
        .await
        .unwrap();
    assert_eq!(posted.to_lists, ["team@example.test"]);
    assert!(posted.stored.is_empty());
    let list = LocalMailbox {
        domain: "example.test".to_owned(),
        user: "team".to_owned(),
    };
    news.inner
        .mail_store
        .append(
            &list,
            INBOX,
            archived.as_slice(),
            Flags::EMPTY,
            &Keywords::default(),
            UnixTime(1_796_000_000),
        )
        .await
        .unwrap();
    assert!(dir.path().join("mail/example.test/team").is_dir());
    assert_eq!(
        news.find("<a@x>").await.unwrap(),
        Some((group("lists.team"), 1))
    );
    let groups = news.groups().await.unwrap();
    let team = groups
        .iter()
        .find(|g| g.name == group("lists.team"))
        .unwrap();
    assert_eq!((team.count, team.status), (1, PostingStatus::Moderated));

    let general = group("local.general");
    news.post(
        &article("<old@x>", "Old"),
        std::slice::from_ref(&general),
        UnixTime(1_796_000_000),
    )
    .await
    .unwrap();
    news.post(
        &article("<new@x>", "New"),
        std::slice::from_ref(&general),
        UnixTime(1_796_010_000),
    )
    .await
    .unwrap();
    let expired = news.expire(UnixTime(1_796_010_100)).await.unwrap();
    assert_eq!(expired, [(general.clone(), 1)]);
    let (summary, numbers) = news.select(&general).await.unwrap().unwrap();
    assert_eq!((summary.count, summary.low, summary.high), (1, 2, 2));
    assert_eq!(numbers, [2]);
    news.post(
        &article("<newer@x>", "Newer"),
        std::slice::from_ref(&general),
        UnixTime(1_796_010_200),
    )
    .await
    .unwrap();
    let (_, numbers) = news.select(&general).await.unwrap().unwrap();
    assert_eq!(numbers, [2, 3], "an expired number is never given again");
}

#[tokio::test]
async fn gateways_are_found_by_address_and_news_to_mail_skips_mail() {
    let dir = tempfile::tempdir().unwrap();
    let news = store(dir.path());
    news.set_groups(vec![GroupSource {
        name: group("local.general"),
        description: String::new(),
        status: PostingStatus::Allowed,
        expire: None,
        location: Location::Local,
        gateway: Some("general-news@example.test".to_owned()),
        send_to: vec!["team@example.test".to_owned()],
    }]);
    assert_eq!(
        news.gateway_group("general-news@example.test"),
        Some(group("local.general"))
    );
    assert_eq!(news.gateway_group("other@example.test"), None);
    let now = UnixTime(1_796_000_000);
    let posted = news
        .post(&article("<1@x>", "By news"), &[group("local.general")], now)
        .await
        .unwrap();
    assert_eq!(
        posted.send_to,
        [(group("local.general"), "team@example.test".to_owned())]
    );
    let from_mail = [
        b"X-Postern-Gateway: mail-to-news local.general\r\n".as_slice(),
        &article("<2@x>", "By mail"),
    ]
    .concat();
    let posted = news
        .post(&from_mail, &[group("local.general")], now)
        .await
        .unwrap();
    assert!(posted.send_to.is_empty(), "{posted:?}");
    assert_eq!(posted.stored, [(group("local.general"), 2)]);
}
