//! The Linux packages as a user gets them: the .deb installed by apt-get, the installed app started,
//! the package purged, and the .rpm compared with the .deb. Each test is one stage of
//! `src-tauri/scripts/package-test.sh`, which builds the packages, installs and removes the .deb
//! around these checks, and passes what they need by environment:
//!
//! - `PARLEY_DEB`, `PARLEY_RPM`: the built packages; `PARLEY_EXPECTED_VERSION`: their version;
//! - `PARLEY_INSTALLED_APP`: the installed binary (`/usr/bin/parley`);
//! - `PARLEY_INSTALLED_FILES`: `dpkg -L parley` taken right after the install;
//! - `PARLEY_USER_HOME`: the HOME the installed app ran with (kept for the removal check).
//!
//! Not run by `cargo test --workspace` (`test = false`): it needs root, the installed package and
//! the order the script gives. Run: `bash src-tauri/scripts/package-test.sh`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use parley_tests::window::{app_environment, require_display, x11, Driver, Window, UI_TIMEOUT};
use parley_tests::{cli_binary, rows, sandbox_config, Cli, World};
use serde_json::Value;

/// The package's name for dpkg and rpm.
const PACKAGE: &str = "parley";
/// The binary's name, in /usr/bin and in the icon file names.
const BINARY: &str = "parley";
/// Where the bundler puts the icons.
const HICOLOR: &str = "/usr/share/icons/hicolor";
/// Libraries the window cannot do without; the Depends must name a package for each.
const REQUIRED_DEPENDS: &[&str] = &["libwebkit2gtk-4.1-0", "libgtk-3-0"];
/// What the .rpm must require: the window's libraries by soname (as rpm generates them from the
/// binary), and the tray's library by Fedora's package name (opened at run time, so declared).
const REQUIRED_REQUIRES: &[&str] = &[
    "libwebkit2gtk-4.1.so.0()(64bit)",
    "libgtk-3.so.0()(64bit)",
    "libayatana-appindicator-gtk3",
];
/// Libraries the binary opens at run time (dlopen, so `ldd` does not list them): the tray icon's,
/// either of which will do. Without one there is no tray and no unread count in it.
const DLOPENED_TRAY_LIBRARIES: &[&str] =
    &["libayatana-appindicator3.so.1", "libappindicator3.so.1"];
/// Fewer colours than this in a capture of the window means it is blank (one colour) or nearly so.
const MIN_WINDOW_COLOURS: usize = 64;

/// The value of environment variable `name`, or a failure saying who sets it.
fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run this through bash src-tauri/scripts/package-test.sh")
    })
}

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(env(name))
}

/// Runs `program args`, returning its output; a failure to start names the Debian package to install.
fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (see deps.sh's TEST_PACKAGES): {e}"))
}

/// Runs `program args` and returns its stdout, failing with its stderr unless it exits 0.
fn stdout_of(program: &str, args: &[&str]) -> String {
    let output = run(program, args);
    assert!(
        output.status.success(),
        "`{program} {}` failed ({}): {}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `BINARY --version`'s output, checked against the expected version.
fn assert_version(binary: &Path, expected: &str) {
    let output = Command::new(binary)
        .arg("--version")
        .env_remove("DISPLAY")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    assert!(
        output.status.success(),
        "{} --version: {output:?}",
        binary.display()
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("parley {expected}\n"),
        "{} --version",
        binary.display()
    );
}

/// Checks a .desktop file with `desktop-file-validate` (errors and warnings both fail) and returns its
/// `[Desktop Entry]` keys.
fn validate_desktop_entry(path: &Path) -> HashMap<String, String> {
    let shown = path.to_str().expect("a UTF-8 path");
    let output = run("desktop-file-validate", &[shown]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && !said.contains("error:") && !said.contains("warning:"),
        "desktop-file-validate {shown}: {said}"
    );
    let text = std::fs::read_to_string(path).expect("read the .desktop file");
    let entry: HashMap<String, String> = text
        .lines()
        .skip_while(|line| line.trim() != "[Desktop Entry]")
        .skip(1)
        .take_while(|line| !line.starts_with('['))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .collect();
    for (key, wanted) in [
        ("Type", "Application"),
        ("Name", "Parley"),
        ("Icon", BINARY),
    ] {
        assert_eq!(
            entry.get(key).map(String::as_str),
            Some(wanted),
            "{key} in {shown}:\n{text}"
        );
    }
    let exec = entry.get("Exec").map(String::as_str).unwrap_or_default();
    assert_eq!(
        exec.split_whitespace().next(),
        Some(BINARY),
        "Exec in {shown}:\n{text}"
    );
    entry
}

/// The PNG icons tauri.conf.json lists: (file, width, height, high density).
fn configured_png_icons() -> Vec<(PathBuf, u32, u32, bool)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tauri.conf.json")).expect("read tauri.conf.json"),
    )
    .expect("tauri.conf.json is JSON");
    let icons = config["bundle"]["icon"].as_array().expect("bundle.icon");
    icons
        .iter()
        .filter_map(Value::as_str)
        .filter(|name| name.ends_with(".png"))
        .map(|name| {
            let path = root.join(name);
            let png = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is not a PNG");
            let width = u32::from_be_bytes(png[16..20].try_into().expect("4 bytes"));
            let height = u32::from_be_bytes(png[20..24].try_into().expect("4 bytes"));
            (path, width, height, name.contains("@2x"))
        })
        .collect()
}

/// Every configured PNG icon is installed under `root` (`/` or an unpacked package) in its hicolor
/// size folder, byte for byte; returns the installed paths (relative to `root`).
fn assert_icons(root: &Path, listed: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    for (source, width, height, high_density) in configured_png_icons() {
        let suffixes: &[&str] = if high_density { &["@2", "@2x"] } else { &[""] };
        let candidates: Vec<String> = suffixes
            .iter()
            .map(|suffix| format!("{HICOLOR}/{width}x{height}{suffix}/apps/{BINARY}.png"))
            .collect();
        let installed = candidates
            .iter()
            .find(|path| listed.contains(*path))
            .unwrap_or_else(|| {
                panic!(
                    "{} ({width}x{height}) is not in the package as any of {candidates:?}; its icons: {:?}",
                    source.display(),
                    listed.iter().filter(|p| p.starts_with(HICOLOR)).collect::<Vec<_>>()
                )
            });
        let on_disk = root.join(installed.trim_start_matches('/'));
        assert_eq!(
            std::fs::read(&on_disk).unwrap_or_else(|e| panic!("{}: {e}", on_disk.display())),
            std::fs::read(&source).expect("read the source icon"),
            "{} differs from {}",
            on_disk.display(),
            source.display()
        );
        found.push(installed.clone());
    }
    found
}

/// One clause of a Depends line: its alternatives' package names (versions and arch dropped).
fn dependency_clauses(field: &str) -> Vec<Vec<String>> {
    field
        .split(',')
        .map(str::trim)
        .filter(|clause| !clause.is_empty())
        .map(|clause| {
            clause
                .split('|')
                .map(|alternative| {
                    let name = alternative.split_whitespace().next().unwrap_or_default();
                    name.split(':').next().unwrap_or_default().to_string()
                })
                .collect()
        })
        .collect()
}

/// What dpkg knows of every installed package: its Depends/Pre-Depends clauses, and the virtual
/// packages it provides.
struct InstalledPackages {
    depends: HashMap<String, Vec<Vec<String>>>,
    provided_by: HashMap<String, Vec<String>>,
}

impl InstalledPackages {
    fn read() -> InstalledPackages {
        let listing = stdout_of(
            "dpkg-query",
            &[
                "-W",
                "-f=${Package}\t${db:Status-Status}\t${Depends}, ${Pre-Depends}\t${Provides}\n",
            ],
        );
        let mut depends = HashMap::new();
        let mut provided_by: HashMap<String, Vec<String>> = HashMap::new();
        for line in listing.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() != 4 || fields[1] != "installed" {
                continue;
            }
            for provided in dependency_clauses(fields[3]).into_iter().flatten() {
                provided_by
                    .entry(provided)
                    .or_default()
                    .push(fields[0].to_string());
            }
            depends.insert(fields[0].to_string(), dependency_clauses(fields[2]));
        }
        InstalledPackages {
            depends,
            provided_by,
        }
    }

    /// The installed packages that satisfy `name` (itself, or what provides it).
    fn satisfying(&self, name: &str) -> Vec<String> {
        let mut found: Vec<String> = self.provided_by.get(name).cloned().unwrap_or_default();
        if self.depends.contains_key(name) {
            found.push(name.to_string());
        }
        found
    }

    /// Every installed package reachable from `clauses` through Depends and Pre-Depends; panics
    /// naming a clause no installed package satisfies.
    fn closure(&self, clauses: &[Vec<String>]) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<Vec<String>> = clauses.iter().cloned().collect();
        while let Some(clause) = queue.pop_front() {
            let satisfied: Vec<String> = clause
                .iter()
                .flat_map(|name| self.satisfying(name))
                .collect();
            assert!(
                !satisfied.is_empty() || !clauses.contains(&clause),
                "the package's dependency {clause:?} is not installed"
            );
            for package in satisfied {
                if seen.insert(package.clone()) {
                    queue.extend(self.depends[&package].iter().cloned());
                }
            }
        }
        seen
    }
}

/// The shared libraries `ldd` resolves for `binary`; fails on any "not found".
fn linked_libraries(binary: &Path) -> Vec<PathBuf> {
    let listing = stdout_of("ldd", &[binary.to_str().expect("a UTF-8 path")]);
    let missing: Vec<&str> = listing
        .lines()
        .filter(|l| l.contains("not found"))
        .collect();
    assert!(
        missing.is_empty(),
        "ldd {}: missing libraries: {missing:#?}",
        binary.display()
    );
    listing
        .lines()
        .filter_map(|line| line.split("=>").nth(1))
        .filter_map(|target| target.split_whitespace().next())
        .filter(|path| path.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// The package that owns each library (`dpkg -S`, trying the path as linked, its real path, and the
/// other side of the /usr merge), or a failure naming the libraries no package owns.
fn owning_packages(libraries: &[PathBuf]) -> BTreeMap<PathBuf, String> {
    let mut candidates: BTreeMap<String, PathBuf> = BTreeMap::new();
    for library in libraries {
        let real = std::fs::canonicalize(library).unwrap_or_else(|_| library.clone());
        for path in [library.clone(), real] {
            let text = path.to_string_lossy().into_owned();
            let merged = match text.strip_prefix("/usr") {
                Some(rest) => rest.to_string(),
                None => format!("/usr{text}"),
            };
            candidates.insert(text, library.clone());
            candidates.insert(merged, library.clone());
        }
    }
    let paths: Vec<&str> = candidates.keys().map(String::as_str).collect();
    let mut args = vec!["-S"];
    args.extend(paths);
    // Exits 1 when some candidate is unknown, which most of the merged variants are.
    let output = run("dpkg", &args);
    let mut owners = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some((package, path)) = line.split_once(": ") {
            if let Some(library) = candidates.get(path.trim()) {
                let name = package.split(':').next().unwrap_or(package);
                owners.insert(library.clone(), name.to_string());
            }
        }
    }
    let unowned: Vec<&PathBuf> = libraries
        .iter()
        .filter(|l| !owners.contains_key(*l))
        .collect();
    assert!(unowned.is_empty(), "no Debian package owns {unowned:?}");
    owners
}

/// A field of the .deb's control file.
fn deb_field(deb: &Path, field: &str) -> String {
    stdout_of(
        "dpkg-deb",
        &["-f", deb.to_str().expect("a UTF-8 path"), field],
    )
    .trim()
    .to_string()
}

/// `dpkg -L parley` as a set of paths.
fn installed_paths() -> BTreeSet<String> {
    stdout_of("dpkg", &["-L", PACKAGE])
        .lines()
        .map(str::to_string)
        .collect()
}

/// Stage 3: what the installed .deb put in place.
#[test]
fn deb_installed_files() {
    let deb = env_path("PARLEY_DEB");
    let version = env("PARLEY_EXPECTED_VERSION");
    let app = env_path("PARLEY_INSTALLED_APP");

    assert_eq!(deb_field(&deb, "Package"), PACKAGE);
    assert_eq!(deb_field(&deb, "Version"), version, "the .deb's Version");
    let status = stdout_of("dpkg-query", &["-W", "-f=${Status} ${Version}", PACKAGE]);
    assert_eq!(
        status,
        format!("install ok installed {version}"),
        "dpkg's record"
    );

    let listed = installed_paths();
    let app_text = app.to_str().expect("a UTF-8 path");
    assert!(
        listed.contains(app_text),
        "{app_text} is not among dpkg -L {PACKAGE}: {listed:#?}"
    );
    assert_version(&app, &version);
    println!("{app_text} --version: parley {version}");

    let desktop: Vec<&String> = listed
        .iter()
        .filter(|p| p.starts_with("/usr/share/applications/") && p.ends_with(".desktop"))
        .collect();
    assert_eq!(desktop.len(), 1, "one .desktop entry, found {desktop:?}");
    let entry = validate_desktop_entry(Path::new(desktop[0]));
    println!(
        "{}: valid; Exec={}, Categories={}",
        desktop[0],
        entry["Exec"],
        entry.get("Categories").map_or("", String::as_str)
    );

    let icons = assert_icons(Path::new("/"), &listed);
    println!("icons: {icons:?}");

    check_depends(&deb, &app);
}

/// The Depends name the window's libraries, all are installed, and every library the binary links
/// comes from a package they pull in (so a machine without our build packages has them too).
fn check_depends(deb: &Path, app: &Path) {
    let depends = deb_field(deb, "Depends");
    let clauses = dependency_clauses(&depends);
    for required in REQUIRED_DEPENDS {
        assert!(
            clauses
                .iter()
                .any(|clause| clause.iter().any(|name| name == required)),
            "Depends lacks {required}: {depends}"
        );
    }
    let installed = InstalledPackages::read();
    let closure = installed.closure(&clauses);
    println!(
        "Depends: {depends} ({} packages with theirs)",
        closure.len()
    );

    let libraries = linked_libraries(app);
    let owners = owning_packages(&libraries);
    let outside: Vec<String> = owners
        .iter()
        .filter(|(_, package)| !closure.contains(*package))
        .map(|(library, package)| format!("{} ({package})", library.display()))
        .collect();
    assert!(
        outside.is_empty(),
        "linked libraries whose packages the Depends do not pull in: {outside:#?}"
    );
    println!(
        "ldd: {} libraries, all found, all from packages the Depends pull in",
        libraries.len()
    );
    check_tray_library(&closure, &depends);
}

/// The tray's library (opened at run time) comes from a package the Depends pull in.
fn check_tray_library(closure: &BTreeSet<String>, depends: &str) {
    let patterns: Vec<String> = DLOPENED_TRAY_LIBRARIES
        .iter()
        .map(|name| format!("*/{name}"))
        .collect();
    let mut args = vec!["-S"];
    args.extend(patterns.iter().map(String::as_str));
    let owners = String::from_utf8_lossy(&run("dpkg", &args).stdout).into_owned();
    let pulled_in: Vec<&str> = owners
        .lines()
        .filter_map(|line| line.split(':').next())
        .filter(|package| closure.contains(*package))
        .collect();
    assert!(
        !pulled_in.is_empty(),
        "none of {DLOPENED_TRAY_LIBRARIES:?} (the tray, opened at run time) comes from a package \
         the Depends ({depends}) pull in; installed here from: {owners}"
    );
    println!("tray library from {}", pulled_in[0]);
}

/// Stage 4: the installed app starts on a user's data folder (the OS default under the user's HOME,
/// filled by parley-cli from the sandbox) and its window paints the inbox.
#[test]
fn installed_app_paints_its_window() {
    require_display();
    let app = env_path("PARLEY_INSTALLED_APP");
    let home = env_path("PARLEY_USER_HOME");
    let data_dir = home.join(".local/share/parley");
    std::fs::create_dir_all(&data_dir).expect("create the user's data folder");

    let world = World::start(sandbox_config(7, 24, 4));
    let cli = Cli::new(
        cli_binary(),
        data_dir.clone(),
        home.clone(),
        world.transcript().clone(),
    );
    world.add_account(&cli, "acme", &[]).assert_ok();
    rows::sync(&cli, "acme");
    let listed = rows::conversations(&cli, Some("acme"));

    // No PARLEY_DATA_DIR: the installed app finds the folder where a user's would be.
    let mut environment: Vec<(String, PathBuf)> = app_environment(&data_dir, &home)
        .into_iter()
        .filter(|(name, _)| name != "PARLEY_DATA_DIR")
        .collect();
    environment.push(("PARLEY_LOCALE".to_string(), "en".into()));
    let driver = Driver::start(&environment, &world.root().join("tauri-driver.log"));
    let started = Instant::now();
    let window = world.block_on(Window::open(&driver, &app));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        world.block_on(check_painted_window(&window, &app, listed.len()))
    }));
    if outcome.is_err() {
        eprintln!("--- tauri-driver / app log ---\n{}", driver.log_text());
    }
    println!("window painted and checked in {:.1?}", started.elapsed());
    world.block_on(window.close());
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    assert!(
        data_dir.join("parley.db").is_file(),
        "no parley.db in {}",
        data_dir.display()
    );
    assert!(
        data_dir.join("logs/app.log").is_file(),
        "the installed app wrote no logs/app.log in {}",
        data_dir.display()
    );
}

/// The page marked `inbox-painted` with the user's conversations, the X window belongs to the
/// installed binary, and a capture of it is not blank.
async fn check_painted_window(window: &Window, app: &Path, conversations: usize) {
    window
        .wait_for(
            "the inbox to paint (performance mark inbox-painted)",
            "return performance.getEntriesByName('inbox-painted').length > 0;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    assert_eq!(
        window.conversation_total().await,
        conversations,
        "conversations in the inbox"
    );
    window.settle().await;
    window.screenshot("installed-package").await;

    let id = x11::wait_for_window("Parley", "Parley", |name| name.starts_with("Parley"));
    let pid = x11::xdotool(&["getwindowpid", &id]).trim().to_string();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("the window's process");
    assert_eq!(
        exe,
        app,
        "the window belongs to {}, not the installed app",
        exe.display()
    );
    let capture = parley_tests::window::screenshot_dir().join("installed-package-x11.png");
    let capture_text = capture.to_str().expect("a UTF-8 path");
    stdout_of("import", &["-window", &id, capture_text]);
    let colours: usize = stdout_of("identify", &["-format", "%k", capture_text])
        .trim()
        .parse()
        .expect("a colour count");
    let (_, _, width, height) = x11::geometry(&id);
    assert!(
        colours >= MIN_WINDOW_COLOURS,
        "the X window {id} ({width}x{height}) shows {colours} colours: blank? {capture_text}"
    );
    println!(
        "X window {id} of {} ({width}x{height}): {colours} colours, {capture_text}",
        exe.display()
    );
}

/// Stage 6: after `apt-get purge`, nothing the package installed is left, and the user's data is.
#[test]
fn deb_removed_cleanly() {
    let before = env_path("PARLEY_INSTALLED_FILES");
    let home = env_path("PARLEY_USER_HOME");
    let app = env_path("PARLEY_INSTALLED_APP");

    let status = run("dpkg-query", &["-W", "-f=${db:Status-Abbrev}", PACKAGE]);
    let abbrev = String::from_utf8_lossy(&status.stdout).trim().to_string();
    assert!(
        !status.status.success() || abbrev.is_empty() || abbrev.starts_with("un"),
        "dpkg still knows {PACKAGE} as '{abbrev}' (not purged)"
    );
    assert!(!app.exists(), "{} is still there", app.display());

    let listed = std::fs::read_to_string(&before).expect("read the dpkg -L list");
    let mut left = Vec::new();
    for path in listed.lines().map(Path::new).filter(|p| p.exists()) {
        if path.is_dir() && owned_by_another_package(path) {
            continue;
        }
        left.push(path.display().to_string());
    }
    assert!(
        left.is_empty(),
        "left after apt-get purge {PACKAGE}: {left:#?}"
    );
    println!(
        "purged: none of the {} paths it installed is left",
        listed.lines().count()
    );

    let data_dir = home.join(".local/share/parley");
    let database = std::fs::read(data_dir.join("parley.db")).unwrap_or_else(|e| {
        panic!(
            "the user's data folder lost parley.db ({}): {e}",
            data_dir.display()
        )
    });
    assert!(
        database.starts_with(b"SQLite format 3\0"),
        "parley.db is no longer a database"
    );
    println!(
        "the user's data folder {} is still there",
        data_dir.display()
    );
}

/// Whether `dpkg -S` names a package for the folder (so it stays for that package's sake).
fn owned_by_another_package(path: &Path) -> bool {
    let output = run("dpkg", &["-S", path.to_str().expect("a UTF-8 path")]);
    output.status.success()
}

/// Stage 7: the .rpm holds what the .deb does (the same files, the same icons and .desktop entry, a
/// binary of the same version) and requires the window's libraries by Fedora's names.
#[test]
fn rpm_matches_deb() {
    let deb = env_path("PARLEY_DEB");
    let rpm = env_path("PARLEY_RPM");
    let version = env("PARLEY_EXPECTED_VERSION");
    let rpm_text = rpm.to_str().expect("a UTF-8 path");

    let name_version = stdout_of(
        "rpm",
        &["-qp", "--queryformat", "%{NAME} %{VERSION}", rpm_text],
    );
    assert_eq!(
        name_version,
        format!("{PACKAGE} {version}"),
        "the .rpm's name and version"
    );

    let scratch = tempfile::tempdir().expect("a temp dir");
    let deb_root = scratch.path().join("deb");
    let rpm_root = scratch.path().join("rpm");
    stdout_of(
        "dpkg-deb",
        &[
            "-x",
            deb.to_str().expect("a UTF-8 path"),
            deb_root.to_str().expect("UTF-8"),
        ],
    );
    unpack_rpm(&rpm, &rpm_root);

    let deb_files = regular_files(&deb_root);
    let rpm_files = regular_files(&rpm_root);
    let listed: BTreeSet<String> = stdout_of("rpm", &["-qlp", rpm_text])
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        rpm_files.iter().all(|f| listed.contains(f)),
        "rpm -qlp {listed:#?} vs its payload {rpm_files:#?}"
    );
    assert_eq!(
        rpm_files, deb_files,
        "the .rpm's files (left) and the .deb's (right)"
    );

    let binary = format!("/usr/bin/{BINARY}");
    assert_version(&rpm_root.join(binary.trim_start_matches('/')), &version);
    let desktop: Vec<&String> = rpm_files
        .iter()
        .filter(|f| f.ends_with(".desktop"))
        .collect();
    assert_eq!(
        desktop.len(),
        1,
        "one .desktop entry in the .rpm: {desktop:?}"
    );
    validate_desktop_entry(&rpm_root.join(desktop[0].trim_start_matches('/')));
    let icons = assert_icons(&rpm_root, &rpm_files);
    for file in rpm_files.iter().filter(|f| **f != binary) {
        let (a, b) = (rpm_root.join(&file[1..]), deb_root.join(&file[1..]));
        assert!(
            std::fs::read(&a).expect("read") == std::fs::read(&b).expect("read"),
            "{file} differs between the .rpm and the .deb"
        );
    }
    println!(
        "rpm: {} files, the .deb's; {binary} --version {version}; .desktop valid; icons {icons:?}",
        rpm_files.len()
    );

    let requires = stdout_of("rpm", &["-qp", "--requires", rpm_text]);
    for required in REQUIRED_REQUIRES {
        assert!(
            requires
                .lines()
                .any(|line| line.split_whitespace().next() == Some(*required)),
            "the .rpm does not require {required}:\n{requires}"
        );
    }
    let depends = dependency_clauses(&deb_field(&deb, "Depends"));
    let debian_names: Vec<&str> = requires
        .lines()
        .filter(|line| {
            let name = line.split_whitespace().next().unwrap_or_default();
            name.ends_with("-dev") || depends.iter().flatten().any(|debian| debian == name)
        })
        .collect();
    assert!(
        debian_names.is_empty(),
        "Requires with Debian or -dev names: {debian_names:?}"
    );
    println!(
        "rpm Requires: {}",
        requires.lines().collect::<Vec<_>>().join(", ")
    );
}

/// Unpacks the .rpm's payload into `root` with rpm2cpio and cpio.
fn unpack_rpm(rpm: &Path, root: &Path) {
    std::fs::create_dir_all(root).expect("create the unpack folder");
    let command = format!(
        "rpm2cpio '{}' | cpio -idm --quiet --no-absolute-filenames",
        rpm.display()
    );
    let status = Command::new("sh")
        .args(["-c", &command])
        .current_dir(root)
        .status()
        .expect("run rpm2cpio | cpio (deps.sh installs rpm and cpio)");
    assert!(status.success(), "`{command}` failed: {status}");
}

/// The regular files and symlinks under `root`, as absolute paths of the installed system.
fn regular_files(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read an unpacked folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() && !path.is_symlink() {
                folders.push(path);
            } else {
                let relative = path.strip_prefix(root).expect("under root");
                found.insert(format!("/{}", relative.display()));
            }
        }
    }
    found
}
