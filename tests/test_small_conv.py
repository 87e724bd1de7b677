"""Tiny-map convolutions as matmuls (fdsl.kernels.torch.small_conv): same values and gradients as torch's
convolution to rounding, only the calls it is meant for, and the training option that selects it."""

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from fdsl.kernels.torch.small_conv import MAX_OUTPUT_PIXELS, SmallConvsAsMatmul, matmul_conv2d  # noqa: E402

SHAPES = [  # (input N, C, H, W), (out, kernel), stride, padding, dilation
    ((4, 8, 1, 1), (16, 3), 1, 1, 1),
    ((4, 8, 2, 2), (16, 3), 1, 1, 1),
    ((3, 8, 4, 4), (6, 3), 2, 1, 1),
    ((2, 5, 3, 3), (7, 1), 2, 0, 1),
    ((2, 5, 5, 5), (7, 3), (2, 3), (1, 0), 1),
    ((2, 4, 5, 5), (3, 2), 1, 0, 2),
]


@pytest.mark.parametrize("shape,weight_shape,stride,padding,dilation", SHAPES)
@pytest.mark.parametrize("bias", [False, True])
def test_values_and_gradients_match_torch(shape, weight_shape, stride, padding, dilation, bias):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=generator, dtype=torch.float64, requires_grad=True)
    out_channels, kernel = weight_shape
    w = torch.randn(out_channels, shape[1], kernel, kernel, generator=generator, dtype=torch.float64,
                    requires_grad=True)
    b = torch.randn(out_channels, generator=generator, dtype=torch.float64, requires_grad=True) if bias else None
    expected = F.conv2d(x, w, b, stride, padding, dilation)
    got = matmul_conv2d(x, w, b, stride, padding, dilation)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected)
    upstream = torch.randn(expected.shape, generator=generator, dtype=torch.float64)
    wanted = torch.autograd.grad(expected, [x, w] + ([b] if bias else []), upstream)
    gotten = torch.autograd.grad(got, [x, w] + ([b] if bias else []), upstream)
    for a, e in zip(gotten, wanted):
        torch.testing.assert_close(a, e)


def _counting_matmul_calls(monkeypatch):
    import fdsl.kernels.torch.small_conv as module

    calls = []
    real = module.matmul_conv2d

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "matmul_conv2d", spy)
    return calls


def test_mode_takes_only_tiny_float32_contiguous_maps(monkeypatch):
    calls = _counting_matmul_calls(monkeypatch)
    w = torch.randn(16, 8, 3, 3)
    small, large = torch.randn(2, 8, 2, 2), torch.randn(2, 8, 8, 8)
    with SmallConvsAsMatmul():
        tiny = F.conv2d(small, w, padding=1)                      # 4 output pixels: matmul
        F.conv2d(large, w, padding=1)                             # 64: torch's kernel
        F.conv2d(small.double(), w.double(), padding=1)          # float64: torch's kernel
        F.conv2d(small.contiguous(memory_format=torch.channels_last), w, padding=1)  # NHWC: torch's kernel
        F.conv2d(torch.randn(2, 16, 2, 2), torch.randn(16, 4, 3, 3), padding=1, groups=4)  # grouped
        F.conv2d(small, w, padding="same")                         # string padding
        conv = torch.nn.Conv2d(8, 16, 3, padding=1)
        conv(small)                                                # a module's call goes through F.conv2d: matmul
        point = torch.randn(2, 8, 1, 1).contiguous(memory_format=torch.channels_last)
        F.conv2d(point, w, padding=1)  # a 1 x 1 map is both layouts at once (a ResNet's last stage): matmul
    assert calls == [small.shape, small.shape, point.shape]
    assert tiny.shape[2] * tiny.shape[3] <= MAX_OUTPUT_PIXELS
    torch.testing.assert_close(tiny, F.conv2d(small, w, padding=1))


def test_resnet_at_32px_sends_its_last_stages_to_matmul(monkeypatch):
    timm = pytest.importorskip("timm")
    calls = _counting_matmul_calls(monkeypatch)
    model = timm.create_model("resnet10t", num_classes=5)
    with SmallConvsAsMatmul():
        model(torch.randn(2, 3, 32, 32))
    spatial = sorted({tuple(shape[2:]) for shape in calls})
    assert spatial == [(1, 1), (2, 2), (4, 4)]  # inputs of the convolutions with <= 4 output pixels
    assert len(calls) >= 4


def test_resnet_training_steps_match_onednn_to_rounding():
    timm = pytest.importorskip("timm")
    results = []
    for mode in (SmallConvsAsMatmul, None):
        torch.manual_seed(0)
        model = timm.create_model("resnet10t", num_classes=5)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        x, y = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(1)), torch.arange(8) % 5
        for _ in range(3):
            if mode is None:
                logits = model(x)
            else:
                with mode():
                    logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        results.append((loss.item(), model.layer4[0].conv2.weight.detach().clone()))
    (loss_a, w_a), (loss_b, w_b) = results
    assert loss_a == pytest.approx(loss_b, rel=1e-4)
    torch.testing.assert_close(w_a, w_b, rtol=1e-4, atol=1e-5)


def test_unknown_small_convs_value_is_one_line(capsys):
    from fdsl.cli import main

    code = main(["pretrain", "--params", "nowhere", "--out", "x", "--small-convs", "fast"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--small-convs must be one of matmul, onednn" in err[0]


def test_a_run_saved_before_the_setting_resumed_as_it_trained(catalog, tmp_path):
    """A checkpoint from before --small-convs existed trained with oneDNN: resuming it under the matmul default
    is refused in one line (the weights would continue under other numerics), and with --small-convs onednn
    it resumes."""
    from fdsl.core.errors import FdslError
    from fdsl.train import checkpoint
    from fdsl.train.recipes import recipe_config
    from fdsl.train.stages import pretrain

    def run(small_convs, **options):
        config = recipe_config("resnet-sgd", "pretrain", dict(
            model="test_resnet", epochs=2, batch_size=8, image_size=16, crop_pct=0.8, lr=0.05, threads=1,
            small_convs=small_convs))
        return pretrain(config, tmp_path / "old", "resnet-sgd", params=catalog, instances=8, progress=False,
                        render_options={"size": "20", "points": "600", "patches": "2"}, **options)

    run("onednn", stop_after_steps=4)
    state_path = checkpoint.latest(tmp_path / "old") / "state.pt"
    state = torch.load(state_path, weights_only=False)
    del state["config"]["small_convs"]  # as written before the setting existed
    torch.save(state, state_path)
    with pytest.raises(FdslError, match="--small-convs: the run used onednn, this command gives matmul"):
        run("matmul", resume=True)
    assert run("onednn", resume=True)["complete"]


def test_a_finished_experiment_stage_from_before_the_setting_is_not_taken_as_matmul(tmp_path):
    """An experiment's finished stage saved before --small-convs existed trained with oneDNN: the plan, now at
    matmul, refuses it in one line instead of mixing the two numerics in one comparison; a setting newer than
    the run with no numerics of its own (here: absent and at its default) still passes."""
    import json

    from fdsl.core.errors import FdslError
    from fdsl.experiments.plan import run_stage
    from fdsl.train import checkpoint
    from fdsl.train.recipes import recipe_config

    config = recipe_config("resnet-sgd", "finetune", dict(model="test_resnet", epochs=1, image_size=16))
    saved = json.loads(json.dumps(config.to_dict()))
    del saved["small_convs"], saved["tensorboard"]
    folder = tmp_path / "stage"
    folder.mkdir()
    (folder / checkpoint.SIDECAR).write_text(json.dumps({
        "format": checkpoint.FORMAT, "model": "test_resnet", "classes": ["a", "b"], "model_kwargs": {},
        "complete": True, "config": saved}))
    never = lambda resume: pytest.fail("a finished stage must not be retrained")  # noqa: E731
    with pytest.raises(FdslError, match=r"trained with other settings \(small_convs\)"):
        run_stage(folder, config, never)
    import dataclasses
    assert run_stage(folder, dataclasses.replace(config, small_convs="onednn"), never)["complete"]
