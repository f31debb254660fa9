#!/usr/bin/env python3
"""The surrogate's training step in PyTorch (CPU), for `promptseg bench --train`.

Same network as crates/nets/src/unet.rs (3D UNet, 4 down / 4 up, double 3^3 conv + GroupNorm +
LeakyReLU(0.01), max-pool, 2^3 transposed conv, 1^3 head), same soft Dice loss, Adam. Prints
one JSON line: {"seconds_per_step": ..., "torch": version, "threads": n}. Exit code 3 when torch
is not installed, so the caller can skip cleanly.

    python3 scripts/torch_unet_step.py --size 64 --batch 1 --steps 3 --threads 2
"""
import argparse
import json
import sys
import time

try:
    import torch
    import torch.nn as nn
except Exception as e:  # not installed, or installed without the libraries it loads at import
    print(json.dumps({"error": f"torch unavailable: {type(e).__name__}: {str(e)[:120]}"}))
    sys.exit(3)


def groups(c):
    for g in (8, 4, 2, 1):
        if c % g == 0 and c // g >= 2:
            return g
    return 1


class Double(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.seq = nn.Sequential(
            nn.Conv3d(cin, cout, 3, padding=1), nn.GroupNorm(groups(cout), cout), nn.LeakyReLU(0.01),
            nn.Conv3d(cout, cout, 3, padding=1), nn.GroupNorm(groups(cout), cout), nn.LeakyReLU(0.01))

    def forward(self, x):
        return self.seq(x)


class UNet(nn.Module):
    def __init__(self, c=(8, 16, 32, 64, 96), cin=3):
        super().__init__()
        self.enc = nn.ModuleList([Double(cin, c[0]), Double(c[0], c[1]), Double(c[1], c[2]), Double(c[2], c[3])])
        self.bottom = Double(c[3], c[4])
        self.up = nn.ModuleList([nn.ConvTranspose3d(c[i + 1], c[i], 2, stride=2) for i in range(4)])
        self.dec = nn.ModuleList([Double(2 * c[i], c[i]) for i in range(4)])
        self.head = nn.Conv3d(c[0], 1, 1)
        self.pool = nn.MaxPool3d(2)

    def forward(self, x):
        skips = []
        for i, e in enumerate(self.enc):
            x = e(x if i == 0 else self.pool(x))
            skips.append(x)
        x = self.bottom(self.pool(x))
        for i in reversed(range(4)):
            x = self.dec[i](torch.cat([self.up[i](x), skips[i]], 1))
        return self.head(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = UNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(a.batch, 3, a.size, a.size, a.size)
    y = (torch.rand(a.batch, 1, a.size, a.size, a.size) > 0.9).float()

    def step():
        opt.zero_grad()
        p = torch.sigmoid(net(x))
        loss = 1 - (2 * (p * y).sum() + 1) / (p.sum() + y.sum() + 1)
        loss.backward()
        opt.step()

    step()  # warm-up
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    print(json.dumps({"seconds_per_step": (time.perf_counter() - t) / a.steps, "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
