import pytest
import torch

from sdetranslate.unet import ConditionalUNet, count_parameters, unet_config_from_preset

# The dissertation reports about 58M parameters for its UNet.
PAPER_PRESET_PARAMETERS = 57_894_723


@pytest.mark.parametrize("preset,size", [("tiny", 16), ("tiny", 32), ("small", 32)])
def test_unet_output_shape(preset, size):
    model = ConditionalUNet(unet_config_from_preset(preset, size))
    x = torch.randn(2, 3, size, size)
    out = model(x, torch.randn_like(x), torch.rand(2))
    assert out.shape == x.shape


def test_unet_paper_preset_parameter_count():
    model = ConditionalUNet(unet_config_from_preset("paper", 64))
    assert count_parameters(model) == PAPER_PRESET_PARAMETERS


def test_unet_input_has_six_channels():
    model = ConditionalUNet(unet_config_from_preset("tiny", 16))
    assert model.conv_in.in_channels == 6


def test_unet_output_depends_on_condition():
    torch.manual_seed(0)
    model = ConditionalUNet(unet_config_from_preset("tiny", 16)).eval()
    torch.nn.init.normal_(model.conv_out.weight, std=0.1)
    x = torch.randn(1, 3, 16, 16)
    t = torch.tensor([0.5])
    first = model(x, torch.zeros_like(x), t)
    second = model(x, torch.ones_like(x), t)
    assert not torch.allclose(first, second)


def test_unet_attention_at_configured_resolution():
    config = unet_config_from_preset("tiny", 16, attn_resolutions=[8])
    model = ConditionalUNet(config)
    names = [type(module).__name__ for module in model.modules()]
    # One attention block in the middle, plus one per block at 8x8 (1 down, 2 up).
    assert names.count("AttnBlock") == 4


def test_unet_rejects_indivisible_size():
    with pytest.raises(ValueError, match="image_size 18"):
        ConditionalUNet(unet_config_from_preset("small", 18))


def test_unet_rejects_unknown_preset():
    with pytest.raises(ValueError, match="unknown UNet preset 'huge'"):
        unet_config_from_preset("huge", 32)
