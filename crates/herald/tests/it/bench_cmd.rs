//! `herald bench` as a person runs it: a small burst on SQLite ends in one JSON line holding every
//! figure, and a run it cannot make fails at once with one line saying what to fix.

use std::process::{Command, Output};

use serde_json::Value;

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("bench")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn a_small_burst_on_sqlite_prints_every_figure_on_one_json_line_with_nothing_early() {
    let out = bench(&["--backend", "sqlite", "--posts", "50", "--accounts", "5"]);
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{progress}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (
            &report["bench"],
            &report["backend"],
            &report["processes"],
            &report["n"]
        ),
        (
            &Value::from("burst"),
            &Value::from("sqlite"),
            &Value::from(1),
            &Value::from(50)
        ),
        "{report}"
    );
    assert_eq!(report["drained"], 50, "every post reached the sandbox: {report}");
    assert_eq!(report["duplicates"], 0, "{report}");
    assert_eq!(report["early"], 0, "no post before its time: {report}");
    for figure in ["drain_per_sec", "ceiling_per_sec", "share_of_ceiling"] {
        assert!(
            report[figure].as_f64().is_some_and(|v| v > 0.0),
            "{figure}: {report}"
        );
    }
    for figure in ["first", "p50", "p99", "max"] {
        assert!(
            report["lateness_ms"][figure].as_f64().is_some_and(|v| v >= 0.0),
            "lateness {figure}: {report}"
        );
    }
    assert_eq!(report["durability"]["journal_mode"], "wal", "{report}");
    assert!(report["durability"]["synchronous"].is_string(), "{report}");
    let memory = report["rss_mb"].as_array().unwrap();
    assert_eq!(memory.len(), 1, "one process on SQLite: {report}");
    assert_eq!(memory[0]["role"], "serve");
    if cfg!(target_os = "linux") {
        for figure in ["idle", "peak"] {
            assert!(
                memory[0][figure].as_f64().is_some_and(|v| v > 0.0),
                "memory {figure}: {report}"
            );
        }
        assert!(report["sandbox_peak_rss_mb"].is_number(), "{report}");
    }
}

#[test]
fn a_run_it_cannot_make_fails_at_once_with_one_line_saying_what_to_fix() {
    for (args, says) in [
        (
            &["--backend", "sqlite", "--processes", "2"][..],
            "--backend postgres",
        ),
        (&["--backend", "postgres"][..], "--database-url"),
        (
            &["--backend", "sqlite", "--database-url", "postgres://127.0.0.1/x"][..],
            "--backend postgres",
        ),
    ] {
        let out = bench(args);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(says),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
