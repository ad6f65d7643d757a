"""The inputs layer: requirement strings, requirements files, wheel paths and URLs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wheelbuilder import make_wheel

from cachedb.errors import UsageError
from cachedb.requirements import (
    InputRequirement,
    RequirementSet,
    collect,
    parse_editable,
    parse_requirement,
    parse_requirements_file,
    parse_wheel_name,
)

SHA = "a" * 64
SHA2 = "b" * 64


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def usage_error(func: object, *args: object, **kwargs: object) -> str:
    assert callable(func)
    with pytest.raises(UsageError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- parse_requirement -------------------------------------------------------


def test_pep508_with_extras_and_markers() -> None:
    req = parse_requirement("Requests[socks]>=2; python_version>'3.8'")
    assert req.name == "requests"
    assert req.requirement.extras == {"socks"}
    assert str(req.requirement.specifier) == ">=2"
    assert req.requirement.marker is not None
    assert req.url is None
    assert req.hashes == frozenset()
    assert req.comes_from == "command line"
    assert not req.editable


def test_name_at_wheel_url_with_hash_fragment() -> None:
    req = parse_requirement(f"foo @ https://host/foo-1.0-py3-none-any.whl#sha256={SHA.upper()}")
    assert req.name == "foo"
    assert req.url == "https://host/foo-1.0-py3-none-any.whl"
    assert req.requirement.url == req.url
    assert req.hashes == {f"sha256:{SHA}"}


def test_bare_wheel_url_takes_name_from_filename() -> None:
    req = parse_requirement("https://host/p/Foo_Bar-2.0-py3-none-any.whl#sha512=" + "c" * 128)
    assert req.name == "foo-bar"
    assert req.url == "https://host/p/Foo_Bar-2.0-py3-none-any.whl"
    assert str(req.requirement) == "foo-bar @ https://host/p/Foo_Bar-2.0-py3-none-any.whl"
    assert req.hashes == {"sha512:" + "c" * 128}


def test_url_marker() -> None:
    req = parse_requirement("https://host/foo-1.0-py3-none-any.whl; sys_platform == 'win32'")
    assert req.requirement.marker is not None
    assert req.url == "https://host/foo-1.0-py3-none-any.whl"


def test_local_wheel_path_relative_to_base_dir(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist", "foo", "1.0")
    req = parse_requirement("./dist/foo-1.0-py3-none-any.whl[x]", base_dir=tmp_path)
    assert req.name == "foo"
    assert req.url == wheel.resolve().as_uri()
    assert req.url.startswith("file:///")
    assert req.requirement.extras == {"x"}


def test_local_wheel_path_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_wheel(tmp_path, "foo", "1.0")
    monkeypatch.chdir(tmp_path)
    assert parse_requirement("foo-1.0-py3-none-any.whl").url == (
        (tmp_path / "foo-1.0-py3-none-any.whl").resolve().as_uri()
    )


def test_file_url(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "foo", "1.0")
    req = parse_requirement(wheel.as_uri() + f"#sha256={SHA}")
    assert req.url == wheel.as_uri()
    assert req.hashes == {f"sha256:{SHA}"}


def test_missing_local_wheel(tmp_path: Path) -> None:
    message = usage_error(parse_requirement, "./dist/gone-1.0-py3-none-any.whl", base_dir=tmp_path)
    assert str(tmp_path / "dist" / "gone-1.0-py3-none-any.whl") in message
    assert "does not exist" in message


def test_missing_file_url(tmp_path: Path) -> None:
    url = (tmp_path / "gone-1.0-py3-none-any.whl").as_uri()
    assert "does not exist" in usage_error(parse_requirement, url)


@pytest.mark.parametrize(
    "text",
    [
        "https://host/foo-1.0.exe",
        "foo @ https://host/foo-1.0.exe",
        "foo @ svn+https://host/x/foo",
    ],
)
def test_unsupported_urls_are_refused(text: str) -> None:
    assert usage_error(parse_requirement, text).startswith("unsupported direct reference")


def test_unsupported_path_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "dist" / "foo-1.0.exe", "")
    message = usage_error(parse_requirement, "./dist/foo-1.0.exe", base_dir=tmp_path)
    assert message.startswith("unsupported path")


def test_bad_syntax_message_is_one_line() -> None:
    message = usage_error(parse_requirement, "foo>>1")
    assert message.startswith("invalid requirement 'foo>>1': Expected")


def test_name_at_path_asks_for_plain_path() -> None:
    assert "after '@' is not a URL" in usage_error(parse_requirement, "foo @ ./foo-1.whl")


def test_bad_wheel_filename() -> None:
    message = usage_error(parse_requirement, "https://host/foo-1.x-py3-none-any.whl")
    assert "invalid wheel filename 'foo-1.x-py3-none-any.whl'" in message


def test_name_must_match_wheel() -> None:
    message = usage_error(parse_requirement, "bar @ https://host/foo-1.0-py3-none-any.whl")
    assert "names 'bar' but the wheel is for 'foo'" in message


@pytest.mark.parametrize("fragment", ["md5=abc", f"sha256={SHA[:-1]}", "sha256=zz"])
def test_bad_hash_fragments(fragment: str) -> None:
    usage_error(parse_requirement, f"https://host/foo-1.0-py3-none-any.whl#{fragment}")


def test_credentials_kept_in_url_but_redacted_in_errors() -> None:
    req = parse_requirement("foo @ https://user:s3cret@host/foo-1.0-py3-none-any.whl")
    assert req.url == "https://user:s3cret@host/foo-1.0-py3-none-any.whl"
    for text in [
        "https://user:s3cret@host/foo-1.0.exe",
        "bar @ https://user:s3cret@host/foo-1.0-py3-none-any.whl",
        "foo @ https://user:s3cret@host/foo-1.0-py3-none-any.whl ; python_version >",
        "https://user:s3cret@host/foo-1.0-py3-none-any.whl#sha256=00",
    ]:
        message = usage_error(parse_requirement, text)
        assert "s3cret" not in message
        assert "****@host" in message


def test_parse_wheel_name() -> None:
    assert parse_wheel_name("Foo_Bar-1.0-py3-none-any.whl")[0] == "foo-bar"
    assert "invalid wheel filename" in usage_error(parse_wheel_name, "nope.whl")


def test_editable_directory(tmp_path: Path) -> None:
    write(tmp_path / "proj" / "pyproject.toml", '[project]\nname = "My_Proj"\n')
    req = parse_editable("./proj[dev]", base_dir=tmp_path)
    assert req.editable
    assert req.name == "my-proj"
    assert req.url == (tmp_path / "proj").as_uri()
    assert req.requirement.extras == {"dev"}


def test_editable_errors(tmp_path: Path) -> None:
    (tmp_path / "noproj").mkdir()
    assert "pyproject.toml" in usage_error(parse_editable, "./noproj", base_dir=tmp_path)
    assert "#egg=" in usage_error(parse_editable, "git+https://u:pw@host/x.git")
    req = parse_editable("git+https://host/x.git#egg=x")
    assert (req.name, req.url) == ("x", "git+https://host/x.git")
    assert "invalid URL 'file://['" in usage_error(parse_editable, "file://[")


# --- requirements files ------------------------------------------------------


def test_requirements_file_features(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "wheels", "local", "1.0")
    req_file = write(
        tmp_path / "requirements.txt",
        "# a comment\n"
        "\n"
        "requests[socks]>=2 ; python_version > '3.8'  # trailing comment\n"
        "   # indented comment\n"
        "--index-url https://${INDEX_HOST}/simple\n"
        "--extra-index-url=https://extra/simple\n"
        "-f ./links\n"
        "--find-links https://links.example/\n"
        "--pre\n"
        "--no-index\n"
        "--require-hashes\n"
        "--trusted-host extra --prefer-binary\n"
        "--only-binary :all:\n"
        "--no-binary=none\n"
        "./wheels/local-1.0-py3-none-any.whl\n"
        f"https://host/foo-1.0-py3-none-any.whl#sha256={SHA}\n"
        "https://h/${UNSET_VAR}/$HOME/pkg-1.0-py3-none-any.whl\n",
    )
    result = parse_requirements_file(req_file, environ={"INDEX_HOST": "idx.example"})
    names = [r.name for r in result.requirements]
    assert names == ["requests", "local", "foo", "pkg"]
    requests, local, foo, pkg = result.requirements
    assert requests.requirement.marker is not None
    assert requests.comes_from == f"-r {req_file} (line 3)"
    assert local.url == wheel.resolve().as_uri()
    assert foo.hashes == {f"sha256:{SHA}"}
    assert foo.url == "https://host/foo-1.0-py3-none-any.whl"
    # Unset ${VARS} and the $VAR form are left alone, like pip.
    assert pkg.url == "https://h/${UNSET_VAR}/$HOME/pkg-1.0-py3-none-any.whl"
    assert result.index_url == "https://idx.example/simple"
    assert result.extra_index_urls == ["https://extra/simple"]
    assert result.find_links == [str(tmp_path / "links"), "https://links.example/"]
    assert result.pre and result.no_index and result.require_hashes
    assert result.constraints == []


def test_continuation_lines_and_hashes(tmp_path: Path) -> None:
    req_file = write(
        tmp_path / "r.txt",
        "\n"
        "foo==1.0 \\\n"
        f"    --hash=sha256:{SHA.upper()} \\\n"
        f"    --hash sha256:{SHA2}\n"
        "bar\\\n"
        ">=2\n"
        "baz==1 \\\n"
        "# comment ends the continuation\n"
        "qux\n",
    )
    result = parse_requirements_file(req_file)
    foo, bar, baz, qux = result.requirements
    assert foo.hashes == {f"sha256:{SHA}", f"sha256:{SHA2}"}
    assert foo.comes_from == f"-r {req_file} (line 2)"
    assert (bar.name, str(bar.requirement.specifier)) == ("bar", ">=2")
    assert bar.comes_from.endswith("(line 5)")
    assert baz.name == "baz" and qux.name == "qux"


def test_hash_options_merge_with_url_fragment(tmp_path: Path) -> None:
    req_file = write(
        tmp_path / "r.txt",
        f"https://h/foo-1.0-py3-none-any.whl#sha256={SHA} --hash=sha384:{'d' * 96}\n",
    )
    (req,) = parse_requirements_file(req_file).requirements
    assert req.hashes == {f"sha256:{SHA}", "sha384:" + "d" * 96}


def test_nested_files_relative_to_including_file(tmp_path: Path) -> None:
    write(tmp_path / "top.txt", "-r sub/base.txt\n-c constraints/c.txt\ntop\n")
    write(tmp_path / "sub" / "base.txt", "--requirement=../sub/deeper/d.txt\nbase\n")
    write(tmp_path / "sub" / "deeper" / "d.txt", "deep\n")
    write(tmp_path / "constraints" / "c.txt", "pinned==1.0\n-r more.txt\n")
    write(tmp_path / "constraints" / "more.txt", "other<2\n")
    result = parse_requirements_file(tmp_path / "top.txt")
    assert [r.name for r in result.requirements] == ["deep", "base", "top"]
    assert [r.name for r in result.constraints] == ["pinned", "other"]
    deep = result.requirements[0]
    assert deep.comes_from == f"-r {tmp_path / 'sub' / 'deeper' / 'd.txt'} (line 1)"
    assert result.constraints[0].comes_from == f"-c {tmp_path / 'constraints' / 'c.txt'} (line 1)"


def test_constraint_file_top_level(tmp_path: Path) -> None:
    write(tmp_path / "c.txt", "foo==1\n")
    result = parse_requirements_file(tmp_path / "c.txt", constraint=True)
    assert result.requirements == []
    assert [c.name for c in result.constraints] == ["foo"]


def test_constraints_cannot_have_extras(tmp_path: Path) -> None:
    path = write(tmp_path / "c.txt", "foo[x]==1\n")
    message = usage_error(parse_requirements_file, path, constraint=True)
    assert message.startswith(f"{path}:1: constraints cannot have extras")


def test_comment_vs_url_fragment(tmp_path: Path) -> None:
    path = write(
        tmp_path / "r.txt",
        f"https://h/foo-1.0-py3-none-any.whl#sha256={SHA}  #sha256={SHA2} is a comment\n",
    )
    (req,) = parse_requirements_file(path).requirements
    assert req.hashes == {f"sha256:{SHA}"}


def test_editable_in_file(tmp_path: Path) -> None:
    write(tmp_path / "proj" / "pyproject.toml", '[project]\nname = "proj"\n')
    path = write(tmp_path / "r.txt", "-e ./proj\n--editable=./proj[x]\n")
    first, second = parse_requirements_file(path).requirements
    assert first.editable and second.editable
    assert first.url == (tmp_path / "proj").as_uri()
    assert second.requirement.extras == {"x"}


def test_missing_file(tmp_path: Path) -> None:
    message = usage_error(parse_requirements_file, tmp_path / "nope.txt")
    assert message == f"requirements file not found: {tmp_path / 'nope.txt'}"


def test_missing_nested_file_names_includer(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "foo\n\n-r missing.txt\n")
    message = usage_error(parse_requirements_file, path)
    assert message == f"{path}:3: requirements file not found: {tmp_path / 'missing.txt'}"


def test_recursion_loop(tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", "-r b.txt\n")
    b = write(tmp_path / "b.txt", "x\n-c ./a.txt\n")
    message = usage_error(parse_requirements_file, a)
    assert message.startswith(f"{b}:2: requirements files include each other in a loop")
    assert message.endswith(f"{a} -> {b} -> {a}")


def test_same_file_twice_is_not_a_loop(tmp_path: Path) -> None:
    write(tmp_path / "common.txt", "common\n")
    path = write(tmp_path / "r.txt", "-r common.txt\n-r common.txt\n")
    assert [r.name for r in parse_requirements_file(path).requirements] == ["common", "common"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("--frobnicate", "unknown option '--frobnicate'"),
        ("-x foo", "unknown option '-x'"),
        ("foo --pre", "option --pre must be on a line of its own"),
        ("foo --no-deps", "unknown option '--no-deps'"),
        ("--index-url", "option --index-url needs a value"),
        ("--pre=yes", "option --pre takes no value"),
        ("--hash=sha256:" + SHA, "--hash must follow a requirement on the same line"),
        ("foo --hash=md5:abc", "unsupported hash algorithm 'md5'"),
        ("foo --hash=abc", "invalid --hash value 'abc'"),
        ("-r 'unterminated", "cannot parse options"),
        ("-r https://host/r.txt", "requirements files from URLs are not supported"),
        ("foo>>1", "invalid requirement 'foo>>1': Expected"),
    ],
)
def test_line_errors_name_file_and_line(tmp_path: Path, line: str, expected: str) -> None:
    path = write(tmp_path / "r.txt", f"ok\n# comment\n{line}\n")
    message = usage_error(parse_requirements_file, path)
    assert message.startswith(f"{path}:3: {expected}")


def test_error_line_number_is_first_line_of_continuation(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "ok\nfoo>>1 \\\n  ; python_version > '3'\n")
    assert usage_error(parse_requirements_file, path).startswith(f"{path}:2: invalid requirement")


def test_credentials_from_env_redacted_in_file_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "https://user:${TOKEN}@host/foo-1.0.exe\n")
    message = usage_error(parse_requirements_file, path, environ={"TOKEN": "s3cret"})
    assert "s3cret" not in message
    assert message.startswith(f"{path}:1: unsupported direct reference")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_bytes(b"foo\n\xff\xfe\xfa\n")
    assert "not UTF-8" in usage_error(parse_requirements_file, path)


def test_directory_is_not_a_requirements_file(tmp_path: Path) -> None:
    assert "is a directory" in usage_error(parse_requirements_file, tmp_path)


def test_a_pipe_is_read_and_its_paths_are_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    wheel = make_wheel(tmp_path / "here", "local", "2.0")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=(f"attrs\n./here/{wheel.name}\n",))
    writer.start()
    monkeypatch.chdir(tmp_path)
    try:
        result = parse_requirements_file(fifo)
    finally:
        # A writer still waiting for a reader (the read was refused) is let go.
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join()
    assert [r.requirement.name for r in result.requirements] == ["attrs", "local"]
    assert result.requirements[1].url == wheel.as_uri()


# --- collect / RequirementSet ------------------------------------------------


def test_collect_merges_everything(tmp_path: Path) -> None:
    make_wheel(tmp_path, "local", "2.0")
    write(tmp_path / "r1.txt", "a\n-i https://one/simple\n--extra-index-url https://x/\n")
    write(tmp_path / "r2.txt", "b\n-i https://two/simple\n--extra-index-url https://x/\n--pre\n")
    write(tmp_path / "c.txt", "a<2\n")
    result = collect(
        ["cli-req>=1", "local-2.0-py3-none-any.whl"],
        ["r1.txt", str(tmp_path / "r2.txt")],
        ["c.txt"],
        base_dir=tmp_path,
    )
    assert [r.name for r in result.requirements] == ["cli-req", "local", "a", "b"]
    assert all(r.comes_from == "command line" for r in result.requirements[:2])
    assert [c.name for c in result.constraints] == ["a"]
    assert result.index_url == "https://two/simple"
    assert result.extra_index_urls == ["https://x/"]
    assert result.pre and not result.no_index


def test_collect_reports_bad_cli_requirement() -> None:
    assert usage_error(collect, ["ok", "foo>>1"]).startswith("invalid requirement 'foo>>1'")


def test_merge_keeps_index_when_other_has_none() -> None:
    first = RequirementSet(index_url="https://a/", find_links=[os.sep + "x"])
    other = RequirementSet(find_links=[os.sep + "x", "https://f/"], require_hashes=True)
    first.merge(other)
    assert first.index_url == "https://a/"
    assert first.find_links == [os.sep + "x", "https://f/"]
    assert first.require_hashes


def test_input_requirement_is_frozen_and_hashable() -> None:
    req = parse_requirement("foo==1")
    assert isinstance(req, InputRequirement)
    assert req == parse_requirement("foo==1")
    with pytest.raises(AttributeError):
        req.url = "x"  # type: ignore[misc]
