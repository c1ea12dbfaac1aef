"""Tier 1: fixed-point formats, rounding and overflow (cross-checked against APyTypes)."""

import apytypes
import numpy as np
import pytest

from hwact.fixed import ROUNDING_MODES, Fmt, FormatError, overflow, quantize, shift_round

pytestmark = pytest.mark.model

SPELLINGS = {
    "s4.12": Fmt(4, 12), "u0.8": Fmt(0, 8, False), "fixed<16,4>": Fmt(4, 12), "ap_fixed<16,4>": Fmt(4, 12),
    "ufixed<8,0>": Fmt(0, 8, False), "ap_ufixed<8,0>": Fmt(0, 8, False), "int8": Fmt(8, 0), "uint8": Fmt(8, 0, False),
    "int16": Fmt(16, 0), "Q3.12": Fmt(4, 12), "UQ0.8": Fmt(0, 8, False), "Q15": Fmt(1, 15), "S1.15": Fmt(1, 15),
}

# hwact's HLS names and the same modes in APyTypes' vocabulary.
APY_MODES = {
    "TRN": apytypes.QuantizationMode.TO_NEG, "TRN_ZERO": apytypes.QuantizationMode.TO_ZERO,
    "RND": apytypes.QuantizationMode.TIES_POS, "RND_ZERO": apytypes.QuantizationMode.TIES_ZERO,
    "RND_INF": apytypes.QuantizationMode.TIES_AWAY, "RND_CONV": apytypes.QuantizationMode.TIES_EVEN,
}


@pytest.mark.parametrize("text, fmt", SPELLINGS.items())
def test_every_spelling_parses_to_the_same_format(text, fmt):
    assert Fmt.parse(text) == fmt


def test_canonical_string_round_trips():
    for fmt in SPELLINGS.values():
        assert Fmt.parse(str(fmt)) == fmt
    assert str(Fmt.parse("Q3.12")) == "s4.12" and str(Fmt.parse("UQ0.8")) == "u0.8"


@pytest.mark.parametrize("text, words", [
    ("s4.x", "accepted forms"), ("s0.0", "sign"), ("s40.2", "42 bits"), ("", "accepted forms"),
    ("fixed<40,2>", "40 bits"), ("u0.0", "0 bits"), ("float16", "accepted forms"),
])
def test_bad_formats_name_the_text(text, words):
    with pytest.raises(FormatError) as info:
        Fmt.parse(text)
    message = str(info.value)
    assert repr(text) in message and words in message and "\n" not in message


def test_ranges_and_bits():
    fmt = Fmt(4, 4)
    assert (fmt.min_code, fmt.max_code, fmt.min_value, fmt.max_value) == (-128, 127, -8.0, 127 / 16)
    codes = fmt.all_codes()
    assert np.array_equal(fmt.from_bits(fmt.to_bits(codes)), codes)
    assert fmt.to_bits(np.array([-1]))[0] == 0xFF
    assert Fmt(0, 8, False).max_code == 255


@pytest.mark.parametrize("mode", ROUNDING_MODES)
@pytest.mark.parametrize("shift", [1, 2, 5, 13])
def test_shift_round_matches_apytypes(mode, shift):
    rng = np.random.default_rng(shift)
    values = np.concatenate([rng.integers(-(1 << 30), 1 << 30, 4000),
                             np.arange(-(4 << shift), 4 << shift)])  # every tie near zero
    ours = shift_round(values, shift, mode)
    exact = apytypes.APyFixedArray.from_float(np.ldexp(values.astype(float), -shift), int_bits=40, frac_bits=shift)
    theirs = exact.cast(int_bits=40, frac_bits=0, quantization=APY_MODES[mode]).to_numpy()
    assert np.array_equal(ours, theirs.astype(np.int64))


@pytest.mark.parametrize("mode", ROUNDING_MODES)
def test_quantize_matches_apytypes(mode):
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.uniform(-9, 9, 5000), np.arange(-64, 64) / 32 + 1 / 64])  # with exact ties
    ours = quantize(values, Fmt(5, 4), mode, "SAT")
    apy = apytypes.APyFixedArray.from_float(values, int_bits=12, frac_bits=40)
    rounded = apy.cast(int_bits=12, frac_bits=4, quantization=APY_MODES[mode]).to_numpy()
    theirs = np.clip(np.round(rounded * 16), -256, 255)
    assert np.array_equal(ours, theirs.astype(np.int64))


def test_overflow_modes():
    fmt = Fmt(4, 0)  # -8..7
    values = np.array([-20, -9, -8, -7, 0, 7, 8, 20])
    assert overflow(values, fmt, "SAT").tolist() == [-8, -8, -8, -7, 0, 7, 7, 7]
    assert overflow(values, fmt, "SAT_SYM").tolist() == [-7, -7, -7, -7, 0, 7, 7, 7]
    assert overflow(values, fmt, "WRAP").tolist() == [-4, 7, -8, -7, 0, 7, -8, 4]
    assert overflow(np.array([-3, 300]), Fmt(8, 0, False), "SAT").tolist() == [0, 255]


def test_left_shift_is_exact():
    assert shift_round(np.array([-3, 5]), -4, "RND").tolist() == [-48, 80]


def test_unknown_modes_are_refused():
    with pytest.raises(ValueError, match="rounding mode"):
        shift_round(np.array([1]), 1, "NEAREST")
    with pytest.raises(ValueError, match="overflow mode"):
        overflow(np.array([1]), Fmt(4, 0), "CLAMP")
