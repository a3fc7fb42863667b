"""Fixes for what QA found: `clean --cache` deletes only the cache's own files and never a
folder that holds the project; seeds have a range; a bad topicgen.toml value names the file;
`topicgen new` refuses an overlong slug."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TOPIC
from topicgen.cli import SEED, cli
from topicgen.config import SEED_MAX, load_config
from topicgen.errors import ContentError, TopicgenError, UsageError


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(autouse=True)
def no_cache_dir_from_the_environment(monkeypatch):
    monkeypatch.delenv("TOPICGEN_CACHE_DIR", raising=False)


def build(project: Path, *extra: object):
    built = invoke("build", "handout", "--project", project, "--topic", TOPIC, "--profile",
                   "quick", "--format", "html", "--jobs", "1", *extra)
    assert built.exit_code == 0, built.output
    return built


def files_under(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


# -- clean --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cache_dir", "where", "reason"), [
    (".", "", "is the project folder"),
    ("..", "..", "holds the project folder"),
    ("content", "content", "is content/"),
    (f"content/{TOPIC}", f"content/{TOPIC}", "lies inside content/"),
])
def test_clean_refuses_a_cache_folder_that_holds_the_project_or_its_content(
        make_project, tiny_topic, cache_dir, where, reason):
    project = make_project({**tiny_topic, "topicgen.toml": f'cache_dir = "{cache_dir}"\n'})
    before = files_under(project)
    result = invoke("clean", "--cache", "--project", project)
    # topicgen.toml's cache_dir is refused as it is read, by every command (a file's error).
    assert result.exit_code == 1
    assert result.output == (f"Error: {project / 'topicgen.toml'}: cache_dir "
                             f"{project / where} {reason}: give the cache a folder of its "
                             "own (--cache-dir, or cache_dir in topicgen.toml)\n")
    assert files_under(project) == before


def test_clean_names_the_environment_when_it_set_the_cache_folder(make_project, tiny_topic,
                                                                  monkeypatch):
    project = make_project(tiny_topic)
    monkeypatch.setenv("TOPICGEN_CACHE_DIR", str(project))
    result = invoke("clean", "--cache", "--project", project)
    assert result.exit_code == 2
    assert "($TOPICGEN_CACHE_DIR): it is the project folder" in result.output
    assert (project / "content" / TOPIC / "topic.toml").is_file()


def test_clean_deletes_only_the_files_the_cache_wrote(make_project, tiny_topic, tmp_path):
    shared = make_project(tmp_path / "shared", {"notes.txt": "mine", "data.json": "{}",
                                                "figures/mine.svg": "<svg/>"})
    project = make_project(tmp_path / "project", tiny_topic)
    build(project, "--cache-dir", shared)
    written = files_under(shared) - {"notes.txt", "data.json", "figures/mine.svg"}
    assert {"index.json", "figures", "params", "data"} <= {Path(p).parts[0] for p in written}
    (shared / ".index.json.x1y2z3_a.tmp").write_text("{")  # left by a killed build
    (project / "topicgen.toml").write_text(f'cache_dir = "{shared}"\n')
    result = invoke("clean", "--cache", "--project", project)
    assert result.exit_code == 0, result.output
    assert result.output == (f"Removed {project / 'output' / TOPIC}\n"
                             f"Removed {len(written) + 1} cached files from {shared}; kept the "
                             "3 other entries there\n")
    assert files_under(shared) == {"notes.txt", "data.json", "figures/mine.svg"}


def test_clean_removes_the_default_cache_folder_once_empty(make_project, tiny_topic):
    project = make_project(tiny_topic)
    build(project)
    cache = project / ".topicgen" / "cache"
    count = len(files_under(cache))
    result = invoke("clean", "--cache", "--project", project)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"Removed {cache} ({count} cached files)"
    assert not cache.exists() and not (project / "output" / TOPIC).exists()


def test_clean_removes_what_builds_wrote_where_topicgen_toml_sends_them(make_project,
                                                                        tiny_topic):
    """With out = "build" in topicgen.toml, clean removed nothing and said nothing."""
    project = make_project({**tiny_topic, "topicgen.toml": 'out = "build"\n'})
    build(project)
    out = project / "build"
    (out / "notes.txt").write_text("mine\n")
    (out / "empty").mkdir()
    result = invoke("clean", "--project", project)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"Removed the 5 files builds wrote in {out}"]
    assert sorted(p.name for p in out.iterdir()) == ["empty", "notes.txt"]
    again = invoke("clean", "--project", project)
    assert again.output == f"Nothing to clean in {project / 'output'}\n"


def test_clean_takes_the_cache_folder_a_build_was_given(make_project, tiny_topic, tmp_path):
    project = make_project(tmp_path / "project", tiny_topic)
    cache = tmp_path / "elsewhere"
    build(project, "--cache-dir", cache)
    result = invoke("clean", "--cache", "--cache-dir", cache, "--project", project)
    assert result.exit_code == 0, result.output
    assert not cache.exists()
    refused = invoke("clean", "--cache", "--cache-dir", project, "--project", project)
    assert refused.output == (f"Error: cache_dir {project} is the project folder: give the "
                              "cache a folder of its own (--cache-dir, or cache_dir in "
                              "topicgen.toml)\n")
    assert refused.exit_code == 2


def test_clean_refuses_an_output_folder_that_links_to_the_project(make_project, tiny_topic):
    project = make_project(tiny_topic)
    (project / "output").symlink_to(project, target_is_directory=True)
    result = invoke("clean", "--project", project)
    assert result.exit_code == 2
    assert result.output == (f"Error: will not clean the output folder {project.resolve()} "
                             "(output/): it is the project folder; give the output a folder "
                             "of its own\n")
    assert (project / "content" / TOPIC / "topic.toml").is_file()


def test_clean_removes_links_in_output_without_following_them(make_project, tmp_path):
    elsewhere = make_project(tmp_path / "elsewhere", {"keep.txt": "mine"})
    project = make_project(tmp_path / "project", {"output/.gitkeep": ""})
    (project / "output" / "link").symlink_to(elsewhere, target_is_directory=True)
    result = invoke("clean", "--project", project)
    assert result.exit_code == 0, result.output
    assert result.output == f"Removed {project / 'output' / 'link'}\n"
    assert (elsewhere / "keep.txt").is_file() and (project / "output" / ".gitkeep").is_file()


# -- --seed ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["run", "signal-scale"], ["check"], ["build", "handout"],
                                     ["figures"], ["sweep", "x", "-p", "a=1"]])
@pytest.mark.parametrize("seed", ["-1", "99999999999999999999", str(SEED_MAX + 1)])
def test_a_seed_out_of_range_is_a_usage_error_naming_the_option(tmp_path, command, seed):
    result = invoke(*command, "--project", tmp_path, "--seed", seed)
    assert result.exit_code == 2
    assert (f"Error: Invalid value for '--seed': {seed} is not in the range "
            f"0<=x<={SEED_MAX}.") in result.output


def test_the_seed_range_leaves_room_for_the_seeds_after_the_first():
    assert SEED.min == 0 and SEED.max == SEED_MAX
    assert SEED_MAX + 10_000 < 2**32


def test_a_seed_out_of_range_in_topicgen_toml_names_the_file(make_project):
    project = make_project({"topicgen.toml": "seed = -1\n"})
    with pytest.raises(ContentError) as raised:  # a file's error, as a chapter's (exit 1)
        load_config(project)
    assert raised.value.message == (f"{project / 'topicgen.toml'}: seed must be between 0 "
                                    f"and {SEED_MAX}, got -1")


# -- errors in topicgen.toml name the file --------------------------------------------------------

@pytest.mark.parametrize(("line", "message"), [
    ("jobs = 0", "jobs must be between 1 and 1024, got 0"),
    ('formats = ["docx"]', 'unknown format "docx" (choose from: html, pdf)'),
    ('device = "tpu"', 'device must be one of cpu, cuda, got "tpu" (did you mean "cpu"?)'),
])
def test_a_bad_value_in_topicgen_toml_names_the_file(make_project, line, message):
    project = make_project({"topicgen.toml": line + "\n"})
    result = invoke("check", "--project", project)
    assert result.exit_code == 1
    assert result.output == f"Error: {project / 'topicgen.toml'}: {message}\n"


@pytest.mark.parametrize("key", ["jobs", "seed"])
def test_true_is_not_a_number_in_topicgen_toml(make_project, key):
    """TOML's true is a Python bool, which Python counts as the int 1."""
    project = make_project({"topicgen.toml": f"{key} = true\n"})
    with pytest.raises(TopicgenError, match=f'"{key}" must be int, got bool'):
        load_config(project)


def test_a_bad_value_given_as_a_flag_reads_as_before(make_project):
    project = make_project({"topicgen.toml": "jobs = 0\n"})
    with pytest.raises(UsageError) as raised:
        load_config(project, jobs=2, device="tpu")  # the flag replaces the file's jobs
    assert raised.value.message == 'device must be one of cpu, cuda, got "tpu" ' \
                                   '(did you mean "cpu"?)'
    assert load_config(project, jobs=2).jobs == 2


# -- topicgen new -------------------------------------------------------------------------------

def test_new_refuses_an_overlong_slug_in_one_line(tmp_path):
    result = invoke("new", "a" * 300, "--project", tmp_path)
    assert result.exit_code == 2
    assert result.output == ('Error: "aaaaaaaaaaaaaaaaaaaa..." cannot name a topic: use at '
                             "most 64 characters, not 300\n")
    assert not (tmp_path / "content").exists() or not any((tmp_path / "content").iterdir())
    assert invoke("new", "b" * 65, "--project", tmp_path).exit_code == 2
    assert invoke("new", "b" * 64, "--project", tmp_path).exit_code == 0
