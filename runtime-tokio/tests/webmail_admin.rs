//! The admin area over real sockets: only accounts marked admin reach it;
//! it lists the queue and the accounts, adds accounts, resets passwords,
//! disables accounts (which then cannot log in), flushes the queue, and
//! refuses forms without the session's token.

mod support;

use support::imap::assert_lines;
use support::postern;
use support::web::{ALICE, ALICE_PASSWORD, BOB, BOB_PASSWORD, WebWorld};

#[test]
fn an_admin_manages_the_queue_and_the_accounts_and_others_may_not() {
    let world = WebWorld::start();
    let out = world.web("login", &[BOB, BOB_PASSWORD]);
    assert_lines(&out, &["login bob@example.test: 303", "admin page: 403"]);
    let made = postern()
        .args(["user", "admin", ALICE, "on", "--config"])
        .arg(world.server.config_path())
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let out = world.web("admin", &[ALICE, ALICE_PASSWORD]);
    assert_lines(
        &out,
        &[
            "admin page: 200",
            "lists queue header: True",
            "account: alice@example.test",
            "account: bob@example.test",
            "add: 303",
            "add location: /admin?done=added dave@example.test",
            "short location: /admin?problem=not added: the new password is too short",
            "disable location: /admin?done=bob@example.test is disabled",
            "reset location: /admin?done=changed the password of dave@example.test",
            "flush location: /admin?done=",
            "delete location: /admin?problem=\"nonsense\" is not a queue ID",
            "flush with another token: 403",
        ],
    );
    // Bob is disabled: his right password no longer logs him in.
    let out = world.web("login", &[BOB, BOB_PASSWORD]);
    assert_lines(&out, &["login bob@example.test: 403"]);
    // Dave logs in with the password the admin set.
    let out = world.web("login", &["dave@example.test", "dave second password"]);
    assert_lines(&out, &["login dave@example.test: 303"]);
    assert!(world.server.log().contains("admin alice@example.test"));
}
