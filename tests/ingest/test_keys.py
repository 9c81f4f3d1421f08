"""Tests for pipelines.ingest.keys.partition_key."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.ingest.keys import MAX_KEY_LENGTH, partition_key

RAW_DIR = Path(__file__).resolve().parents[2] / "raw"
KEY_RE = re.compile(r"^[\w-]{1,64}$")  # str pattern: \w is Unicode-aware
HASH_SUFFIX_RE = re.compile(r"(?:^|_)[0-9a-f]{8}$")


def sha8(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]


def assert_safe(key: str) -> None:
    assert KEY_RE.fullmatch(key), key
    assert "/" not in key and "\\" not in key and ".." not in key
    assert not any(ch.isspace() for ch in key)
    assert not key.startswith(("-", "_", "."))


# --- seed names -------------------------------------------------------------


def test_seed_name_is_kept_without_hash() -> None:
    assert partition_key("000_4a4d088645525890.txt") == "000_4a4d088645525890"


@pytest.mark.parametrize("path", sorted(RAW_DIR.glob("*.txt")), ids=lambda p: p.name)
def test_all_sample_file_names_are_unchanged(path: Path) -> None:
    assert partition_key(path.name) == path.stem


def test_safe_name_without_extension_is_unchanged() -> None:
    assert partition_key("notice-2024_01") == "notice-2024_01"


# --- sanitising ----------------------------------------------------------------


def test_spaces_are_replaced_and_hashed() -> None:
    name = "my notice  2024.txt"
    assert partition_key(name) == f"my_notice_2024_{sha8(name)}"


def test_chinese_name_keeps_chinese_characters() -> None:
    name = "关于印发 方案.txt"
    key = partition_key(name)
    assert key == f"关于印发_方案_{sha8(name)}"
    assert_safe(key)


def test_chinese_name_without_unsafe_chars_is_unchanged() -> None:
    assert partition_key("关于印发实施方案的通知.txt") == "关于印发实施方案的通知"


def test_traditional_and_fullwidth_punctuation() -> None:
    name = "湖南省《實施意見》（2021）.txt"
    key = partition_key(name)
    assert key.startswith("湖南省_實施意見_2021_")
    assert_safe(key)


@pytest.mark.parametrize(
    "name",
    ["..", "../../etc/passwd", "..\\..\\windows\\system32", "a/../b.txt", "./x.txt", "...txt"],
)
def test_path_traversal_cannot_survive(name: str) -> None:
    key = partition_key(name)
    assert_safe(key)
    assert HASH_SUFFIX_RE.search(key)


def test_etc_passwd_exact() -> None:
    name = "../../etc/passwd"
    assert partition_key(name) == f"etc_passwd_{sha8(name)}"


def test_leading_dashes_are_stripped() -> None:
    name = "--rm.txt"
    assert partition_key(name) == f"rm_{sha8(name)}"


@pytest.mark.parametrize(
    ("name", "readable"),
    [
        ("a\nb.txt", "a_b"),
        ("a\rb", "a_b"),
        ("a\tb", "a_b"),
        ("a\x00b", "a_b"),
        ("a\x1b[31mb", "a_31mb"),
        ("notice.txt\n", "notice_txt"),  # the newline hides the extension
    ],
)
def test_control_characters_and_newlines(name: str, readable: str) -> None:
    key = partition_key(name)
    assert key == f"{readable}_{sha8(name)}"
    assert_safe(key)


def test_empty_and_all_punctuation_names_are_never_empty() -> None:
    for name in ["", ".txt", "...", "???", "-", "__", " ", "/"]:
        key = partition_key(name)
        assert key == sha8(name)
        assert_safe(key)


def test_lone_surrogates_from_os_listdir_do_not_crash() -> None:
    name = b"bad\xffname.txt".decode("utf-8", "surrogateescape")
    assert_safe(partition_key(name))


# --- extensions -------------------------------------------------------------


def test_html_extensions_are_dropped_but_do_not_collide_with_txt() -> None:
    keys = {partition_key(n) for n in ["a.txt", "a.html", "a.htm", "a.TXT", "a.HTML"]}
    assert len(keys) == 5
    assert partition_key("a.html") == f"a_{sha8('a.html')}"


def test_only_final_extension_is_dropped() -> None:
    assert partition_key("a.txt.txt").startswith("a_txt")


# --- length -------------------------------------------------------------------


def test_very_long_names_are_truncated_with_hash() -> None:
    name = "通知" * 150 + ".txt"  # 300 CJK characters
    key = partition_key(name)
    assert len(key) == MAX_KEY_LENGTH
    assert key.endswith("_" + sha8(name))
    assert key.startswith("通知通知")
    assert_safe(key)


def test_long_ascii_names_sharing_a_prefix_do_not_collide() -> None:
    base = "x" * 300
    assert partition_key(base + "1.txt") != partition_key(base + "2.txt")


def test_exactly_64_chars_is_unchanged_and_65_is_hashed() -> None:
    assert partition_key("a" * 64 + ".txt") == "a" * 64
    key = partition_key("a" * 65 + ".txt")
    assert len(key) == 64 and HASH_SUFFIX_RE.search(key)


# --- collisions / unicode -----------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        ["a b.txt", "a/b.txt", "a\\b.txt", "a..b.txt", "a\nb.txt", "a?b.txt", "a_b.txt"],
        ["关于 方案.txt", "关于/方案.txt", "关于_方案.txt"],
        ["-x.txt", "_x.txt", ".x.txt", "x.txt"],
    ],
)
def test_names_that_sanitise_alike_get_distinct_keys(names: list[str]) -> None:
    keys = [partition_key(n) for n in names]
    assert len(set(keys)) == len(keys), keys


def test_nfc_and_nfd_spellings_get_distinct_keys_but_same_readable_part() -> None:
    nfc = unicodedata.normalize("NFC", "café.txt")
    nfd = unicodedata.normalize("NFD", "café.txt")
    assert nfc != nfd
    assert partition_key(nfc) == "café"
    key_nfd = partition_key(nfd)
    assert key_nfd == f"café_{sha8(nfd)}"  # NFC-normalised readable prefix
    assert_safe(key_nfd)


def test_deterministic() -> None:
    name = "关于印发 方案 (2024).html"
    assert partition_key(name) == partition_key(name)


# --- properties -----------------------------------------------------------------

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("/\\. \n\t-_"),
    max_size=400,
)


@settings(max_examples=500, deadline=None)
@given(names)
def test_property_keys_are_always_safe(name: str) -> None:
    assert_safe(partition_key(name))


@settings(max_examples=300, deadline=None)
@given(names)
def test_property_keys_are_fixed_points(name: str) -> None:
    # A key fed back in (e.g. re-deriving from an IO-manager file name) is kept.
    key = partition_key(name)
    assert partition_key(key) == key
    assert partition_key(key + ".txt") == key


@settings(max_examples=300, deadline=None)
@given(names, names)
def test_property_distinct_names_get_distinct_keys(a: str, b: str) -> None:
    # "a" and "a.txt" deliberately share a key (seed names drop ".txt").
    if a != b and a.removesuffix(".txt") != b.removesuffix(".txt"):
        assert partition_key(a) != partition_key(b)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"\A[0-9a-zA-Z一-龥][\w-]{0,63}\Z"))
def test_property_already_safe_names_are_unchanged(stem: str) -> None:
    if unicodedata.normalize("NFC", stem) == stem:
        assert partition_key(stem + ".txt") == stem
