"""The structure's promises: stateless formulas, one registry (torch renderers included), one data setting."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from fdsl.formulas import create_formula, formula_names
from fdsl.formulas.base import torch_renderer_names
from fdsl.core.seeding import rng_for

TRIANGLE = np.array([[0.5, 0, 0, 0.5, 0, 0, 1 / 3], [0.5, 0, 0, 0.5, 0.5, 0, 1 / 3],
                     [0.5, 0, 0, 0.5, 0.25, 0.5, 1 / 3]])


@pytest.mark.parametrize("name", formula_names())
def test_formulas_hold_no_state_and_pickle(name):
    formula = create_formula(name)
    assert vars(formula) == {}  # scratch arrays belong to the kernels, not to formula objects
    assert type(pickle.loads(pickle.dumps(formula))) is type(formula)


def test_a_pickled_formula_renders_the_same_image():
    formula = create_formula("fractal")
    settings = formula.RenderSettings(size=48, points=3000, patches=2)
    image = formula.render_draw(TRIANGLE, 3, rng_for(1, "render", 0, 3), settings, None)[0]
    copy = pickle.loads(pickle.dumps(formula))
    assert np.array_equal(copy.render_draw(TRIANGLE, 3, rng_for(1, "render", 0, 3), settings, None)[0], image)


def test_torch_renderers_come_from_the_formula_registry():
    assert torch_renderer_names() == ["fractal"]
    assert create_formula("fractal").torch_renderer().__name__ == "FractalTorchRenderer"
    assert all(create_formula(n).torch_renderer() is None for n in formula_names() if n != "fractal")


def test_shared_data_folder_is_one_setting(monkeypatch, tmp_path):
    from fdsl.core.shared_data import shared_data_dir

    monkeypatch.delenv("FDSL_SHARED_DATA", raising=False)
    repository = Path(__file__).resolve().parents[1]
    assert shared_data_dir() == repository.parent / "shared" / "data"  # beside the repository, not the cwd
    monkeypatch.chdir(tmp_path)
    assert shared_data_dir() == repository.parent / "shared" / "data"
    monkeypatch.setenv("FDSL_SHARED_DATA", str(tmp_path / "elsewhere"))
    assert shared_data_dir() == tmp_path / "elsewhere"


def test_one_parser_from_text_to_settings():
    from fdsl.core.errors import FdslError

    settings_class = create_formula("fractal").RenderSettings
    settings = settings_class.from_strings({"size": "64", "draw": "point-gray", "weight-delta": "0.3"})
    assert (settings.size, settings.draw, settings.weight_delta) == (64, "point-gray", 0.3)
    for options, needle in [({"colour": "red"}, "unknown setting 'colour'"), ({"size": "big"}, "size=big: 'big' is not a number"),
                            ({"weight_delta": "nan"}, "finite"), ({"size": "2"}, "leaves no room")]:
        with pytest.raises(FdslError, match=needle):
            settings_class.from_strings(options)
