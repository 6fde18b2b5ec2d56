"""stage.progress: tqdm's bar on a terminal, plain lines in logs and pipes, nothing when disabled."""
import io

import pytest

from stage.progress import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run(n, **kw):
    out = kw.pop("file", None) or io.StringIO()
    bar = progress(range(n), desc="train", file=out, **kw)
    seen = []
    for i in bar:
        seen.append(i)
        bar.set(loss=1.0 / (i + 1))
    return bar, seen, out.getvalue()


def test_plain_lines_when_not_a_terminal(monkeypatch):
    monkeypatch.delenv("STAGE_PROGRESS", raising=False)
    bar, seen, text = run(25)
    assert bar.mode == "plain" and seen == list(range(25))
    lines = text.splitlines()
    assert len(lines) == 13 and "\r" not in text         # every 2 items (25 // 10), and the last
    assert lines[0].startswith("train 2/25 (8%) ") and "ETA" in lines[0] and "loss 0.5" in lines[0]
    assert lines[-1].startswith("train 25/25 (100%) ") and "loss 0.04" in lines[-1]


def test_tqdm_bar_on_a_terminal(monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.delenv("STAGE_PROGRESS", raising=False)
    bar, seen, text = run(30, file=Terminal())
    assert bar.mode == "bar" and seen == list(range(30))
    assert "train" in text and "30/30" in text and "100%" in text and "loss=" in text


def test_environment_and_enabled_choose_the_mode(monkeypatch):
    monkeypatch.setenv("STAGE_PROGRESS", "plain")
    assert run(3, file=Terminal())[0].mode == "plain"
    monkeypatch.setenv("STAGE_PROGRESS", "off")
    bar, seen, text = run(3)
    assert bar.mode == "off" and seen == [0, 1, 2] and text == ""
    monkeypatch.setenv("STAGE_PROGRESS", "loud")
    with pytest.raises(ValueError, match="STAGE_PROGRESS"):
        run(3)
    monkeypatch.delenv("STAGE_PROGRESS")
    assert run(3, enabled=False)[2] == ""


def test_break_and_unknown_length(monkeypatch):
    monkeypatch.delenv("STAGE_PROGRESS", raising=False)
    out = io.StringIO()
    bar = progress((i for i in range(100)), desc="gen", file=out, every=10)
    for i in bar:
        if i == 34:
            break
    assert bar.n == 34 and out.getvalue().splitlines()[-1].startswith("gen 30 ")
    bar.write("a note")
    assert out.getvalue().endswith("a note\n")
