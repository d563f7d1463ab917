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
        },
        GroupSource {
            name: group("local.announce"),
            description: String::new(),
            status: PostingStatus::Refused,
            expire: None,
            location: Location::Local,
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
    assert_eq!(first, [(group("local.general"), 1)]);
    assert_eq!(second, [(group("local.general"), 2)]);
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
    news.post(
        &article("<a@x>", "Archived"),
        &[group("lists.team")],
        UnixTime(1_796_000_000),
    )
    .await
    .unwrap();
    assert!(dir.path().join("mail/example.test/team").is_dir());
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
