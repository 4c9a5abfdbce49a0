"""Full-reference image quality metrics (SSIM and PSNR) for one RGB image pair.

Both functions accept uint8 images with values in [0, 255], which are divided by 255, or
float images with values in [0, 1]. Inputs may be torch tensors or numpy arrays in
channels-first [3, H, W] or channels-last [H, W, 3] layout. With ``layout="auto"`` the
layout is read from which axis has size 3, and a shape such as [3, H, 3] that fits both
layouts is rejected, so pass ``layout="chw"`` or ``layout="hwc"`` for it.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

logger = logging.getLogger(__name__)

# Identical images have infinite PSNR. The value is capped so that means over many images
# stay finite. Two uint8 images of 3 x 64 x 64 values that differ by one level in one
# value score about 89 dB. The highest finite score of a uint8 pair stays below 100 dB
# for images of up to about 1.5 x 10^5 values (3 x 224 x 224).
PSNR_CAP_DB = 100.0

# Side of the square window that skimage's structural_similarity uses by default.
SSIM_WINDOW = 7

LAYOUTS = ("auto", "chw", "hwc")


def to_unit_hwc(image, layout: str = "auto") -> np.ndarray:
    """Convert one RGB image to a float64 [H, W, 3] array with values clamped to [0, 1].

    uint8 input is divided by 255. Float input is taken to be in [0, 1] already, and
    values outside that range are clamped. Raises ValueError for other dtypes, for a
    shape that is not a 3-channel image in the given layout, and for an unknown layout.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"invalid layout {layout!r}; use one of {', '.join(LAYOUTS)}")

    if isinstance(image, torch.Tensor):
        array = image.detach().cpu().numpy()
    else:
        array = np.asarray(image)

    if array.ndim != 3:
        raise ValueError(
            f"expected one RGB image with 3 dimensions ([3, H, W] or [H, W, 3]), "
            f"got shape {tuple(array.shape)}"
        )
    if layout == "auto":
        layout = _detect_layout(array.shape)
    if layout == "chw":
        if array.shape[0] != 3:
            raise ValueError(f"layout 'chw' needs shape [3, H, W], got {tuple(array.shape)}")
        array = np.moveaxis(array, 0, -1)
    elif array.shape[-1] != 3:
        raise ValueError(f"layout 'hwc' needs shape [H, W, 3], got {tuple(array.shape)}")

    if array.dtype == np.uint8:
        scaled = array.astype(np.float64) / 255.0
    elif np.issubdtype(array.dtype, np.floating):
        scaled = array.astype(np.float64)
    else:
        raise ValueError(
            f"unsupported image dtype {array.dtype}; pass uint8 in [0, 255] or float in [0, 1]"
        )
    return np.clip(scaled, 0.0, 1.0)


def _detect_layout(shape: tuple[int, ...]) -> str:
    channels_first = shape[0] == 3
    channels_last = shape[-1] == 3
    if channels_first and channels_last:
        raise ValueError(
            f"shape {tuple(shape)} fits both [3, H, W] and [H, W, 3]; "
            f"pass layout='chw' or layout='hwc'"
        )
    if channels_first:
        return "chw"
    if channels_last:
        return "hwc"
    raise ValueError(f"expected an RGB image of shape [3, H, W] or [H, W, 3], got {tuple(shape)}")


def _prepare_pair(pred, target, layout: str) -> tuple[np.ndarray, np.ndarray]:
    pred_hwc = to_unit_hwc(pred, layout)
    target_hwc = to_unit_hwc(target, layout)
    if pred_hwc.shape != target_hwc.shape:
        raise ValueError(
            f"prediction and target differ in size: {pred_hwc.shape} vs {target_hwc.shape} "
            f"(shapes as [H, W, 3]); resize one of them or check which images were paired"
        )
    return pred_hwc, target_hwc


def ssim(pred, target, layout: str = "auto") -> float:
    """Compute the mean SSIM of two RGB images over a 7 x 7 window, averaged over channels.

    Calls skimage.metrics.structural_similarity with data_range=1.0 on [H, W, 3] arrays.
    Both sides of the image must be at least 7 pixels. Raises ValueError when the shapes
    differ or an input is not a valid image (see `to_unit_hwc`).
    """
    pred_hwc, target_hwc = _prepare_pair(pred, target, layout)
    height, width = pred_hwc.shape[:2]
    if min(height, width) < SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WINDOW} x {SSIM_WINDOW} pixels, "
            f"got {height} x {width}"
        )
    return float(structural_similarity(pred_hwc, target_hwc, data_range=1.0, channel_axis=-1))


def psnr(pred, target, layout: str = "auto") -> float:
    """Compute the PSNR of two RGB images in dB, with values in [0, 1] and a peak of 1.

    Identical images and any pair scoring above PSNR_CAP_DB (100 dB) return PSNR_CAP_DB.
    Raises ValueError when the shapes differ or an input is not a valid image.
    """
    pred_hwc, target_hwc = _prepare_pair(pred, target, layout)
    if np.array_equal(pred_hwc, target_hwc):
        return PSNR_CAP_DB
    value = peak_signal_noise_ratio(target_hwc, pred_hwc, data_range=1.0)
    return float(min(value, PSNR_CAP_DB))
