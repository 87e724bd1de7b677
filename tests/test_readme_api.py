"""The README's "Python API" examples run as written (at their tiny sizes), in a fresh folder."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _api_examples() -> list[str]:
    text = README.read_text()
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_python_api_examples_run(tmp_path, monkeypatch, capsys):
    examples = _api_examples()
    assert len(examples) == 2
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for code in examples:  # one namespace: the second example uses the first one's files and import
        exec(compile(code, str(README), "exec"), namespace)
    printed = capsys.readouterr().out
    assert "400 images in shards/" in printed
    assert "torch.Size([16, 3, 32, 32])" in printed
    assert sorted(p.name for p in (tmp_path / "shards").glob("*.tar")) == [f"{i:06d}.tar" for i in range(4)]
    labels = namespace["labels"]
    assert labels.dtype.is_floating_point is False and set(labels.tolist()) <= {0, 1, 2, 3}


def test_import_fdsl_is_light():
    import subprocess
    import sys

    code = ("import sys, fdsl; fdsl.search_catalog, fdsl.render_catalog, fdsl.webdataset_pipeline; "
            "print(sorted({'torch', 'numba'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], check=True)
    assert result.stdout.strip() == "[]"
