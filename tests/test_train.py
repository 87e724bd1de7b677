"""Training: checkpoints load with plain timm, resume is exact, freeze freezes, DDP runs, bad input is one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from fdsl.core.errors import FdslError
from fdsl.cli import main
from fdsl.train import checkpoint
from fdsl.train.recipes import recipe_config
from fdsl.train.stages import FinetuneData, finetune, pretrain

MODEL = "test_resnet"
RENDER = {"size": "20", "points": "600", "patches": "2"}


def config(stage="pretrain", **values):
    base = dict(model=MODEL, epochs=2, batch_size=8, image_size=16, crop_pct=0.8, lr=0.05, threads=1)
    return recipe_config("resnet-sgd", stage, {**base, **values})


def run_pretrain(catalog, out, **options):
    return pretrain(config(**options.pop("config", {})), out, "resnet-sgd", params=catalog, render_options=RENDER,
                    instances=8, progress=False, **options)


@pytest.fixture(scope="module")
def pretrained(catalog, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "pre"
    run_pretrain(catalog, out)
    return out


def test_checkpoint_loads_with_plain_timm_and_safetensors(pretrained):
    import safetensors.torch
    import timm

    meta = json.loads((pretrained / "model.json").read_text())
    assert meta["epoch"] == 2 and meta["complete"] and meta["data"]["kind"] == "formula"
    assert len(meta["classes"]) == 4 and "fit_top1" in meta["metrics"]
    # The two documented lines:
    model = timm.create_model(meta["model"], num_classes=len(meta["classes"]), **meta["model_kwargs"])
    model.load_state_dict(safetensors.torch.load_file(str(pretrained / "model.safetensors")))
    records = [json.loads(line) for line in (pretrained / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1, 2]  # from 1, as the console counts
    rows = (pretrained / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,step,train_loss,val_top1") and [r.split(",")[0] for r in rows[1:]] == ["1", "2"]
    assert (pretrained / "curves.png").stat().st_size > 1000


def test_resume_continues_exactly(catalog, tmp_path):
    whole = tmp_path / "whole"
    run_pretrain(catalog, whole, config={"checkpoint_every": 1})
    killed = tmp_path / "killed"
    run_pretrain(catalog, killed, config={"checkpoint_every": 1}, stop_after_steps=5)  # mid-way through epoch 2
    assert json.loads((killed / "model.json").read_text())["global_step"] == 5
    with pytest.raises(FdslError, match="--resume"):
        run_pretrain(catalog, killed, config={"checkpoint_every": 1})
    run_pretrain(catalog, killed, config={"checkpoint_every": 1}, resume=True)
    a, b = checkpoint.load_weights(whole), checkpoint.load_weights(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((killed / "model.json").read_text())["metrics"]["train_loss"] == pytest.approx(
        json.loads((whole / "model.json").read_text())["metrics"]["train_loss"])


DIGITS_64 = FinetuneData("sklearn-digits", val_fraction=0.1, train_images=64)


def test_freeze_keeps_stem_and_first_stage_fixed(pretrained, tmp_path):
    before = checkpoint.load_weights(pretrained)
    out = tmp_path / "frozen"
    finetune(config("finetune", epochs=1, lr=0.1), out, "resnet-sgd", DIGITS_64, checkpoint_path=pretrained,
             freeze=1, progress=False)
    after = checkpoint.load_weights(out)
    frozen = [k for k in before if k.startswith(("conv1", "bn1", "layer1."))]
    trained = [k for k in before if k.startswith("layer3.") and "weight" in k]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)  # running stats included
    assert any(not torch.equal(before[k], after[k]) for k in trained)
    assert after["fc.weight"].shape[0] == 10


def test_scratch_and_pretrained_share_the_setup(pretrained, tmp_path, capsys):
    a = finetune(config("finetune", epochs=1), tmp_path / "a", "resnet-sgd", DIGITS_64, checkpoint_path=pretrained,
                 progress=False)
    b = finetune(config("finetune", epochs=1), tmp_path / "b", "resnet-sgd", DIGITS_64, scratch=True, progress=False)
    assert a["init"] == "checkpoint" and b["init"] == "scratch" and a["data"] == b["data"]
    assert a["parent"]["path"] == str(pretrained)
    result = main(["evaluate", "--checkpoint", str(tmp_path / "a"), "--data", "sklearn-digits", "--split", "val",
                   "--val-fraction", "0.1", "--quiet", "--json"])
    assert result == 0
    # Re-scoring the published weights on the same validation split reproduces the run's own last figure.
    scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert scored["count"] == a["metrics"]["val_count"]
    assert scored["top1"] == pytest.approx(a["metrics"]["val_top1"], abs=1e-6)


def fails(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err


def test_bad_inputs_are_one_line_exit_2(pretrained, catalog, tmp_path, capsys):
    ft = ["finetune", "--data", "sklearn-digits", "--out", str(tmp_path / "x"), "--quiet", "--epochs", "1"]
    fails(capsys, ft + ["--checkpoint", str(tmp_path / "missing")], "not found")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("model.json", "model.safetensors"):
        (broken / name).write_bytes((pretrained / name).read_bytes())
    (broken / "model.safetensors").write_bytes((pretrained / "model.safetensors").read_bytes()[:200])
    fails(capsys, ft + ["--checkpoint", str(broken)], "corrupt")
    (broken / "model.json").write_text("{not json")
    fails(capsys, ft + ["--checkpoint", str(broken)], "corrupt")
    fails(capsys, ft + ["--checkpoint", str(pretrained), "--model", "resnet18"], "does not match")
    other = tmp_path / "other"
    other.mkdir()
    meta = json.loads((pretrained / "model.json").read_text())
    (other / "model.json").write_text(json.dumps({**meta, "model": "test_efficientnet"}))
    (other / "model.safetensors").write_bytes((pretrained / "model.safetensors").read_bytes())
    fails(capsys, ft + ["--checkpoint", str(other)], "does not match the model")
    (tmp_path / "empty").mkdir()
    fails(capsys, ["finetune", "--scratch", "--model", MODEL, "--data", str(tmp_path / "empty"), "--out",
                   str(tmp_path / "y")], "no images")
    fails(capsys, ft + ["--scratch", "--model", MODEL, "--max-classes", "0"], "--max-classes")
    fails(capsys, ft + ["--scratch", "--model", "resnet_nonexistent"], "unknown model")
    fails(capsys, ft + ["--scratch", "--model", MODEL, "--recipe", "fancy"], "unknown recipe")
    fails(capsys, ["pretrain", "--params", str(catalog), "--out", str(tmp_path / "z"), "--render", "size"], "KEY=VALUE")
    fails(capsys, ["pretrain", "--params", str(tmp_path / "nowhere"), "--formula", "fractal", "--out",
                   str(tmp_path / "z")], "does not exist")
    fails(capsys, ["evaluate", "--checkpoint", str(pretrained), "--data", "sklearn-digits"], "classes")


def test_label_noise_is_recorded(catalog, tmp_path):
    meta = run_pretrain(catalog, tmp_path / "noisy", config={"label_noise": 0.25, "epochs": 1})
    assert meta["label_noise"] == {"fraction": 0.25, "changed": 8}  # 25% of 4 x 8 images


def test_ddp_two_gloo_processes(catalog, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    import socket

    with socket.socket() as probe:  # a free port: a fixed one can still be held (TIME_WAIT) by an earlier run
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port,
               "--master_addr", "127.0.0.1",
               "-m", "fdsl", "pretrain", "--params", str(catalog), "--out", str(out), "--model", MODEL,
               "--image-size", "16", "--crop-pct", "0.8", "--batch-size", "4", "--epochs", "1", "--instances", "8",
               "--render", "size=20", "--render", "points=600", "--render", "patches=2", "--device", "cpu", "--quiet"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    meta = json.loads((out / "model.json").read_text())
    assert meta["environment"]["world_size"] == 2
    assert meta["steps_per_epoch"] == 4  # 32 images / 2 ranks / batch 4
    assert meta["metrics"]["fit_count"] == 32  # evaluation shards add up to every image exactly once
