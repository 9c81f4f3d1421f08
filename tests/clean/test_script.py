"""The t2s shortcut: lines without a character t2s may change skip OpenCC."""

import subprocess
from pathlib import Path

import opencc
import pytest

from pipelines.clean import script
from pipelines.clean.script import needs_t2s, simplified_lines
from tests.conftest import SAMPLES


def _t2s(text: str) -> str:
    return script._t2s().convert(text)


def test_no_bmp_character_outside_the_scanned_ranges_changes_under_t2s():
    inside = {c for lo, hi in script._T2S_RANGES for c in range(lo, hi)}
    chars = [chr(c) for c in range(0x10000) if c not in inside and not 0xD800 <= c < 0xE000 and chr(c) not in "\n\r"]
    converted = _t2s("\n".join(chars)).split("\n")
    assert [c for c, s in zip(chars, converted, strict=True) if c != s] == []


def _dictionary(name: str, tmp_path: Path) -> dict[str, str]:
    """An OpenCC dictionary as text, dumped with the opencc_dict tool bundled in the wheel."""
    clib = Path(opencc.__file__).parent / "clib"
    tool = clib / "bin" / "opencc_dict"
    if not tool.exists():
        pytest.skip("opencc_dict not bundled with this OpenCC build")
    out = tmp_path / f"{name}.txt"
    env = {"LD_LIBRARY_PATH": str(clib / "lib64")}
    source = clib / "share" / "opencc" / f"{name}.ocd2"
    subprocess.run([tool, "-i", source, "-o", out, "-f", "ocd2", "-t", "text"], check=True, env=env)
    rows = (line.rstrip("\n").split("\t") for line in out.read_text(encoding="utf-8").splitlines())
    return {key: values.split(" ")[0] for key, values in rows}


def test_every_phrase_that_t2s_changes_holds_a_trigger_character(tmp_path):
    phrases = _dictionary("TSPhrases", tmp_path)
    changed = [(k, v) for k, v in phrases.items() if k != v]
    assert changed
    assert [k for k, v in changed if not needs_t2s(k)] == []
    # The characters that differ are the triggers, not just any of the phrase.
    for key, value in changed:
        if len(key) == len(value):
            assert all(needs_t2s(a) for a, b in zip(key, value, strict=True) if a != b), key


def test_simplified_lines_match_converting_the_whole_text():
    lines = [
        line for path in SAMPLES.values() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    assert simplified_lines(lines) == _t2s("\n".join(lines)).split("\n")
    mixed = ["一、总体要求", "答覆市民关切", "關於印發方案的通知", "什么", "", "覆盖全市"]
    assert simplified_lines(mixed) == [_t2s(line) for line in mixed]
    assert simplified_lines([]) == []
