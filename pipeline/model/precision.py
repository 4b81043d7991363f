"""Inference precision: float32, bfloat16 or int8, and which one a CPU runs fastest.

``auto`` picks **bfloat16** where the CPU has native bfloat16 matrix instructions
(AMX or AVX512-BF16) and **int8** elsewhere (AVX2-only CPUs such as AMD Zen 2/3 or
older Intel, where bfloat16 is emulated and ~5× slower than float32). ``float32``
is only used when asked for; it is the canonical precision of published scores
because it gives the same numbers on every CPU (up to float rounding).

int8 means dynamic quantization of the encoder's ``nn.Linear`` layers: weights
stored as int8 (per tensor), activations quantized on the fly per batch, int8
matrix products through FBGEMM (AVX2 or AVX512-VNNI); embeddings, layer norms,
attention softmax and the classification head stay float32. It uses
``torch.ao.quantization.quantize_dynamic``, which PyTorch marks deprecated in
favour of ``torchao``. Measured on one model forward pass (8 windows × 256,
2 threads; BENCHMARKS.md has the end-to-end figures): torch dynamic int8 1.4×
(AVX2 kernels) to 2.0× (VNNI) float32; the maintained alternatives gave no
speed-up on CPU: ``torchao`` 0.18 ``Int8DynamicActivationInt8WeightConfig`` 0.90×,
``Int8WeightOnlyConfig`` 0.98×, ONNX Runtime 1.32 int8 ≈1.0× of PyTorch float32,
a hand-written ``torch._int_mm`` layer 0.93–1.02×. So the deprecated API is used,
its warning silenced here and nowhere else; revisit when ``torchao`` gains CPU
kernels that beat it.
"""

from __future__ import annotations

import copy
import os
import warnings

import torch

PRECISIONS = ("auto", "float32", "bfloat16", "int8")
"""Accepted values of the component's ``dtype`` setting."""


ISA_LIMITS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")
"""Environment variables with which PyTorch / oneDNN are told to use fewer
instructions than the CPU has; a limit below AVX-512 means no native bfloat16."""


def isa_limited() -> bool:
    """Whether the environment limits PyTorch's kernels to AVX2 or less."""
    for var in ISA_LIMITS:
        value = os.environ.get(var, "").strip().lower()
        if value and not ("avx512" in value or "amx" in value or value == "all"):
            return True
    return False


def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bfloat16 matrix instructions (AMX or AVX512-BF16)
    and the environment does not limit PyTorch below them (:data:`ISA_LIMITS`)."""
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return not isa_limited() and any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def resolve_precision(name: str) -> str:
    """``"float32"``, ``"bfloat16"`` or ``"int8"``; ``"auto"``: bfloat16 where
    the CPU runs it natively, int8 elsewhere."""
    if name == "auto":
        return "bfloat16" if cpu_supports_bf16() else "int8"
    if name not in PRECISIONS:
        raise ValueError(f"unknown dtype {name!r} (expected one of {', '.join(PRECISIONS)})")
    return name


def storage_dtype(precision: str) -> torch.dtype:
    """The dtype the component keeps its (float) weights in for ``precision``."""
    return torch.bfloat16 if resolve_precision(precision) == "bfloat16" else torch.float32


def int8_layers(model: torch.nn.Module) -> list[str]:
    """The ``nn.Linear`` layers that int8 runs quantized: every one that does not
    reduce its width. Down-projections (the feed-forward output, 1536 → 384 in
    e5-small, and the classification head) stay float32: their inputs, after
    GELU, have outliers that one int8 scale per batch flattens (dev split, argmax
    tags equal to float32: 98.9% with them quantized, 99.8% without)."""
    return [name for name, mod in model.named_modules()
            if isinstance(mod, torch.nn.Linear) and mod.out_features >= mod.in_features]


class SmoothedLinear(torch.nn.Module):
    """``linear(x * inv_scale)``, where ``linear``'s weight columns were multiplied
    by the scale: the same function, with the outlier channels of ``x`` shrunk
    before int8 quantization (SmoothQuant, Xiao et al. 2023)."""

    def __init__(self, linear: torch.nn.Module, inv_scale: torch.Tensor) -> None:
        super().__init__()
        self.linear = linear
        self.register_buffer("inv_scale", inv_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inv_scale)


SMOOTH_ALPHA = 0.7
"""SmoothQuant's migration strength (dev split: 0.7 kept more tags than 0.5)."""


def _input_absmax(model: torch.nn.Module, names: list[str]) -> dict[str, torch.Tensor]:
    """Per-channel max |input| of each layer in ``names`` over a fixed calibration
    batch: 4 × 128 pseudo-random token ids (seeded, so every load gets the same
    scales; the outlier channels of these encoders do not depend on the text)."""
    vocab = model.get_input_embeddings().num_embeddings
    ids = torch.randint(5, vocab, (4, 128), generator=torch.Generator().manual_seed(0))
    found: dict[str, torch.Tensor] = {}

    def hook(name):
        def record(module, inputs):
            x = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(0)
            found[name] = torch.maximum(found[name], x) if name in found else x
        return record

    handles = [model.get_submodule(n).register_forward_pre_hook(hook(n)) for n in names]
    try:
        with torch.inference_mode():
            model(input_ids=ids, attention_mask=torch.ones_like(ids))
    finally:
        for h in handles:
            h.remove()
    return found


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` whose :func:`int8_layers` run in dynamic int8
    (smoothed inputs, per-output-channel weight scales); ``model`` is unchanged."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    copy_ = copy.deepcopy(model.float()).eval()
    names = int8_layers(copy_)
    absmax = _input_absmax(copy_, names)
    for name in names:
        linear = copy_.get_submodule(name)
        w_max = linear.weight.detach().abs().amax(0).clamp(min=1e-5)
        scale = (absmax[name].clamp(min=1e-5) ** SMOOTH_ALPHA / w_max ** (1 - SMOOTH_ALPHA)).clamp(min=1e-2)
        with torch.no_grad():
            linear.weight.mul_(scale)
        parent, _, child = name.rpartition(".")
        setattr(copy_.get_submodule(parent), child, SmoothedLinear(linear, 1 / scale))
    spec = {f"{name}.linear": per_channel_dynamic_qconfig for name in names}
    with warnings.catch_warnings():  # deprecated API on purpose: see the module doc
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=r".*quantize_per_tensor.*", category=UserWarning)
        return quantize_dynamic(copy_, spec, dtype=torch.qint8, inplace=True).eval()


def prepare(model: torch.nn.Module, precision: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """``(weights, runner)`` for inference in ``precision`` (``auto`` resolved here).

    ``weights`` is ``model`` itself, cast in place to the storage dtype and put in
    eval mode: it is what ``to_disk`` saves. ``runner`` is the module to call: the
    same object for float32/bfloat16, an int8 copy for int8.
    """
    resolved = resolve_precision(precision)
    model.to(storage_dtype(resolved)).eval()
    runner = quantize_int8(model) if resolved == "int8" else model
    return model, runner
