"""Atomic writes that skip unchanged bytes, and SVG id prefixing for inlined figures."""

from __future__ import annotations

import os
import re

import pytest

from topicgen.errors import TopicgenError
from topicgen.files import write_atomic
from topicgen.svg import prefix_ids


def test_write_atomic_creates_parents_and_writes(tmp_path):
    path = tmp_path / "out" / "figures" / "a.svg"
    assert write_atomic(path, "é <svg/>\n") is True
    assert path.read_bytes() == "é <svg/>\n".encode()
    assert write_atomic(path, b"\x00\x01") is True
    assert path.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.svg"]


def test_write_atomic_skips_identical_bytes(tmp_path):
    path = tmp_path / "handout.html"
    write_atomic(path, "<p>same</p>")
    past = 1_000_000_000
    os.utime(path, ns=(past, past))
    inode = path.stat().st_ino
    assert write_atomic(path, b"<p>same</p>") is False
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == (past, inode)
    assert write_atomic(path, "<p>new</p>") is True
    assert path.stat().st_mtime_ns != past


def test_write_atomic_respects_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_unwritable_destination_is_a_topicgen_error(tmp_path):
    blocker = tmp_path / "output"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(TopicgenError) as excinfo:
        write_atomic(blocker / "handout.html", "<p/>")
    assert excinfo.value.format_message() == (
        f"cannot write {blocker / 'handout.html'}: File exists"  # mkdir meets the file
    )
    assert blocker.read_text() == "a file where a folder should be"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["output"]


def test_failed_replace_leaves_no_temp_file(tmp_path):
    target = tmp_path / "handout.html"
    target.mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(TopicgenError, match=r"^cannot write .*handout\.html: "):
        write_atomic(target, "<p/>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["handout.html"]
    assert list(target.iterdir()) == []


def test_write_all_atomic_replaces_all_or_none(tmp_path, monkeypatch):
    from topicgen.files import write_all_atomic

    files = {tmp_path / name: f"new {name}" for name in ("a.html", "b.pdf", "c.json")}
    for path in files:
        path.write_text("old")
    real = os.fdopen

    def disk_full_at_the_third(fd, *args):
        if len(list(tmp_path.glob(".*.tmp"))) == 3:
            raise OSError(28, "No space left on device")
        return real(fd, *args)

    monkeypatch.setattr(os, "fdopen", disk_full_at_the_third)
    with pytest.raises(TopicgenError, match=r"c\.json: No space left on device$"):
        write_all_atomic(files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html", "b.pdf", "c.json"]
    assert all(path.read_text() == "old" for path in files)
    monkeypatch.undo()
    assert write_all_atomic(files) == 3 and write_all_atomic(files) == 0
    assert all(path.read_text() == text for path, text in files.items())


# -- prefix_ids -----------------------------------------------------------------------------

SVG = (
    '<svg aria-labelledby="title desc"><title id="title">x</title><desc id="desc">d</desc>'
    '<defs><clipPath id="clip1"><rect/></clipPath>'
    '<linearGradient id="grad"/><path id="g1" d="M0 0"/></defs>'
    '<g clip-path="url(#clip1)" fill="url(#grad)" stroke="#0072B2" color="#E69F00">'
    '<use href="#g1"/><use xlink:href="#g1"/><a href="#elsewhere">out</a></g></svg>'
)


def test_prefix_ids_rewrites_ids_and_every_reference():
    assert prefix_ids(SVG, "f-fig") == (
        '<svg aria-labelledby="f-fig-title f-fig-desc"><title id="f-fig-title">x</title>'
        '<desc id="f-fig-desc">d</desc>'
        '<defs><clipPath id="f-fig-clip1"><rect/></clipPath>'
        '<linearGradient id="f-fig-grad"/><path id="f-fig-g1" d="M0 0"/></defs>'
        '<g clip-path="url(#f-fig-clip1)" fill="url(#f-fig-grad)" stroke="#0072B2" '
        'color="#E69F00">'
        '<use href="#f-fig-g1"/><use xlink:href="#f-fig-g1"/><a href="#elsewhere">out</a>'
        "</g></svg>"
    )


def test_prefix_ids_leaves_colours_alone_even_when_they_look_like_ids():
    svg = '<svg><path id="a" fill="#abc"/><use href="#a" stroke="#E69F00"/></svg>'
    assert prefix_ids(svg, "m1") == (
        '<svg><path id="m1-a" fill="#abc"/><use href="#m1-a" stroke="#E69F00"/></svg>'
    )


def test_prefix_ids_renames_only_attributes_named_id():
    svg = '<svg data-id="a" aria-labelledby="a"><g id="a" data-grid="a"/><use href="#a"/></svg>'
    assert prefix_ids(svg, "m1") == ('<svg data-id="a" aria-labelledby="m1-a">'
                                     '<g id="m1-a" data-grid="a"/><use href="#m1-a"/></svg>')


def test_prefix_ids_without_ids_returns_the_input():
    svg = '<svg><rect fill="#0072B2"/></svg>'
    assert prefix_ids(svg, "m1") is svg


def test_two_prefixed_copies_share_no_id():
    def ids(svg: str) -> set[str]:
        return set(re.findall(r'id="([^"]+)"', svg))

    one, two = ids(prefix_ids(SVG, "m1")), ids(prefix_ids(SVG, "m2"))
    assert len(one) == 5 and not one & two
