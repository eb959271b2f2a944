//! Looks at what the CLI leaves on disk: SQLite integrity, raw bytes of every file, keyring entries.

use std::path::{Path, PathBuf};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::cli::contains;

/// Every file under `root`, recursively.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(path),
                Ok(kind) if kind.is_file() => found.push(path),
                _ => {}
            }
        }
    }
    found.sort();
    found
}

/// Files under `root` whose bytes contain `needle`.
pub fn files_containing(root: &Path, needle: &[u8]) -> Vec<PathBuf> {
    files_under(root)
        .into_iter()
        .filter(|path| std::fs::read(path).is_ok_and(|bytes| contains(&bytes, needle)))
        .collect()
}

/// The SQLite databases of a data dir (`*.db`, `*.sqlite`, `*.sqlite3`), anywhere under it.
pub fn databases(data_dir: &Path) -> Vec<PathBuf> {
    files_under(data_dir)
        .into_iter()
        .filter(|path| {
            path.extension()
                .and_then(|ext| ext.to_str())
                .is_some_and(|ext| matches!(ext, "db" | "sqlite" | "sqlite3"))
        })
        .collect()
}

/// `PRAGMA integrity_check` of one database opened read-only: the rows it returns.
pub async fn integrity_check(path: &Path) -> Result<Vec<String>, sqlx::Error> {
    let mut connection = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await?;
    let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut connection)
        .await?;
    connection.close().await?;
    Ok(rows.into_iter().map(|(row,)| row).collect())
}

/// Asserts that the data dir has at least one database and every one passes `integrity_check`.
pub fn assert_databases_intact(runtime: &tokio::runtime::Runtime, data_dir: &Path) {
    let found = databases(data_dir);
    assert!(
        !found.is_empty(),
        "no *.db / *.sqlite file under {}: {:?}",
        data_dir.display(),
        files_under(data_dir)
    );
    for path in found {
        let verdict = runtime
            .block_on(integrity_check(&path))
            .unwrap_or_else(|e| panic!("cannot check {}: {e}", path.display()));
        assert_eq!(
            verdict,
            vec!["ok".to_string()],
            "PRAGMA integrity_check of {}",
            path.display()
        );
    }
}

/// The labels of the Secret Service items with `service = parley`, as `secret-tool` lists them
/// (the secrets themselves are never kept).
pub fn keyring_labels() -> Vec<String> {
    let output = std::process::Command::new("secret-tool")
        .args(["search", "--all", "--unlock", "service", "parley"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run secret-tool ({e}): install libsecret-tools to check the keyring")
        });
    let mut labels: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("label = "))
        .map(str::to_string)
        .collect();
    labels.sort();
    labels
}

/// Tables (and columns) of a SQLite database whose text values contain `needle`, opened read-only.
/// Blob values (such as FTS index segments) are skipped; text values are compared as bytes.
pub async fn tables_containing(path: &Path, needle: &str) -> Result<Vec<String>, sqlx::Error> {
    use sqlx::{Column, Row};
    let mut connection = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await?;
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut connection)
            .await?;
    let mut found = Vec::new();
    for (table,) in tables {
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        let Ok(rows) = sqlx::query(&format!("SELECT * FROM {quoted}"))
            .fetch_all(&mut connection)
            .await
        else {
            continue;
        };
        for row in rows {
            for column in row.columns() {
                let value: Option<String> = row.try_get(column.ordinal()).ok().flatten();
                if value.is_some_and(|text| text.contains(needle)) {
                    found.push(format!("{table}.{}", column.name()));
                }
            }
        }
    }
    connection.close().await?;
    found.sort();
    found.dedup();
    Ok(found)
}
