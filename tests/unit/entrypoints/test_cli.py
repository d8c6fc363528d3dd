"""The `gpux` command line, in process and as the installed script."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gpux.entrypoints.cli import main
from gpux.entrypoints.jsonio import dumps, loads

BOOK: dict[str, Any] = {
    "format": "gpu-auction/1",
    "slots": 4,
    "pools": [{"id": "p1", "provider": "acme", "gpu": "H100", "region": "us-east",
               "uptime": Decimal("99.9")}],
    "asks": [{"id": "a1", "seller": "acme", "pool": "p1", "gpus": 8, "start": 0, "end": 4,
              "price": Decimal("1.5")}],
    "bids": [
        {"id": "b1", "buyer": "lab-7", "alternatives": [
            {"value": Decimal("40"), "earliest_start": 0, "latest_end": 4,
             "legs": [{"gpus": 4, "duration": 2, "offset": 0, "gpu": ["H100"]}]}]},
        {"id": "b2", "buyer": "lab-9", "alternatives": [
            {"value": Decimal("1"), "earliest_start": 0, "latest_end": 4,
             "legs": [{"gpus": 8, "duration": 4, "offset": 0}]}]},
    ],
}


def write(path: Path, doc: object) -> str:
    path.write_text(dumps(doc), encoding="utf-8")
    return str(path)


@pytest.fixture
def book_file(tmp_path: Path) -> str:
    return write(tmp_path / "book.json", BOOK)


@pytest.fixture
def result_file(tmp_path: Path, book_file: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["clear", book_file, "--time-limit", "5"]) == 0
    out = capsys.readouterr().out
    path = tmp_path / "result.json"
    path.write_text(out, encoding="utf-8")
    return str(path)


def test_clear_prints_a_result_that_accepts_the_bid_worth_more_than_its_cost(
    book_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["clear", book_file, "--time-limit", "5", "--workers", "1", "--seed", "3"]) == 0
    result = loads(capsys.readouterr().out)
    assert result["format"] == "gpu-auction-result/1"
    assert result["status"] in ("optimal", "feasible")
    assert [a["bid"] for a in result["accepted"]] == ["b1"]
    assert result["surplus"] == Decimal("28")


def test_clear_dash_reads_the_book_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(dumps(BOOK)))
    assert main(["clear", "-", "--time-limit", "5"]) == 0
    assert [a["bid"] for a in loads(capsys.readouterr().out)["accepted"]] == ["b1"]


def test_check_accepts_the_result_clear_printed(
    book_file: str, result_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", book_file, result_file]) == 0
    assert capsys.readouterr().out.startswith("ok")


def test_check_on_a_tampered_result_exits_1_and_prints_the_violation(
    tmp_path: Path, book_file: str, result_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = loads(Path(result_file).read_text(encoding="utf-8"))
    result["surplus"] = result["surplus"] + 100
    tampered = write(tmp_path / "tampered.json", result)
    assert main(["check", book_file, tampered]) == 1
    captured = capsys.readouterr()
    assert "surplus" in captured.out
    assert "violation(s)" in captured.err


def test_report_prints_volume_and_prices(
    book_file: str, result_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", book_file, result_file]) == 0
    out = capsys.readouterr().out
    assert "accepted 1 of 2 bids; 8 GPU-hours cleared" in out
    assert "avg $/GPU-h" in out
    h100 = next(line for line in out.splitlines() if line.startswith("H100"))
    gpu_hours, avg_price = h100.split()[1:]
    assert gpu_hours == "8"
    assert Decimal("1.5") <= Decimal(avg_price) <= Decimal("10")
    assert "b1: 4x H100 in p1 [" in out


def test_report_refuses_a_result_that_is_not_one_for_the_book(
    tmp_path: Path, book_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = write(tmp_path / "wrong.json", [])
    assert main(["report", book_file, wrong]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpux report: ")
    assert "not a valid result" in err and "wrong.json" in err


def test_missing_file_exits_2_naming_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clear", "/nonexistent/book.json"]) == 2
    err = capsys.readouterr().err
    assert "/nonexistent/book.json: cannot read" in err
    assert "Traceback" not in err


def test_invalid_json_exits_2_saying_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"format": ', encoding="utf-8")
    assert main(["clear", str(path)]) == 2
    assert f"{path}: not valid JSON" in capsys.readouterr().err


def test_file_that_is_not_utf8_exits_2_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe{")
    assert main(["clear", str(path)]) == 2
    assert f"{path}: not UTF-8 text" in capsys.readouterr().err


def test_invalid_book_exits_2_and_names_each_path_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(dumps(BOOK))
    doc["bids"][0]["alternatives"][0]["legs"][0]["gpus"] = 0
    doc["asks"][0]["price"] = -2
    path = write(tmp_path / "bad.json", doc)
    assert main(["clear", path]) == 2
    err = capsys.readouterr().err
    assert "gpux clear: invalid book, 2 problem(s)" in err
    assert "bids[0].alternatives[0].legs[0].gpus: must be between 1 and" in err
    assert "was 0" in err
    assert "asks[0].price: must not be negative, was Decimal('-2')" in err


@pytest.mark.parametrize(
    "args",
    [
        ["clear", "book.json", "--time-limit", "0"],
        ["clear", "book.json", "--time-limit", "-1"],
        ["clear", "book.json", "--time-limit", "nan"],
        ["clear", "book.json", "--time-limit", "inf"],
        ["clear", "book.json", "--time-limit", "soon"],
        ["clear", "book.json", "--workers", "-1"],
        ["clear", "book.json", "--workers", "1.5"],
        ["clear"],
        ["generate", "market"],
        ["generate", "auction", "--bids", "3"],
        [],
    ],
)
def test_bad_arguments_exit_2_from_argparse(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2
    assert "usage: gpux" in capsys.readouterr().err


def test_time_limit_message_says_what_was_given(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["clear", "book.json", "--time-limit", "0"])
    assert "must be positive and finite, was '0'" in capsys.readouterr().err


def test_generate_market_writes_a_valid_book_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "market", "--bids", "5", "--seed", "2", "--slots", "12"]) == 0
    doc = loads(capsys.readouterr().out)
    assert doc["format"] == "gpu-auction/1"
    assert doc["slots"] == 12
    assert len(doc["bids"]) == 5


def test_generate_cats_writes_a_book_the_reader_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gpux.domain.bookjson import read_book

    out = tmp_path / "cats.json"
    args = ["generate", "cats", "--bids", "6", "--goods", "4", "--seed", "1", "--out", str(out)]
    assert main(args) == 0
    assert capsys.readouterr().out == ""
    book = read_book(loads(out.read_text(encoding="utf-8")))
    assert len(book.bids) == 6


def test_generate_is_reproducible_for_one_seed(capsys: pytest.CaptureFixture[str]) -> None:
    main(["generate", "cats", "--bids", "6", "--goods", "4", "--seed", "7"])
    first = capsys.readouterr().out
    main(["generate", "cats", "--bids", "6", "--goods", "4", "--seed", "7"])
    assert capsys.readouterr().out == first


def test_generate_to_an_unwritable_path_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["generate", "cats", "--bids", "2", "--goods", "2", "--out", "/nonexistent/b.json"]
    assert main(args) == 2
    assert "/nonexistent/b.json: cannot write" in capsys.readouterr().err


def _gpux(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("gpux")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "gpux.entrypoints.cli"]
    # buffered output, as a user's shell gives it (`gpux clear` leaves without tearing down)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([*command, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, check=False, env=env)


def test_installed_script_generates_clears_and_checks_a_market(tmp_path: Path) -> None:
    book = str(tmp_path / "market.json")
    made = _gpux("generate", "market", "--bids", "30", "--seed", "1", "--slots", "24",
                 "--out", book)
    assert made.returncode == 0, made.stderr
    cleared = _gpux("clear", book, "--time-limit", "3")
    assert cleared.returncode == 0, cleared.stderr
    result = loads(cleared.stdout)
    assert result["status"] in ("optimal", "feasible")
    assert result["accepted"]
    result_path = tmp_path / "result.json"
    result_path.write_text(cleared.stdout, encoding="utf-8")
    checked = _gpux("check", book, str(result_path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("ok")


def test_installed_script_prints_the_whole_result_before_it_leaves() -> None:
    # a small result stays in the output buffer until flushed: the process must flush it
    # before it leaves without tearing down
    done = _gpux("clear", "-", "--time-limit", "2", stdin=dumps(BOOK))
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("}\n")
    assert [a["bid"] for a in loads(done.stdout)["accepted"]] == ["b1"]


def test_installed_script_reads_stdin_and_reports_an_invalid_book_with_exit_2() -> None:
    doc = json.loads(dumps(BOOK))
    doc["slots"] = "four"
    done = _gpux("clear", "-", stdin=json.dumps(doc))
    assert done.returncode == 2
    assert "slots: must be an integer, was 'four'" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_installed_script_rejects_a_zero_time_limit_with_exit_2() -> None:
    done = _gpux("clear", "-", "--time-limit", "0", stdin="{}")
    assert done.returncode == 2
    assert "--time-limit" in done.stderr


def test_bad_settings_from_the_environment_exit_2_naming_the_setting_and_value(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from gpux.entrypoints.cli import main

    monkeypatch.setenv("GPUX_FEE_BPS", "abc")
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "gpux worker: fee_bps:" in err and "'abc'" in err
    monkeypatch.delenv("GPUX_FEE_BPS")
    monkeypatch.setenv("GPUX_PARTITION", "mars")
    monkeypatch.setenv("GPUX_PARTITION_REGIONS", "americas:us-east,us-west,us-central;"
                       "europe:eu-west,eu-central;asia:ap-northeast,ap-southeast")
    assert main(["worker"]) == 2
    assert "partition names mars" in capsys.readouterr().err


def test_clear_counts_the_time_reading_the_book_took_against_the_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    from gpux.clearing import auction
    from gpux.clearing.solver import SolveParams
    from gpux.domain.book import Book
    from gpux.domain.result import Result

    class SlowStdin(io.StringIO):
        def read(self, size: int | None = -1) -> str:
            time.sleep(1.0)
            return super().read(size)

    given: list[float] = []
    real_clear = auction.clear

    def timed_clear(book: Book, params: SolveParams | None = None) -> Result:
        assert params is not None
        given.append(params.time_limit)
        return real_clear(book, params)

    monkeypatch.setattr(auction, "clear", timed_clear)
    monkeypatch.setattr(sys, "stdin", SlowStdin(dumps(BOOK)))
    assert main(["clear", "-", "--time-limit", "4"]) == 0
    assert [a["bid"] for a in loads(capsys.readouterr().out)["accepted"]] == ["b1"]
    assert len(given) == 1 and 2.0 < given[0] <= 3.0
