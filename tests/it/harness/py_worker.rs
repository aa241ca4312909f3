//! One long-lived Python interpreter of the comparison venv that runs snippets on
//! request. The cloud tests set up and inspect buckets with boto3 dozens of times each:
//! a fresh `python -c` paid about half a second of imports and model loading every time
//! (far more on a loaded CI machine), the worker pays it once per server.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Reads a length-prefixed snippet, runs it in fresh globals with stdout captured, answers
/// `<ok> <length>\n` and the output (or the traceback when the snippet raised).
const LOOP: &str = "\
import sys, io, contextlib, traceback
inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    header = inp.readline()
    if not header:
        break
    code = inp.read(int(header)).decode()
    captured = io.StringIO()
    ok = 1
    try:
        with contextlib.redirect_stdout(captured):
            exec(compile(code, '<test snippet>', 'exec'), {'__name__': '__snippet__'})
    except BaseException:
        ok = 0
        captured.write(traceback.format_exc())
    data = captured.getvalue().encode()
    out.write(b'%d %d\\n' % (ok, len(data)) + data)
    out.flush()
";

/// A running interpreter; killed on drop.
pub struct PyWorker {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl PyWorker {
    /// Start `python` with `ca_bundle` as `AWS_CA_BUNDLE` when given, its stderr to `log`.
    pub fn start(python: &Path, ca_bundle: Option<&Path>, log: &Path) -> PyWorker {
        let mut cmd = Command::new(python);
        if let Some(ca) = ca_bundle {
            cmd.env("AWS_CA_BUNDLE", ca);
        }
        let mut child = cmd
            .args(["-c", LOOP])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("start the python worker");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        PyWorker {
            child,
            input,
            output,
        }
    }

    /// Run `code`; its stdout, or `Err` with the traceback when it raised.
    pub fn run(&mut self, code: &str) -> Result<String, String> {
        write!(self.input, "{}\n{code}", code.len()).expect("write to the python worker");
        self.input.flush().expect("flush the python worker");
        let mut header = String::new();
        self.output
            .read_line(&mut header)
            .expect("read the python worker");
        let mut words = header.split_whitespace();
        let (Some(ok), Some(len)) = (words.next(), words.next()) else {
            panic!("the python worker ended: {header:?}");
        };
        let mut data = vec![0; len.parse().unwrap()];
        self.output
            .read_exact(&mut data)
            .expect("read the python worker's output");
        let text = String::from_utf8_lossy(&data).into_owned();
        if ok == "1" {
            Ok(text)
        } else {
            Err(text)
        }
    }
}

impl Drop for PyWorker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
