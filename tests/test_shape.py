"""rnnaccel.shape: one validated network shape; what each stage can build; rejection at config load."""

from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import small_dims

from rnnaccel.shape import (
    REQUIREMENTS,
    ROLES,
    BlockSizes,
    Cell,
    LayerBlocks,
    Requirements,
    RnnShape,
    requirements,
)

block_values = st.one_of(st.none(), st.sampled_from([1, 2, 3, 4, 6, 8, 16, 32, 64, 128]))


@st.composite
def shapes(draw, max_layers: int = 3) -> RnnShape:
    """A valid RnnShape with a random block-size config form (int, per-role mapping or per-layer list)."""
    cell = draw(st.sampled_from(list(Cell)))
    hidden = draw(st.integers(2, 24))
    proj = draw(st.integers(0, hidden - 1)) if cell is Cell.LSTM else 0
    layers = draw(st.integers(1, max_layers))
    roles = ROLES if proj else ROLES[:2]
    per_role = st.fixed_dictionaries({}, optional=dict.fromkeys(roles, block_values))
    layer_spec = st.one_of(block_values, per_role)
    spec = draw(st.one_of(layer_spec, st.lists(layer_spec, min_size=layers, max_size=layers)))
    return RnnShape(cell, draw(small_dims), hidden, proj_size=proj, num_layers=layers,
                    bidirectional=draw(st.booleans()), peepholes=cell is Cell.LSTM and draw(st.booleans()),
                    block_sizes=spec)


def test_cell_enum_is_the_one_gates_per_cell_definition():
    assert (Cell.LSTM.gates, Cell.GRU.gates) == (4, 3)
    assert Cell.parse("gru") is Cell.GRU and Cell.LSTM == "lstm" and str(Cell.GRU) == "gru"
    with pytest.raises(ValueError, match="cell must be one of 'lstm', 'gru', got 'LSTM'"):
        Cell.parse("LSTM")
    with pytest.raises(TypeError, match=r"cell must be one of 'lstm', 'gru', got 4 \(int\)"):
        RnnShape(4, 8, 8)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"hidden_size": True}, TypeError, r"hidden_size must be an integer >= 1, got True \(bool\)"),
        ({"hidden_size": 0}, ValueError, "hidden_size must be an integer >= 1, got 0"),
        ({"input_size": -3}, ValueError, "input_size must be an integer >= 1, got -3"),
        ({"input_size": 8.0}, TypeError, r"input_size must be an integer >= 1, got 8.0 \(float\)"),
        ({"proj_size": -1}, ValueError, "proj_size must be an integer >= 0, got -1"),
        ({"num_layers": 0}, ValueError, "num_layers must be an integer >= 1, got 0"),
        ({"bidirectional": 1}, TypeError, r"bidirectional must be true or false, got 1 \(int\)"),
        ({"peepholes": "yes"}, TypeError, r"peepholes must be true or false, got 'yes' \(str\)"),
        ({"cell": "gru", "proj_size": 4}, ValueError, "proj_size: a GRU has no projection, got proj_size = "
                                                       "4"),
        ({"cell": "gru", "peepholes": True}, ValueError, "peepholes: a GRU has no peepholes"),
        ({"block_sizes": True}, TypeError, r"block_size must be null, an integer >= 1, .* got True \(bool\)"),
        ({"block_sizes": 0}, ValueError, "block_size must be an integer >= 1, got 0"),
        ({"block_sizes": -8}, ValueError, "block_size must be an integer >= 1, got -8"),
        ({"block_sizes": "8"}, TypeError, r"block_size must be null, .* got '8' \(str\)"),
        ({"block_sizes": [4]}, ValueError, r"block_size has 1 entries, expected one per layer "
                                           r"\(num_layers = 2\)"),
        ({"block_sizes": [4, {"input": False}]}, TypeError, r"block_size\[1\].input must be an integer >= 1, "
                                                             r"got False \(bool\)"),
        ({"block_sizes": {"gates": 4}}, ValueError, r"block_size: unknown role\(s\) \['gates'\]; "
                                                    r"expected keys from \['input', 'recurrent'\]"),
        ({"block_sizes": {"projection": 4}}, ValueError, r"block_size.projection: this network has no "
                                                         r"projection weights"),
    ],
)
def test_bad_shapes_name_the_key_and_the_reason(kwargs, error, message):
    base = {"cell": "lstm", "input_size": 8, "hidden_size": 8, "num_layers": 2}
    with pytest.raises(error, match=message):
        RnnShape(**{**base, **kwargs})


def test_block_size_forms_resolve_per_layer_and_role():
    shape = RnnShape("lstm", 10, 16, proj_size=8, num_layers=2, block_sizes=[8, {"recurrent": 4}])
    assert shape.block_sizes.spec() == [{"input": 8, "recurrent": 8, "projection": 8},
                                        {"input": None, "recurrent": 4, "projection": None}]
    assert shape.block_sizes.role("recurrent") == (8, 4) and shape.block_sizes.sizes() == (4, 8)
    gru = RnnShape("gru", 10, 16, block_sizes=4)  # an int covers the roles the network has
    assert gru.block_sizes.layers == (LayerBlocks(4, 4, None),)
    assert RnnShape("lstm", 3, 4).block_sizes.is_dense and BlockSizes.dense(2).is_dense
    with pytest.raises(TypeError, match="positional"):
        RnnShape("lstm", 3, 4, 2)  # proj_size and the rest are keyword-only


def test_sizes_of_a_stack():
    shape = RnnShape("lstm", 40, 256, proj_size=128, num_layers=3, bidirectional=True, block_sizes=[4, 8, 16])
    assert (shape.recurrent_size, shape.output_size, shape.directions, shape.gates) == (128, 256, 2, 4)
    assert [lay.input_size for lay in shape.per_layer()] == [40, 256, 256]
    assert shape.layer(2).block_sizes.sizes() == (16,) and shape.layer(2).num_layers == 1
    with pytest.raises(ValueError, match="layer index 3 out of range for num_layers = 3"):
        shape.layer(3)
    # hand count: per direction 4*256*(40+128) + 2 * 4*256*(256+128) + 3 * 128*256
    assert shape.matrix_weights == 2 * (4 * 256 * 168 + 2 * 4 * 256 * 384 + 3 * 128 * 256)


@given(shapes())
def test_matrix_weights_equal_torch_dense_weights(shape):
    """matrix_weights counts exactly the weight_ih/hh/hr entries of the same torch.nn network."""
    cls = torch.nn.LSTM if shape.cell is Cell.LSTM else torch.nn.GRU
    extra = {"proj_size": shape.proj_size} if shape.cell is Cell.LSTM else {}
    ref = cls(shape.input_size, shape.hidden_size, shape.num_layers, bidirectional=shape.bidirectional,
              **extra)
    expected = sum(p.numel() for name, p in ref.named_parameters() if name.startswith("weight"))
    assert shape.matrix_weights == expected and shape.dense_ops == 2 * expected


@given(shapes())
def test_block_sizes_round_trip_and_per_layer_views(shape):
    assert shape.with_block_sizes(shape.block_sizes.spec()) == shape
    assert shape.with_block_sizes(shape.block_sizes) == shape
    parts = shape.per_layer()
    assert tuple(p.block_sizes.layers[0] for p in parts) == shape.block_sizes.layers
    assert sum(p.matrix_weights for p in parts) == shape.matrix_weights


def _buildable(req: Requirements, shape: RnnShape) -> bool:
    """The rules of ``req`` written out independently of Requirements.check."""
    layers = [{r: getattr(lay, r) for r in shape.roles} for lay in shape.block_sizes.layers]

    def ok(k):
        if k is None:
            return not req.all_circulant
        return (req.min_block <= k <= (req.max_block or k)) and not (req.power_of_two and k & (k - 1))

    if req.proj_at_most_hidden and shape.proj_size > shape.hidden_size:
        return False
    if not all(ok(k) for lay in layers for k in lay.values()):
        return False
    if req.gate_roles_equal and any((lay["input"] or 1) != (lay["recurrent"] or 1) for lay in layers):
        return False
    if req.one_block_per_layer and any(len({k or 1 for k in lay.values()}) > 1 for lay in layers):
        return False
    return not (req.same_every_layer and len({tuple(lay.items()) for lay in layers}) > 1)


@given(shapes(), st.sampled_from(sorted(REQUIREMENTS)))
def test_check_buildable_agrees_with_the_rules(shape, target):
    req = requirements(target)
    if _buildable(req, shape):
        assert shape.check_buildable(target) is shape
    else:
        with pytest.raises(ValueError, match=r"^(block_size|proj_size)") as info:
            shape.check_buildable(target)
        assert req.stage in str(info.value)


@pytest.mark.parametrize(
    ("target", "spec", "message"),
    [
        ("nn", 0, "block_size must be an integer >= 1, got 0"),
        ("fixed_point", 6, r"block_size = 6: the fixed-point FFT \(rnnaccel.quant, rnnaccel.ref\) needs a "
                           r"power of two$"),
        ("rtl", 64, r"block_size = 64: the RTL needs a power of two in 2..32"),
        ("rtl", 1, r"block_size = 1: the RTL needs a power of two in 2..32"),
        ("rtl", {"input": 8}, r"block_size.recurrent is dense: the RTL needs every role block-circulant"),
        ("fpga", 128, r"block_size = 128: the FPGA model \(rnnaccel.hw.fpga\) needs a power of two in 1..64"),
        ("fpga", {"input": 8, "recurrent": 4}, r"block_size: the FPGA model .* needs one block size for the "
                                               r"input and recurrent roles"),
        ("epur", {"input": 8, "recurrent": 8, "projection": 4}, r"block_size: E-PUR \(rnnaccel.hw.epur\) "
                                                                 r"needs one block size for every role"),
    ],
)
def test_stage_requirement_messages(target, spec, message):
    with pytest.raises(ValueError, match=message):
        RnnShape("lstm", 8, 16, proj_size=8, block_sizes=spec).check_buildable(target)


def test_layer_rules_name_the_layer():
    stack = RnnShape("gru", 8, 16, num_layers=2, block_sizes=[8, 4])
    assert stack.check_buildable("nn", "fixed_point", "epur", "rtl") is stack
    with pytest.raises(ValueError, match=r"block_size: the FPGA model .* same block sizes in every layer"):
        stack.check_buildable("fpga")
    with pytest.raises(ValueError, match=r"block_size\[1\] = 6: the fixed-point FFT"):
        stack.with_block_sizes([8, 6]).check_buildable("fixed_point")
    wide = RnnShape("lstm", 8, 16, proj_size=32)
    with pytest.raises(ValueError, match=r"proj_size = 32 > hidden_size = 16: the FPGA model .* no wider"):
        wide.check_buildable("fpga")
    with pytest.raises(ValueError, match=r"unknown build target 'gpu'; expected one of \['epur', 'fixed"):
        wide.check_buildable("gpu")


# --- every config rejects at load time what a later stage cannot build -------------------------------

_TRAIN = """
[data]
corpus = "{root}/corpus"
[model]
cell = "lstm"
hidden_size = 32
{extra}
"""


def _flow(tmp_path: Path, flow: str, train_extra: str = "") -> Path:
    (tmp_path / "train.toml").write_text(_TRAIN.format(root=tmp_path, extra=train_extra))
    path = tmp_path / "flow.toml"
    path.write_text(f'train_config = "{tmp_path / "train.toml"}"\n{flow}\n')
    return path


@pytest.mark.parametrize(
    ("flow", "train", "message"),
    [
        ("block_size = 6", "", r"flow.toml: invalid flow config: block_size: Value error, block_size = 6: "
                               r"the fixed-point FFT \(rnnaccel.quant, rnnaccel.ref\) needs a power of two"),
        ("block_size = 128", "", r"block_size = 128: the FPGA model \(rnnaccel.hw.fpga\) needs a power of "
                                 r"two"),
        ("block_size = true", "", r"block_size: Input should be a valid integer"),
        ("block_size = 1", "", r"block_size: Input should be greater than or equal to 2"),
        ("block_size = 8", "proj_size = 64", r"train.toml: the flow \(block_size = 8\) cannot build this "
                                             r"model: proj_size = 64 > hidden_size = 32: the FPGA model"),
        ("block_size = 8", "block_size = true", r"train.toml: invalid config: model: Value error, block_size "
                                                r"must be null, an integer >= 1"),
    ],
)
def test_flow_config_rejects_unbuildable_networks_at_load(tmp_path, flow, train, message):
    from rnnaccel.flow import load_flow_config

    with pytest.raises(ValueError, match=message):
        load_flow_config(_flow(tmp_path, flow, train))


def test_flow_config_accepts_and_builds_the_shape(tmp_path):
    from rnnaccel.flow import load_flow_config

    cfg = load_flow_config(_flow(tmp_path, "block_size = 16", "proj_size = 16\npeepholes = true"))
    shape = cfg.shape(cfg.load_train_config(), 39)
    assert shape.block_sizes.sizes() == (16,) and shape.peepholes and shape.proj_size == 16


def test_train_model_config_holds_the_shape(tmp_path):
    from rnnaccel.train import Config, ModelConfig, build_model

    cfg = Config.model_validate({"data": {"features": "fbank"}, "model": {"block_size": [8, None]}})
    assert cfg.shape == RnnShape("lstm", 120, 128, num_layers=2, bidirectional=True, block_sizes=[8, None])
    model = build_model(cfg.shape)
    assert model.rnn.block_sizes[0]["input"] == 8 and model.rnn.block_sizes[1]["input"] is None
    assert ModelConfig().with_block_size(4).block_size == 4
    with pytest.raises(ValueError, match="block_size must be an integer >= 1, got 0"):
        ModelConfig().with_block_size(0)
    with pytest.raises(ValueError, match="peepholes: a GRU has no peepholes"):
        ModelConfig(cell="gru", peepholes=True)


def test_compress_config_rejects_what_fixed_point_cannot_build():
    from rnnaccel.compress.config import CompressConfig

    with pytest.raises(ValueError, match=r"grid.block_sizes\[1\] = 6: the fixed-point FFT .* \(cell lstm, "
                                         r"hidden 64\)"):
        CompressConfig.model_validate({"grid": {"block_sizes": [4, 6]}})
    float_only = CompressConfig.model_validate({"grid": {"block_sizes": [6], "quant": ["float"]}})
    assert float_only.targets == ("nn",)  # rnnaccel.nn builds any block size
    with pytest.raises(ValueError, match=r"grid.block_sizes\[0\] has 1 entries, expected one per layer "
                                         r"\(num_layers = 2\)"):
        CompressConfig.model_validate({"grid": {"block_sizes": [[4]]}, "train": {"num_layers": 2}})
    with pytest.raises(ValueError, match=r"block_sizes\[0\] must be null, an integer >= 1"):
        CompressConfig.model_validate({"grid": {"block_sizes": [True]}})


def test_exported_from_the_package_without_heavy_imports():
    import subprocess
    import sys

    code = ("import sys, rnnaccel; "
            "print(rnnaccel.RnnShape.__module__, 'torch' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["rnnaccel.shape", "False", "False"]


def _accepts(check, k) -> bool:
    try:
        check(k)
    except ValueError:
        return False
    return True


def test_stage_checks_agree_with_their_requirements():
    """The stages' own block-size checks accept exactly what REQUIREMENTS says they build."""
    from rnnaccel.hw.fpga.arith import log2_block
    from rnnaccel.nn.circulant import check_block_size as nn_check
    from rnnaccel.quant.fft import check_fft_size
    from rnnaccel.rtl.fixed import check_block_size as rtl_check

    for target, check in (("nn", nn_check), ("fixed_point", check_fft_size), ("fpga", log2_block),
                          ("rtl", rtl_check)):
        req = requirements(target)
        assert [k for k in range(1, 130) if _accepts(check, k)] == \
            [k for k in range(1, 130) if _accepts(req.check_block, k)], target
