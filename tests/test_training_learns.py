"""Training learns: a few epochs on an easy formula task take the loss down and the accuracy on unseen images
far above chance (a training loop that silently stopped learning would still pass every shape test)."""

import json

from helpers import run_cli


def test_a_cnn_learns_an_easy_formula_task(tmp_path, capsys):
    code, err = run_cli(capsys, "search", "bezier", "--categories", "3", "--seed", "0", "--out",
                        str(tmp_path / "cat"), "--quiet")
    assert code == 0, err
    run = tmp_path / "run"
    # 60 steps: with fewer (18 at batch 16) the batch-norm running statistics still lag the weights, and the
    # eval-mode accuracy stays at chance while the training loss is near 0 (seen while writing this test).
    code, err = run_cli(capsys, "pretrain", "--params", str(tmp_path / "cat"), "--render", "size=32",
                        "--instances", "32", "--heldout-per-category", "12", "--model", "resnet10t",
                        "--image-size", "32", "--crop-pct", "1.0", "--epochs", "5", "--batch-size", "8",
                        "--lr", "0.05", "--seed", "0", "--eval-every", "5", "--no-learnability-check",
                        "--out", str(run), "--quiet")
    assert code == 0, err
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()
              if json.loads(line).get("kind") == "epoch"]
    losses = [r["train_loss"] for r in epochs]
    assert len(losses) == 5 and losses[-1] < 0.6 * losses[0], losses  # about ln 3 = 1.10 at the start
    assert epochs[-1]["heldout_top1"] >= 70.0, epochs[-1]  # chance is 33.3 %
