"""``evalbook rescore``: in-process through ``main`` (exit codes included) on both
databases, and once as a real subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import evalbook
from evalbook.cli.app import main
from evalbook.core.run import RunRecord, RunStatus
from evalbook.executor.launch import prepare_run
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

from ..executor import rescore_fixtures
from .test_cli import evalbook_cmd

REPLIES = ["Paris, please.", "Lyon.", "Paris!", "Nice."]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def _suite_dict() -> dict[str, Any]:
    return {
        "id": "cli-rescore",
        "name": "cli rescore",
        "threshold": 0.6,
        "model": {"provider": "python", "name": "tests.executor.rescore_fixtures:answer"},
        "prompt": "Say it",
        "scorers": [{"contains": "Paris"}],
        "cases": [{"id": f"c{i}", "vars": {"reply": r}} for i, r in enumerate(REPLIES)],
    }


@pytest.fixture
def source(store: Store, monkeypatch: pytest.MonkeyPatch) -> RunRecord:
    monkeypatch.setenv("COLUMNS", "200")
    run = evalbook.run(load_suite_from_dict(_suite_dict()), store=store)
    rescore_fixtures.CALLS.clear()
    return run


def _newest(store: Store) -> RunRecord:
    return store.list_runs(limit=1)[0]


def test_rescore_prints_the_summary_and_exits_like_run(
    capsys: pytest.CaptureFixture[str], store: Store, source: RunRecord
) -> None:
    code, out, _ = cli(capsys, "rescore", source.id[:8], "--scorer", "contains: '!'")
    new = _newest(store)
    assert code == 100  # 0.25 is below the threshold of 0.6
    assert new.rescored_from == source.id and new.score == pytest.approx(0.25)
    assert new.id in out and "FAIL" in out and f"re-scored from run {source.id}" in out
    assert rescore_fixtures.CALLS == []

    code, out, _ = cli(
        capsys,
        "rescore",
        source.id,
        "-s",
        '{"regex": "[.!]$"}',
        "--scorer",
        "non-empty",
        "--alias",
        "rescored",
        "--label",
        "v2",
        "--tag",
        "x",
        "--concurrency",
        "2",
        "--no-cache",
    )
    new = _newest(store)
    assert code == 0 and "PASS" in out
    assert (new.alias, new.label, new.tags) == ("rescored", "v2", ["x"])
    assert new.options.concurrency == 2 and new.options.use_cache is False
    assert set(new.metrics["scorers"]) == {"regex", "non-empty"}
    assert store.get_run(source.id).model_dump() == source.model_dump()


def test_scorers_file_keep_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store: Store, source: RunRecord
) -> None:
    specs = tmp_path / "scorers.yaml"
    specs.write_text(yaml.safe_dump([{"regex": "please"}, {"type": "length", "max": 40}]))
    code, out, _ = cli(
        capsys, "rescore", source.id, "--scorers-file", str(specs), "--keep", "--json"
    )
    record = json.loads(out)
    assert code == 100 and record["rescored_from"] == source.id
    assert set(record["metrics"]["scorers"]) == {"contains", "regex", "length"}
    assert record["counts"]["passed"] == 1  # only c0 says Paris and please


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "give the new scorers"),
        (("--scorer", "contains: [unclosed"), "not valid YAML"),
        (("--scorer", "42"), "a scorer spec is a name or a mapping"),
        (("--scorer", "equals"), "case 'c0' has no expected value"),
        (("--scorer", "contians"), "Did you mean"),
    ],
)
def test_bad_input_is_one_clear_line(
    capsys: pytest.CaptureFixture[str],
    store: Store,
    source: RunRecord,
    args: tuple[str, ...],
    needle: str,
) -> None:
    code, _, err = cli(capsys, "rescore", source.id, *args)
    assert code == 1 and needle in " ".join(err.split()) and "Traceback" not in err
    assert len(store.list_runs()) == 1


def test_unfinished_and_unknown_runs_are_refused(
    capsys: pytest.CaptureFixture[str], store: Store
) -> None:
    pending = prepare_run(store, load_suite_from_dict(_suite_dict())).run
    assert pending.status is RunStatus.pending
    code, _, err = cli(capsys, "rescore", pending.id, "--scorer", "non-empty")
    assert code == 1 and "pending" in err
    code, _, err = cli(capsys, "rescore", "ffffffff", "--scorer", "non-empty")
    assert code == 1 and "no run" in err
    assert len(store.list_runs()) == 1


def test_as_a_subprocess(source: RunRecord, store: Store) -> None:
    out = evalbook_cmd("rescore", source.id, "--scorer", "non-empty", check=0)
    assert "PASS" in out.stdout and "re-scored from run" in out.stdout
    assert _newest(store).rescored_from == source.id
