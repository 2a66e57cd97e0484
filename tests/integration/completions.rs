//! `shipfront completions SHELL`: a script for every shell clap_complete knows, and bash's
//! loads in bash and completes the subcommands and flags.

use std::process::{Command, Stdio};

use crate::harness::World;

#[test]
fn every_shell_gets_a_completion_script_and_bash_loads_its_own() {
    let world = World::new("completions");
    let completions = |shell| world.shipfront_without_bucket("completions").args(&[shell]);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = completions(shell).ok();
        assert!(
            run.stdout.len() > 1000 && run.stdout.contains("shipfront"),
            "{shell}: {} bytes",
            run.stdout.len()
        );
        // Fish writes `-l distribution-id`, the others `--distribution-id`.
        for flag in ["distribution-id", "force-headers", "spa-fallback"] {
            assert!(run.stdout.contains(flag), "{shell} lacks {flag}");
        }
    }

    let bash = completions("bash").ok().stdout;
    let script = world.workdir.path().join("shipfront.bash");
    std::fs::write(&script, &bash).unwrap();
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // Loaded, it completes `shipfront ro` to the commands that start so.
    let probe = format!(
        "source {}; COMP_WORDS=(shipfront ro); COMP_CWORD=1; COMP_LINE='shipfront ro'; \
         COMP_POINT=12; _shipfront shipfront ro shipfront; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(probe)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let replies = String::from_utf8_lossy(&out.stdout);
    let mut words: Vec<&str> = replies.split_whitespace().collect();
    words.sort_unstable();
    assert_eq!(
        words,
        ["rollback", "routing"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bad = completions("tcsh").run();
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("possible values"), "{}", bad.stderr);
}
