"""neuraloperator 2.0's FNO (PyTorch, CPU) timed like sciml's, as a benchmark peer.

Two configurations of ``neuralop.models.FNO`` for a 2-D, 1-in/1-out channel operator:

* ``default``: the library's defaults for ``n_modes=(12, 12), hidden_channels=32,
  n_layers=4``: a channel MLP (expansion 0.5) with a soft-gating skip in every Fourier
  layer, a linear Fourier skip, bias in the spectral convolution, a grid positional
  embedding, and lifting/projection MLPs with ``2 * hidden`` = 64 hidden channels.
  In neuralop >= 0.3 ``n_modes`` counts the kept frequencies per axis, the last one halved:
  ``(12, 12)`` keeps 12 x 7 frequencies (−6..5 by 0..6), i.e. sciml's ``modes=(6, 7)``.
* ``classic``: as close as the options allow to Li et al.'s FNO, which is sciml's:
  ``use_channel_mlp=False``, ``fno_skip="linear"``, grid embedding, lifting by one 1x1 map
  (``lifting_channel_ratio=0``), projection through 128 hidden channels
  (``projection_channel_ratio=4``), and ``n_modes=(24, 23)``, which keeps the same
  24 x 12 frequencies (−12..11 by 0..11) as sciml's ``modes=12``. Differences that remain:
  the spectral convolution has a bias and the linear skip has none (sciml: the reverse),
  and without a channel MLP neuralop applies the activation twice between layers
  (``FNOBlocks.forward_with_postactivation``).

Needs the benchmark environment (``requirements-peers.txt``); torch and neuralop are
imported inside the functions.
"""

from __future__ import annotations

import os
import resource
import statistics
import time

import numpy as np

CONFIGS = {
    "default": dict(n_modes=(12, 12)),
    "classic": dict(n_modes=(24, 23), use_channel_mlp=False, fno_skip="linear",
                    lifting_channel_ratio=0, projection_channel_ratio=4,
                    positional_embedding="grid"),
}


def build(config: str, width: int = 32, depth: int = 4, seed: int = 0):
    import torch
    from neuralop.models import FNO

    torch.manual_seed(seed)
    return FNO(in_channels=1, out_channels=1, hidden_channels=width, n_layers=depth,
               **CONFIGS[config])


def count_params(model) -> int:
    """Real trainable scalars; complex parameters count twice (``count_model_params``)."""
    return int(sum(p.numel() * (2 if p.is_complex() else 1)
                   for p in model.parameters() if p.requires_grad))


def run_neuralop_fno(config: str, x: np.ndarray, y: np.ndarray, *, batch_size: int = 20,
                     warmup_epochs: int = 1, timed_epochs: int = 2, lr: float = 1e-3,
                     infer_batches=(20, 100), threads: int = 2, seed: int = 0) -> dict:
    """Train ``config`` on ``x, y`` (shape ``(n, 64, 64)``) with Adam and neuralop's
    relative L2 loss (``LpLoss(d=2, p=2, reduction="mean")``), then time inference.

    Training: ``warmup_epochs`` untimed, then ``timed_epochs`` timed epochs of
    ``n // batch_size`` steps, each ``zero_grad(); loss.backward(); step()`` on a fresh
    permutation. Training samples/s is from the median timed epoch. Inference under
    ``torch.inference_mode()``: one untimed call, then at least 3 calls (and at least ``n``
    samples) per batch size, samples/s from the median call.
    """
    import torch
    from neuralop.losses import LpLoss

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = build(config, seed=seed)
    xt = torch.as_tensor(np.asarray(x, np.float32))[:, None]
    yt = torch.as_tensor(np.asarray(y, np.float32))[:, None]
    n = len(xt)
    n_batches = n // batch_size
    loss_fn = LpLoss(d=2, p=2, reduction="mean")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)

    def epoch() -> tuple[float, float]:
        model.train()
        perm = torch.randperm(n, generator=gen)
        t0, total = time.perf_counter(), 0.0
        for b in range(n_batches):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach())
        return time.perf_counter() - t0, total / n_batches

    load0 = os.getloadavg()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    warm = [epoch() for _ in range(warmup_epochs)]
    timed = [epoch() for _ in range(timed_epochs)]
    durations = [d for d, _ in timed]
    samples = n_batches * batch_size
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    steps = (warmup_epochs + timed_epochs) * n_batches

    model.eval()
    infer = {}
    with torch.inference_mode():
        for bs in infer_batches:
            xb = xt[:bs] if bs <= n else xt.repeat((bs + n - 1) // n, 1, 1, 1)[:bs]
            model(xb)
            calls = max(3, -(-n // bs))
            times = []
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            for _ in range(calls):
                t0 = time.perf_counter()
                model(xb)
                times.append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            infer[str(bs)] = dict(samples_per_s=bs / statistics.median(times), calls=calls,
                                  median_call_s=statistics.median(times),
                                  minor_faults_per_call=(r1.ru_minflt - r0.ru_minflt) // calls,
                                  sys_s_per_call=(r1.ru_stime - r0.ru_stime) / calls)
    return dict(
        library="neuraloperator", config=config, options=dict(CONFIGS[config]),
        params=count_params(model), torch_version=torch.__version__,
        neuralop_version=__import__("neuralop").__version__,
        torch_threads=torch.get_num_threads(),
        train_samples_per_s=samples / statistics.median(durations),
        train_epoch_s=durations, warmup_epoch_s=[d for d, _ in warm],
        final_loss=timed[-1][1], infer=infer,
        train_minor_faults_per_step=(r1.ru_minflt - r0.ru_minflt) // steps,
        loadavg_start=load0, loadavg_end=os.getloadavg(),
    )
