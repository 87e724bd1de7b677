"""Running the CLI in-process and checking the bad-input contract: one line, exit code 2, no traceback."""

from __future__ import annotations

from fdsl.cli import main


def run_cli(capsys, *argv):
    """(exit code, stderr stripped); stdout is kept in run_cli.stdout."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    run_cli.stdout = captured.out
    return code, captured.err.strip()


def assert_one_line_error(code, err, *needles):
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("fdsl: error:") and "Traceback" not in err
    for needle in needles:
        assert needle in err, err
