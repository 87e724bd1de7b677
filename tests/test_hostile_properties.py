"""Property-based hostile inputs (hypothesis): parameter files of random bytes and numbers, and option values of
random text, NaN, inf and huge numbers, give a value or one FdslError line, never a traceback."""

import math

from hypothesis import HealthCheck, given, settings, strategies as st

from helpers import run_cli

from fdsl.cli import one_line
from fdsl.core.errors import FdslError
from fdsl.formulas import create_formula, formula_names
from fdsl.formulas.base import parse_setting

# Derandomized and without an example database: the same examples every run, nothing written beside the tests.
FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**80, 2**80),
                    st.sampled_from([0, -1, 1e308, -1e-308, 2**63, 2**64]))
CELLS = st.one_of(NUMBERS.map(repr), st.text(max_size=12), st.sampled_from(["nan", "inf", "-inf", "", " ", "1e999"]))


@FAST
@given(family=st.sampled_from(formula_names()), data=st.binary(max_size=400))
def test_a_parameter_file_of_random_bytes_is_read_or_refused(family, data, tmp_path_factory):
    formula = create_formula(family)
    path = tmp_path_factory.mktemp("p") / f"00000{formula.params_suffix}"
    path.write_bytes(data)
    try:
        formula.load_params(path)
    except FdslError as exc:
        assert "\n" not in str(exc)


@FAST
@given(family=st.sampled_from(formula_names()), rows=st.lists(st.lists(CELLS, min_size=1, max_size=14),
                                                             min_size=1, max_size=8))
def test_a_parameter_file_of_random_numbers_is_read_or_refused(family, rows, tmp_path_factory):
    formula = create_formula(family)
    path = tmp_path_factory.mktemp("p") / f"00000{formula.params_suffix}"
    path.write_text("\n".join(",".join(row) for row in rows) + "\n")
    try:
        params = formula.load_params(path)
    except FdslError as exc:
        assert "\n" not in str(exc)
        return
    for value in getattr(params, "__dict__", {}).values():  # what was read is finite
        if isinstance(value, float):
            assert math.isfinite(value)


@FAST
@given(kind=st.sampled_from([int, float, bool]), text=CELLS)
def test_a_setting_parses_or_says_what_it_expected(kind, text):
    try:
        value = parse_setting(kind, text)
    except ValueError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(value, kind) and (kind is bool or math.isfinite(value))


@FAST
@given(family=st.sampled_from(formula_names()), which=st.sampled_from(["SearchSettings", "RenderSettings"]),
       key=st.text(min_size=1, max_size=12), value=CELLS, data=st.data())
def test_settings_from_random_strings_are_built_or_refused(family, which, key, value, data):
    import dataclasses

    cls = getattr(create_formula(family), which, None)
    if cls is None:
        return
    names = [f.name for f in dataclasses.fields(cls)]
    if names and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(names))  # a real setting half the time
    try:
        cls.from_strings({key: value})
    except FdslError as exc:
        assert "\n" not in one_line(str(exc)) and str(exc)


OPTIONS = ["--size", "--points", "--pad", "--weight-delta", "--patches", "--flips", "--seed", "--workers",
           "--shard", "--shard-size"]


@settings(FAST, max_examples=40)
@given(option=st.sampled_from(OPTIONS), value=CELLS)
def test_render_options_of_random_values_never_trace(option, value, tiny_catalog, tmp_path_factory, capsys):
    out = tmp_path_factory.mktemp("o") / "out"
    # A tiny render, so that an accepted value costs little: the option under test last, overriding.
    code, err = run_cli(capsys, "render", "fractal", "--params", str(tiny_catalog), "--out", str(out), "--quiet",
                        "--size", "16", "--points", "50", "--patches", "1", "--flips", "1", f"{option}={value}")
    assert "Traceback" not in err
    if code != 0:
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith("fdsl: error:"), err
