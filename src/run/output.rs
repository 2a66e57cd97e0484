//! Writing to stdout and stderr without ever panicking: `println!` panics when its reader went
//! away (`shipfront releases | head -1`, a closed CI log pipe). A closed stdout ends the output
//! quietly, not the command, so what the command did and its exit code stand; a closed stderr
//! loses only the message.

use std::io::{ErrorKind, Write};

use crate::core::error::{Error, Result};

/// Runs `write` on stdout; a closed pipe is not an error.
pub(crate) fn to_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match write(&mut stdout).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(Error::Output),
    }
}

/// One line on stdout, for messages; lost if stdout is closed.
pub(crate) fn line(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// One line on stderr; lost if stderr is closed.
pub(crate) fn err_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
