#!/usr/bin/python3
"""Exports a set of real PyTorch models to ONNX, with inputs and PyTorch's
outputs, for the `real-models` test.

    /usr/bin/python3 test/models/gen_models.py OUT_DIR [--force] [--only NAME,...]

For each model it writes OUT_DIR/<model>/:
    model.onnx                  torch.onnx.export, opset 17, static shapes
    input_<name>.npy            one per ONNX graph input
    expected_<name>.npy         PyTorch's value of each ONNX graph output

Weights are random (fixed seeds, no downloads). BatchNorm running statistics
are measured on a random batch and then perturbed at random, and BatchNorm
and LayerNorm weights/biases are random too (not 0/1), so that a wrong
epsilon, a swapped mean/variance or a missing affine term shows, while the
activations of the deep nets keep a scale of ~1 (the logits depend on the
input). All exports use opset 17, static shapes and constant folding; conv_bn
keeps its BatchNormalization nodes (checked).
The files are large (ResNet-18 is ~45 MB) and are not committed: CI
regenerates them into the build folder. OUT_DIR/.stamp holds a hash of this
script and the torch/onnx versions; when it matches and every model is present
nothing is redone (use --force to redo).

Needs Debian's python3-torch (1.13), python3-torchvision, python3-onnx, numpy.
"""
import argparse
import hashlib
import importlib.metadata
import os
import sys
import time
import warnings


def stamp_text():
    """This script's hash and the versions of what the exports depend on; read
    without importing torch, so that an up-to-date check takes no time."""
    with open(os.path.abspath(__file__), "rb") as f:
        h = hashlib.sha256(f.read()).hexdigest()
    versions = " ".join(f"{p} {importlib.metadata.version(p)}"
                        for p in ("torch", "torchvision", "onnx", "numpy"))
    return f"{h} {versions}\n"


def up_to_date(out_dir, names):
    stamp_path = os.path.join(out_dir, ".stamp")
    if not os.path.exists(stamp_path) or not all(
            os.path.exists(os.path.join(out_dir, n, "model.onnx")) for n in names):
        return False
    with open(stamp_path) as f:
        return f.read() == stamp_text()


# The model list, repeated here so the up-to-date check needs no torch.
MODEL_NAMES = ["mlp", "lenet", "resnet18", "mobilenet_v2", "lstm", "gru",
               "transformer", "embedding", "conv_bn"]

if __name__ == "__main__" and "--force" not in sys.argv and "--only" not in sys.argv \
        and len(sys.argv) == 2 and not sys.argv[1].startswith("-") \
        and up_to_date(sys.argv[1], MODEL_NAMES):
    print(f"gen_models.py: {sys.argv[1]} is up to date")
    sys.exit(0)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchvision  # noqa: E402

OPSET = 17


def randomize_norms(model, gen, calibration_batch=None):
    """Non-trivial BatchNorm running stats and LayerNorm/BatchNorm affine.

    With a calibration batch, the BatchNorm running statistics are first
    measured on it (so activations keep a scale of ~1 through deep nets;
    with made-up statistics they vanish or explode and the logits stop
    depending on the input), then perturbed at random.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if calibration_batch is not None and bns:
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        model.train()
        with torch.no_grad():
            model(calibration_batch)
        for m in bns:
            m.momentum = 0.1
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                if calibration_batch is not None:
                    std = m.running_var.sqrt()
                    m.running_mean.add_(torch.randn(n, generator=gen) * 0.1 * std)
                    m.running_var.mul_(torch.rand(n, generator=gen) * 0.4 + 0.8)
                else:
                    m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                    m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
                    m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
            elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)


# --- The models ---------------------------------------------------------------

class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class LstmHead(nn.Module):
    """2-layer LSTM over a sequence, Linear head on every step."""
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True)
        self.head = nn.Linear(32, 8)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.head(y)


class GruHead(nn.Module):
    """1-layer bidirectional GRU; Linear head on the last step."""
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(12, 24, batch_first=True, bidirectional=True)
        self.head = nn.Linear(48, 6)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.head(y[:, -1])


class EmbeddingMean(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 32)
        self.head = nn.Linear(32, 5)

    def forward(self, ids):
        return self.head(self.emb(ids).mean(dim=1))


class ConvBn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 4, 3, stride=2)
        self.bn2 = nn.BatchNorm2d(4)

    def forward(self, x):
        return self.bn2(self.conv2(self.relu(self.bn(self.conv(x)))))


def transformer():
    return nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128,
                                      dropout=0.0, batch_first=True)


def float_input(gen, *shape):
    return torch.rand(*shape, generator=gen) * 2 - 1


# name -> (constructor, inputs(gen) -> {name: tensor}, output names, export kwargs)
MODELS = {
    "mlp": (lambda: nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)),
            lambda g: {"x": torch.rand(1, 784, generator=g)}, ["logits"], {}),
    "lenet": (LeNet, lambda g: {"x": torch.rand(2, 1, 28, 28, generator=g)},
              ["logits"], {}),
    "resnet18": (lambda: torchvision.models.resnet18(weights=None),
                 lambda g: {"x": float_input(g, 1, 3, 224, 224)}, ["logits"], {}),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(weights=None),
                     lambda g: {"x": float_input(g, 1, 3, 224, 224)}, ["logits"], {}),
    "lstm": (LstmHead, lambda g: {"x": float_input(g, 3, 10, 16)}, ["y"], {}),
    "gru": (GruHead, lambda g: {"x": float_input(g, 2, 7, 12)}, ["y"], {}),
    "transformer": (transformer, lambda g: {"x": float_input(g, 2, 10, 64)}, ["y"], {}),
    "embedding": (EmbeddingMean,
                  lambda g: {"ids": torch.randint(0, 100, (3, 9), generator=g)},
                  ["y"], {}),
    # In EVAL mode the exporter fuses BatchNormalization into the Conv; PRESERVE
    # (the model is in eval mode) keeps the node.
    "conv_bn": (ConvBn, lambda g: {"x": float_input(g, 2, 3, 16, 16)}, ["y"],
                {"do_constant_folding": False,
                 "training": torch.onnx.TrainingMode.PRESERVE}),
}

assert list(MODELS) == MODEL_NAMES

# Ops the exported graph must contain (what the model is there to test).
REQUIRED_OPS = {
    "conv_bn": {"BatchNormalization", "Conv"},
    "lstm": {"LSTM"},
    "gru": {"GRU"},
    "transformer": {"LayerNormalization", "Softmax"},
    "embedding": {"Gather", "ReduceMean"},
}


def export(name, out_dir):
    ctor, make_inputs, output_names, extra = MODELS[name]
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = ctor()
    inputs = make_inputs(gen)
    first = next(iter(inputs.values()))
    calibration = None
    if first.dtype == torch.float32:
        calibration = float_input(gen, 8, *first.shape[1:])
    randomize_norms(model, gen, calibration)
    model.eval()
    args = tuple(inputs.values())
    # Grad stays enabled: under no_grad an eval TransformerEncoderLayer takes
    # its fused fast path (aten::_transformer_encoder_layer_fwd), which has no
    # ONNX export.
    outs = model(*args)
    if isinstance(outs, torch.Tensor):
        outs = (outs,)
    assert len(outs) == len(output_names), name

    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "model.onnx")
    kwargs = dict(opset_version=OPSET, do_constant_folding=True,
                  input_names=list(inputs), output_names=output_names)
    kwargs.update(extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, path, **kwargs)

    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = {n.op_type for n in m.graph.node}
    missing = REQUIRED_OPS.get(name, set()) - ops
    assert not missing, f"{name}: the exported graph lacks {sorted(missing)}; it has {sorted(ops)}"
    assert [i.name for i in m.graph.input] == list(inputs), name
    assert [o.name for o in m.graph.output] == output_names, name
    for k, v in inputs.items():
        np.save(os.path.join(d, f"input_{k}.npy"), v.numpy())
    for k, v in zip(output_names, outs):
        np.save(os.path.join(d, f"expected_{k}.npy"), v.detach().numpy())
    return sorted(ops)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--force", action="store_true", help="regenerate even if current")
    p.add_argument("--only", help="comma-separated model names")
    a = p.parse_args()
    names = a.only.split(",") if a.only else list(MODELS)
    for n in names:
        if n not in MODELS:
            sys.exit(f"gen_models.py: unknown model '{n}' (known: {', '.join(MODELS)})")
    os.makedirs(a.out_dir, exist_ok=True)
    stamp_path = os.path.join(a.out_dir, ".stamp")
    if not a.force and not a.only and up_to_date(a.out_dir, names):
        print(f"gen_models.py: {a.out_dir} is up to date")
        return
    if os.path.exists(stamp_path):
        os.remove(stamp_path)
    torch.set_num_threads(1)
    for n in names:
        t = time.time()
        ops = export(n, a.out_dir)
        size = os.path.getsize(os.path.join(a.out_dir, n, "model.onnx"))
        print(f"{n}: {size / 1e6:.1f} MB, {time.time() - t:.1f} s; ops: {' '.join(ops)}")
    if not a.only:
        with open(stamp_path, "w") as f:
            f.write(stamp_text())


if __name__ == "__main__":
    main()
