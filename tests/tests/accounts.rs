//! Acceptance: accounts are listed as added (companies filtered by `--company-id`), and
//! `account remove` deletes the keyring entry and the account's cached rows, leaving others intact.

use parley_tests::rows::{self, accounts, SearchHit, SyncReport};
use parley_tests::store::{databases, keyring_labels, tables_containing};
use parley_tests::{sandbox_config, World};

const ALPHA: &str = "rm-alpha";
const BETA: &str = "rm-beta";
const RARE: &str = "zanzibarquokka";

#[test]
fn account_remove_deletes_keyring_entry_and_cache() {
    let world = World::start(sandbox_config(9_090, 8, 4));
    let sandbox = world.sandbox();
    let cli = world.cli();
    let companies = sandbox.companies();
    let (first, second) = (companies[0].id.to_string(), companies[1].id.to_string());
    world
        .add_account(&cli, ALPHA, &["--company-id", &first])
        .assert_ok();
    world
        .add_account(&cli, BETA, &["--company-id", &second])
        .assert_ok();

    let listed = accounts(&cli);
    let names: Vec<&str> = listed.iter().map(|a| a.name.as_str()).collect();
    assert!(
        names.contains(&ALPHA) && names.contains(&BETA),
        "account list: {listed:?}"
    );
    for account in &listed {
        assert_eq!(account.provider, "pact-p1");
        assert_eq!(account.base_url, world.base_url());
    }
    let alpha = listed.iter().find(|a| a.name == ALPHA).unwrap();
    assert_eq!(
        alpha.companies,
        vec![companies[0].id],
        "--company-id was not kept"
    );
    let by_env = cli.clone().with_data_dir_in_env();
    assert_eq!(
        accounts(&by_env),
        listed,
        "PARLEY_DATA_DIR does not select the same data dir"
    );

    let reports: Vec<SyncReport> = cli.ok(&["sync", "--json"]).parse_lines();
    let mut synced: Vec<&str> = reports.iter().map(|r| r.account.as_str()).collect();
    synced.sort();
    assert_eq!(
        synced,
        [ALPHA, BETA],
        "sync --json of all accounts: one line per account"
    );

    let shown = rows::conversations(&cli, None);
    assert!(shown
        .iter()
        .filter(|r| r.account == ALPHA)
        .all(|r| r.company_id == companies[0].id));
    assert!(shown
        .iter()
        .filter(|r| r.account == BETA)
        .all(|r| r.company_id == companies[1].id));
    let alpha_conversation = shown
        .iter()
        .find(|r| r.account == ALPHA)
        .expect("alpha has conversations")
        .id;
    sandbox.push_incoming_message(alpha_conversation, &format!("only alpha knows the {RARE}"));
    rows::sync(&cli, ALPHA);
    let hits: Vec<SearchHit> = cli.json(&["search", RARE, "--json"]);
    assert_eq!(hits.len(), 1, "the rare word before removal: {hits:?}");
    let beta_before = rows::conversations(&cli, Some(BETA));

    let before = keyring_labels();
    cli.ok(&["account", "remove", ALPHA]);
    let after = keyring_labels();
    let removed: Vec<&String> = before
        .iter()
        .filter(|label| !after.contains(label))
        .collect();
    assert_eq!(
        removed.len(),
        1,
        "removing one account should delete exactly one keyring entry (service parley); \
         before: {before:?}, after: {after:?}"
    );
    assert!(
        after.iter().all(|label| before.contains(label)),
        "removal added keyring entries?"
    );

    let listed = accounts(&cli);
    assert!(
        listed.iter().all(|a| a.name != ALPHA),
        "still listed: {listed:?}"
    );
    let shown = rows::conversations(&cli, None);
    assert!(
        shown.iter().all(|r| r.account != ALPHA),
        "{ALPHA}'s conversations are still shown"
    );
    assert_eq!(
        rows::conversations(&cli, Some(BETA)),
        beta_before,
        "{BETA}'s rows changed"
    );
    let hits: Vec<SearchHit> = cli.json(&["search", RARE, "--json"]);
    assert!(
        hits.is_empty(),
        "search still finds {ALPHA}'s message: {hits:?}"
    );
    for database in databases(cli.data_dir()) {
        let tables = world
            .block_on(tables_containing(&database, RARE))
            .expect("read the cache");
        assert!(
            tables.is_empty(),
            "{ALPHA}'s message text is still cached in {tables:?}"
        );
    }

    let line = cli
        .run(&["sync", "--account", ALPHA])
        .assert_clean_failure();
    assert!(
        line.contains(ALPHA),
        "the error does not name the account: {line:?}"
    );
    let reference = format!("{ALPHA}/{alpha_conversation}");
    cli.run(&["send", &reference, "--text", "to nowhere"])
        .assert_clean_failure();
    // The remaining account's token is still in the keyring: it can sync.
    rows::sync(&cli, BETA);
}
