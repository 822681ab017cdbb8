"""A fuzzer for the loader and the flags (hypothesis): generated malformed and hostile
scenario files (a shipped scenario cut, flipped, or with hostile values spliced in) and
generated argument lists. Whatever comes in: never a traceback, an exit code of 0 or 2
(1 only for a run that failed), one line on stderr for an error, and never a partial
results folder."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.schema import SCENARIOS_DIR

SPRINT = (SCENARIOS_DIR / "sprint_race.toml").read_text(encoding="utf-8")
HOSTILE_VALUES = [
    "inf", "-inf", "nan", "true", "false", "1e999", "-1e999", "9" * 40, "-0", '""', "'x'",
    "[]", "{}", "[[[[[[]]]]]]", "[" * 3000 + "]" * 3000, '"\\u0000"', "2026-13", "1979-01-01",
    '{ a = { b = { c = 1 } } }', '"' + "x" * 10_000 + '"', "0x7fffffffffffffff",
]  # fmt: skip
KEYS = [
    "run.months", "run.users", "run.seed", "run.start", "title", "claims",
    "kill_line.runway_months", "kill_line.share_floor.giant", "firms.kimi.capital_bn",
    "firms.kimi.tier", "apps.weixin.mau_m",
    "economics.legacy_margin", "events", "extends", "remove_events", "nope.nope", "firms",
]  # fmt: skip
FLAGS = ["--seed", "--set", "--users", "--months", "--out", "--replicates", "--workers",
         "--param", "--metric", "--csv", "--no-plots", "--profile", "--resume",
         "--method", "--samples", "--outcome", "--quiet", "--bogus", "-", "--"]  # fmt: skip
WORDS = ["sprint_race", "steady", "nope", "", " ", "=", "run.months=3", "kill_line.x=1",
         "a=b=c", "0", "-1", "1e9", "inf", "nan", "true", "[1,2]", "morris", "top3_end",
         "kill_line.runway_months=3:1", "kill_line.runway_months=a,b", "\x00", "é",
         "x" * 300]  # fmt: skip
COMMANDS = ["validate", "run", "plot", "compare", "list", "ensemble", "sweep", "sensitivity",
            "nope"]  # fmt: skip
# more examples for a longer hunt: KILLLINE_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py
EXAMPLES = int(os.environ.get("KILLLINE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
BAD_INPUTS = {"files": 0, "argument lists": 0}


def invoke(argv: list[str]) -> tuple[int, str]:
    """Run the command line in-process: exit code and stderr (argparse's exit included)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return code, err.getvalue()


def assert_clean(code: int, err: str, out: Path) -> None:
    assert "Traceback" not in err, err
    assert code in (0, 1, 2), (code, err)
    if code:
        assert err.count("\n") == 1 and err.startswith("killline"), err
    if out.exists():
        hidden = [p for p in out.rglob(".*") if p.is_dir()]
        assert not hidden, f"staging folders left: {hidden}"
        partial = [p for p in out.rglob("*-partial-*") if p.is_dir()]
        assert not partial or code != 2, f"a partial folder on bad input: {partial}"


@st.composite
def mutated_files(draw: st.DrawFn) -> str:
    """The shipped sprint_race cut, with bytes flipped, or with a hostile line spliced in."""
    text = SPRINT
    how = draw(st.sampled_from(["cut", "flip", "splice", "splice", "splice"]))
    if how == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif how == "flip":
        chars = list(text)
        for _ in range(draw(st.integers(1, 5))):
            at = draw(st.integers(0, len(chars) - 1))
            chars[at] = draw(st.sampled_from(list("[]{}=\"'\n#.,x0 \\")))
        text = "".join(chars)
    else:
        key = draw(st.sampled_from(KEYS))
        value = draw(st.sampled_from(HOSTILE_VALUES))
        section, _, name = key.rpartition(".")
        line = f"[{section}]\n{name} = {value}\n" if section else f"{name} = {value}\n"
        text = line + text if not section else text + "\n" + line
    return text


@FUZZ
@given(text=mutated_files())
def test_the_loader_never_tracebacks(text: str, tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "fuzzed.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    BAD_INPUTS["files"] += 1
    code, err = invoke(["validate", str(path)])
    assert_clean(code, err, folder / "out")


@FUZZ
@given(
    command=st.sampled_from(COMMANDS),
    words=st.lists(st.sampled_from(FLAGS + WORDS), max_size=8),
)
def test_the_flags_never_traceback(command: str, words: list[str], tmp_path_factory) -> None:
    out = tmp_path_factory.mktemp("out")
    argv = [command, *words]
    if command in ("run", "ensemble", "sweep", "sensitivity"):
        # a valid combination runs, so keep it small, quick and serial
        argv += ["--users", "100", "--months", "1", "--set", "run.startups=100",
                 "--out", str(out)]  # fmt: skip
        if command != "run":
            argv += ["--workers", "1", "--quiet", "--replicates", "1", "--no-plots"]
        else:
            argv += ["--no-plots"]
    BAD_INPUTS["argument lists"] += 1
    code, err = invoke(argv)
    assert_clean(code, err, out)
