"""The PyTorch peer used by the benchmarks: VGG19 on our converted weights, and the Gram matrix.

Peer code for timing comparisons only (``pip install torch==2.13.0``); nst never imports torch.
Same input convention and loss convention as `nst.core.vgg` / `nst.core.losses`.
"""

from __future__ import annotations


def torch_vgg19(max_layer: str = "relu5_4"):
    """``features(x, wanted) -> {relu name: tensor}`` for NCHW RGB in [0, 1], stopping at ``max_layer``."""
    import torch
    from safetensors.numpy import load_file

    from nst.io.weights import CONV_LAYERS, weights_path

    params = load_file(str(weights_path()))
    last = int(max_layer[4]) * 10 + int(max_layer[6])
    convs = []
    for name, _, cin, cout in CONV_LAYERS:
        if int(name[4]) * 10 + int(name[6]) > last:
            break
        conv = torch.nn.Conv2d(cin, cout, 3, padding=1)
        conv.weight.data = torch.from_numpy(params[f"{name}.weight"].transpose(3, 2, 0, 1).copy())
        conv.bias.data = torch.from_numpy(params[f"{name}.bias"].copy())
        conv.requires_grad_(False)
        convs.append((name, conv))
    mean = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)

    def features(x, wanted):
        x = x.flip(1) * 255.0 - mean  # RGB -> BGR, Caffe scale
        out, stop = {}, max(int(w[4]) * 10 + int(w[6]) for w in wanted)
        for name, conv in convs:
            b, k = int(name[4]), int(name[6])
            if b * 10 + k > stop:
                break
            x = torch.relu(conv(x))
            if f"relu{b}_{k}" in wanted:
                out[f"relu{b}_{k}"] = x
            if (b <= 2 and k == 2) or (b > 2 and k == 4):
                x = torch.nn.functional.max_pool2d(x, 2)
        return out

    return features


def gram(f):
    """G = F Fᵀ / (H W) for NCHW features, as `nst.core.losses.gram_matrix`."""
    b, c, h, w = f.shape
    f = f.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)
